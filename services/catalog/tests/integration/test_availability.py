"""The catalog's availability on the real PostgreSQL: inventory's levels consumed into the
projection (the newest revision wins, whatever the delivery order), and shown by product
reads and search (the in-stock filter and facet)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from itertools import count
from typing import Any
from uuid import uuid4

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from catalog.adapters.levels import MemoryStockLevels, PgStockLevels
from catalog.application.availability import StockLevelStore
from catalog.bootstrap import MIGRATIONS, seed_sample_catalog
from catalog.domain.model import StockLevel
from catalog.entrypoints.http import build_router
from catalog.entrypoints.messages import build_consumer
from orderflow_contracts import topics
from orderflow_contracts.inventory import StockLevelChanged
from orderflow_messaging.clock import FixedClock
from orderflow_messaging.db import hot_pool
from orderflow_messaging.envelope import Envelope
from orderflow_messaging.settings import ConsumerSettings
from orderflow_messaging.write_plan import WritePlan
from orderflow_service.http import create_app
from orderflow_testing.batches import DeliveredRecord, delivered
from orderflow_testing.plugin import MigratedSchema

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
_offsets = count()
OnStore = Callable[[Callable[[StockLevelStore], Awaitable[object]]], Awaitable[object]]


@pytest.fixture(params=["memory", "postgres", "planned"])
async def on_store(
    request: pytest.FixtureRequest, migrated_schema: MigratedSchema
) -> AsyncIterator[OnStore]:
    if request.param == "memory":
        fake = MemoryStockLevels()

        async def on_fake(step: Callable[[StockLevelStore], Awaitable[object]]) -> object:
            return await step(fake)

        yield on_fake
        return
    pool = await hot_pool((await migrated_schema(MIGRATIONS)).engine).pool()

    async def on_postgres(step: Callable[[StockLevelStore], Awaitable[object]]) -> object:
        async with pool.acquire() as conn, conn.transaction():
            return await step(PgStockLevels(conn))

    async def on_plan(step: Callable[[StockLevelStore], Awaitable[object]]) -> object:
        """An optimistic batch's store: the save is a part of the plan, run after."""
        async with pool.acquire() as conn:
            plan = WritePlan()
            found = await step(PgStockLevels(conn, plan))
            if len(plan):
                await plan.execute(conn)
            return found

    yield on_postgres if request.param == "postgres" else on_plan


async def test_a_level_replaces_only_an_older_revision(on_store: OnStore) -> None:
    async def save(*levels: StockLevel) -> None:
        async def step(store: StockLevelStore) -> None:
            await store.save(list(levels))

        await on_store(step)

    async def get(sku: str) -> object:
        async def step(store: StockLevelStore) -> object:
            return await store.get(sku)

        return await on_store(step)

    await save(StockLevel("A", 5, 3), StockLevel("B", 0, 1))
    await save(StockLevel("A", 9, 2), StockLevel("B", 7, 2))  # A's is older: kept as it is
    await save(StockLevel("A", 1, 3))  # the same revision again (a replay): no change
    assert await get("A") == StockLevel("A", 5, 3)
    assert await get("B") == StockLevel("B", 7, 2)
    assert await get("C") is None


def _level(sku: str, available: int, revision: int) -> DeliveredRecord:
    message = StockLevelChanged(sku=sku, available=available, revision=revision)
    envelope = Envelope(
        message_id=uuid4(), type=message.TYPE, version=message.VERSION, occurred_at=NOW,
        producer="inventory", correlation_id=sku, payload=message.model_dump(mode="json"),
    )  # fmt: skip
    return delivered(topics.INVENTORY_STOCK, next(_offsets), envelope)


def _client(engine: AsyncEngine) -> httpx.AsyncClient:
    app = create_app("catalog", routers=[build_router(engine, FixedClock(NOW))])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://catalog")


