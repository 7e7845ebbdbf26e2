"""Composition root: builds the engine, consumer and routes of checkout."""

from __future__ import annotations

import uuid
from pathlib import Path

from checkout.config import CheckoutSettings
from checkout.entrypoints import inbound
from checkout.entrypoints.http import build_router
from checkout.entrypoints.messages import CONSUMER, build_consumer
from orderflow_contracts import topics
from orderflow_messaging.clock import Clock, IdFactory, utc_now
from orderflow_service.runtime import ServiceDefinition, Subscription, service_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def build(
    settings: CheckoutSettings, clock: Clock = utc_now, new_id: IdFactory = uuid.uuid4
) -> ServiceDefinition:
    engine = service_engine(settings, "checkout")
    consumer = build_consumer(engine, settings.consumer, clock)
    version = settings.order_placed_version
    door_settings = settings.consumer.lingering(settings.inbound_linger_ms)
    door = inbound.build_inbound_consumer(engine, door_settings, clock, new_id, version)
    return ServiceDefinition(
        name="checkout",
        settings=settings,
        engine=engine,
        migrations=MIGRATIONS,
        subscriptions=[
            Subscription(consumer, (topics.CATALOG_EVENTS,), group_id=CONSUMER),
            Subscription(
                door, (topics.ORDERS_INBOUND,), group_id=inbound.CONSUMER, settings=door_settings
            ),
        ],
        produces=[topics.CHECKOUT_EVENTS, topics.ORDERS_INBOUND_REPLIES],
        routers=[build_router(engine, clock, new_id, version)],
    )
