"""End to end: returns (RMA) on the real stack. A partial return of one line of three is
approved, labelled by the carrier, received, refunded exactly that line (a credit note
with it) and restocked; a return outside the window is rejected with its reason."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from orderflow_cli import verify

from .conftest import System, get_json, new_product, order_body, place, stock_of, until


async def _delivered(
    http: httpx.AsyncClient, system: System, *lines: tuple[str, int]
) -> tuple[str, dict[str, Any]]:
    order_id = await place(http, system, order_body(*lines))
    assert (await until(http, system, order_id))["status"] == "COMPLETED"
    done = await until(http, system, order_id, lambda o: o["fulfilment"]["delivered"], 30)
    return order_id, done


async def _ask(
    http: httpx.AsyncClient, system: System, order_id: str, lines: list[tuple[str, int]]
) -> httpx.Response:
    return await http.post(
        system.url("orders") + f"/orders/{order_id}/returns",
        json={"lines": [{"sku": s, "quantity": q} for s, q in lines], "reason": "too small"},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )


async def _return_until(
    http: httpx.AsyncClient, system: System, return_id: str, status: str, timeout: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        code, body = await get_json(http, system.url("orders") + f"/returns/{return_id}")
        assert code == 200, body
        if body["status"] == status:
            return dict(body)
        assert time.monotonic() < deadline, f"return {return_id} stuck: {body}"
        await asyncio.sleep(0.2)


async def test_a_partial_return_of_one_line_of_three_refunds_and_restocks_exactly_it(
    http: httpx.AsyncClient, system: System
) -> None:
    skus = [await new_product(http, system, stock=5, price_minor=p) for p in (1000, 2500, 700)]
    order_id, _ = await _delivered(http, system, (skus[0], 1), (skus[1], 2), (skus[2], 3))
    before = [await stock_of(http, system, sku) for sku in skus]
    asked = await _ask(http, system, order_id, [(skus[1], 2)])
    assert asked.status_code == 201, asked.text
    created = asked.json()
    assert created["status"] == "approved"
    return_id = created["return_id"]
    issued = await _return_until(http, system, return_id, "label_issued")
    assert issued["tracking_number"].startswith("RL")
    receipt = {"lines": [{"sku": skus[1], "quantity": 2, "condition": "sellable"}]}
    received = await http.post(system.url("orders") + f"/returns/{return_id}/receipt", json=receipt)
    assert received.status_code == 202, received.text
    done = await _return_until(http, system, return_id, "completed")
    assert done["refund_minor"] == 2 * 2500
    assert [h["to_status"] for h in done["history"]] == [
        "approved", "label_issued", "received", "refunded", "completed"
    ]  # fmt: skip
    # Exactly that line back on the shelf; the other two lines untouched.
    after = [await stock_of(http, system, sku) for sku in skus]
    assert after[1]["available"] == before[1]["available"] + 2
    assert after[1]["committed"] == before[1]["committed"] - 2
    assert (after[0], after[2]) == (before[0], before[2])
    # Exactly that line refunded, on a credit note against the order's invoice.
    status, documents = await get_json(http, system.url("payment") + f"/orders/{order_id}/invoices")
    assert status == 200, documents
    [note] = [d for d in documents if d["kind"] == "credit_note"]
    assert note["total_minor"] == 5000
    assert [(ln["sku"], ln["quantity"]) for ln in note["lines"]] == [(skus[1], 2)]
    # The same receipt again changes nothing; asking for the returned units again is refused.
    again = await http.post(system.url("orders") + f"/returns/{return_id}/receipt", json=receipt)
    assert again.status_code == 202, again.text
    refused = await _ask(http, system, order_id, [(skus[1], 1)])
    assert refused.status_code == 422
    assert "0 left to return" in refused.text
    conn = await asyncpg.connect(system.settings["DATABASE_URL"])
    try:
        assert await verify._returns(conn) == []
    finally:
        await conn.close()


async def test_a_return_outside_the_window_is_rejected_with_its_reason(
    http: httpx.AsyncClient, system: System
) -> None:
    sku = await new_product(http, system, stock=5)
    order_id, _ = await _delivered(http, system, (sku, 1))
    # The delivery 31 days ago (the window is 30 days): as the clock would have it.
    long_ago = (datetime.now(UTC) - timedelta(days=31)).isoformat()
    conn = await asyncpg.connect(system.settings["DATABASE_URL"])
    try:
        await conn.execute(
            "UPDATE orders.sagas SET data = jsonb_set(data, '{delivered_at}', to_jsonb($2::text))"
            " WHERE order_id = $1",
            order_id, long_ago,
        )  # fmt: skip
    finally:
        await conn.close()
    asked = await _ask(http, system, order_id, [(sku, 1)])
    assert asked.status_code == 201, asked.text
    rejected = asked.json()
    assert rejected["status"] == "rejected"
    assert rejected["outcome"].startswith("the return window of 30 days ended on ")
    # Nothing was started for it, and its units can still be asked for (a rejection holds none).
    code, listed = await get_json(http, system.url("orders") + f"/orders/{order_id}/returns")
    assert (code, [r["status"] for r in listed]) == (200, ["rejected"])
    code, documents = await get_json(http, system.url("payment") + f"/orders/{order_id}/invoices")
    assert (code, [d["kind"] for d in documents]) == (200, ["invoice"])
