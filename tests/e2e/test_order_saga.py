"""End to end: every path of the order saga, across six service processes, on the real
Kafka broker and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from .conftest import (
    System,
    get_json,
    new_product,
    order,
    order_body,
    place,
    stock_of,
    until,
)


async def test_happy_path_completes_then_ships(http: httpx.AsyncClient, system: System) -> None:
    sku = await new_product(http, system, stock=10, price_minor=1250)
    order_id = await place(http, system, order_body((sku, 2)))
    done = await until(http, system, order_id)
    assert done["status"] == "COMPLETED", done
    assert done["total_minor"] == 2500
    steps = [e["message_type"] for e in done["timeline"] if e["kind"] == "reply"]
    assert steps[:5] == [
        "StockReserved", "PaymentAuthorized", "ShipmentCreated", "PaymentCaptured", "StockCommitted",
    ]  # fmt: skip
    assert await stock_of(http, system, sku) == {
        "initial": 10, "available": 8, "reserved": 0, "committed": 2,
    }  # fmt: skip
    status, payment = await get_json(http, system.url("payment") + f"/payments/{order_id}")
    assert status == 200
    assert payment["status"] == "captured"
    delivered = await until(http, system, order_id, lambda o: o["fulfilment"]["delivered"], 30)
    assert delivered["fulfilment"]["dispatched"]


async def test_out_of_stock_is_rejected_without_charge(
    http: httpx.AsyncClient, system: System
) -> None:
    sku = await new_product(http, system, stock=1)
    order_id = await place(http, system, order_body((sku, 2)))
    done = await until(http, system, order_id)
    assert done["status"] == "REJECTED"
    assert sku in done["reason"]
    status, _ = await get_json(http, system.url("payment") + f"/payments/{order_id}")
    assert status == 404
    assert (await stock_of(http, system, sku))["available"] == 1


async def test_declined_payment_releases_stock(http: httpx.AsyncClient, system: System) -> None:
    sku = await new_product(http, system, stock=5)
    order_id = await place(http, system, order_body((sku, 3), token="tok_decline"))
    done = await until(http, system, order_id)
    assert done["status"] == "CANCELLED"
    assert "payment declined" in done["reason"]
    assert await stock_of(http, system, sku) == {
        "initial": 5, "available": 5, "reserved": 0, "committed": 0,
    }  # fmt: skip


async def test_carrier_rejection_voids_payment_and_releases_stock(
    http: httpx.AsyncClient, system: System
) -> None:
    sku = await new_product(http, system, stock=5)
    order_id = await place(http, system, order_body((sku, 1), postcode="00404"))
    done = await until(http, system, order_id)
    assert done["status"] == "CANCELLED"
    assert "shipment failed" in done["reason"]
    _, payment = await get_json(http, system.url("payment") + f"/payments/{order_id}")
    assert payment["status"] == "voided"
    assert (await stock_of(http, system, sku))["available"] == 5


async def test_payment_timeout_compensates_and_late_authorization_is_voided(
    http: httpx.AsyncClient, system: System
) -> None:
    sku = await new_product(http, system, stock=5)
    order_id = await place(http, system, order_body((sku, 1), token="tok_slow"))
    done = await until(http, system, order_id)
    assert done["status"] == "CANCELLED"
    assert "AUTHORIZE_PAYMENT timed out" in done["reason"]
    assert (await stock_of(http, system, sku))["available"] == 5
    # The gateway answers after the saga gave up: nothing may stay authorized.
    await asyncio.sleep(9)
    _, payment = await get_json(http, system.url("payment") + f"/payments/{order_id}")
    assert payment["status"] == "voided"
    _, ledger = await get_json(http, system.url("payment") + f"/ledger?order_id={order_id}")
    assert not any(row["kind"] == "capture" for row in ledger)


async def test_never_answering_gateway_is_compensated(
    http: httpx.AsyncClient, system: System
) -> None:
    sku = await new_product(http, system, stock=5)
    order_id = await place(http, system, order_body((sku, 1), token="tok_timeout"))
    done = await until(http, system, order_id)
    assert done["status"] == "CANCELLED"
    timeouts = [e for e in done["timeline"] if e["kind"] == "timeout"]
    assert len(timeouts) == 2  # one resend, then compensation
    assert (await stock_of(http, system, sku))["available"] == 5


async def test_customer_cancel_before_dispatch(http: httpx.AsyncClient, system: System) -> None:
    sku = await new_product(http, system, stock=5)
    order_id = await place(http, system, order_body((sku, 2)))
    await until(http, system, order_id, lambda o: o["status"] == "COMPLETED")
    response = await http.post(system.url("orders") + f"/orders/{order_id}/cancel", json={})
    assert response.status_code == 202, response.text
    done = await until(http, system, order_id, lambda o: o["status"] == "CANCELLED")
    assert done["reason"] == "cancelled by customer"
    _, payment = await get_json(http, system.url("payment") + f"/payments/{order_id}")
    assert payment["status"] == "refunded"
    _, shipment = await get_json(http, system.url("shipping") + f"/shipments/{order_id}")
    assert shipment["status"] == "cancelled"
    assert await stock_of(http, system, sku) == {
        "initial": 5, "available": 5, "reserved": 0, "committed": 0,
    }  # fmt: skip
    again = await http.post(system.url("orders") + f"/orders/{order_id}/cancel", json={})
    assert again.status_code == 409


async def test_last_unit_goes_to_exactly_one_of_50_concurrent_checkouts(
    http: httpx.AsyncClient, system: System
) -> None:
    sku = await new_product(http, system, stock=1)
    order_ids = await asyncio.gather(
        *(place(http, system, order_body((sku, 1))) for _ in range(50))
    )
    finals = await asyncio.gather(*(until(http, system, o, timeout=90) for o in order_ids))
    statuses = [f["status"] for f in finals]
    assert statuses.count("COMPLETED") == 1, statuses
    assert statuses.count("REJECTED") == 49
    for final in finals:
        if final["status"] == "REJECTED":
            code, _ = await get_json(http, system.url("payment") + f"/payments/{final['order_id']}")
            assert code == 404
    assert await stock_of(http, system, sku) == {
        "initial": 1, "available": 0, "reserved": 0, "committed": 1,
    }  # fmt: skip


async def test_checkout_retry_with_same_key_places_one_order(
    http: httpx.AsyncClient, system: System
) -> None:
    sku = await new_product(http, system, stock=5)
    body, key = order_body((sku, 1)), str(uuid.uuid4())
    first = await place(http, system, body, key)
    second = await place(http, system, body, key)
    assert first == second
    changed = await http.post(
        system.url("checkout") + "/orders",
        json=order_body((sku, 2)),
        headers={"Idempotency-Key": key},
    )
    assert changed.status_code in (409, 422)
    await until(http, system, first)
    assert (await stock_of(http, system, sku))["committed"] == 1
    assert (await order(http, system, first))["status"] == "COMPLETED"
