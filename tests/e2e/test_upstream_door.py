"""The upstream door (orders.inbound) and mixed OrderPlaced versions, on the real broker."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from .conftest import System, get_json, new_product, order_body, stock_of, until
from .kafka_io import envelope, find, payload_of, produce, reason_of

INBOUND, REPLIES, DLQ = "orders.inbound", "orders.inbound.replies", "orders.inbound.dlq"


def submission(reference: str, sku: str, version: int = 2, **changes: Any) -> dict[str, Any]:
    body = order_body((sku, 1))
    line: dict[str, Any] = {"sku": sku, "quantity": 1}
    if version == 1:
        line["expected_unit_price_minor"] = 1000
    else:
        line["expected_unit_price"] = {"amount_minor": 1000, "currency": "EUR"}
    data = {
        "reference": reference,
        "customer_id": body["customer_id"],
        "lines": [line],
        "currency": "EUR",
        "shipping_address": body["shipping_address"],
        "payment_token": "tok_ok",
    }
    if version == 2:
        data["sales_channel"] = "marketplace-x"
    data.update(changes)
    return data


async def submit(system: System, reference: str, payload: Any, version: int = 2) -> None:
    bootstrap = system.settings["KAFKA_BOOTSTRAP_SERVERS"]
    await produce(
        bootstrap, INBOUND, [(reference, envelope("SubmitOrder", version, payload, reference))]
    )


async def reply(system: System, reference: str, count: int = 1) -> list[dict[str, Any]]:
    records = await find(
        system.settings["KAFKA_BOOTSTRAP_SERVERS"], REPLIES, reference, count=count
    )
    assert len(records) == count, f"no reply for {reference}"
    return [payload_of(r) for r in records]


@pytest.mark.parametrize("version", [1, 2])
async def test_valid_submission_is_placed(
    http: httpx.AsyncClient, system: System, version: int
) -> None:
    sku = await new_product(http, system, stock=5, price_minor=1000)
    reference = f"up-{uuid.uuid4().hex[:12]}"
    await submit(system, reference, submission(reference, sku, version), version)
    (answer,) = await reply(system, reference)
    assert answer["type"] == "OrderSubmissionAccepted"
    order_id = answer["payload"]["order_id"]
    done = await until(http, system, order_id)
    assert done["status"] == "COMPLETED"


INVALID = [
    ("negative quantity", {"lines": [{"sku": "{sku}", "quantity": -1}]}, "lines[0].quantity"),
    ("unknown sku", {"lines": [{"sku": "NOPE-404", "quantity": 1}]}, "lines[0].sku"),
    ("wrong currency", {"currency": "USD"}, "lines[0].sku"),
    ("bad currency code", {"currency": "euro"}, "currency"),
    (
        "price mismatch",
        {
            "lines": [
                {
                    "sku": "{sku}",
                    "quantity": 1,
                    "expected_unit_price": {"amount_minor": 1, "currency": "EUR"},
                }
            ]
        },
        "lines[0].expected_unit_price",
    ),
    ("missing address", {"shipping_address": None}, "shipping_address"),
]


@pytest.mark.parametrize(("label", "changes", "field"), INVALID, ids=[i[0] for i in INVALID])
async def test_invalid_submission_is_answered_with_its_reason(
    http: httpx.AsyncClient, system: System, label: str, changes: dict[str, Any], field: str
) -> None:
    sku = await new_product(http, system, stock=5, price_minor=1000)
    reference = f"bad-{uuid.uuid4().hex[:12]}"
    payload = submission(reference, sku)
    for key, value in changes.items():
        payload[key] = _fill(value, sku)
    if payload.get("shipping_address") is None:
        del payload["shipping_address"]
    await submit(system, reference, payload)
    (answer,) = await reply(system, reference)
    assert answer["type"] == "OrderSubmissionRejected", label
    fields = [r["field"] for r in answer["payload"]["reasons"]]
    assert field in fields, answer
    assert all(r["reason"] for r in answer["payload"]["reasons"])


def _fill(value: Any, sku: str) -> Any:
    if isinstance(value, str):
        return value.replace("{sku}", sku)
    if isinstance(value, list):
        return [_fill(v, sku) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, sku) for k, v in value.items()}
    return value


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "MALFORMED_JSON"),
        (b"\xff\xfe\xfa", "INVALID_ENCODING"),
        (envelope("SubmitOrder", 99, {}, "x"), "UNKNOWN_VERSION"),
        (envelope("ExplodeOrder", 1, {}, "x"), "UNKNOWN_TYPE"),
    ],
    ids=["malformed", "not-utf8", "v99", "unknown-type"],
)
async def test_unparseable_submissions_go_to_the_dlq(
    system: System, raw: bytes, reason: str
) -> None:
    bootstrap = system.settings["KAFKA_BOOTSTRAP_SERVERS"]
    key = f"dlq-{uuid.uuid4().hex[:12]}"
    await produce(bootstrap, INBOUND, [(key, raw)])
    (dead,) = await find(bootstrap, DLQ, key)
    assert reason_of(dead) == reason
    assert dead.value == raw


async def test_resubmitting_a_reference_is_idempotent(
    http: httpx.AsyncClient, system: System
) -> None:
    sku = await new_product(http, system, stock=5, price_minor=1000)
    reference = f"dup-{uuid.uuid4().hex[:12]}"
    payload = submission(reference, sku)
    await submit(system, reference, payload)
    await submit(system, reference, payload)  # a new message id: the inbox does not know it
    first, second = await reply(system, reference, count=2)
    assert first["payload"]["order_id"] == second["payload"]["order_id"]
    await until(http, system, first["payload"]["order_id"])
    _, stock = await get_json(http, system.url("inventory") + f"/stock/{sku}")
    assert stock["committed"] == 1
    changed = submission(reference, sku) | {"customer_id": "someone-else"}
    await submit(system, reference, changed)
    third = (await reply(system, reference, count=3))[2]
    assert third["type"] == "OrderSubmissionRejected"


def _order_placed(version: int, order_id: str, sku: str, qty: int) -> dict[str, Any]:
    body = order_body((sku, qty))
    common = {
        "order_id": order_id,
        "customer_id": body["customer_id"],
        "shipping_address": body["shipping_address"],
        "payment_token": "tok_ok",
        "placed_at": datetime.now(UTC).isoformat(),
    }
    if version == 1:
        return common | {
            "lines": [{"sku": sku, "quantity": qty, "unit_price_minor": 1000}],
            "currency": "EUR",
            "total_minor": 1000 * qty,
        }
    unit = {"amount_minor": 1000, "currency": "EUR"}
    return common | {
        "lines": [{"sku": sku, "quantity": qty, "unit_price": unit}],
        "total": {"amount_minor": 1000 * qty, "currency": "EUR"},
    }


async def _run(http: httpx.AsyncClient, system: System, versions: list[int]) -> list[Any]:
    sku = await new_product(http, system, stock=len(versions) - 1, price_minor=1000)
    orders = [str(uuid.uuid4()) for _ in versions]
    records = [
        (oid, envelope("OrderPlaced", v, _order_placed(v, oid, sku, 1), oid))
        for oid, v in zip(orders, versions, strict=True)
    ]
    await produce(system.settings["KAFKA_BOOTSTRAP_SERVERS"], "checkout.events", records)
    finals = await asyncio.gather(*(until(http, system, oid) for oid in orders))
    _, stock = await get_json(http, system.url("inventory") + f"/stock/{sku}")
    statuses = sorted((f["status"], f["total_minor"]) for f in finals)
    return [statuses, {k: stock[k] for k in ("available", "reserved", "committed")}]


async def test_v1_and_v2_producers_at_once_give_the_same_outcomes_as_all_v1(
    http: httpx.AsyncClient, system: System
) -> None:
    all_v1 = await _run(http, system, [1, 1, 1, 1, 1, 1])
    mixed = await _run(http, system, [1, 2, 1, 2, 2, 1])
    assert mixed == all_v1
    assert all_v1[0].count(("COMPLETED", 1000)) == 5  # one short of stock: one rejected


async def cancel(
    system: System, reference: str, reason: str = "customer changed their mind"
) -> None:
    payload = {"reference": reference, "reason": reason}
    await produce(
        system.settings["KAFKA_BOOTSTRAP_SERVERS"], INBOUND,
        [(reference, envelope("CancelOrder", 1, payload, reference))],
    )  # fmt: skip


async def test_an_upstream_cancel_before_dispatch_cancels_and_compensates(
    http: httpx.AsyncClient, system: System
) -> None:
    sku = await new_product(http, system, stock=5, price_minor=1000)
    reference = f"up-{uuid.uuid4().hex[:12]}"
    await submit(system, reference, submission(reference, sku))
    (accepted,) = await reply(system, reference)
    order_id = accepted["payload"]["order_id"]
    # Completed, not yet dispatched (the e2e carrier dispatches 6 s after booking).
    assert (await until(http, system, order_id))["status"] == "COMPLETED"
    await cancel(system, reference)
    answers = await reply(system, reference, count=2)
    assert answers[1]["type"] == "OrderCancellationAccepted"
    assert answers[1]["payload"] == {"reference": reference, "order_id": order_id}
    done = await until(http, system, order_id, lambda o: o["status"] == "CANCELLED", 30)
    assert done["reason"] == "customer changed their mind"
    assert (await stock_of(http, system, sku))["available"] == 5
    status, payment = await get_json(http, system.url("payment") + f"/payments/{order_id}")
    assert (status, payment["status"]) == (200, "refunded")
    # Sent again: the same answer, nothing more undone.
    await cancel(system, reference)
    again = (await reply(system, reference, count=3))[2]
    assert (again["type"], again["payload"]) == (answers[1]["type"], answers[1]["payload"])
    assert (await stock_of(http, system, sku))["available"] == 5


async def test_an_upstream_cancel_after_dispatch_or_of_no_order_is_refused(
    http: httpx.AsyncClient, system: System
) -> None:
    sku = await new_product(http, system, stock=5, price_minor=1000)
    reference = f"up-{uuid.uuid4().hex[:12]}"
    await submit(system, reference, submission(reference, sku))
    (accepted,) = await reply(system, reference)
    order_id = accepted["payload"]["order_id"]
    await until(http, system, order_id, lambda o: o["fulfilment"]["dispatched"], 40)
    await cancel(system, reference)
    refused = (await reply(system, reference, count=2))[1]
    assert refused["type"] == "OrderCancellationRefused"
    assert refused["payload"]["order_id"] == order_id
    assert refused["payload"]["reasons"] == [
        {"field": "order", "reason": "the order was already dispatched"}
    ]
    assert (await until(http, system, order_id))["status"] == "COMPLETED"
    unknown = f"up-{uuid.uuid4().hex[:12]}"
    await cancel(system, unknown)
    (nothing,) = await reply(system, unknown)
    assert nothing["type"] == "OrderCancellationRefused"
    assert nothing["payload"]["order_id"] is None
    assert nothing["payload"]["reasons"][0]["field"] == "reference"
