"""Composition root: builds the engine, consumer and routes of checkout."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from checkout.config import CheckoutSettings
from checkout.entrypoints import inbound
from checkout.entrypoints.admission import Admission, Backlog, BacklogReader, Bounds
from checkout.entrypoints.http import build_router
from checkout.entrypoints.messages import CONSUMER, build_consumer
from orderflow_contracts import topics
from orderflow_messaging.clock import Clock, IdFactory, new_message_id, utc_now
from orderflow_messaging.db import hot_pool
from orderflow_messaging.lag import ConsumerLag
from orderflow_service.runtime import ServiceDefinition, Subscription, service_engine
from orderflow_service.timers import PeriodicTask

MIGRATIONS = Path(__file__).parent / "migrations"


def build_admission(settings: CheckoutSettings, engine: AsyncEngine) -> Admission | None:
    if not settings.admission_enabled:
        return None
    reader = BacklogReader(ConsumerLag(settings.kafka))
    pool = hot_pool(engine)

    async def sample() -> Backlog:
        async with (await pool.pool()).acquire() as conn:
            return await reader.read(conn)

    bounds = Bounds(
        max_outbox=settings.admission_max_outbox,
        max_coordinator_lag=settings.admission_max_coordinator_lag,
        max_in_flight=settings.admission_max_in_flight,
        retry_after_s=settings.admission_retry_after_s,
    )
    return Admission(bounds, sample)


def build(
    settings: CheckoutSettings, clock: Clock = utc_now, new_id: IdFactory = new_message_id
) -> ServiceDefinition:
    # new_id: order ids and message ids, time-ordered (UUIDv7, 74 random bits): every
    # service keys its rows by order id, and random keys scattered each insert over the
    # whole of those indexes (a burst touched 18% more buffers and wrote 15% more).
    engine = service_engine(settings, "checkout")
    copy_settings = settings.consumer.lingering(settings.copy_linger_ms)
    consumer = build_consumer(engine, copy_settings, clock)
    version = settings.order_placed_version
    door_settings = settings.consumer.lingering(settings.inbound_linger_ms)
    door = inbound.build_inbound_consumer(engine, door_settings, clock, new_id, version)
    admission = build_admission(settings, engine)
    tasks = []
    if admission is not None:
        interval = settings.admission_sample_interval_s
        tasks.append(PeriodicTask("admission", interval, admission.tick))
    return ServiceDefinition(
        name="checkout",
        settings=settings,
        engine=engine,
        migrations=MIGRATIONS,
        subscriptions=[
            Subscription(
                consumer,
                (topics.CATALOG_EVENTS, topics.INVENTORY_STOCK),
                group_id=CONSUMER,
                settings=copy_settings,
            ),
            Subscription(
                door, (topics.ORDERS_INBOUND,), group_id=inbound.CONSUMER, settings=door_settings
            ),
        ],
        produces=[topics.CHECKOUT_EVENTS, topics.ORDERS_INBOUND_REPLIES],
        tasks=tasks,
        routers=[build_router(engine, clock, new_id, version, admission)],
    )
