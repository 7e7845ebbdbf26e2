"""The composition root: the read model's consumer lingers longer than the services'."""

from __future__ import annotations

import pytest

from history.bootstrap import build
from history.config import HistorySettings
from orderflow_messaging.db import dispose
from orderflow_messaging.settings import ConsumerSettings

URL = "postgresql://history@127.0.0.1:1/orderflow"


@pytest.mark.parametrize(
    ("consumer_linger", "history_linger", "expected"),
    [(5, 200, 200), (5, 0, 5), (300, 200, 300)],
    ids=["default", "history lingers as the services do", "CONSUMER_LINGER_MS is the floor"],
)
async def test_the_projection_consumer_lingers_at_least_its_own_setting(
    consumer_linger: int, history_linger: int, expected: int
) -> None:
    settings = HistorySettings(
        database_url=URL,
        linger_ms=history_linger,
        consumer=ConsumerSettings(linger_ms=consumer_linger, max_records=321),
    )
    service = build(settings)
    try:
        [subscription] = service.subscriptions
        assert subscription.settings is not None
        assert subscription.settings.linger_ms == expected
        assert subscription.settings.max_records == 321  # the rest is the service's
        assert settings.consumer.linger_ms == consumer_linger
    finally:
        await dispose(service.engine)


def test_the_default_is_a_fifth_of_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HISTORY_LINGER_MS", raising=False)
    assert HistorySettings(database_url=URL).linger_ms == 200
