"""Composition root: builds the engine, consumer, timers and routes of inventory."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from inventory.adapters.repository import StockRepository
from inventory.application import handlers
from inventory.application.unit_of_work import InventoryUnitOfWork
from inventory.config import InventorySettings
from inventory.entrypoints.http import build_router
from inventory.entrypoints.messages import PRODUCER, build_consumer
from orderflow_contracts import topics
from orderflow_contracts.samples import SAMPLE_CATALOG
from orderflow_messaging.clock import Clock, utc_now
from orderflow_messaging.outbox import Outbox
from orderflow_service.runtime import ServiceDefinition, Subscription, service_engine
from orderflow_service.timers import PeriodicTask

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: InventorySettings, clock: Clock = utc_now) -> ServiceDefinition:
    engine = service_engine(settings, "inventory")
    ttl = timedelta(seconds=settings.reservation_ttl_s)
    consumer = build_consumer(engine, settings.consumer, clock, ttl)

    async def expire() -> bool:
        async with engine.begin() as conn:
            uow = InventoryUnitOfWork(conn, Outbox(conn, producer=PRODUCER, clock=clock), clock)
            return await handlers.expire_reservations(uow) > 0

    tasks = [PeriodicTask("reservation-expiry", settings.expiry_interval_s, expire)]
    if settings.seed_sample_stock:
        tasks.append(PeriodicTask("seed", 3600.0, lambda: seed_sample_stock(engine)))
    return ServiceDefinition(
        name="inventory",
        settings=settings,
        engine=engine,
        migrations=MIGRATIONS,
        subscriptions=[Subscription(consumer, (topics.INVENTORY_COMMANDS,), group_id="inventory")],
        produces=[topics.INVENTORY_EVENTS],
        tasks=tasks,
        routers=[build_router(engine)],
    )


async def seed_sample_stock(engine: AsyncEngine) -> bool:
    """Stock the sample catalog once; SKUs that exist keep their levels."""
    async with engine.begin() as conn:
        repo = StockRepository(conn)
        for product in SAMPLE_CATALOG:
            await repo.add_if_missing(product.sku, product.initial_stock)
    return False
