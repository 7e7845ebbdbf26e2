"""End to end: reordering a past order places a new order through the same saga, at
today's prices, leaving out what cannot be had and saying so."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg
import httpx

from .conftest import System, get_json, new_product, order_body, place, until


async def _checkout_prices(http: httpx.AsyncClient, system: System, sku: str, price: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        _, items = await get_json(http, system.url("checkout") + "/catalog")
        if any(i["sku"] == sku and i["price_minor"] == price for i in items):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"checkout never learned the new price of {sku}")


async def _checkout_stock(system: System, sku: str, available: int) -> None:
    """Checkout's stock copy (fed by inventory.stock, lingering) has ``sku`` at
    ``available``: an order's completion does not mean the copy has its levels yet."""
    conn = await asyncpg.connect(system.settings["DATABASE_URL"])
    try:
        deadline = time.monotonic() + 30
        query = "SELECT available FROM checkout.stock_levels WHERE sku = $1"
        while await conn.fetchval(query, sku) != available:
            if time.monotonic() > deadline:
                raise AssertionError(f"checkout's stock copy never had {sku} at {available}")
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


async def _reorder(
    http: httpx.AsyncClient, system: System, order_id: str, key: str
) -> httpx.Response:
    body = order_body(("IGNORED", 1))
    reorder = {"shipping_address": body["shipping_address"], "payment_token": "tok_ok"}
    return await http.post(
        system.url("checkout") + f"/orders/{order_id}/reorder", json=reorder,
        headers={"Idempotency-Key": key},
    )  # fmt: skip


async def test_a_reorder_after_a_price_change_is_placed_at_the_new_price(
    http: httpx.AsyncClient, system: System
) -> None:
    tee = await new_product(http, system, stock=10, price_minor=1000)
    mug = await new_product(http, system, stock=1, price_minor=500)
    first = await place(http, system, order_body((tee, 2), (mug, 1)))
    assert (await until(http, system, first))["status"] == "COMPLETED"
    repriced = await http.put(
        system.url("catalog") + f"/products/{tee}/price",
        json={"price_minor": 1200, "currency": "EUR"},
    )
    assert repriced.status_code == 200, repriced.text
    await _checkout_prices(http, system, tee, 1200)
    await _checkout_stock(system, mug, 0)
    key = str(uuid.uuid4())
    response = await _reorder(http, system, first, key)
    assert response.status_code == 202, response.text
    answer: dict[str, Any] = response.json()
    assert answer["reordered_from"] == first
    assert answer["total_minor"] == 2 * 1200  # the mug sold out: left out
    assert answer["price_changes"] == [{"sku": tee, "was_minor": 1000, "now_minor": 1200}]
    assert answer["unavailable"] == [
        {"sku": mug, "quantity": 1, "reason": f"{mug} is out of stock"}
    ]
    done = await until(http, system, answer["order_id"])
    assert done["status"] == "COMPLETED"
    assert done["total_minor"] == 2400
    # A retry with the same key: the same order, nothing placed twice.
    again = await _reorder(http, system, first, key)
    assert (again.status_code, again.json()["order_id"]) == (202, answer["order_id"])
    assert again.json()["price_changes"] == answer["price_changes"]
    unknown = await _reorder(http, system, str(uuid.uuid4()), str(uuid.uuid4()))
    assert unknown.status_code == 404


async def test_a_reorder_with_nothing_left_to_order_is_refused_with_the_reasons(
    http: httpx.AsyncClient, system: System
) -> None:
    last = await new_product(http, system, stock=1)
    first = await place(http, system, order_body((last, 1)))
    assert (await until(http, system, first))["status"] == "COMPLETED"
    deadline = time.monotonic() + 30  # checkout's stock copy learns the level 0
    while True:
        refused = await _reorder(http, system, first, str(uuid.uuid4()))
        if refused.status_code == 422 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.3)
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"] == [
        {"field": "lines", "reason": f"no line of order {first} can be ordered now"},
        {"field": "lines[0]", "reason": f"{last}: {last} is out of stock"},
    ]
