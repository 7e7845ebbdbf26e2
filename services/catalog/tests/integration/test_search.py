"""Catalog search, categories and comparison on the real PostgreSQL (its full-text search,
GIN indexes and the category tree), through the HTTP routes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from catalog.application import handlers
from catalog.application.unit_of_work import unit_of_work
from catalog.bootstrap import MIGRATIONS, seed_sample_catalog
from catalog.domain.model import Product
from catalog.entrypoints.http import build_router
from orderflow_contracts.samples import SAMPLE_CATALOG, SAMPLE_CATEGORIES
from orderflow_messaging.clock import FixedClock
from orderflow_service.http import create_app
from orderflow_testing.plugin import MigratedSchema

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _client(engine: Any) -> httpx.AsyncClient:
    app = create_app("catalog", routers=[build_router(engine, FixedClock(NOW))])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://catalog")


@pytest.fixture
async def client(migrated_schema: MigratedSchema) -> Any:
    db = await migrated_schema(MIGRATIONS)
    await seed_sample_catalog(db.engine, FixedClock(NOW))
    async with _client(db.engine) as client:
        yield client


async def _search(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/search", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _skus(page: dict[str, Any]) -> list[str]:
    return [item["sku"] for item in page["items"]]


def _values(page: dict[str, Any], attribute: str) -> dict[str, int]:
    return {v["value"]: v["count"] for v in page["facets"]["attributes"].get(attribute, [])}


async def test_text_search_stems_and_ranks(client: httpx.AsyncClient) -> None:
    # "tees" finds "tee" (English stemming); the name outranks the description.
    page = await _search(client, q="organic tees")
    assert sorted(_skus(page)) == ["TEE-BLK-M", "TEE-WHT-L"]
    assert page["total"] == 2
    # Attribute values are searched too; "-word" excludes.
    assert sorted(_skus(await _search(client, q="merino"))) == ["SOCKS-3PK"]
    # By name: "Canvas tote bag", "Heavyweight hoodie...", "Six-panel cap...".
    by_name = _skus(await _search(client, q="cotton -tee", sort="name"))
    assert by_name == ["TOTE-CANVAS", "HOODIE-GRY-M", "CAP-NVY"]
    # A SKU is found as it is written.
    assert _skus(await _search(client, q="BOTTLE-750")) == ["BOTTLE-750"]
    # Anything typed is a valid query (unbalanced quotes, operators alone): no match,
    # not an error.
    assert (await _search(client, q='"unclosed or -'))["total"] == 0
    assert (await _search(client, q="-"))["total"] == 0


async def test_facets_with_filters(client: httpx.AsyncClient) -> None:
    page = await _search(client, category="apparel", attr=["colour:black", "colour:white"])
    # Apparel (tops, accessories, footwear) in black or white: two tees and the sneaker.
    assert sorted(_skus(page)) == ["SOLD-OUT", "TEE-BLK-M", "TEE-WHT-L"]
    # The colour facet ignores the colour filter (disjunctive): every apparel colour.
    assert _values(page, "colour") == {"black": 1, "white": 2, "grey": 2, "navy": 1, "natural": 1}
    # Other facets count under every filter: the sizes of the three.
    assert _values(page, "size") == {"M": 1, "L": 1, "42": 1}
    # The category facet ignores the category filter and rolls children up.
    categories = {c["slug"]: c["count"] for c in page["facets"]["categories"]}
    assert categories == {
        "apparel": 3, "tops": 2, "footwear": 1, "home": 2, "drinkware": 2,
    }  # fmt: skip
    # The two tees at 19.90, the sneaker at 180.00 (the price facet has no price filter
    # to leave out here).
    prices = {(p["min_minor"], p["max_minor"]): p["count"] for p in page["facets"]["prices"]}
    assert prices == {(1_000, 2_500): 2, (10_000, 25_000): 1}
    assert {p["currency"] for p in page["facets"]["prices"]} == {"EUR"}


async def test_price_range_sort_and_paging(client: httpx.AsyncClient) -> None:
    cheap_first = await _search(
        client, currency="EUR", price_min=1500, price_max=2990, sort="price_asc", page_size=2
    )
    assert cheap_first["total"] == 6
    assert _skus(cheap_first) == ["TOTE-CANVAS", "SOCKS-3PK"]
    second = await _search(
        client, currency="EUR", price_min=1500, price_max=2990, sort="price_asc", page_size=2,
        page=2,
    )  # fmt: skip
    # Equal prices are ordered by SKU, so pages never overlap.
    assert _skus(second) == ["TEE-BLK-M", "TEE-WHT-L"]
    third = await _search(
        client, currency="EUR", price_min=1500, price_max=2990, sort="price_asc", page_size=2,
        page=3,
    )  # fmt: skip
    assert _skus(third) == ["CAP-NVY", "BOTTLE-750"]
    # The price facet ignores the price filter: every bucket of the catalog.
    buckets = {(b["min_minor"], b["max_minor"]): b["count"] for b in second["facets"]["prices"]}
    assert buckets == {
        (1_000, 2_500): 6, (2_500, 5_000): 1, (5_000, 10_000): 1, (10_000, 25_000): 1,
        (25_000, None): 1,
    }  # fmt: skip
    dearest = await _search(client, sort="price_desc", page_size=1)
    assert _skus(dearest) == ["LAST-UNIT"]
    assert dearest["total"] == len(SAMPLE_CATALOG)


async def test_family_lists_the_variants(client: httpx.AsyncClient) -> None:
    page = await _search(client, family="TEE-ORGANIC", sort="name")
    assert _skus(page) == ["TEE-BLK-M", "TEE-WHT-L"]
    assert [item["attributes"]["size"] for item in page["items"]] == ["M", "L"]


async def test_inactive_products_are_not_found(migrated_schema: MigratedSchema) -> None:
    db = await migrated_schema(MIGRATIONS)
    async with unit_of_work(db.engine, FixedClock(NOW)) as uow:
        await handlers.publish_product(
            uow, Product("OLD-TEE", "Retired tee", 990, "EUR", active=False)
        )
    async with _client(db.engine) as client:
        assert (await _search(client, q="tee"))["total"] == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"attr": "colour"}, "attr"),
        ({"attr": ":black"}, "attr"),
        ({"price_min": 100}, "currency"),
        ({"currency": "EUR", "price_min": 200, "price_max": 100}, "price_max"),
        ({"category": "no-such-category"}, "category"),
        ({"category": "Not A Slug"}, "category"),
        ({"sort": "cheapest"}, "sort"),
        ({"page": 0}, "page"),
        ({"page_size": 101}, "page_size"),
        ({"price_min": -1, "currency": "EUR"}, "price_min"),
        ({"q": ""}, "q"),
    ],
)
async def test_bad_parameters_are_422_naming_the_field(
    client: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    response = await client.get("/search", params=params)
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [["query", field]]


async def test_compare_builds_the_attribute_table(client: httpx.AsyncClient) -> None:
    response = await client.get("/compare", params={"skus": "MUG-ENAMEL,BOTTLE-750,LAST-UNIT"})
    assert response.status_code == 200
    body = response.json()
    assert [p["sku"] for p in body["products"]] == ["MUG-ENAMEL", "BOTTLE-750", "LAST-UNIT"]
    assert body["rows"] == [
        {"attribute": "capacity", "values": ["350 ml", "750 ml", None]},
        {"attribute": "colour", "values": ["white", "black", None]},
        {"attribute": "material", "values": ["enamel", "steel", "paper"]},
        {"attribute": "signed", "values": [None, None, "yes"]},
    ]


@pytest.mark.parametrize(
    ("skus", "reason"),
    [
        ("MUG-ENAMEL", "2 to 10"),
        ("MUG-ENAMEL,MUG-ENAMEL", "2 to 10"),
        (",".join(f"SKU-{n}" for n in range(11)), "2 to 10"),
        ("MUG-ENAMEL,NOPE", "unknown SKUs: NOPE"),
        ("MUG-ENAMEL,lower", "is not a SKU"),
    ],
)
async def test_compare_refuses_what_it_cannot_compare(
    client: httpx.AsyncClient, skus: str, reason: str
) -> None:
    response = await client.get("/compare", params={"skus": skus})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["query", "skus"]
    assert reason in error["msg"]


async def test_categories_tree_and_creation(client: httpx.AsyncClient) -> None:
    listed = (await client.get("/categories")).json()
    assert {c["slug"] for c in listed} == {c.slug for c in SAMPLE_CATEGORIES}
    position = {c["slug"]: n for n, c in enumerate(listed)}
    for category in listed:  # parents before children
        if category["parent"] is not None:
            assert position[category["parent"]] < position[category["slug"]]

    created = await client.post(
        "/categories", json={"slug": "mugs", "name": "Mugs", "parent": "drinkware"}
    )
    assert created.status_code == 201
    assert (await client.post("/categories", json={"slug": "mugs", "name": "M"})).status_code == 409
    for slug in ("mugs", "new"):  # its own parent, whether it exists or not
        own = await client.post("/categories", json={"slug": slug, "name": "M", "parent": slug})
        assert own.status_code == 422
        assert [e["loc"] for e in own.json()["detail"]] == [["body", "parent"]]
    orphan = await client.post("/categories", json={"slug": "x", "name": "X", "parent": "nope"})
    assert orphan.status_code == 422
    assert [e["loc"] for e in orphan.json()["detail"]] == [["body", "parent"]]

    product = {
        "sku": "MUG-TALL", "name": "Tall enamel mug", "price_minor": 1450, "currency": "EUR",
        "category": "mugs", "attributes": {"colour": "blue", "capacity": "500 ml"},
    }  # fmt: skip
    assert (await client.post("/products", json=product)).status_code == 201
    # A parent's filter takes its whole subtree, however deep.
    assert "MUG-TALL" in _skus(await _search(client, category="home", page_size=100))
    unplaced = await client.post("/products", json={**product, "sku": "MUG-X", "category": "no"})
    assert unplaced.status_code == 422
    assert [e["loc"] for e in unplaced.json()["detail"]] == [["body", "category"]]


async def test_seed_places_products_seeded_before_categories(
    migrated_schema: MigratedSchema,
) -> None:
    """A catalog seeded by an earlier version has the sample products without a category:
    the seed gives them theirs, and announces nothing again."""
    db = await migrated_schema(MIGRATIONS)
    clock = FixedClock(NOW)
    async with unit_of_work(db.engine, clock) as uow:
        for sample in SAMPLE_CATALOG:
            product = Product(sample.sku, sample.name, sample.price_minor, sample.currency)
            await handlers.publish_product(uow, product)
    await seed_sample_catalog(db.engine, clock)
    async with db.engine.connect() as conn:
        unplaced = await conn.scalar(text("SELECT count(*) FROM products WHERE category IS NULL"))
        announced = await conn.scalar(text("SELECT count(*) FROM outbox"))
    assert unplaced == 0
    assert announced == len(SAMPLE_CATALOG)
    async with _client(db.engine) as client:
        assert _skus(await _search(client, q="merino")) == ["SOCKS-3PK"]


async def test_details_replace_what_search_finds(migrated_schema: MigratedSchema) -> None:
    db = await migrated_schema(MIGRATIONS)
    await seed_sample_catalog(db.engine, FixedClock(NOW))
    details = {
        "description": "A mug for the office.", "category": "tops",
        "attributes": {"colour": "green"},
    }  # fmt: skip
    async with _client(db.engine) as client:
        for _ in range(2):  # the same PUT again changes nothing more
            moved = await client.put("/products/MUG-ENAMEL/details", json=details)
            assert moved.status_code == 200, moved.text
            body = moved.json()
            assert (body["category"], body["attributes"], body["family"]) == (
                "tops", {"colour": "green"}, None,
            )  # fmt: skip
            assert body["price_minor"] == 1250  # the price stays
        assert "MUG-ENAMEL" in _skus(await _search(client, category="apparel", q="office"))
        assert "MUG-ENAMEL" not in _skus(await _search(client, category="home"))
        assert _skus(await _search(client, q="campfire")) == []  # the old description is gone

        unknown = await client.put("/products/NOPE/details", json=details)
        assert unknown.status_code == 404
        unplaced = await client.put(
            "/products/MUG-ENAMEL/details", json={**details, "category": "nowhere"}
        )
        assert unplaced.status_code == 422
        assert [e["loc"] for e in unplaced.json()["detail"]] == [["body", "category"]]
        bad = await client.put("/products/MUG-ENAMEL/details", json={"attributes": {"Colour": "x"}})
        assert bad.status_code == 422
        assert (await client.get("/products/MUG-ENAMEL")).json()["category"] == "tops"
    async with db.engine.connect() as conn:
        announced = await conn.scalar(text("SELECT count(*) FROM outbox"))
    assert announced == len(SAMPLE_CATALOG)  # details are not announced
