"""One order, one trace (issue #13): the test calls `POST /orders` with a W3C
`traceparent` of its own; every service writes its spans to a file (the e2e stack runs
with TRACING_EXPORTER=file); the spans of that trace id come from checkout, orders,
inventory, payment and shipping, and each one's parent is a span of the same trace (the
events shipping's timers send later, dispatched and delivered, included)."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import TRACE_DIR, System, new_product, order_body, until

pytestmark = pytest.mark.integration

SERVICES = {"checkout", "orders", "inventory", "payment", "shipping"}
# The saga's hops, each a child of the message that caused it: (service, message).
HOPS = {
    ("orders", "OrderPlaced"),
    ("inventory", "ReserveStock"),
    ("orders", "StockReserved"),
    ("payment", "AuthorizePayment"),
    ("orders", "PaymentAuthorized"),
    ("shipping", "CreateShipment"),
    ("orders", "ShipmentCreated"),
    ("payment", "CapturePayment"),
    ("orders", "PaymentCaptured"),
    # Sent later by shipping's timers: the shipment row keeps the order's trace.
    ("orders", "ShipmentDispatched"),
    ("orders", "ShipmentDelivered"),
}


def spans_of(trace_id: str) -> list[dict[str, Any]]:
    return [span for span in _all_spans() if span["context"]["trace_id"] == trace_id]


def _all_spans() -> Iterator[dict[str, Any]]:
    for path in TRACE_DIR.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            if line.strip():
                yield json.loads(line)


def service_of(span: dict[str, Any]) -> str:
    return str(span["resource"]["attributes"]["service.name"])


async def test_one_order_is_one_trace_across_five_services(
    http: httpx.AsyncClient, system: System
) -> None:
    sku = await new_product(http, system, stock=5)
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    response = await http.post(
        system.url("checkout") + "/orders",
        json=order_body((sku, 1)),
        headers={
            "Idempotency-Key": str(uuid.uuid4()),
            "traceparent": f"00-{trace_id}-{parent_id}-01",
        },
    )
    assert response.status_code == 202, response.text
    order_id = response.json()["order_id"]
    done = await until(http, system, order_id)
    assert done["status"] == "COMPLETED", done

    # Spans reach the files a little after they end (batched export): wait for all.
    deadline = time.monotonic() + 30
    while True:
        spans = spans_of(f"0x{trace_id}")
        ids = {span["context"]["span_id"] for span in spans} | {f"0x{parent_id}"}
        orphans = [s["name"] for s in spans if s["parent_id"] not in ids]
        services = {service_of(s) for s in spans}
        hops = {
            (service_of(s), s["attributes"].get("orderflow.message.type"))
            for s in spans
            if s["kind"] == "SpanKind.CONSUMER"
        }
        if services >= SERVICES and hops >= HOPS and not orphans:
            break
        assert time.monotonic() < deadline, (
            f"services {services}, hops missing {HOPS - hops}, orphans {orphans}"
        )
        await asyncio.sleep(0.3)
    assert any(s["kind"] == "SpanKind.SERVER" and service_of(s) == "checkout" for s in spans)
    assert all(s["attributes"].get("messaging.message.conversation_id") == order_id
               for s in spans if s["kind"] == "SpanKind.CONSUMER")  # fmt: skip
