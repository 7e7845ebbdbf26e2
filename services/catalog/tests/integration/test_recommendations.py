"""The "bought together" store on the real PostgreSQL, held to the same contract as its
fake: counts add up across batches (in any order), a product's recommendations are the
products for sale bought with it most often, and a rebuild's fresh schema reads back as
written."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
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
from orderflow_messaging.clock import FixedClock
from orderflow_messaging.db import hot_pool
from orderflow_service.http import create_app
from orderflow_testing.plugin import MigratedSchema, SchemaDatabase

from .test_catalog import NOW

pytestmark = pytest.mark.integration

Add = Callable[[Counter[tuple[str, str]]], Awaitable[None]]


@pytest.fixture
async def db(migrated_schema: MigratedSchema) -> SchemaDatabase:
    return await migrated_schema(MIGRATIONS)


@pytest.fixture(params=["memory", "postgres"])
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

    async def read_pg() -> Counter[Any]:
        return await read_counts(db.url, db.schema)

    yield add_pg, read_pg


async def test_counts_add_up_across_batches(
    add: tuple[Add, Callable[[], Awaitable[Counter[Any]]]],
) -> None:
    store_add, read = add
    baskets = [["TEE", "MUG"], ["TEE", "MUG", "CAP"], ["CAP", "TEE"], ["SOLO"]]
    await store_add(bought_together(baskets[:2]))
    await store_add(bought_together(baskets[2:]))
    await store_add(Counter())  # an empty batch writes nothing
    assert await read() == bought_together(baskets)


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
