"""Composition root: builds the engine, consumer and routes of history."""

from __future__ import annotations

from pathlib import Path

from history.application.facts import TOPICS
from history.config import HistorySettings
from history.entrypoints.http import build_router
from history.entrypoints.messages import build_consumer
from orderflow_messaging.clock import Clock, utc_now
from orderflow_service.runtime import ServiceDefinition, Subscription, service_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: HistorySettings, clock: Clock = utc_now) -> ServiceDefinition:
    engine = service_engine(settings, "history")
    consumer_settings = settings.consumer.lingering(settings.linger_ms)
    consumer = build_consumer(engine, consumer_settings, clock)
    return ServiceDefinition(
        name="history",
        settings=settings,
        engine=engine,
        migrations=MIGRATIONS,
        subscriptions=[
            Subscription(consumer, TOPICS, group_id="history", settings=consumer_settings)
        ],
        routers=[build_router(engine)],
    )
