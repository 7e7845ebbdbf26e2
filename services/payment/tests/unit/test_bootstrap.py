"""Settings and the composition root: names, topics and defaults the other services rely on."""

from __future__ import annotations

import pytest

from orderflow_contracts import topics
from orderflow_messaging.db import dispose
from payment.bootstrap import build
from payment.config import PaymentSettings


def test_settings_read_the_payment_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYMENT_DATABASE_URL", "postgresql://payment@127.0.0.1:1/orderflow")
    monkeypatch.setenv("PAYMENT_SLOW_DELAY_S", "2.5")
    monkeypatch.delenv("PAYMENT_HTTP_PORT", raising=False)
    settings = PaymentSettings()
    assert settings.slow_delay_s == 2.5
    assert settings.http_port == 8005
    assert settings.flaky_failures == 2
    assert settings.gateway_concurrency == 16


async def test_service_consumes_commands_and_produces_events_only() -> None:
    settings = PaymentSettings(database_url="postgresql://payment@127.0.0.1:1/orderflow")
    service = build(settings)
    try:
        [subscription] = service.subscriptions
        assert subscription.topics == (topics.PAYMENT_COMMANDS,)
        assert subscription.group_id == "payment"
        assert list(service.produces) == [topics.PAYMENT_EVENTS]
        assert [task.name for task in service.tasks] == ["pending-authorizations"]
        assert (service.migrations / "versions" / "0001_initial.py").exists()
    finally:
        await dispose(service.engine)
