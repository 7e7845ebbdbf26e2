"""The upstream door's batch use case on the in-memory store: every submission checked
and decided in message order, answered in order, the new orders saved once."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from checkout.adapters.batch_store import ConcurrentSubmission, MemorySubmissionStore
from checkout.application.submissions import handle_door_requests, idempotency_key
from checkout.domain.model import CatalogItem, Order, OrderDiscount, OrderLine, OrderStatus
from checkout.entrypoints.inbound import door_registry
from orderflow_contracts.catalog import PromotionChanged
from orderflow_messaging.clock import FixedClock, SequentialIds
from orderflow_messaging.consumer import Batch, Incoming
from orderflow_messaging.envelope import Envelope, SourceCoordinates
from orderflow_messaging.outbox import BatchOutbox
from orderflow_messaging.registry import Message

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
CATALOG = {
    "TEE": CatalogItem("TEE", "Tee", 1990, "EUR"),
    "MUG": CatalogItem("MUG", "Mug", 1250, "EUR"),
    "OLD": CatalogItem("OLD", "Retired", 900, "EUR", active=False),
}
ADDRESS = {"name": "Ada", "line1": "1 Way", "city": "London", "postcode": "N1", "country": "GB"}


def submission(reference: str, *lines: tuple[str, int], **changes: Any) -> dict[str, Any]:
    payload = {
        "reference": reference,
        "customer_id": "c-1",
        "lines": [{"sku": sku, "quantity": qty} for sku, qty in lines or [("TEE", 1)]],
        "currency": "EUR",
        "shipping_address": ADDRESS,
        "payment_token": "tok_visa",
    }
    return payload | changes


def submitted(payload: dict[str, Any], *, version: int = 2, reference: str = "") -> Envelope:
    return Envelope(
        message_id=uuid.uuid4(),
        type="SubmitOrder",
        version=version,
        occurred_at=NOW,
        producer="upstream",
        correlation_id=reference or payload["reference"],
        payload=payload,
    )


class CountingStore(MemorySubmissionStore):
    loads: int = 0
    saves: int = 0
    asked: tuple[list[str], list[str]] = ([], [])

    async def load(self, idempotency_keys: Any, skus: Any, customers: Any) -> Any:
        self.loads += 1
        self.asked = (list(idempotency_keys), list(skus))
        return await super().load(idempotency_keys, skus, customers)

    async def save(self, book: Any) -> None:
        self.saves += 1
        await super().save(book)


def store(**orders: Order) -> CountingStore:
    return CountingStore(catalog=dict(CATALOG), orders=dict(orders))


async def run(store: MemorySubmissionStore, *envelopes: Envelope) -> list[dict[str, Any]]:
    """One batch through the door's decoding and use case; what it sent, in order."""
    clock = FixedClock(NOW)
    outbox = BatchOutbox(producer="checkout", clock=clock)
    registry = door_registry()
    items: list[Incoming[Message]] = [
        Incoming(registry.decode_payload(e), e, SourceCoordinates("orders.inbound", 0, n))
        for n, e in enumerate(envelopes)
    ]
    batch = Batch(None, outbox, clock)  # type: ignore[arg-type]
    await handle_door_requests(store, batch, items, new_id=SequentialIds(), event_version=2)
    sent = []
    for record, item in zip(outbox.records(), _causes(outbox, items), strict=True):
        assert record.value is not None
        envelope = Envelope.model_validate_json(record.value)
        assert envelope.causation_id == item.envelope.message_id
        sent.append(
            {"topic": record.topic, "type": record.message_type, "key": record.key,
             "correlation_id": record.correlation_id, **envelope.payload}
        )  # fmt: skip
    return sent


def _causes(outbox: BatchOutbox, items: list[Incoming[Message]]) -> list[Incoming[Message]]:
    """The item each record answers: every item sends its reply last (a cancellation
    passed on to the coordinator: its request)."""
    causes, n = [], 0
    for record in outbox.records():
        causes.append(items[n])
        n += record.topic == "orders.inbound.replies" or (
            record.message_type == "OrderCancellationRequested"
        )
    return causes


