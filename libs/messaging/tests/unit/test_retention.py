"""The startup check: the inbox window must outlast every consumed topic's records."""

from __future__ import annotations

import pytest

from orderflow_messaging.housekeeping import RetentionSettings, RetentionTooShort, check_retention

WEEK_MS = 7 * 86_400_000


def test_a_window_longer_than_every_topic_passes() -> None:
    check_retention(RetentionSettings(), {"a": WEEK_MS, "b": 3_600_000})


def test_a_window_as_long_as_the_topic_passes() -> None:
    check_retention(RetentionSettings(messages_s=3600), {"a": 3_600_000})


def test_a_shorter_window_is_refused_naming_the_topic() -> None:
    with pytest.raises(RetentionTooShort, match=r"topic b \(604800 s\)"):
        check_retention(RetentionSettings(messages_s=86_400), {"a": 60_000, "b": WEEK_MS})


def test_a_topic_kept_forever_is_refused() -> None:
    with pytest.raises(RetentionTooShort, match="forever"):
        check_retention(RetentionSettings(), {"a": -1})


def test_without_pruning_any_retention_is_accepted() -> None:
    check_retention(RetentionSettings(enabled=False, messages_s=1), {"a": -1, "b": WEEK_MS})


def test_settings_come_from_retention_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETENTION_MESSAGES_S", "120")
    monkeypatch.setenv("RETENTION_BATCH_ROWS", "50")
    settings = RetentionSettings()
    assert (settings.messages_s, settings.batch_rows) == (120, 50)
