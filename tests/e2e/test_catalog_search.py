"""Catalog search on the running stack: categories, products with attributes, a search
with facets, and a comparison, through the catalog service's HTTP API."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx

from .conftest import System, get_json, new_product, order_body, place, until


async def _post(http: httpx.AsyncClient, url: str, body: dict[str, Any]) -> None:
    response = await http.post(url, json=body)
    assert response.status_code == 201, response.text


async def test_search_with_facets_returns_the_expected_products(
    http: httpx.AsyncClient, system: System
) -> None:
    catalog = system.url("catalog")
    tag = uuid.uuid4().hex[:8]
    root, sub = f"e2e-{tag}", f"e2e-{tag}-sub"
    await _post(http, catalog + "/categories", {"slug": root, "name": f"E2E {tag}"})
    await _post(http, catalog + "/categories", {"slug": sub, "name": "Sub", "parent": root})
    products = [
        (f"E2E-{tag}-A".upper(), sub, 1000, {"colour": "red", "size": "S"}),
        (f"E2E-{tag}-B".upper(), sub, 3000, {"colour": "blue", "size": "M"}),
        (f"E2E-{tag}-C".upper(), root, 6000, {"colour": "red", "size": "L"}),
    ]
    for sku, category, price, attributes in products:
        await _post(http, catalog + "/products", {
            "sku": sku, "name": f"Trail jacket {sku}", "price_minor": price,
            "currency": "EUR", "category": category, "attributes": attributes,
            "description": f"A waterproof jacket, batch {tag}.",
        })  # fmt: skip
    a, b, c = (p[0] for p in products)

    response = await http.get(
        catalog + "/search",
        params={
            "q": f"jackets {tag}",
            "category": root,
            "attr": "colour:red",
            "sort": "price_desc",
        },
    )
    assert response.status_code == 200, response.text
    page = response.json()
    assert [item["sku"] for item in page["items"]] == [c, a]
    assert page["total"] == 2
    facets = page["facets"]
    colours = {v["value"]: v["count"] for v in facets["attributes"]["colour"]}
    assert colours == {"red": 2, "blue": 1}  # without the colour filter
    assert {v["value"]: v["count"] for v in facets["attributes"]["size"]} == {"S": 1, "L": 1}
    categories = {f["slug"]: f["count"] for f in facets["categories"]}
    assert (categories[root], categories[sub]) == (2, 1)  # the subtree rolled up

    cheap = await http.get(
        catalog + "/search",
        params={"category": sub, "currency": "EUR", "price_max": 2000},
    )
    assert [item["sku"] for item in cheap.json()["items"]] == [a]

    compared = await http.get(catalog + "/compare", params={"skus": f"{a},{b}"})
    assert compared.status_code == 200
    assert compared.json()["rows"] == [
        {"attribute": "colour", "values": ["red", "blue"]},
        {"attribute": "size", "values": ["S", "M"]},
    ]

    # The sample catalog the service seeded is searchable and placed in its categories.
    seeded = (await http.get(catalog + "/search", params={"q": "merino"})).json()
    assert "SOCKS-3PK" in [item["sku"] for item in seeded["items"]]
    assert {item["category"] for item in seeded["items"] if item["sku"] == "SOCKS-3PK"} == {
        "accessories"
    }


async def _shown(
    http: httpx.AsyncClient, system: System, sku: str, available: int, timeout: float = 30.0
) -> dict[str, Any]:
    """The catalog's product once it shows ``available`` (its projection lags inventory
    by a relay pass and a consumer linger)."""
    deadline = time.monotonic() + timeout
    while True:
        status, product = await get_json(http, system.url("catalog") + f"/products/{sku}")
        assert status == 200, product
        if product["available"] == available:
            return dict(product)
        if time.monotonic() > deadline:
            raise AssertionError(f"catalog shows {product['available']} of {sku}, not {available}")
        await asyncio.sleep(0.2)


async def test_availability_follows_inventory_through_its_events(
    http: httpx.AsyncClient, system: System
) -> None:
    sku = await new_product(http, system, stock=2)
    assert (await _shown(http, system, sku, 2))["in_stock"] is True
    order_id = await place(http, system, order_body((sku, 2)))
    assert (await until(http, system, order_id))["status"] == "COMPLETED"
    assert (await _shown(http, system, sku, 0))["in_stock"] is False
    search = system.url("catalog") + "/search"
    found = await http.get(search, params={"q": sku, "in_stock": "true"})
    assert found.status_code == 200, found.text
    assert found.json()["total"] == 0
    assert found.json()["facets"]["stock"] == {"in_stock": 0, "out_of_stock": 1}
    # A stock count brings it back.
    counted = await http.put(system.url("inventory") + f"/stock/{sku}", json={"available": 5})
    assert counted.status_code == 200, counted.text
    await _shown(http, system, sku, 5)
    found = await http.get(search, params={"q": sku, "in_stock": "true"})
    assert [item["sku"] for item in found.json()["items"]] == [sku]