def cancel(reference: str, reason: str | None = None, **payload: Any) -> Envelope:
    body = {"reference": reference} | ({"reason": reason} if reason else {}) | payload
    return Envelope(
        message_id=uuid.uuid4(), type="CancelOrder", version=1, occurred_at=NOW,
        producer="upstream", correlation_id=reference, payload=body,
    )  # fmt: skip


def reasons(reply: dict[str, Any]) -> list[tuple[str, str]]:
    return [(r["field"], r["reason"]) for r in reply["reasons"]]


def order_id(n: int) -> str:
    return str(uuid.UUID(int=n))


async def test_a_valid_submission_places_an_order_then_answers() -> None:
    book = store()
    sent = await run(book, submitted(submission("r1", ("TEE", 2), ("MUG", 1))))
    placed, reply = sent
    assert (placed["topic"], placed["type"], placed["correlation_id"]) == (
        "checkout.events", "OrderPlaced", order_id(1),
    )  # fmt: skip
    assert placed["total"] == {"amount_minor": 2 * 1990 + 1250, "currency": "EUR"}
    assert reply == {
        "topic": "orders.inbound.replies", "type": "OrderSubmissionAccepted", "key": b"r1",
        "correlation_id": "r1", "reference": "r1", "order_id": order_id(1),
    }  # fmt: skip
    stored = book.orders[idempotency_key("r1")]
    assert stored.lines == (OrderLine("TEE", 2, 1990), OrderLine("MUG", 1, 1250))
    assert (stored.order_id, stored.created_at) == (order_id(1), NOW)


async def test_a_batch_is_decided_in_message_order_loaded_and_saved_once() -> None:
    book = store()
    first = submission("r1", ("TEE", 1))
    sent = await run(
        book,
        submitted(first),
        submitted(submission("r2", ("MUG", 1))),
        submitted(copy.deepcopy(first)),  # a resend within the batch: the same answer
        submitted(submission("r1", ("TEE", 3))),  # r1 again, different: refused
        submitted(submission("r3", ("NOPE", 1))),
    )
    replies = [s for s in sent if s["topic"] == "orders.inbound.replies"]
    assert [(r["reference"], r["type"], r.get("order_id")) for r in replies] == [
        ("r1", "OrderSubmissionAccepted", order_id(1)),
        ("r2", "OrderSubmissionAccepted", order_id(2)),
        ("r1", "OrderSubmissionAccepted", order_id(1)),
        ("r1", "OrderSubmissionRejected", None),
        ("r3", "OrderSubmissionRejected", None),
    ]
    assert reasons(replies[3]) == [("reference", "already used for a different submission")]
    assert reasons(replies[4]) == [("lines[0].sku", "unknown SKU 'NOPE'")]
    assert [s["type"] for s in sent].count("OrderPlaced") == 2
    assert (book.loads, book.saves) == (1, 1)
    assert book.asked == (
        [idempotency_key("r1"), idempotency_key("r2"), idempotency_key("r3")],
        ["MUG", "NOPE", "TEE"],
    )
    assert sorted(book.orders) == [idempotency_key("r1"), idempotency_key("r2")]


async def test_a_submission_breaking_the_contract_gets_every_reason() -> None:
    broken = submission("r1", ("TEE", 0), payment_token="4242", currency="euro")
    del broken["shipping_address"]
    # Its reference cannot be trusted either: the answer is keyed by the envelope's.
    broken["reference"] = ""
    book = store()
    [reply] = await run(book, submitted(broken, reference="upstream-7"))
    assert (reply["type"], reply["key"], reply["reference"]) == (
        "OrderSubmissionRejected", b"upstream-7", "upstream-7",
    )  # fmt: skip
    assert [field for field, _ in reasons(reply)] == [
        "reference", "lines[0].quantity", "currency", "shipping_address", "payment_token",
    ]  # fmt: skip
    assert book.orders == {}


