"""The payment batch use case on the in-memory store and a fake gateway: rounds, keys
committed pending before their calls, bounded concurrent calls, replies in batch order,
and a failed call failing the whole batch without leaving a call running."""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from orderflow_contracts import registry
from orderflow_contracts.payment import (
    AuthorizePayment,
    CapturePayment,
    InvoiceDraft,
    InvoiceLine,
    PaymentAuthorized,
    RefundPayment,
    VoidPayment,
)
from orderflow_messaging.clock import FixedClock
from orderflow_messaging.consumer import Batch
from orderflow_messaging.errors import PermanentFailure, TransientFailure
from orderflow_messaging.outbox import BatchOutbox
from orderflow_messaging.registry import Message
from orderflow_testing.batches import incoming
from payment.adapters.batch_store import MemoryPaymentStore
from payment.adapters.documents import MemoryDocumentStore
from payment.adapters.idempotency import KeyState, StoredKey
from payment.application.batch import handle_commands
from payment.application.book import GatewayCall, PaymentBook, keyed, rounds
from payment.application.ports import GatewayTimeout, GatewayUnavailable
from payment.domain.model import Call, GatewayResult, Payment, PaymentStatus

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def authorize(order_id: str, token: str = "tok_ok", key: str = "") -> AuthorizePayment:
    return AuthorizePayment(
        order_id=order_id,
        amount_minor=1000,
        currency="EUR",
        payment_token=token,
        idempotency_key=key or f"idem:{order_id}:authorize",
    )


def capture(order_id: str) -> CapturePayment:
    return CapturePayment(
        order_id=order_id, amount_minor=1000, currency="EUR", idempotency_key=f"idem:{order_id}:c"
    )


def void(order_id: str) -> VoidPayment:
    return VoidPayment(order_id=order_id, idempotency_key=f"idem:{order_id}:void")


@dataclass
class FakeGateway:
    """Idempotent by key like the real one; checks that every call's key is committed
    pending in the store before the call; counts calls at once."""

    store: MemoryPaymentStore
    delay_s: float = 0.0
    unavailable: set[str] = field(default_factory=set)  # keys whose calls fail
    calls: list[tuple[Call, str]] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    results: dict[str, GatewayResult] = field(default_factory=dict)  # the "ledger"
    running: int = 0
    most_at_once: int = 0

    async def _call(self, call: Call, key: str, result: GatewayResult) -> GatewayResult:
        stored = self.store.keys.get(key)
        assert stored is not None, f"{key} called before it was committed"
        assert stored.state is KeyState.PENDING
        self.calls.append((call, key))
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            if key in self.unavailable:
                raise GatewayUnavailable("down")
            await asyncio.sleep(self.delay_s)
            self.finished.append(key)
            return self.results.setdefault(key, result)
        finally:
            self.running -= 1

    async def authorize(
        self, key: str, order_id: str, amount_minor: int, currency: str, token: str
    ) -> GatewayResult:
        if token == "tok_timeout":
            await self._call(Call.AUTHORIZE, key, GatewayResult.approved(f"auth_{key}"))
            raise GatewayTimeout("no answer")
        if token == "tok_decline":
            return await self._call(Call.AUTHORIZE, key, GatewayResult.declined("card_declined"))
        return await self._call(Call.AUTHORIZE, key, GatewayResult.approved(f"auth_{key}"))

    async def capture(
        self, key: str, order_id: str, authorization_id: str, amount_minor: int, currency: str
    ) -> GatewayResult:
        return await self._call(Call.CAPTURE, key, GatewayResult.approved(authorization_id))

    async def void(self, key: str, order_id: str) -> GatewayResult:
        return await self._call(Call.VOID, key, GatewayResult.approved())

    async def refund(
        self, key: str, order_id: str, authorization_id: str, amount_minor: int, currency: str
    ) -> GatewayResult:
        return await self._call(Call.REFUND, key, GatewayResult.approved(authorization_id))


