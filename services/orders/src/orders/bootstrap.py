"""Composition root of the saga coordinator."""

from __future__ import annotations

from pathlib import Path

from orderflow_contracts import topics
from orderflow_messaging.clock import Clock, utc_now
from orderflow_messaging.housekeeping import AgedTable
from orderflow_messaging.outbox import Outbox
from orderflow_service.runtime import ServiceDefinition, Subscription, service_engine
from orderflow_service.timers import PeriodicTask
from orders.application import saga_service
from orders.application.unit_of_work import OrdersUnitOfWork
from orders.config import OrdersSettings
from orders.entrypoints.admin_http import build_admin_router
from orders.entrypoints.http import build_router
from orders.entrypoints.messages import PRODUCER, build_consumer

MIGRATIONS = Path(__file__).parent / "migrations"

CONSUMES = (
    topics.CHECKOUT_EVENTS,
    topics.INVENTORY_EVENTS,
    topics.PAYMENT_EVENTS,
    topics.SHIPPING_EVENTS,
)
PRODUCES = (
    topics.INVENTORY_COMMANDS,
    topics.PAYMENT_COMMANDS,
    topics.SHIPPING_COMMANDS,
    topics.ORDERS_EVENTS,
)


def build(settings: OrdersSettings, clock: Clock = utc_now) -> ServiceDefinition:
    engine = service_engine(settings, "orders")
    policy = settings.policy()
    consumer = build_consumer(engine, settings.consumer, clock, policy)

    async def sweep() -> bool:
        """The deadline timer: state lives in the sagas table, so it survives restarts."""
        async with engine.begin() as conn:
            uow = OrdersUnitOfWork(
                conn, Outbox(conn, producer=PRODUCER, clock=clock), clock, policy
            )
            fired = await saga_service.fire_due_timeouts(uow)
        return fired > 0

    return ServiceDefinition(
        name="orders",
        settings=settings,
        engine=engine,
        migrations=MIGRATIONS,
        subscriptions=[Subscription(consumer, CONSUMES, group_id="orders")],
        produces=PRODUCES,
        tasks=[PeriodicTask("saga-deadlines", settings.sweep_interval_s, sweep)],
        aged_tables=[AgedTable("saga_history", "id", "at", settings.retention.history_s)],
        routers=[
            build_router(engine, clock, policy, PRODUCER),
            build_admin_router(engine, clock, policy, PRODUCER, settings.admin_token),
        ],
    )
