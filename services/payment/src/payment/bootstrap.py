"""Composition root: builds the engines, gateway, consumer, timers and routes of payment."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from orderflow_contracts import topics
from orderflow_messaging.clock import Clock, utc_now
from orderflow_messaging.db import create_engine
from orderflow_messaging.outbox import Outbox
from orderflow_service.runtime import ServiceDefinition, Subscription, service_engine
from orderflow_service.timers import PeriodicTask
from payment.adapters.gateway import SimulatedGateway
from payment.application import handlers
from payment.application.unit_of_work import PaymentUnitOfWork
from payment.config import PaymentSettings
from payment.entrypoints import invoices_http
from payment.entrypoints.http import build_router
from payment.entrypoints.messages import PRODUCER, build_consumer

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: PaymentSettings, clock: Clock = utc_now) -> ServiceDefinition:
    engine = service_engine(settings, "payment")
    # The gateway stands for an external system: its own pool, so its writes never share
    # a transaction (or a connection) with the handlers'.
    gateway_engine = create_engine(
        settings.database_url,
        search_path=settings.db_schema,
        pool_size=settings.gateway_pool_size,
        application_name="orderflow-payment-gateway",
    )
    gateway = SimulatedGateway(
        gateway_engine,
        clock=clock,
        slow_delay=timedelta(seconds=settings.slow_delay_s),
        flaky_failures=settings.flaky_failures,
    )
    consumer = build_consumer(
        engine, settings.consumer, clock, gateway, gateway_concurrency=settings.gateway_concurrency
    )

    @asynccontextmanager
    async def unit_of_work() -> AsyncIterator[PaymentUnitOfWork]:
        async with engine.begin() as conn:
            outbox = Outbox(conn, producer=PRODUCER, clock=clock)
            yield PaymentUnitOfWork(conn, outbox, clock, gateway)

    async def complete_pending() -> bool:
        return await handlers.complete_pending_authorizations(unit_of_work) > 0

    return ServiceDefinition(
        name="payment",
        settings=settings,
        engine=engine,
        migrations=MIGRATIONS,
        subscriptions=[Subscription(consumer, (topics.PAYMENT_COMMANDS,), group_id="payment")],
        produces=[topics.PAYMENT_EVENTS],
        tasks=[
            PeriodicTask(
                "pending-authorizations", settings.pending_check_interval_s, complete_pending
            )
        ],
        routers=[build_router(engine, gateway), invoices_http.build_router(engine)],
    )
