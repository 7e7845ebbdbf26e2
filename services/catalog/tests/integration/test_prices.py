"""Prices on the real PostgreSQL, through the HTTP routes: price lists, tiers, validity,
customer groups, contracts and rules decide what ``GET /prices`` quotes, every change
is announced with its whole new state, and inconsistent input is a 422 naming the field."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from catalog.bootstrap import MIGRATIONS, seed_sample_catalog
from catalog.entrypoints.http import build_router
from orderflow_messaging.clock import FixedClock
from orderflow_service.http import create_app
from orderflow_testing.plugin import MigratedSchema

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
HOODIE = "HOODIE-GRY-M"  # the sample catalog's base price: 5900 EUR


@pytest.fixture
async def engine(migrated_schema: MigratedSchema) -> AsyncEngine:
    db = await migrated_schema(MIGRATIONS)
    await seed_sample_catalog(db.engine, FixedClock(NOW))
    return db.engine


@pytest.fixture
async def client(engine: AsyncEngine) -> Any:
    app = create_app("catalog", routers=[build_router(engine, FixedClock(NOW))])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://catalog") as client:
        yield client


async def _put(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.put(path, json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def _price(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/prices", params={"sku": HOODIE, "currency": "EUR", **params})
    assert response.status_code == 200, response.text
    quoted: dict[str, Any] = response.json()["prices"][0]
    return quoted


def _list(kind: str, *tiers: tuple[int, int], **fields: Any) -> dict[str, Any]:
    prices = [
        {"sku": HOODIE, "tiers": [{"min_quantity": q, "unit_price_minor": p} for q, p in tiers]}
    ]
    return {"kind": kind, "currency": "EUR", "prices": prices, **fields}


async def test_each_customer_sees_the_price_of_the_highest_ranked_list(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    base = await _price(client)
    assert (base["unit_price_minor"], base["source"]) == (5900, "base")
    await _put(client, "/price-lists/spring", _list("default", (1, 5500), (10, 5000)))
    await _put(client, "/price-lists/trade", _list("group", (1, 5200), group="trade"))
    await _put(client, "/customers/cus-b2b/price-groups", {"groups": ["trade"]})
    contract = _list(
        "contract",
        (1, 4800),
        customer_id="cus-acme",
        valid_until=(NOW + timedelta(days=1)).isoformat(),
    )
    await _put(client, "/price-lists/acme", contract)
    await _put(client, "/customers/cus-acme/price-groups", {"groups": ["trade"]})
    expired = _list(
        "contract",
        (1, 100),
        customer_id="cus-old",
        valid_until=(NOW - timedelta(days=1)).isoformat(),
    )
    await _put(client, "/price-lists/old", expired)

    quotes = {
        who: await _price(client, **({"customer_id": who} if who else {}))
        for who in (None, "cus-b2b", "cus-acme", "cus-old")
    }
    seen = {who: (q["unit_price_minor"], q["source"]) for who, q in quotes.items()}
    assert seen == {
        None: (5500, "default:spring"),
        "cus-b2b": (5200, "group:trade"),
        "cus-acme": (4800, "contract:acme"),  # the contract outranks the group
        "cus-old": (5500, "default:spring"),  # its contract has expired
    }
    volume = await _price(client, quantity=12)
    assert (volume["unit_price_minor"], volume["tier_min_quantity"], volume["total_minor"]) == (
        5000,
        10,
        60_000,
    )
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT key, message_type, value FROM outbox "
                "WHERE message_type <> 'ProductPublished' ORDER BY id"
            )
        )
        announced = [(r.key.decode(), r.message_type, json.loads(r.value)) for r in rows]
    assert [(k, t) for k, t, _ in announced] == [
        ("spring", "PriceListChanged"),
        ("trade", "PriceListChanged"),
        ("cus-b2b", "CustomerPriceGroupsChanged"),
        ("acme", "PriceListChanged"),
        ("cus-acme", "CustomerPriceGroupsChanged"),
        ("old", "PriceListChanged"),
    ]
    spring = announced[0][2]["payload"]
    assert spring["prices"] == [
        {
            "sku": HOODIE,
            "tiers": [
                {"min_quantity": 1, "unit_price_minor": 5500},
                {"min_quantity": 10, "unit_price_minor": 5000},
            ],
        }
    ]


async def test_a_rule_changes_the_listed_price_within_its_floor_and_revisions_grow(
    client: httpx.AsyncClient,
) -> None:
    await _put(client, "/price-lists/spring", _list("default", (1, 5500)))
    rule = {"basis_points": -5000, "skus": [HOODIE], "floor_minor": 3000}
    assert (await _put(client, "/price-rules/half-off", rule))["revision"] == 1
    quoted = await _price(client)
    assert (quoted["unit_price_minor"], quoted["listed_unit_price_minor"], quoted["rule"]) == (
        3000,
        5500,
        "half-off",
    )
    withdrawn = await _put(client, "/price-rules/half-off", {**rule, "active": False})
    assert withdrawn["revision"] == 2
    assert (await _price(client))["unit_price_minor"] == 5500
    # A stock-bound rule: the sample hoodie has no level announced, so it does not apply.
    await _put(client, "/price-rules/clearance", {"basis_points": -2000, "stock_at_most": 3})
    assert (await _price(client))["rule"] is None
    listed = (await client.get("/price-rules")).json()
    assert [(r["rule_id"], r["active"]) for r in listed] == [
        ("clearance", True),
        ("half-off", False),
    ]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/price-lists/x", _list("contract", (1, 1)), "customer_id"),
        ("/price-lists/x", _list("group", (1, 1)), "group"),
        ("/price-lists/x", _list("default", (1, 1), group="trade"), "group"),
        ("/price-lists/x", _list("default", (1, 1), (1, 2)), "prices"),
        (
            "/price-lists/x",
            {
                **_list("default", (1, 1)),
                "valid_from": NOW.isoformat(),
                "valid_until": NOW.isoformat(),
            },
            "valid_until",
        ),
        (
            "/price-lists/x",
            {
                **_list("default", (1, 1)),
                "prices": [
                    {"sku": "NO-SUCH-SKU", "tiers": [{"min_quantity": 1, "unit_price_minor": 1}]}
                ],
            },
            "prices",
        ),
        ("/price-lists/x", _list("default", (0, 1)), "prices"),
        ("/price-lists/x", {**_list("default", (1, 1)), "currency": "eur"}, "currency"),
        ("/price-lists/Bad_Id", _list("default", (1, 1)), "list_id"),
        ("/price-rules/r", {"basis_points": -20000}, "basis_points"),
        ("/price-rules/r", {"basis_points": 5, "floor_minor": 9, "cap_minor": 3}, "cap_minor"),
        (
            "/price-rules/r",
            {"basis_points": 5, "stock_at_most": 1, "stock_at_least": 9},
            "stock_at_least",
        ),
        ("/customers/c/price-groups", {"groups": ["Not A Group"]}, "groups"),
        # Before the first UTC moment (a fuzzed request once made this a 500).
        (
            "/price-rules/r",
            {"basis_points": 2, "valid_until": "0001-01-01T00:02:01+01:01"},
            "valid_until",
        ),
    ],
)
async def test_inconsistent_prices_are_422_naming_the_field(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], field: str
) -> None:
    response = await client.put(path, json=body)
    assert response.status_code == 422, response.text
    fields = {str(part) for error in response.json()["detail"] for part in error["loc"]}
    assert field in fields, response.json()


async def test_quotes_refuse_unknown_skus_and_unpriced_currencies(
    client: httpx.AsyncClient,
) -> None:
    unknown = await client.get("/prices", params={"sku": "NO-SUCH-SKU", "currency": "EUR"})
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["query", "sku"]
    unpriced = await client.get("/prices", params={"sku": HOODIE, "currency": "USD"})
    assert unpriced.status_code == 422
    assert unpriced.json()["detail"][0]["loc"] == ["query", "currency"]
    assert (await client.get("/price-lists/nope")).status_code == 404
