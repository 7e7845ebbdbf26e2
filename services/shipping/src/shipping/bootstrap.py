"""Composition root: builds the engine, consumer, timers and routes of shipping."""

from __future__ import annotations

from pathlib import Path

from orderflow_contracts import topics
from orderflow_messaging.clock import Clock, IdFactory, new_message_id, utc_now
from orderflow_service.runtime import ServiceDefinition, Subscription, service_engine
from shipping.config import ShippingSettings
from shipping.domain.carrier import SimulatedCarrier
from shipping.entrypoints.http import build_router
from shipping.entrypoints.messages import build_consumer
from shipping.entrypoints.timers import build_timers

MIGRATIONS = Path(__file__).parent / "migrations"


def build(
    settings: ShippingSettings, clock: Clock = utc_now, new_id: IdFactory = new_message_id
) -> ServiceDefinition:
    # new_id: message and shipment ids, time-ordered like every service's (UUIDv7), so the
    # outbox's and the readers' inbox indexes grow at their right edge.
    engine = service_engine(settings, "shipping")
    carrier = SimulatedCarrier()
    timings = settings.timings()
    consumer = build_consumer(engine, settings.consumer, clock, new_id, carrier, timings)
    tasks = build_timers(
        engine, settings.advance_interval_s, settings.tick_limit, clock, new_id, carrier, timings
    )
    return ServiceDefinition(
        name="shipping",
        settings=settings,
        engine=engine,
        migrations=MIGRATIONS,
        subscriptions=[Subscription(consumer, (topics.SHIPPING_COMMANDS,), group_id="shipping")],
        produces=[topics.SHIPPING_EVENTS, topics.SHIPPING_TRACKING],
        tasks=tasks,
        routers=[build_router(engine)],
    )