async def test_rule_and_price_problems_are_listed_together() -> None:
    lines = [
        {"sku": "TEE", "quantity": 1, "expected_unit_price": {"amount_minor": 1, "currency": "EUR"}},
        {"sku": "OLD", "quantity": 1},
        {"sku": "MUG", "quantity": 1, "expected_unit_price": {"amount_minor": 1250, "currency": "EUR"}},
        {"sku": "NOPE", "quantity": 1, "expected_unit_price": {"amount_minor": 5, "currency": "EUR"}},
    ]  # fmt: skip
    book = store()
    [reply] = await run(book, submitted(submission("r1") | {"lines": lines}))
    assert reply["type"] == "OrderSubmissionRejected"
    assert reasons(reply) == [
        ("lines[1].sku", "SKU 'OLD' is not for sale"),
        ("lines[3].sku", "unknown SKU 'NOPE'"),
        ("lines[0].expected_unit_price", "price of TEE is 1990 EUR"),
    ]
    assert book.orders == {}


async def test_the_price_the_upstream_showed_must_be_ours() -> None:
    v1 = submission("r1") | {
        "lines": [{"sku": "TEE", "quantity": 1, "expected_unit_price_minor": 1990}]
    }
    v1_wrong = submission("r2") | {
        "lines": [{"sku": "TEE", "quantity": 1, "expected_unit_price_minor": 1900}]
    }
    sent = await run(store(), submitted(v1, version=1), submitted(v1_wrong, version=1))
    assert [s["type"] for s in sent] == [
        "OrderPlaced", "OrderSubmissionAccepted", "OrderSubmissionRejected",
    ]  # fmt: skip
    assert reasons(sent[2]) == [("lines[0].expected_unit_price", "price of TEE is 1990 EUR")]


async def test_a_resend_of_an_earlier_batch_answers_the_stored_order() -> None:
    book = store()
    await run(book, submitted(submission("r1", ("TEE", 1), sales_channel="shop")))
    stored = book.orders[idempotency_key("r1")]
    # Prices moved since: a resend is answered from the order, not decided again.
    book.catalog["TEE"] = CatalogItem("TEE", "Tee", 9900, "EUR")
    sent = await run(
        book,
        submitted(submission("r1", ("TEE", 1), sales_channel="other")),  # not in the fingerprint
        submitted(submission("r1", ("TEE", 1), customer_id="c-2")),
    )
    assert [(s["type"], s.get("order_id")) for s in sent] == [
        ("OrderSubmissionAccepted", stored.order_id), ("OrderSubmissionRejected", None),
    ]  # fmt: skip
    assert book.orders == {idempotency_key("r1"): stored}


async def test_a_rejected_reference_can_be_sent_again_once_fixed() -> None:
    book = store()
    sent = await run(
        book,
        submitted(submission("r1", ("NOPE", 1))),
        submitted(submission("r1", ("TEE", 1))),
    )
    assert [s["type"] for s in sent] == [
        "OrderSubmissionRejected", "OrderPlaced", "OrderSubmissionAccepted",
    ]  # fmt: skip


async def test_text_postgresql_cannot_store_is_refused_before_any_lookup() -> None:
    book = store()
    [reply] = await run(book, submitted(submission("r\x001", customer_id="c\x00")))
    assert reply["reference"] == "r1"
    assert reasons(reply) == [
        ("reference", "must not contain the NUL character"),
        ("customer_id", "must not contain the NUL character"),
    ]
    assert book.asked == ([], [])
    assert book.orders == {}


async def test_ids_are_drawn_only_for_placed_orders() -> None:
    sent = await run(store(), submitted(submission("r1", ("NOPE", 1))), submitted(submission("r2")))
    assert sent[-1]["order_id"] == order_id(1)


