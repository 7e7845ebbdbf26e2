"""Checkout's catalog copy on the real PostgreSQL, fed through the real consumer
(inbox, handlers, dead letters) with records shaped as Kafka delivers them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from checkout.adapters.repository import CatalogRepository
from checkout.bootstrap import MIGRATIONS
from checkout.domain.model import CatalogItem
from checkout.entrypoints.messages import build_consumer
from orderflow_contracts.catalog import PriceChanged, ProductPublished
from orderflow_messaging.clock import FixedClock
from orderflow_messaging.consumer import MessageConsumer
from orderflow_messaging.envelope import Envelope
from orderflow_messaging.registry import Message
from orderflow_messaging.settings import ConsumerSettings
from orderflow_testing.batches import delivered as record
from orderflow_testing.plugin import MigratedSchema

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
LATER = T0 + timedelta(minutes=5)


@dataclass
class Feed:
    """Hands records to the consumer as one partition of catalog.events would."""

    consumer: MessageConsumer
    engine: AsyncEngine
    offset: int = 0

    async def deliver(self, *envelopes: Envelope) -> None:
        """One poll: ``envelopes`` as one batch."""
        records = []
        for envelope in envelopes:
            self.offset += 1
            records.append(record("catalog.events", self.offset, envelope))
        await self.consumer.process(records)


def envelope(message: Message, sku: str, at: datetime) -> Envelope:
    return Envelope(
        message_id=uuid.uuid4(),
        type=message.TYPE,
        version=message.VERSION,
        occurred_at=at,
        producer="catalog",
        correlation_id=sku,
        payload=message.model_dump(mode="json"),
    )


def published(sku: str = "TEE", price: int = 1990, at: datetime = T0) -> Envelope:
    event = ProductPublished(sku=sku, name="Tee", price_minor=price, currency="EUR")
    return envelope(event, sku, at)


def price_changed(sku: str = "TEE", price: int = 2490, at: datetime = LATER) -> Envelope:
    return envelope(PriceChanged(sku=sku, price_minor=price, currency="EUR"), sku, at)


async def _items(engine: AsyncEngine) -> list[CatalogItem]:
    async with engine.connect() as conn:
        return await CatalogRepository(conn).all()


async def _scalar(engine: AsyncEngine, sql: str) -> object:
    async with engine.connect() as conn:
        return await conn.scalar(text(sql))


@pytest.fixture
async def feed(migrated_schema: MigratedSchema) -> Feed:
    db = await migrated_schema(MIGRATIONS)
    settings = ConsumerSettings(backoff_initial_s=0.01, backoff_max_s=0.01)
    return Feed(build_consumer(db.engine, settings, FixedClock(T0)), db.engine)


async def test_product_published_then_price_changed(feed: Feed) -> None:
    engine = feed.engine
    await feed.deliver(published())
    assert await _items(engine) == [CatalogItem("TEE", "Tee", 1990, "EUR", True)]
    await feed.deliver(price_changed())
    assert await _items(engine) == [CatalogItem("TEE", "Tee", 2490, "EUR", True)]
    assert await _scalar(engine, "SELECT max(updated_at) FROM catalog_items") == LATER


async def test_redelivery_is_skipped_by_the_inbox(feed: Feed) -> None:
    engine = feed.engine
    first = published()
    await feed.deliver(first)
    await feed.deliver(price_changed())
    await feed.deliver(first)
    assert [i.price_minor for i in await _items(engine)] == [2490]
    assert await _scalar(engine, "SELECT sum(duplicates) FROM inbox") == 1


async def test_an_older_event_replayed_never_undoes_a_newer_price(feed: Feed) -> None:
    engine = feed.engine
    await feed.deliver(published(at=T0))
    await feed.deliver(price_changed(price=2490, at=LATER))
    # Same facts, new message ids (a republish): the inbox cannot tell, the time guard can.
    await feed.deliver(published(price=1990, at=T0))
    await feed.deliver(price_changed(price=2200, at=T0 + timedelta(minutes=1)))
    assert [i.price_minor for i in await _items(engine)] == [2490]


async def test_published_again_later_overwrites_the_copy(feed: Feed) -> None:
    engine = feed.engine
    await feed.deliver(published(price=1990, at=T0))
    await feed.deliver(published(price=1500, at=LATER))
    assert [i.price_minor for i in await _items(engine)] == [1500]


async def test_price_of_an_unknown_sku_is_dead_lettered(feed: Feed) -> None:
    engine = feed.engine
    await feed.deliver(price_changed(sku="GHOST"))
    assert await _items(engine) == []
    assert await _scalar(engine, "SELECT topic FROM outbox") == "catalog.events.dlq"
    assert await _scalar(engine, "SELECT status FROM inbox") == "dead_lettered"


async def test_one_poll_is_folded_in_order(feed: Feed) -> None:
    engine = feed.engine
    with structlog.testing.capture_logs() as logs:
        await feed.deliver(
            published("TEE", 1990, T0),
            price_changed("TEE", 2490, LATER),
            published("MUG", 1250, T0),
            price_changed("TEE", 2200, T0 + timedelta(minutes=1)),  # older: ignored
            price_changed("MUG", 1100, LATER),
        )
    assert [(i.sku, i.price_minor) for i in await _items(engine)] == [("MUG", 1100), ("TEE", 2490)]
    assert "batch_failed_splitting" not in [entry["event"] for entry in logs]
    assert await _scalar(engine, "SELECT count(*) FROM inbox WHERE status = 'processed'") == 5


async def test_an_unknown_sku_in_a_poll_is_dead_lettered_alone(feed: Feed) -> None:
    engine = feed.engine
    with structlog.testing.capture_logs() as logs:
        await feed.deliver(published("TEE", 1990, T0), price_changed("GHOST"), price_changed("TEE"))
    assert "batch_failed_splitting" in [entry["event"] for entry in logs]
    assert [(i.sku, i.price_minor) for i in await _items(engine)] == [("TEE", 2490)]
    assert await _scalar(engine, "SELECT string_agg(topic, ',') FROM outbox") == (
        "catalog.events.dlq"
    )
    assert await _scalar(engine, "SELECT count(*) FROM inbox WHERE status = 'processed'") == 2
