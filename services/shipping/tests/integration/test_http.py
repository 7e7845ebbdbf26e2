"""The shipments API on the real PostgreSQL, called through ASGI (no server, no client lib)."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from typing import Any

from fastapi import FastAPI

from orderflow_service.http import create_app
from shipping.entrypoints.http import build_router

from .conftest import ACCEPTED, REJECTED, SLOW, Shipping


async def _get(app: FastAPI, path: str, query: str = "") -> tuple[int, Any]:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": query.encode(), "headers": [], "server": ("test", 80),
        "client": ("test", 1),
    }  # fmt: skip
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(body)


async def test_get_shipment_shows_status_and_timestamps(shipping: Shipping) -> None:
    app = create_app("shipping", routers=[build_router(shipping.engine)])
    await shipping.create("o1", ACCEPTED)
    shipping.at(3)
    await shipping.tick_advance()
    status, body = await _get(app, "/shipments/o1")
    assert status == 200
    assert body["status"] == "dispatched"
    assert body["carrier"] == "SimPost"
    assert body["tracking_number"] == "SP000000000001"
    assert body["created_at"].startswith("2026-03-01T12:00:00")
    assert body["dispatched_at"].startswith("2026-03-01T12:00:03")
    assert body["delivered_at"] is None
    assert body["lines"] == [{"sku": "A", "quantity": 2}, {"sku": "B", "quantity": 1}]
    # The address is personal data and stays out of the tracking API.
    assert ACCEPTED not in json.dumps(body)
    assert "address" not in body


async def test_unknown_order_is_404(shipping: Shipping) -> None:
    app = create_app("shipping", routers=[build_router(shipping.engine)])
    status, body = await _get(app, "/shipments/nope")
    assert status == 404
    assert "nope" in body["detail"]


async def test_list_filters_by_status(shipping: Shipping) -> None:
    app = create_app("shipping", routers=[build_router(shipping.engine)])
    await shipping.create("ok", ACCEPTED)
    await shipping.create("bad", REJECTED)
    await shipping.create("slow", SLOW)
    await shipping.cancel("never")
    status, body = await _get(app, "/shipments", "status=failed")
    assert (status, [s["order_id"] for s in body]) == (200, ["bad"])
    status, body = await _get(app, "/shipments", "status=requested")
    assert [s["order_id"] for s in body] == ["slow"]
    status, body = await _get(app, "/shipments")
    assert sorted(s["order_id"] for s in body) == ["bad", "never", "ok", "slow"]
    status, body = await _get(app, "/shipments", "limit=2")
    assert len(body) == 2
    assert (await _get(app, "/shipments", "status=lost"))[0] == 422
    assert (await _get(app, "/shipments", "limit=101"))[0] == 422


async def test_tracking_shows_every_step_with_the_eta(shipping: Shipping) -> None:
    app = create_app("shipping", routers=[build_router(shipping.engine)])
    await shipping.create("o1", ACCEPTED)
    status, body = await _get(app, "/orders/o1/tracking")
    assert status == 200
    assert (body["status"], body["carrier"], body["tracking_number"]) == (
        "created", "SimPost", "SP000000000001"
    )  # fmt: skip
    assert body["eta"].startswith("2026-03-01T12:00:06")
    assert [(s["sequence"], s["status"]) for s in body["steps"]] == [(1, "booked")]
    for moment in (3, 4.5):
        shipping.at(moment)
        await shipping.tick_advance()
    _, body = await _get(app, "/orders/o1/tracking")
    assert body["status"] == "out_for_delivery"
    assert [(s["sequence"], s["status"]) for s in body["steps"]] == [
        (1, "booked"), (2, "in_transit"), (3, "out_for_delivery")
    ]  # fmt: skip
    assert body["steps"][2]["at"].startswith("2026-03-01T12:00:04.5")
    shipping.at(6)
    await shipping.tick_advance()
    _, body = await _get(app, "/orders/o1/tracking")
    assert (body["status"], body["eta"], body["steps"][-1]["status"]) == (
        "delivered", None, "delivered"
    )  # fmt: skip
    assert ACCEPTED not in json.dumps(body)  # no address here either


async def test_tracking_before_the_booking_has_no_steps_and_unknown_is_404(
    shipping: Shipping,
) -> None:
    app = create_app("shipping", routers=[build_router(shipping.engine)])
    await shipping.create("slow", SLOW)
    status, body = await _get(app, "/orders/slow/tracking")
    assert status == 200
    assert (body["status"], body["tracking_number"], body["eta"], body["steps"]) == (
        "requested", None, None, []
    )  # fmt: skip
    status, body = await _get(app, "/orders/nope/tracking")
    assert status == 404
    assert "nope" in body["detail"]
