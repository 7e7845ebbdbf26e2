"""Composition root: builds the engine, consumer, timers and routes of shipping."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from uuid import uuid4

from sqlalchemy.ext.asyncio import AsyncEngine

from orderflow_contracts import topics
from orderflow_messaging.clock import Clock, IdFactory, utc_now
from orderflow_messaging.outbox import Outbox
from orderflow_service.runtime import ServiceDefinition, Subscription, service_engine
from orderflow_service.timers import PeriodicTask
from shipping.application import handlers
from shipping.application.unit_of_work import ShippingUnitOfWork
from shipping.config import ShippingSettings
from shipping.domain.carrier import SimulatedCarrier
from shipping.entrypoints.http import build_router
from shipping.entrypoints.messages import PRODUCER, build_consumer

MIGRATIONS = Path(__file__).parent / "migrations"

UseCase = Callable[[ShippingUnitOfWork], Awaitable[int]]


def build(
    settings: ShippingSettings, clock: Clock = utc_now, new_id: IdFactory = uuid4
) -> ServiceDefinition:
    engine = service_engine(settings, "shipping")
    carrier = SimulatedCarrier()
    timings = settings.timings()
    consumer = build_consumer(engine, settings.consumer, clock, new_id, carrier, timings)

    def tick(use_case: UseCase) -> Callable[[], Awaitable[bool]]:
        return lambda: run_tick(engine, clock, new_id, use_case)

    interval = settings.advance_interval_s
    tasks = [
        PeriodicTask(
            "slow-carrier", interval, tick(lambda u: handlers.create_ready_shipments(u, carrier))
        ),
        PeriodicTask(
            "shipment-advance", interval, tick(lambda u: handlers.advance_shipments(u, timings))
        ),
    ]
    return ServiceDefinition(
        name="shipping",
        settings=settings,
        engine=engine,
        migrations=MIGRATIONS,
        subscriptions=[Subscription(consumer, (topics.SHIPPING_COMMANDS,), group_id="shipping")],
        produces=[topics.SHIPPING_EVENTS],
        tasks=tasks,
        routers=[build_router(engine)],
    )


async def run_tick(engine: AsyncEngine, clock: Clock, new_id: IdFactory, use_case: UseCase) -> bool:
    """One timer round in its own transaction; True (run again at once) when it did work."""
    async with engine.begin() as conn:
        outbox = Outbox(conn, producer=PRODUCER, clock=clock, new_id=new_id)
        return await use_case(ShippingUnitOfWork(conn, outbox, clock, new_id)) > 0
