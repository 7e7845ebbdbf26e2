"""Composition root: builds the engine, consumer, seed task and routes of catalog."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from catalog.application import handlers
from catalog.application.unit_of_work import unit_of_work
from catalog.config import CatalogSettings
from catalog.entrypoints.http import build_router
from catalog.entrypoints.messages import build_consumer, build_promotions_consumer
from orderflow_contracts import topics
from orderflow_contracts.samples import SAMPLE_CATALOG, SAMPLE_CATEGORIES
from orderflow_messaging.clock import Clock, utc_now
from orderflow_service.runtime import ServiceDefinition, Subscription, service_engine
from orderflow_service.timers import PeriodicTask

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: CatalogSettings, clock: Clock = utc_now) -> ServiceDefinition:
    engine = service_engine(settings, "catalog")
    consumer_settings = settings.consumer.lingering(settings.linger_ms)
    consumer = build_consumer(engine, consumer_settings, clock)
    promotions = build_promotions_consumer(engine, settings.consumer, clock)
    tasks = []
    if settings.seed_sample_catalog:
        # Re-running hourly is harmless: the seed only inserts (and announces) what is missing.
        tasks.append(PeriodicTask("seed", 3600.0, lambda: seed_sample_catalog(engine, clock)))
    return ServiceDefinition(
        name="catalog",
        settings=settings,
        engine=engine,
        migrations=MIGRATIONS,
        subscriptions=[
            Subscription(
                consumer,
                (topics.INVENTORY_STOCK, topics.CHECKOUT_EVENTS),
                group_id="catalog",
                settings=consumer_settings,
            ),
            Subscription(promotions, (topics.PROMOTIONS_COMMANDS,), group_id="promotions"),
        ],
        produces=[topics.CATALOG_EVENTS, topics.PROMOTIONS_EVENTS],
        tasks=tasks,
        routers=[build_router(engine, clock)],
    )


async def seed_sample_catalog(engine: AsyncEngine, clock: Clock = utc_now) -> bool:
    """Publish the sample catalog (categories first) once; products that exist keep
    their prices."""
    async with unit_of_work(engine, clock) as uow:
        await handlers.seed_catalog(uow, SAMPLE_CATALOG, SAMPLE_CATEGORIES)
    return False
