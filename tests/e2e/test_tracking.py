"""End to end: an order's parcel tracked by the carrier simulation, step by step, through
the shipping API (GET /orders/{id}/tracking) and on shipping.tracking, as a customer-
facing reader (notifications, a shop's order page) would follow it."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx

from orderflow_cli import verify

from .conftest import System, get_json, new_product, order_body, place, until
from .kafka_io import find, payload_of

TRACKING = "shipping.tracking"
DELIVERED = ["booked", "in_transit", "out_for_delivery", "delivered"]
RETURNED = ["booked", "in_transit", "out_for_delivery", "delivery_exception",
            "returned_to_sender"]  # fmt: skip


async def _tracking(http: httpx.AsyncClient, system: System, order_id: str) -> dict[str, Any]:
    status, body = await get_json(http, system.url("shipping") + f"/orders/{order_id}/tracking")
    assert status == 200, body
    assert isinstance(body, dict)
    return body


async def _published(system: System, order_id: str, count: int) -> list[dict[str, Any]]:
    records = await find(system.settings["KAFKA_BOOTSTRAP_SERVERS"], TRACKING, order_id,
                         count=count)  # fmt: skip
    return [payload_of(record) for record in records]


async def test_an_order_is_tracked_to_delivered_with_every_step(
    http: httpx.AsyncClient, system: System
) -> None:
    sku = await new_product(http, system, stock=5)
    order_id = await place(http, system, order_body((sku, 1)))
    assert (await until(http, system, order_id))["status"] == "COMPLETED"
    await until(http, system, order_id, lambda o: o["fulfilment"]["delivered"], 30)
    tracking = await _tracking(http, system, order_id)
    assert tracking["status"] == "delivered"
    assert [s["status"] for s in tracking["steps"]] == DELIVERED
    assert [s["sequence"] for s in tracking["steps"]] == [1, 2, 3, 4]
    moments = [s["at"] for s in tracking["steps"]]
    assert moments == sorted(moments)
    booked = tracking["steps"][0]
    assert booked["eta"] is not None
    assert booked["eta"] > booked["at"]  # both ISO 8601 in UTC: they order as text
    assert tracking["eta"] is None  # delivered: nothing left to estimate
    # The same steps, once each and in order, on the topic.
    events = await _published(system, order_id, 4)
    assert [(e["payload"]["sequence"], e["payload"]["status"]) for e in events] == list(
        enumerate(DELIVERED, start=1)
    )
    assert {e["payload"]["tracking_number"] for e in events} == {tracking["tracking_number"]}
    assert {e["type"] for e in events} == {"TrackingUpdated"}


async def test_an_undeliverable_parcel_is_tracked_back_to_the_sender(
    http: httpx.AsyncClient, system: System
) -> None:
    sku = await new_product(http, system, stock=5)
    order_id = await place(http, system, order_body((sku, 1), postcode="98765"))
    assert (await until(http, system, order_id))["status"] == "COMPLETED"
    events = await _published(system, order_id, 5)
    assert [e["payload"]["status"] for e in events] == RETURNED
    exception = events[3]["payload"]
    assert exception["detail"] == "recipient not found at the address"
    tracking = await _tracking(http, system, order_id)
    assert tracking["status"] == "returned"
    assert [s["status"] for s in tracking["steps"]] == RETURNED
    # The saga was told of the dispatch, never of a delivery.
    current = await until(http, system, order_id, lambda o: o["fulfilment"]["dispatched"], 5)
    assert not current["fulfilment"]["delivered"]
    # `orderflow verify`'s tracking check reads these rows and finds them whole.
    conn = await asyncpg.connect(system.settings["DATABASE_URL"])
    try:
        returned = await conn.fetchval(
            "SELECT count(*) FROM shipping.shipments WHERE status = 'returned'"
        )
        assert returned >= 1
        assert await verify._tracking(conn) == []
    finally:
        await conn.close()