async def test_an_order_placed_meanwhile_fails_the_batch() -> None:
    book = store()

    class Racing(CountingStore):
        async def load(self, idempotency_keys: Any, skus: Any, customers: Any) -> Any:
            loaded = await super().load(idempotency_keys, skus, customers)
            # Another instance places r1 after this batch looked.
            other = Order(order_id(99), idempotency_key("r1"), "x", "c-9", (), "EUR", 0,
                          OrderStatus.PLACED, NOW)  # fmt: skip
            self.orders[other.idempotency_key] = other
            return loaded

    racing = Racing(catalog=book.catalog)
    with pytest.raises(ConcurrentSubmission):
        await run(racing, submitted(submission("r2")), submitted(submission("r1")))
    assert sorted(racing.orders) == [idempotency_key("r1")]  # nothing of this batch written


async def test_coupons_at_the_door_are_applied_or_refused_by_name() -> None:
    book = store()
    coupon = PromotionChanged(
        promotion_id="ten", code="TEN", kind="percent", value=1000, global_limit=5, revision=1
    )
    book.prices.promotions["ten"] = coupon
    sent = await run(
        book,
        submitted(submission("r1", ("TEE", 1)) | {"coupons": ["ten"]}),
        submitted(submission("r2", ("TEE", 1)) | {"coupons": ["NOPE"]}),
    )
    placed, accepted, refused = sent
    assert placed["total"] == {"amount_minor": 1990 - 199, "currency": "EUR"}
    assert book.orders[idempotency_key("r1")].discounts == (OrderDiscount("ten", "TEN", 199, True),)
    assert accepted["type"] == "OrderSubmissionAccepted"
    assert reasons(refused) == [("coupons[0]", "unknown coupon")]


async def test_a_cancellation_after_its_submission_goes_to_the_coordinator_in_order() -> None:
    book = store()
    sent = await run(book, submitted(submission("r1")), cancel("r1", "customer changed their mind"))
    assert [(m["topic"], m["type"]) for m in sent] == [
        ("checkout.events", "OrderPlaced"),
        ("orders.inbound.replies", "OrderSubmissionAccepted"),
        ("checkout.events", "OrderCancellationRequested"),
    ]
    requested = sent[2]
    assert requested["key"] == requested["correlation_id"].encode()
    assert {k: requested[k] for k in ("order_id", "reference", "reason")} == {
        "order_id": sent[0]["order_id"], "reference": "r1",
        "reason": "customer changed their mind",
    }  # fmt: skip
    assert book.asked[0] == [idempotency_key("r1")]  # one load for both


async def test_a_cancellation_of_a_stored_order_names_it_and_a_resend_is_passed_on_again() -> None:
    book = store()
    [placed, _] = await run(book, submitted(submission("r1")))
    first = await run(book, cancel("r1"))
    again = await run(book, cancel("r1"))
    assert [m["type"] for m in first + again] == ["OrderCancellationRequested"] * 2
    assert first[0]["order_id"] == again[0]["order_id"] == placed["order_id"]
    assert first[0]["reason"] == "cancelled by the upstream system"  # the default
    assert book.saves == 3  # nothing new stored for a cancellation


async def test_a_cancellation_without_an_order_is_refused_here() -> None:
    [reply] = await run(store(), cancel("never-sent"))
    assert (reply["topic"], reply["type"], reply["key"]) == (
        "orders.inbound.replies", "OrderCancellationRefused", b"never-sent"
    )  # fmt: skip
    assert reply["order_id"] is None
    assert reasons(reply) == [("reference", "no order was placed under this reference")]


async def test_an_unreadable_cancellation_is_refused_with_every_reason() -> None:
    long_reason = cancel("r1", "x" * 201)
    nameless = cancel("r2")
    nameless.payload.pop("reference")
    nul = cancel("r\x003", "why\x00")
    sent = await run(store(), long_reason, nameless, nul)
    assert [m["type"] for m in sent] == ["OrderCancellationRefused"] * 3
    assert [m["reference"] for m in sent] == ["r1", "r2", "r3"]
    assert [f for f, _ in reasons(sent[0])] == ["reason"]
    assert [f for f, _ in reasons(sent[1])] == ["reference"]
    assert [f for f, _ in reasons(sent[2])] == ["reference", "reason"]