async def run(
    store: MemoryPaymentStore, gateway: FakeGateway, *commands: Any, concurrency: int = 16
) -> list[Message]:
    """One batch; returns its replies, in outbox order."""
    clock = FixedClock(NOW)
    outbox = BatchOutbox(producer="payment", clock=clock)
    batch = Batch(None, outbox, clock)  # type: ignore[arg-type]
    items = [incoming(c, n=n) for n, c in enumerate(commands)]
    await handle_commands(store, gateway, batch, items, concurrency=concurrency)
    messages = registry()
    return [
        messages.decode_payload(messages.parse_envelope(r.value, max_bytes=1 << 20))
        for r in outbox.records()
    ]


def types(replies: list[Message]) -> list[str]:
    return [reply.TYPE for reply in replies]


def test_round_k_takes_the_kth_command_of_each_order_in_batch_order() -> None:
    assert rounds(["a", "b", "a", "c", "a", "b"]) == [[0, 1, 3], [2, 5], [4]]
    assert rounds(["a"] * 3) == [[0], [1], [2]]
    assert rounds([]) == []


def test_a_new_key_for_an_open_authorization_continues_it_and_completes_both() -> None:
    first = keyed(authorize("o1"))
    again = authorize("o1", key="idem:o1:authorize-2")
    pending = Payment.pending("o1", 1000, "EUR", "tok_ok")
    book = PaymentBook({"o1": pending}, {first.key: StoredKey(first, KeyState.PENDING, None, None)})
    call = book.decide(again)
    assert isinstance(call, GatewayCall)
    assert (call.call, call.key, call.pending) == (Call.AUTHORIZE, first.key, None)
    reply = book.conclude(call, GatewayResult.approved("auth_1"))
    assert isinstance(reply, PaymentAuthorized)
    assert reply.authorization_id == "auth_1"
    assert book.done == {first.key, again.idempotency_key}
    assert book.open_authorization("o1") is None
    assert book.changed == {"o1"}
    assert book.payments["o1"].status is PaymentStatus.AUTHORIZED


def test_a_resend_in_a_later_round_is_answered_from_the_stored_reply() -> None:
    book = PaymentBook({}, {})
    call = book.decide(authorize("o1"))
    assert isinstance(call, GatewayCall)
    assert call.pending == keyed(authorize("o1"))
    first = book.conclude(call, GatewayResult.approved("auth_1"))
    assert book.decide(authorize("o1")) == first
    with pytest.raises(PermanentFailure, match="different request"):
        book.decide(authorize("o1", token="tok_other"))


async def test_a_batch_is_decided_in_rounds_and_answered_in_batch_order() -> None:
    store = MemoryPaymentStore()
    gateway = FakeGateway(store)
    replies = await run(
        store, gateway,
        authorize("o1"),
        authorize("o2", "tok_decline"),
        capture("o1"),
        authorize("o1"),  # a resend: answered again, no gateway call
        void("o3"),  # before its authorization: no call, a tombstone
        authorize("o3"),
    )  # fmt: skip
    assert types(replies) == [
        "PaymentAuthorized", "PaymentDeclined", "PaymentCaptured",
        "PaymentAuthorized", "PaymentVoided", "PaymentDeclined",
    ]  # fmt: skip
    assert replies[3] == replies[0]
    assert gateway.calls == [
        (Call.AUTHORIZE, "idem:o1:authorize"),
        (Call.AUTHORIZE, "idem:o2:authorize"),
        (Call.CAPTURE, "idem:o1:c"),
    ]
    # One pending statement per round with calls, before them; one save per batch.
    assert [[r.key for r in keys] for keys in store.pending_commits] == [
        ["idem:o1:authorize", "idem:o2:authorize"],
        ["idem:o1:c"],
    ]
    assert store.saves == 1
    assert {k: s.state for k, s in store.keys.items()} == {
        "idem:o1:authorize": KeyState.DONE,
        "idem:o2:authorize": KeyState.DONE,
        "idem:o1:c": KeyState.DONE,
        "idem:o3:void": KeyState.DONE,
        "idem:o3:authorize": KeyState.DONE,
    }
    statuses = {o: p.status for o, p in store.payments.items()}
    assert statuses == {
        "o1": PaymentStatus.CAPTURED,
        "o2": PaymentStatus.DECLINED,
        "o3": PaymentStatus.VOIDED,
    }


