"""Bundles on the running stack: a bundle priced at its components less 10 % is reserved
as its components, all or none: with one component out of stock the order is rejected
and nothing is reserved; once it is back, the order completes and each component's
stock moves by the bundle's share. Repricing a component reprices the bundle."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx

from .conftest import System, get_json, new_product, order_body, place, stock_of, until


async def _known_to_checkout(http: httpx.AsyncClient, system: System, sku: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, items = await get_json(http, system.url("checkout") + "/catalog")
        if status == 200 and any(i["sku"] == sku for i in items):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"checkout never learned about {sku}")


async def test_a_bundle_is_reserved_all_or_none(http: httpx.AsyncClient, system: System) -> None:
    tee = await new_product(http, system, stock=5, price_minor=2000)
    mug = await new_product(http, system, stock=0, price_minor=1000)
    kit = f"E2E-KIT-{uuid.uuid4().hex[:8].upper()}"
    body = {
        "sku": kit, "name": "Tee and two mugs", "currency": "EUR", "discount_bp": 1000,
        "components": [{"sku": tee, "quantity": 1}, {"sku": mug, "quantity": 2}],
    }  # fmt: skip
    created = await http.post(system.url("catalog") + "/bundles", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["price_minor"] == 3600  # (2000 + 2 x 1000) less 10 %
    await _known_to_checkout(http, system, kit)

    rejected = await until(http, system, await place(http, system, order_body((kit, 1))))
    assert rejected["status"] == "REJECTED", rejected
    assert mug in rejected["reason"]
    assert await stock_of(http, system, tee) == {
        "initial": 5, "available": 5, "reserved": 0, "committed": 0
    }  # fmt: skip

    restocked = await http.put(system.url("inventory") + f"/stock/{mug}", json={"available": 10})
    assert restocked.status_code == 200, restocked.text
    order_id = await place(http, system, order_body((kit, 2)))
    done = await until(http, system, order_id)
    assert done["status"] == "COMPLETED", done
    assert done["total_minor"] == 2 * 3600
    assert (await stock_of(http, system, tee))["committed"] == 2
    assert (await stock_of(http, system, mug))["committed"] == 4
    status, placed = await get_json(http, system.url("checkout") + f"/orders/{order_id}")
    assert status == 200, placed
    assert placed["lines"][0]["sku"] == kit

    repriced = await http.put(
        system.url("catalog") + f"/products/{tee}/price",
        json={"price_minor": 3000, "currency": "EUR"},
    )
    assert repriced.status_code == 200, repriced.text
    status, bundle = await get_json(http, system.url("catalog") + f"/products/{kit}")
    assert status == 200, bundle
    assert bundle["price_minor"] == 4500  # (3000 + 2 x 1000) less 10 %
    assert bundle["components"] == [
        {"sku": tee, "quantity": 1},
        {"sku": mug, "quantity": 2},
    ]


async def test_a_bundle_of_what_cannot_be_bundled_is_refused(
    http: httpx.AsyncClient, system: System
) -> None:
    tee = await new_product(http, system, stock=1)
    body = {
        "sku": f"E2E-KIT-{uuid.uuid4().hex[:8].upper()}", "name": "Bad", "currency": "EUR",
        "price_minor": 100,
        "components": [{"sku": tee, "quantity": 1}, {"sku": "NO-SUCH-SKU", "quantity": 1}],
    }  # fmt: skip
    refused = await http.post(system.url("catalog") + "/bundles", json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"][0]["loc"] == ["body", "components"]
    both = await http.post(system.url("catalog") + "/bundles", json=body | {"discount_bp": 5})
    assert both.status_code == 422
    assert both.json()["detail"][0]["loc"] == ["body", "price_minor"]
