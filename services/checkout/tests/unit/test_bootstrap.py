"""The composition root: the upstream door's consumer lingers a little longer."""

from __future__ import annotations

from checkout.bootstrap import build
from checkout.config import CheckoutSettings
from checkout.entrypoints import inbound
from orderflow_contracts import topics
from orderflow_messaging.db import dispose
from orderflow_messaging.settings import ConsumerSettings


async def test_the_door_and_the_copies_take_their_own_linger() -> None:
    settings = CheckoutSettings(
        database_url="postgresql://checkout@127.0.0.1:1/orderflow",
        inbound_linger_ms=25,
        copy_linger_ms=150,
        consumer=ConsumerSettings(linger_ms=5),
    )
    service = build(settings)
    try:
        catalog, door = service.subscriptions
        assert catalog.topics == (topics.CATALOG_EVENTS, topics.INVENTORY_STOCK)
        assert catalog.settings is not None
        assert catalog.settings.linger_ms == 150
        assert door.topics == (topics.ORDERS_INBOUND,)
        assert door.group_id == inbound.CONSUMER
        assert door.settings is not None
        assert door.settings.linger_ms == 25
    finally:
        await dispose(service.engine)
