"""Settings: the documented defaults and the SHIPPING_ prefix."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from shipping.config import ShippingSettings


@pytest.fixture(autouse=True)
def _no_shipping_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("SHIPPING_"):
            monkeypatch.delenv(name)


def test_defaults() -> None:
    settings = ShippingSettings(database_url="postgresql://localhost/x")
    assert settings.http_port == 8006
    assert settings.advance_interval_s == 0.5
    assert settings.tick_limit == 500
    timings = settings.timings()
    assert timings.slow_delay == timedelta(seconds=10)
    assert timings.dispatch_after == timedelta(seconds=3)
    assert timings.deliver_after == timedelta(seconds=3)


def test_read_from_shipping_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPPING_DATABASE_URL", "postgresql://localhost/s")
    monkeypatch.setenv("SHIPPING_SLOW_DELAY_S", "0.25")
    monkeypatch.setenv("SHIPPING_DISPATCH_AFTER_S", "1")
    monkeypatch.setenv("SHIPPING_ADVANCE_INTERVAL_S", "0.1")
    settings = ShippingSettings()
    assert settings.database_url == "postgresql://localhost/s"
    assert settings.timings().slow_delay == timedelta(seconds=0.25)
    assert settings.timings().dispatch_after == timedelta(seconds=1)
    assert settings.advance_interval_s == 0.1
