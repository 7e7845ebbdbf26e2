"""Delivery methods on the real PostgreSQL: saved and announced together (once per real
change, with a growing revision), quoted for a destination, weight and basket; every
inconsistency a 422 naming the field. Products carry their weight; a bundle weighs its
components."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from catalog.bootstrap import MIGRATIONS
from catalog.entrypoints.http import build_router
from orderflow_messaging.clock import FixedClock
from orderflow_messaging.envelope import Envelope
from orderflow_service.http import create_app
from orderflow_testing.plugin import MigratedSchema

from .test_catalog import NOW

pytestmark = pytest.mark.integration


def _client(engine: AsyncEngine) -> httpx.AsyncClient:
    app = create_app("catalog", routers=[build_router(engine, FixedClock(NOW))])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://catalog")


async def _announced(engine: AsyncEngine) -> list[dict[str, Any]]:
    query = "SELECT value FROM outbox WHERE message_type = 'DeliveryMethodChanged' ORDER BY id"
    async with engine.connect() as conn:
        rows = (await conn.execute(text(query))).all()
    return [Envelope.model_validate_json(r.value).payload for r in rows]


def _zone(zone: str, countries: list[str], *bands: tuple[int, int]) -> dict[str, Any]:
    return {
        "zone": zone, "countries": countries,
        "bands": [{"max_weight_g": w, "price_minor": p} for w, p in bands],
    }  # fmt: skip


HOME = {
    "name": "Standard", "kind": "home", "carrier": "SimPost", "currency": "EUR",
    "zones": [_zone("de", ["DE"], (1000, 490), (5000, 690)), _zone("eu", ["FR"], (5000, 990))],
    "free_over_minor": 5000,
}  # fmt: skip
POINT = {
    "point_id": "mitte", "name": "Kiosk", "line1": "Torstr. 1", "city": "Berlin",
    "postcode": "10119", "country": "DE",
}  # fmt: skip
PICKUP = {
    "name": "Pickup", "kind": "pickup", "carrier": "SimPoint", "currency": "EUR",
    "zones": [_zone("de", ["DE"], (10000, 290))], "pickup_points": [POINT],
}  # fmt: skip


async def test_methods_are_saved_announced_and_quoted(migrated_schema: MigratedSchema) -> None:
    db = await migrated_schema(MIGRATIONS)
    async with _client(db.engine) as client:
        for method_id, body in (("standard", HOME), ("pickup", PICKUP)):
            saved = await client.put(f"/delivery-methods/{method_id}", json=body)
            assert saved.status_code == 200, saved.text
            assert saved.json()["revision"] == 1
        again = await client.put("/delivery-methods/standard", json=HOME)
        assert again.json()["revision"] == 1  # the same again: nothing changed
        cheaper = HOME | {"free_over_minor": 4000}
        assert (await client.put("/delivery-methods/standard", json=cheaper)).json()[
            "revision"
        ] == 2
        listed = (await client.get("/delivery-methods")).json()
        assert [(m["method_id"], m["revision"]) for m in listed] == [
            ("pickup", 1), ("standard", 2)
        ]  # fmt: skip
        assert (await client.get("/delivery-methods/nope")).status_code == 404

        async def options(**query: Any) -> list[tuple[str, int, str | None]]:
            params = {"currency": "EUR", **query}
            answer = await client.get("/delivery-options", params=params)
            assert answer.status_code == 200, answer.text
            return [
                (o["method_id"], o["price_minor"], (o["pickup_point"] or {}).get("point_id"))
                for o in answer.json()
            ]

        assert await options(country="DE", weight_g=1200, basket_minor=3000) == [
            ("pickup", 290, "mitte"), ("standard", 690, None)
        ]  # fmt: skip
        assert await options(country="DE", weight_g=1200, basket_minor=4000) == [
            ("standard", 0, None), ("pickup", 290, "mitte")
        ]  # fmt: skip
        assert await options(country="FR", weight_g=6000) == []  # too heavy for France
        assert await options(country="US") == []

        withdrawn = await client.put("/delivery-methods/pickup", json=PICKUP | {"active": False})
        assert withdrawn.json()["active"] is False
        assert await options(country="DE") == [("standard", 490, None)]

    announced = await _announced(db.engine)
    assert [(a["method_id"], a["revision"], a["active"]) for a in announced] == [
        ("standard", 1, True), ("pickup", 1, True), ("standard", 2, True), ("pickup", 2, False)
    ]  # fmt: skip
    assert announced[1]["pickup_points"] == [POINT]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (HOME | {"zones": [_zone("de", ["DE"], (5000, 1), (1000, 2))]}, "zones"),
        (HOME | {"zones": [_zone("a", ["DE"], (1, 1)), _zone("b", ["DE"], (1, 1))]}, "zones"),
        (HOME | {"zones": [_zone("a", ["DE"], (1, 1)), _zone("a", ["FR"], (1, 1))]}, "zones"),
        (HOME | {"pickup_points": [POINT]}, "pickup_points"),
        (PICKUP | {"pickup_points": []}, "pickup_points"),
        (PICKUP | {"pickup_points": [POINT, POINT]}, "pickup_points"),
        (PICKUP | {"pickup_points": [POINT | {"country": "FR"}]}, "pickup_points"),
        (HOME | {"zones": [_zone("de", ["germany"], (1, 1))]}, "zones"),
        (HOME | {"kind": "drone"}, "kind"),
        (HOME | {"surprise": 1}, "surprise"),
    ],
)
async def test_an_inconsistent_method_is_a_422_naming_the_field(
    migrated_schema: MigratedSchema, body: dict[str, Any], field: str
) -> None:
    db = await migrated_schema(MIGRATIONS)
    async with _client(db.engine) as client:
        refused = await client.put("/delivery-methods/m", json=body)
    assert refused.status_code == 422, refused.text
    assert field in str(refused.json()["detail"][0]["loc"])
    assert await _announced(db.engine) == []


async def test_products_carry_their_weight_and_a_bundle_weighs_its_parts(
    migrated_schema: MigratedSchema,
) -> None:
    db = await migrated_schema(MIGRATIONS)
    async with _client(db.engine) as client:
        for sku, weight in (("PART-A", 300), ("PART-B", None)):
            body = {"sku": sku, "name": sku, "price_minor": 1000, "currency": "EUR"}
            created = await client.post("/products", json=body | {"weight_g": weight})
            assert created.status_code == 201, created.text
            assert created.json()["weight_g"] == weight
        kit = {
            "sku": "KIT", "name": "Kit", "currency": "EUR", "discount_bp": 0,
            "components": [{"sku": "PART-A", "quantity": 2}, {"sku": "PART-B", "quantity": 1}],
        }  # fmt: skip
        made = await client.post("/bundles", json=kit)
        assert made.status_code == 201, made.text
        assert made.json()["weight_g"] == 600  # an unknown weight weighs nothing
        assert (await client.get("/products/KIT")).json()["weight_g"] == 600
    query = "SELECT value FROM outbox WHERE message_type = 'ProductPublished' ORDER BY id"
    async with db.engine.connect() as conn:
        rows = (await conn.execute(text(query))).all()
    published = [Envelope.model_validate_json(r.value).payload for r in rows]
    assert [p.get("weight_g") for p in published] == [300, None, 600]


async def test_a_new_weight_is_announced_with_the_bundles_that_weigh_it(
    migrated_schema: MigratedSchema,
) -> None:
    db = await migrated_schema(MIGRATIONS)
    async with _client(db.engine) as client:
        for sku, weight in (("PART-A", 300), ("PART-B", 100), ("LONE", None)):
            body = {"sku": sku, "name": sku, "price_minor": 1000, "currency": "EUR"}
            assert (await client.post("/products", json=body | {"weight_g": weight})).is_success
        kit = {
            "sku": "KIT", "name": "Kit", "currency": "EUR", "price_minor": 1500,
            "components": [{"sku": "PART-A", "quantity": 2}, {"sku": "PART-B", "quantity": 1}],
        }  # fmt: skip
        assert (await client.post("/bundles", json=kit)).status_code == 201

        changed = await client.put("/products/PART-A/weight", json={"weight_g": 450})
        assert changed.status_code == 200, changed.text
        assert changed.json()["weight_g"] == 450
        assert (await client.get("/products/KIT")).json()["weight_g"] == 1000  # 2x450 + 100
        again = await client.put("/products/PART-A/weight", json={"weight_g": 450})
        assert again.status_code == 200  # the same weight: nothing announced
        cleared = await client.put("/products/LONE/weight", json={"weight_g": None})
        assert cleared.status_code == 200  # it had none: nothing announced either

        refused = await client.put("/products/KIT/weight", json={"weight_g": 5})
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["body", "weight_g"]
        assert (await client.put("/products/NOPE/weight", json={"weight_g": 5})).status_code == 404
        bad = await client.put("/products/PART-A/weight", json={"weight_g": -1})
        assert bad.status_code == 422
    query = "SELECT value FROM outbox WHERE message_type = 'ProductPublished' ORDER BY id"
    async with db.engine.connect() as conn:
        rows = (await conn.execute(text(query))).all()
    published = [Envelope.model_validate_json(r.value).payload for r in rows]
    # Created (four), then PART-A again and KIT with it: each whole, at its new weight.
    assert [(p["sku"], p.get("weight_g")) for p in published[4:]] == [
        ("PART-A", 450), ("KIT", 1000)
    ]  # fmt: skip
    assert published[-1]["components"] == [
        {"sku": "PART-A", "quantity": 2}, {"sku": "PART-B", "quantity": 1}
    ]  # fmt: skip
    assert published[-1]["price_minor"] == 1500
