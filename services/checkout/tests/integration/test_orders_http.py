"""POST /orders through the real app on a migrated schema: placed once per key, with its
OrderPlaced in the same transaction, and read back."""

from __future__ import annotations

import asyncio
import json

import structlog
from sqlalchemy import text

from orderflow_contracts.checkout import OrderPlaced
from orderflow_messaging.envelope import Envelope

from .checkout_app import ADDRESS, BODY, FIRST_ID, NOW, TOTAL, Checkout


async def test_valid_order_is_placed_with_its_order_placed(checkout: Checkout) -> None:
    response = await checkout.place()
    assert response.status_code == 202
    assert response.json() == {
        "order_id": FIRST_ID, "status": "placed", "total_minor": TOTAL, "currency": "EUR",
    }  # fmt: skip
    assert await checkout.count("orders") == 1

    async with checkout.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT * FROM outbox"))).all()
    assert len(rows) == 1
    row = rows[0]
    assert (row.topic, row.message_type, row.correlation_id) == (
        "checkout.events", "OrderPlaced", FIRST_ID,
    )  # fmt: skip
    assert row.key == FIRST_ID.encode()
    envelope = Envelope.model_validate_json(row.value)
    assert envelope.producer == "checkout"
    assert envelope.version == 4
    assert OrderPlaced.model_validate(envelope.payload) == OrderPlaced.model_validate(
        {
            "order_id": FIRST_ID,
            "customer_id": "c-42",
            "lines": [
                {
                    "sku": "TEE-BLK-M",
                    "quantity": 2,
                    "unit_price": {"amount_minor": 1990, "currency": "EUR"},
                    "price_source": "base",
                },
                {
                    "sku": "MUG-ENAMEL",
                    "quantity": 1,
                    "unit_price": {"amount_minor": 1250, "currency": "EUR"},
                    "price_source": "base",
                },
            ],
            "total": {"amount_minor": TOTAL, "currency": "EUR"},
            "shipping_address": ADDRESS,
            "payment_token": "tok_visa_4242",
            "placed_at": NOW.isoformat(),
            "sales_channel": None,
        }
    )


async def test_order_can_be_read_back(checkout: Checkout) -> None:
    order_id = (await checkout.place()).json()["order_id"]
    found = await checkout.client.get(f"/orders/{order_id}")
    assert found.status_code == 200
    assert found.json() == {
        "order_id": order_id,
        "status": "placed",
        "total_minor": TOTAL,
        "currency": "EUR",
        "customer_id": "c-42",
        "lines": [
            {
                "sku": "TEE-BLK-M",
                "quantity": 2,
                "unit_price_minor": 1990,
                "price_source": "base",
                "price_rule": None,
                "discount_minor": 0,
                "promotions": [],
            },
            {
                "sku": "MUG-ENAMEL",
                "quantity": 1,
                "unit_price_minor": 1250,
                "price_source": "base",
                "price_rule": None,
                "discount_minor": 0,
                "promotions": [],
            },
        ],
        "discounts": [],
        "delivery": None,
        "created_at": "2026-03-01T12:00:00Z",
    }
    for unknown in ("00000000-0000-0000-0000-000000000099", "not-an-id"):
        assert (await checkout.client.get(f"/orders/{unknown}")).status_code == 404


async def test_catalog_copy_is_listed(checkout: Checkout) -> None:
    listed = (await checkout.client.get("/catalog")).json()
    assert [(i["sku"], i["price_minor"], i["active"]) for i in listed] == [
        ("MUG-ENAMEL", 1250, True), ("RETIRED-HAT", 900, False),
        ("TEE-BLK-M", 1990, True), ("US-ONLY", 500, True),
    ]  # fmt: skip


async def test_same_key_same_body_answers_the_same_order(checkout: Checkout) -> None:
    first = await checkout.place()
    # The same request, spelled differently and after a price change: still the first answer.
    await checkout.set_price("TEE-BLK-M", 9900)
    respelled = json.dumps({**dict(reversed(list(BODY.items()))), "currency": "EUR"}, indent=1)
    again = await checkout.client.post(
        "/orders",
        content=respelled,
        headers={"Idempotency-Key": "key-1", "Content-Type": "application/json"},
    )
    assert again.status_code == 202
    assert again.json() == first.json()
    assert await checkout.count("orders") == 1
    assert await checkout.count("outbox") == 1


async def test_same_key_different_body_is_a_conflict(checkout: Checkout) -> None:
    first = await checkout.place()
    changed = {**BODY, "lines": [{"sku": "TEE-BLK-M", "quantity": 3}]}
    conflict = await checkout.place(changed)
    assert conflict.status_code == 409
    assert conflict.json() == {
        "detail": [
            {
                "field": "Idempotency-Key",
                "reason": "Idempotency-Key reused with a different request",
            }
        ]
    }
    assert (await checkout.place()).json() == first.json()
    assert await checkout.count("orders") == 1
    assert await checkout.count("outbox") == 1


async def test_other_keys_place_other_orders(checkout: Checkout) -> None:
    ids = {(await checkout.place(key=key)).json()["order_id"] for key in ("a", "b")}
    assert len(ids) == 2
    assert await checkout.count("orders") == 2
    assert await checkout.count("outbox") == 2


async def test_concurrent_duplicates_place_one_order(checkout: Checkout) -> None:
    responses = await asyncio.gather(*(checkout.place(key="race") for _ in range(20)))
    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["order_id"] for r in responses}) == 1
    assert await checkout.count("orders") == 1
    assert await checkout.count("outbox") == 1


async def test_concurrent_different_bodies_under_one_key(checkout: Checkout) -> None:
    bodies = [{**BODY, "lines": [{"sku": "MUG-ENAMEL", "quantity": q}]} for q in range(1, 11)]
    responses = await asyncio.gather(*(checkout.place(b, key="race") for b in bodies))
    assert sorted(r.status_code for r in responses) == [202] + [409] * 9
    assert await checkout.count("orders") == 1
    assert await checkout.count("outbox") == 1


async def test_logs_name_the_order_never_the_token_or_address(checkout: Checkout) -> None:
    with structlog.testing.capture_logs() as logs:
        order_id = (await checkout.place()).json()["order_id"]
        await checkout.place()
        await checkout.place({**BODY, "lines": [{"sku": "X", "quantity": 1}]}, key="other")
    assert [entry["event"] for entry in logs] == [
        "order_placed", "order_request_replayed", "order_rejected",
    ]  # fmt: skip
    assert logs[0] == {
        "event": "order_placed", "log_level": "info", "order_id": order_id,
        "lines": 2, "total_minor": TOTAL, "currency": "EUR",
    }  # fmt: skip
    logged = repr(logs)
    for secret in ("tok_visa_4242", *ADDRESS.values()):
        assert secret not in logged


async def test_a_group_of_requests_is_answered_each_on_its_own(checkout: Checkout) -> None:
    # Sent at once, they share transactions (group commit): a refused request in the
    # group refuses only itself, a key twice is one order, every other key is placed.
    bad = {**BODY, "lines": [{"sku": "NOPE", "quantity": 1}]}
    sent = [checkout.place(key=f"k-{n}") for n in range(30)]
    sent += [checkout.place(bad, key="bad"), checkout.place(key="k-0")]
    responses = await asyncio.gather(*sent)
    codes = [r.status_code for r in responses]
    assert codes == [202] * 30 + [422, 202]
    assert responses[-1].json()["order_id"] == responses[0].json()["order_id"]
    assert len({r.json()["order_id"] for r in responses[:30]}) == 30
    assert await checkout.count("orders") == 30
    assert await checkout.count("outbox") == 30
