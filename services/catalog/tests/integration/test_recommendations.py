"""The "bought together" store on the real PostgreSQL, held to the same contract as its
fake: counts add up across batches (in any order), a product's recommendations are the
products for sale bought with it most often, and a rebuild's fresh schema reads back as
written."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from itertools import count
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from catalog.adapters.recommendations import (
    MemoryBoughtTogether,
    PgBoughtTogether,
    read_counts,
    write_fresh,
)
from catalog.bootstrap import MIGRATIONS
from catalog.domain.recommendations import bought_together
from catalog.entrypoints.http import build_router
from catalog.entrypoints.messages import build_consumer
from orderflow_contracts import topics
from orderflow_contracts.checkout import OrderPlaced
from orderflow_contracts.common import Address, Money, PricedLineV4
from orderflow_messaging.clock import FixedClock
from orderflow_messaging.db import hot_pool
from orderflow_messaging.envelope import Envelope
from orderflow_messaging.settings import ConsumerSettings
from orderflow_messaging.write_plan import WritePlan
from orderflow_service.http import create_app
from orderflow_testing.batches import DeliveredRecord, delivered
from orderflow_testing.plugin import MigratedSchema, SchemaDatabase

from .test_catalog import NOW

pytestmark = pytest.mark.integration

_offsets = count()
Add = Callable[[Counter[tuple[str, str]]], Awaitable[None]]


@pytest.fixture
async def db(migrated_schema: MigratedSchema) -> SchemaDatabase:
    return await migrated_schema(MIGRATIONS)


@pytest.fixture(params=["memory", "postgres", "planned"])
async def add(
    request: pytest.FixtureRequest, db: SchemaDatabase
) -> AsyncIterator[tuple[Add, Callable[[], Awaitable[Counter[Any]]]]]:
    if request.param == "memory":
        fake = MemoryBoughtTogether()

        async def read_fake() -> Counter[Any]:
            return Counter(fake.counts)

        yield fake.add, read_fake
        return
    pool = await hot_pool(db.engine).pool()

    async def add_pg(counts: Counter[tuple[str, str]]) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await PgBoughtTogether(conn).add(counts)

    async def add_planned(counts: Counter[tuple[str, str]]) -> None:
        """An optimistic batch's store: the add is a part of the plan, run after."""
        async with pool.acquire() as conn:
            plan = WritePlan()
            await PgBoughtTogether(conn, plan).add(counts)
            if len(plan):
                await plan.execute(conn)

    async def read_pg() -> Counter[Any]:
        return await read_counts(db.url, db.schema)

    yield (add_pg if request.param == "postgres" else add_planned), read_pg


async def test_counts_add_up_across_batches(
    add: tuple[Add, Callable[[], Awaitable[Counter[Any]]]],
) -> None:
    store_add, read = add
    baskets = [["TEE", "MUG"], ["TEE", "MUG", "CAP"], ["CAP", "TEE"], ["SOLO"]]
    await store_add(bought_together(baskets[:2]))
    await store_add(bought_together(baskets[2:]))
    await store_add(Counter())  # an empty batch writes nothing
    assert await read() == bought_together(baskets)


def _placed(order_id: str, *skus: str) -> DeliveredRecord:
    price = Money(amount_minor=1000, currency="EUR")
    message = OrderPlaced(
        order_id=order_id, customer_id="c1", total=price, payment_token="tok_ok",
        lines=[PricedLineV4(sku=s, quantity=1, unit_price=price, price_source="base")
               for s in skus],
        shipping_address=Address(name="Ada", line1="1 Main St", city="Berlin",
                                 postcode="10115", country="DE"),
        placed_at=NOW,
    )  # fmt: skip
    envelope = Envelope(
        message_id=uuid.uuid4(), type=message.TYPE, version=message.VERSION, occurred_at=NOW,
        producer="checkout", correlation_id=order_id, payload=message.model_dump(mode="json"),
    )  # fmt: skip
    return delivered(topics.CHECKOUT_EVENTS, next(_offsets), envelope)


async def test_the_consumer_counts_each_order_once_whatever_is_redelivered(
    db: SchemaDatabase,
) -> None:
    consumer = build_consumer(db.engine, ConsumerSettings(backoff_initial_s=0.01), FixedClock(NOW))
    first, second = _placed("o1", "TEE", "MUG"), _placed("o2", "TEE", "MUG", "CAP")
    await consumer.process([first, second])  # one statement: claims and pairs
    await consumer.process([second, _placed("o3", "CAP", "TEE")])  # o2 again: counted once
    await consumer.process([first])
    expected = bought_together([["TEE", "MUG"], ["TEE", "MUG", "CAP"], ["CAP", "TEE"]])
    assert await read_counts(db.url, db.schema) == expected


async def test_recommendations_are_the_products_for_sale_bought_most_often_with_it(
    db: SchemaDatabase,
) -> None:
    app = create_app("catalog", routers=[build_router(db.engine, FixedClock(NOW))])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://catalog"
    ) as client:
        for sku in ("TEE", "MUG", "CAP", "HAT", "GONE"):
            body = {"sku": sku, "name": sku.title(), "price_minor": 1000, "currency": "EUR"}
            assert (
                await client.post("/products", json=body | {"active": sku != "GONE"})
            ).is_success
        pool = await hot_pool(db.engine).pool()
        baskets = (
            [["TEE", "MUG"]] * 3 + [["TEE", "CAP"]] * 3 + [["TEE", "HAT"], ["TEE", "GONE"]] * 5
        )
        async with pool.acquire() as conn, conn.transaction():
            await PgBoughtTogether(conn).add(bought_together(baskets))
        found = await client.get("/products/TEE/bought-together", params={"limit": 3})
        assert found.status_code == 200, found.text
        assert [(r["sku"], r["orders"]) for r in found.json()] == [
            ("HAT", 5), ("CAP", 3), ("MUG", 3)  # GONE is not for sale; ties by SKU
        ]  # fmt: skip
        assert found.json()[0] == {
            "sku": "HAT", "name": "Hat", "price_minor": 1000, "currency": "EUR", "orders": 5
        }  # fmt: skip
        assert (await client.get("/products/MUG/bought-together")).json() == [
            {"sku": "TEE", "name": "Tee", "price_minor": 1000, "currency": "EUR", "orders": 3}
        ]
        assert (await client.get("/products/NOPE/bought-together")).status_code == 404
        assert (await client.get("/products/TEE/bought-together?limit=0")).status_code == 422


async def test_a_rebuild_writes_a_fresh_schema_that_reads_back(db: SchemaDatabase) -> None:
    schema = f"replay_test_{uuid.uuid4().hex[:8]}"
    counts = bought_together([["TEE", "MUG"], ["TEE", "MUG", "CAP"]])
    try:
        await write_fresh(db.url, schema, counts)
        assert await read_counts(db.url, schema) == counts
    finally:
        async with db.engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
