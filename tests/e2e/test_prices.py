"""Prices on the running stack: a contract customer and an anonymous one see different
prices for the same SKU in the catalog, and each is charged what it was shown (checkout
resolves from its copy of the price data with the same function); the order's lines and
its history say which list priced them."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx

from .conftest import System, get_json, new_product, order_body, place, until


async def _quote(http: httpx.AsyncClient, system: System, sku: str, customer: str | None) -> Any:
    params = {"sku": sku, "currency": "EUR", **({"customer_id": customer} if customer else {})}
    response = await http.get(system.url("catalog") + "/prices", params=params)
    assert response.status_code == 200, response.text
    return response.json()["prices"][0]


async def _checkout_holds(
    http: httpx.AsyncClient, system: System, list_id: str, revision: int, timeout: float = 30.0
) -> None:
    """Until checkout's copy holds the list at ``revision`` (a relay pass and a poll)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, data = await get_json(http, system.url("checkout") + "/catalog/price-data")
        assert status == 200, data
        if any(d["kind"] == "list" and d["id"] == list_id and d["revision"] >= revision
               for d in data):  # fmt: skip
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"checkout never got price list {list_id} revision {revision}")


async def test_a_contract_customer_and_an_anonymous_one_are_charged_what_they_were_shown(
    http: httpx.AsyncClient, system: System
) -> None:
    sku = await new_product(http, system, stock=20, price_minor=2000)
    tag = uuid.uuid4().hex[:8]
    contract_customer, list_id = f"e2e-acme-{tag}", f"e2e-acme-{tag}"
    body = {
        "kind": "contract", "currency": "EUR", "customer_id": contract_customer,
        "prices": [{"sku": sku, "tiers": [{"min_quantity": 1, "unit_price_minor": 1500},
                                          {"min_quantity": 5, "unit_price_minor": 1400}]}],
    }  # fmt: skip
    saved = await http.put(system.url("catalog") + f"/price-lists/{list_id}", json=body)
    assert saved.status_code == 200, saved.text
    await _checkout_holds(http, system, list_id, saved.json()["revision"])

    shown = {who: await _quote(http, system, sku, who) for who in (contract_customer, None)}
    assert (shown[contract_customer]["unit_price_minor"], shown[None]["unit_price_minor"]) == (
        1500, 2000
    )  # fmt: skip
    assert shown[contract_customer]["source"] == f"contract:{list_id}"

    placed = {}
    for who in (contract_customer, None):
        request = order_body((sku, 2))
        if who is not None:
            request["customer_id"] = who
        placed[who] = await place(http, system, request)
    for who, order_id in placed.items():
        done = await until(http, system, order_id)
        assert done["status"] == "COMPLETED", done
        status, order = await get_json(http, system.url("checkout") + f"/orders/{order_id}")
        assert status == 200, order
        (line,) = order["lines"]
        assert line["unit_price_minor"] == shown[who]["unit_price_minor"]
        assert line["price_source"] == shown[who]["source"]
        # Charged: the saga authorized and captured the order's total.
        assert done["total_minor"] == 2 * shown[who]["unit_price_minor"]

    # The read model's timeline of the order says which list priced each line.
    order_id = placed[contract_customer]
    deadline = time.monotonic() + 30
    while True:
        status, history = await get_json(
            http, system.url("history") + f"/history/orders/{order_id}"
        )
        if status == 200 and history["lines"]:
            break
        assert time.monotonic() < deadline, history
        await asyncio.sleep(0.2)
    assert [ln["price_source"] for ln in history["lines"]] == [f"contract:{list_id}"]
