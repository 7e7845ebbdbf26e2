"""Composition root: builds the engine, consumer, timers and routes of inventory."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from inventory.application import handlers
from inventory.application.unit_of_work import unit_of_work
from inventory.config import InventorySettings
from inventory.entrypoints.http import build_router
from inventory.entrypoints.messages import build_consumer
from orderflow_contracts import topics
from orderflow_contracts.samples import SAMPLE_CATALOG
from orderflow_messaging.clock import Clock, utc_now
from orderflow_service.runtime import ServiceDefinition, Subscription, service_engine
from orderflow_service.timers import PeriodicTask

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: InventorySettings, clock: Clock = utc_now) -> ServiceDefinition:
    engine = service_engine(settings, "inventory")
    ttl = timedelta(seconds=settings.reservation_ttl_s)
    consumer = build_consumer(engine, settings.consumer, clock, ttl)

    async def expire() -> bool:
        async with unit_of_work(engine, clock) as uow:
            return await handlers.expire_reservations(uow) > 0

    async def backfill() -> bool:
        limit = 500
        async with unit_of_work(engine, clock) as uow:
            return await handlers.announce_unannounced(uow, limit) == limit

    tasks = [
        PeriodicTask("reservation-expiry", settings.expiry_interval_s, expire),
        # Once at the start (and hourly, harmless): levels of SKUs never announced.
        PeriodicTask("stock-level-backfill", 3600.0, backfill),
    ]
    if settings.seed_sample_stock:
        tasks.append(PeriodicTask("seed", 3600.0, lambda: seed_sample_stock(engine, clock)))
    return ServiceDefinition(
        name="inventory",
        settings=settings,
        engine=engine,
        migrations=MIGRATIONS,
        subscriptions=[Subscription(consumer, (topics.INVENTORY_COMMANDS,), group_id="inventory")],
        produces=[topics.INVENTORY_EVENTS, topics.INVENTORY_STOCK],
        tasks=tasks,
        routers=[build_router(engine, clock)],
    )


async def seed_sample_stock(engine: AsyncEngine, clock: Clock = utc_now) -> bool:
    """Stock the sample catalog once; SKUs that exist keep their levels."""
    async with unit_of_work(engine, clock) as uow:
        for product in SAMPLE_CATALOG:
            await handlers.stock_sku(uow, product.sku, product.initial_stock)
    return False