async def test_a_rounds_calls_run_at_once_within_the_bound() -> None:
    store = MemoryPaymentStore()
    gateway = FakeGateway(store, delay_s=0.01)
    orders = [f"o{i}" for i in range(10)]
    replies = await run(store, gateway, *(authorize(o) for o in orders), concurrency=3)
    assert types(replies) == ["PaymentAuthorized"] * 10
    assert gateway.most_at_once == 3
    assert sorted(key for _, key in gateway.calls) == sorted(f"idem:{o}:authorize" for o in orders)
    assert len(store.pending_commits) == 1


async def test_a_failed_call_fails_the_batch_once_every_call_returned() -> None:
    store = MemoryPaymentStore()
    gateway = FakeGateway(store, delay_s=0.02, unavailable={"idem:o2:authorize"})
    with pytest.raises(TransientFailure, match="unavailable"):
        await run(store, gateway, authorize("o1"), authorize("o2"), authorize("o3"))
    assert sorted(gateway.finished) == ["idem:o1:authorize", "idem:o3:authorize"]
    assert store.saves == 0, "nothing of the batch is written"
    assert store.payments == {}
    assert {s.state for s in store.keys.values()} == {KeyState.PENDING}, "but the keys are"
    # The consumer then runs each record alone: the repeated calls move nothing again.
    gateway.unavailable.clear()
    for order_id in ("o1", "o2", "o3"):
        [reply] = await run(store, gateway, authorize(order_id))
        assert isinstance(reply, PaymentAuthorized)
        assert reply.authorization_id == f"auth_idem:{order_id}:authorize"
    assert len(store.pending_commits) == 1, "the keys were pending already"
    assert len(gateway.results) == 3


async def test_a_key_reused_by_another_order_fails_the_batch_before_any_call() -> None:
    store = MemoryPaymentStore()
    gateway = FakeGateway(store)
    with pytest.raises(PermanentFailure, match="different request"):
        await run(
            store, gateway, authorize("o1", key="shared-key"), authorize("o2", key="shared-key")
        )
    assert gateway.calls == []
    assert store.pending_commits == []


async def test_an_unanswered_authorization_stays_open_and_is_asked_about_again() -> None:
    store = MemoryPaymentStore()
    gateway = FakeGateway(store)
    key = "idem:o1:authorize"
    timed_out = authorize("o1", "tok_timeout")
    assert await run(store, gateway, timed_out, timed_out) == [], "no answer, no reply"
    assert gateway.calls == [(Call.AUTHORIZE, key)] * 2
    assert [[r.key for r in keys] for keys in store.pending_commits] == [[key]]
    assert store.keys[key].state is KeyState.PENDING
    assert {o: p.status for o, p in store.payments.items()} == {
        "o1": PaymentStatus.AUTHORIZATION_PENDING
    }
    # A new key continues the open authorization (never a second one), then a void.
    again = authorize("o1", "tok_timeout", key="idem:o1:authorize-2")
    assert await run(store, gateway, again) == []
    assert gateway.calls[-1] == (Call.AUTHORIZE, key)
    assert "idem:o1:authorize-2" not in store.keys
    assert types(await run(store, gateway, void("o1"))) == ["PaymentVoided"]
    assert store.payments["o1"].status is PaymentStatus.VOIDED


async def run_documented(
    store: MemoryPaymentStore, documents: MemoryDocumentStore, gateway: FakeGateway, *commands: Any
) -> list[Message]:
    """One batch that issues documents; returns its replies, in outbox order."""
    clock = FixedClock(NOW)
    outbox = BatchOutbox(producer="payment", clock=clock)
    items = [incoming(c, n=n) for n, c in enumerate(commands)]
    await handle_commands(
        store, gateway, Batch(None, outbox, clock), items,  # type: ignore[arg-type]
        concurrency=4, documents=documents,
    )  # fmt: skip
    messages = registry()
    return [
        messages.decode_payload(messages.parse_envelope(r.value, max_bytes=1 << 20))
        for r in outbox.records()
    ]