async def _get(client: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_consumed_levels_show_in_products_and_search(
    migrated_schema: MigratedSchema,
) -> None:
    engine = (await migrated_schema(MIGRATIONS)).engine
    await seed_sample_catalog(engine, FixedClock(NOW))
    consumer = build_consumer(engine, ConsumerSettings(backoff_initial_s=0.01), FixedClock(NOW))
    newest = _level("TEE-BLK-M", 0, 4)
    # Out of order within a batch and across batches, with a redelivery: the newest wins.
    await consumer.process([_level("TEE-BLK-M", 3, 2), newest, _level("TEE-WHT-L", 12, 1)])
    await consumer.process([_level("TEE-BLK-M", 8, 3), newest, _level("NOT-IN-CATALOG", 2, 1)])
    async with _client(engine) as client:
        black = await _get(client, "/products/TEE-BLK-M")
        white = await _get(client, "/products/TEE-WHT-L")
        assert (black["available"], black["in_stock"]) == (0, False)
        assert (white["available"], white["in_stock"]) == (12, True)
        hoodie = await _get(client, "/products/HOODIE-GRY-M")  # no level announced yet
        assert (hoodie["available"], hoodie["in_stock"]) == (None, False)

        tees = await _get(client, "/search", q="organic tee")
        assert tees["facets"]["stock"] == {"in_stock": 1, "out_of_stock": 1}
        in_stock = await _get(client, "/search", q="organic tee", in_stock="true")
        assert [p["sku"] for p in in_stock["items"]] == ["TEE-WHT-L"]
        # The stock facet ignores its own filter; the others count under it.
        assert in_stock["facets"]["stock"] == {"in_stock": 1, "out_of_stock": 1}
        assert in_stock["total"] == 1
        sold_out = await _get(client, "/search", q="organic tee", in_stock="false")
        assert [p["sku"] for p in sold_out["items"]] == ["TEE-BLK-M"]
        every = await _get(client, "/search", page_size=100)
        assert every["facets"]["stock"] == {"in_stock": 1, "out_of_stock": every["total"] - 1}
        compared = await _get(client, "/compare", skus="TEE-BLK-M,TEE-WHT-L")
        assert [p["available"] for p in compared["products"]] == [0, 12]
        refused = await client.get("/search", params={"in_stock": "sometimes"})
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["query", "in_stock"]


async def test_a_bundle_is_available_as_often_as_its_scarcest_component_allows(
    migrated_schema: MigratedSchema,
) -> None:
    engine = (await migrated_schema(MIGRATIONS)).engine
    consumer = build_consumer(engine, ConsumerSettings(backoff_initial_s=0.01), FixedClock(NOW))
    async with _client(engine) as client:
        for sku in ("PART-A", "PART-B", "PART-C"):
            body = {"sku": sku, "name": f"Part {sku}", "price_minor": 1000, "currency": "EUR"}
            assert (await client.post("/products", json=body)).status_code == 201
        for sku, parts in (
            ("KIT", {"PART-A": 2, "PART-B": 1}),
            ("SET", {"PART-A": 1, "PART-C": 1}),
        ):
            kit = {
                "sku": sku, "name": f"Bundle {sku}", "currency": "EUR", "discount_bp": 0,
                "components": [{"sku": s, "quantity": q} for s, q in parts.items()],
            }  # fmt: skip
            assert (await client.post("/bundles", json=kit)).status_code == 201
        # PART-C has no level yet: what SET can sell is not known.
        await consumer.process([_level("PART-A", 7, 1), _level("PART-B", 5, 1)])
        kit = await _get(client, "/products/KIT")
        assert (kit["available"], kit["in_stock"]) == (3, True)  # 7 // 2, 5 // 1
        bundle_set = await _get(client, "/products/SET")
        assert (bundle_set["available"], bundle_set["in_stock"]) == (None, False)

        await consumer.process([_level("PART-C", 4, 1), _level("PART-A", 1, 2)])
        kit, bundle_set = await _get(client, "/products/KIT"), await _get(client, "/products/SET")
        assert (kit["available"], kit["in_stock"]) == (0, False)  # one PART-A: no whole KIT
        assert (bundle_set["available"], bundle_set["in_stock"]) == (1, True)

        found = await _get(client, "/search", q="bundle", in_stock="true")
        assert [p["sku"] for p in found["items"]] == ["SET"]
        assert found["facets"]["stock"] == {"in_stock": 1, "out_of_stock": 1}
        compared = await _get(client, "/compare", skus="KIT,SET")
        assert [p["available"] for p in compared["products"]] == [0, 1]
