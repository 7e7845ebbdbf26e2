"""Catalog on the real PostgreSQL: each change and its event commit together, once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from catalog.application import handlers
from catalog.application.unit_of_work import unit_of_work
from catalog.bootstrap import MIGRATIONS, seed_sample_catalog
from catalog.domain.model import Product, UnknownProduct
from catalog.entrypoints.http import build_router
from orderflow_contracts.catalog import PriceChanged, ProductPublished
from orderflow_contracts.samples import SAMPLE_CATALOG
from orderflow_messaging.clock import FixedClock
from orderflow_messaging.envelope import Envelope
from orderflow_service.http import create_app
from orderflow_testing.plugin import MigratedSchema

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


@dataclass(frozen=True)
class Sent:
    topic: str
    key: bytes
    message_type: str
    correlation_id: str
    envelope: Envelope


async def _outbox(engine: AsyncEngine) -> list[Sent]:
    query = "SELECT topic, key, message_type, correlation_id, value FROM outbox ORDER BY id"
    async with engine.connect() as conn:
        rows = (await conn.execute(text(query))).all()
    return [
        Sent(
            r.topic, r.key, r.message_type, r.correlation_id, Envelope.model_validate_json(r.value)
        )
        for r in rows
    ]


async def _count(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)  # noqa: S608


def _client(engine: AsyncEngine) -> httpx.AsyncClient:
    app = create_app("catalog", routers=[build_router(engine, FixedClock(NOW))])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://catalog")


async def test_seed_publishes_each_product_exactly_once(migrated_schema: MigratedSchema) -> None:
    db = await migrated_schema(MIGRATIONS)
    clock = FixedClock(NOW)
    # Twice in a row and twice at once (two replicas starting together).
    await seed_sample_catalog(db.engine, clock)
    await seed_sample_catalog(db.engine, clock)
    await asyncio.gather(*(seed_sample_catalog(db.engine, clock) for _ in range(2)))

    sent = await _outbox(db.engine)
    assert sorted(s.correlation_id for s in sent) == sorted(p.sku for p in SAMPLE_CATALOG)
    assert await _count(db.engine, "products") == len(SAMPLE_CATALOG)
    for s in sent:
        assert (s.topic, s.message_type) == ("catalog.events", "ProductPublished")
        assert s.key == s.correlation_id.encode()
    by_sku = {s.correlation_id: ProductPublished.model_validate(s.envelope.payload) for s in sent}
    for sample in SAMPLE_CATALOG:
        published = by_sku[sample.sku]
        assert (published.name, published.price_minor, published.currency, published.active) == (
            sample.name, sample.price_minor, sample.currency, True,
        )  # fmt: skip


async def test_seed_keeps_the_price_of_an_existing_product(
    migrated_schema: MigratedSchema,
) -> None:
    db = await migrated_schema(MIGRATIONS)
    clock = FixedClock(NOW)
    sku = SAMPLE_CATALOG[0].sku
    async with unit_of_work(db.engine, clock) as uow:
        await handlers.publish_product(uow, Product(sku, "Renamed", 1, "EUR"))
    await seed_sample_catalog(db.engine, clock)
    async with unit_of_work(db.engine, clock) as uow:
        kept = await uow.products.get(sku)
    assert kept is not None
    assert (kept.name, kept.price_minor) == ("Renamed", 1)
    assert len(await _outbox(db.engine)) == len(SAMPLE_CATALOG)


async def test_price_change_emits_price_changed_once(migrated_schema: MigratedSchema) -> None:
    db = await migrated_schema(MIGRATIONS)
    clock = FixedClock(NOW)
    await seed_sample_catalog(db.engine, clock)
    before = len(await _outbox(db.engine))
    for _ in range(2):
        async with unit_of_work(db.engine, clock) as uow:
            product = await handlers.change_price(uow, "CAP-NVY", 2600, "EUR")
        assert product.price_minor == 2600

    new = (await _outbox(db.engine))[before:]
    assert [(s.message_type, s.correlation_id, s.key) for s in new] == [
        ("PriceChanged", "CAP-NVY", b"CAP-NVY")
    ]
    changed = PriceChanged.model_validate(new[0].envelope.payload)
    assert (changed.sku, changed.price_minor, changed.currency) == ("CAP-NVY", 2600, "EUR")
    assert new[0].envelope.occurred_at == NOW


async def test_price_of_unknown_product_is_refused(migrated_schema: MigratedSchema) -> None:
    db = await migrated_schema(MIGRATIONS)
    with pytest.raises(UnknownProduct):
        async with unit_of_work(db.engine, FixedClock(NOW)) as uow:
            await handlers.change_price(uow, "NOPE", 1, "EUR")
    assert await _outbox(db.engine) == []


NEW_PRODUCT: dict[str, Any] = {
    "sku": "POSTER-A2",
    "name": "Screen-printed poster, A2",
    "price_minor": 3500,
    "currency": "EUR",
}


async def test_http_create_read_and_reprice(migrated_schema: MigratedSchema) -> None:
    db = await migrated_schema(MIGRATIONS)
    async with _client(db.engine) as client:
        created = await client.post("/products", json=NEW_PRODUCT)
        assert created.status_code == 201
        assert created.json() == {
            **NEW_PRODUCT, "active": True, "description": "", "category": None, "family": None,
            "attributes": {}, "available": None, "in_stock": False,  # no level announced yet
            "components": None, "weight_g": None,
        }  # fmt: skip
        again = await client.post("/products", json={**NEW_PRODUCT, "price_minor": 1})
        assert again.status_code == 409

        assert (await client.get("/products/POSTER-A2")).json()["price_minor"] == 3500
        assert [p["sku"] for p in (await client.get("/products")).json()] == ["POSTER-A2"]
        assert (await client.get("/products/NOPE")).status_code == 404

        repriced = await client.put(
            "/products/POSTER-A2/price", json={"price_minor": 3900, "currency": "EUR"}
        )
        assert repriced.status_code == 200
        assert repriced.json()["price_minor"] == 3900
        unknown = await client.put(
            "/products/NOPE/price", json={"price_minor": 1, "currency": "EUR"}
        )
        assert unknown.status_code == 404

    sent = await _outbox(db.engine)
    assert [(s.message_type, s.correlation_id) for s in sent] == [
        ("ProductPublished", "POSTER-A2"),
        ("PriceChanged", "POSTER-A2"),
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**NEW_PRODUCT, "sku": "lower-case"}, "sku"),
        ({**NEW_PRODUCT, "price_minor": -1}, "price_minor"),
        ({**NEW_PRODUCT, "price_minor": "3500"}, "price_minor"),
        ({**NEW_PRODUCT, "currency": "euro"}, "currency"),
        ({**NEW_PRODUCT, "name": ""}, "name"),
        ({k: v for k, v in NEW_PRODUCT.items() if k != "name"}, "name"),
    ],
)
async def test_http_invalid_product_is_422_and_writes_nothing(
    migrated_schema: MigratedSchema, body: dict[str, Any], field: str
) -> None:
    db = await migrated_schema(MIGRATIONS)
    async with _client(db.engine) as client:
        response = await client.post("/products", json=body)
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [["body", field]]
    assert await _count(db.engine, "products") == 0
    assert await _count(db.engine, "outbox") == 0


async def test_http_invalid_price_is_422_and_changes_nothing(
    migrated_schema: MigratedSchema,
) -> None:
    db = await migrated_schema(MIGRATIONS)
    async with _client(db.engine) as client:
        await client.post("/products", json=NEW_PRODUCT)
        response = await client.put(
            "/products/POSTER-A2/price", json={"price_minor": -5, "currency": "eur"}
        )
        assert response.status_code == 422
        fields = sorted(e["loc"][-1] for e in response.json()["detail"])
        assert fields == ["currency", "price_minor"]
        assert (await client.get("/products/POSTER-A2")).json()["price_minor"] == 3500
    assert await _count(db.engine, "outbox") == 1


async def test_repricing_a_component_reprices_every_discounted_bundle_of_it(
    migrated_schema: MigratedSchema,
) -> None:
    db = await migrated_schema(MIGRATIONS)
    part = {**NEW_PRODUCT, "price_minor": 1000}
    async with _client(db.engine) as client:
        for sku, price in (("PART-A", 1000), ("PART-B", 500)):
            created = await client.post(
                "/products", json={**part, "sku": sku, "price_minor": price}
            )
            assert created.status_code == 201, created.text
        kits: list[tuple[str, dict[str, int], list[tuple[str, int]]]] = [
            ("KIT-ONE", {"discount_bp": 1000}, [("PART-A", 1), ("PART-B", 2)]),
            ("KIT-TWO", {"discount_bp": 5000}, [("PART-A", 2), ("PART-B", 2)]),
            ("KIT-FIXED", {"price_minor": 1500}, [("PART-A", 1), ("PART-B", 1)]),
        ]
        for sku, priced, parts in kits:
            components = [{"sku": s, "quantity": q} for s, q in parts]
            body = {"sku": sku, "name": sku, "currency": "EUR", "components": components}
            created = await client.post("/bundles", json={**body, **priced})
            assert created.status_code == 201, created.text

        repriced = await client.put(
            "/products/PART-A/price", json={"price_minor": 2000, "currency": "EUR"}
        )
        assert repriced.status_code == 200
        prices = {p["sku"]: p["price_minor"] for p in (await client.get("/products")).json()}

    assert prices == {
        "PART-A": 2000, "PART-B": 500,
        "KIT-ONE": 2700,  # (2000 + 2 x 500) less 10 %
        "KIT-TWO": 2500,  # (2 x 2000 + 2 x 500) less 50 %
        "KIT-FIXED": 1500,  # its own price: not repriced
    }  # fmt: skip
    changed = [
        s.correlation_id for s in await _outbox(db.engine) if s.message_type == "PriceChanged"
    ]
    assert sorted(changed) == ["KIT-ONE", "KIT-TWO", "PART-A"]