def invoiced_capture(order_id: str) -> CapturePayment:
    draft = InvoiceDraft(
        customer_id="c-1", country="DE",
        lines=[InvoiceLine(sku="TEE-BLK-M", quantity=1, unit_price_minor=1000)],
    )  # fmt: skip
    return capture(order_id).model_copy(update={"invoice": draft})


async def test_a_capture_issues_its_invoice_and_a_refund_a_credit_note_once_each() -> None:
    store, documents = MemoryPaymentStore(), MemoryDocumentStore()
    gateway = FakeGateway(store)

    async def batch(*commands: Any) -> list[Message]:
        return await run_documented(store, documents, gateway, *commands)

    await batch(authorize("o1"), authorize("o2"), invoiced_capture("o1"), capture("o2"))
    await batch(invoiced_capture("o1"))  # resent: answered again, invoiced once
    refund = RefundPayment(
        order_id="o1", amount_minor=1000, currency="EUR", idempotency_key="idem:o1:refund"
    )
    await batch(refund, refund)
    issued = sorted(documents.documents.values(), key=lambda d: str(d.number))
    assert [(d.number, d.order_id, d.total_minor, d.corrects) for d in issued] == [
        ("CN-2026-000001", "o1", 1000, "INV-2026-000001"),
        ("INV-2026-000001", "o1", 1000, None),  # o2's capture had no invoice draft
    ]
    assert issued[1].taxes[0].tax_minor == 160  # 10.00 gross at 19%


async def test_a_returns_refunds_move_money_in_parts_echo_the_return_and_credit_its_lines() -> None:
    store, documents = MemoryPaymentStore(), MemoryDocumentStore()
    gateway = FakeGateway(store)

    async def batch(*commands: Any) -> list[Message]:
        return await run_documented(store, documents, gateway, *commands)

    def returned(n: int, amount: int) -> RefundPayment:
        line = InvoiceLine(sku="TEE-BLK-M", quantity=1, unit_price_minor=amount)
        return RefundPayment(
            order_id="o1", amount_minor=amount, currency="EUR",
            idempotency_key=f"o1:return:{n}:refund", return_id=f"R-{n:016x}", lines=[line],
        )  # fmt: skip

    await batch(authorize("o1"), invoiced_capture("o1"))
    first = await batch(returned(1, 300))
    second = await batch(returned(2, 500), returned(2, 500))  # the resend: answered again
    assert [(r.TYPE, getattr(r, "return_id", None), getattr(r, "amount_minor", None))
            for r in first + second] == [
        ("PaymentRefunded", "R-0000000000000001", 300),
        ("PaymentRefunded", "R-0000000000000002", 800),
        ("PaymentRefunded", "R-0000000000000002", 800),
    ]  # fmt: skip
    assert store.payments["o1"].refunded_minor == 800
    assert [c for c, _ in gateway.calls].count(Call.REFUND) == 2
    notes = sorted(
        (d for d in documents.documents.values() if d.corrects), key=lambda d: str(d.number)
    )
    assert [(d.lines[0].sku, d.total_minor) for d in notes] == [
        ("TEE-BLK-M", 300),
        ("TEE-BLK-M", 500),
    ]
    # More than is left of the capture refunds the rest, never more.
    assert [r.amount_minor for r in await batch(returned(3, 900))] == [1000]  # type: ignore[attr-defined]
    assert store.payments["o1"].refunded_minor == 1000


def test_an_orders_own_refund_fingerprints_as_before_returns_existed() -> None:
    refund = RefundPayment(
        order_id="o1", amount_minor=1000, currency="EUR", idempotency_key="o1:refund"
    )
    # As the payment service computed it before RefundPayment had return fields.
    before = {"type": "RefundPayment", "order_id": "o1", "amount_minor": 1000,
              "currency": "EUR", "idempotency_key": "o1:refund"}  # fmt: skip
    canonical = json.dumps(before, sort_keys=True, separators=(",", ":"))
    assert keyed(refund).fingerprint == hashlib.sha256(canonical.encode()).hexdigest()
    returned = refund.model_copy(update={"return_id": "R-0000000000000001"})
    assert keyed(returned).fingerprint != keyed(refund).fingerprint
