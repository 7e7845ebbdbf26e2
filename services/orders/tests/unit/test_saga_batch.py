"""The coordinator's batch use case on the in-memory store: transitions folded in
message order, versions moved once per transition, the store written once."""

from __future__ import annotations

from typing import Any

import pytest

from orderflow_contracts.checkout import OrderCancellationRequested, OrderPlaced
from orderflow_contracts.common import Address, Money, PricedLineV4
from orderflow_messaging.clock import FixedClock
from orderflow_messaging.consumer import Batch
from orderflow_messaging.errors import PermanentFailure
from orderflow_messaging.outbox import BatchOutbox
from orderflow_testing.batches import incoming
from orders.adapters.repository import ConcurrencyConflict
from orders.adapters.saga_store import MemorySagaStore
from orders.application.saga_batch import handle_saga_messages
from orders.saga.state import SagaStatus, Step

from .saga_builders import OID, POLICY, REPLIES, T0


def placed(order_id: str = OID) -> OrderPlaced:
    return OrderPlaced(
        order_id=order_id,
        customer_id="c1",
        lines=[
            PricedLineV4(
                sku="TEE-BLK-M",
                quantity=2,
                unit_price=Money(amount_minor=1990, currency="EUR"),
                price_source="base",
            )
        ],
        total=Money(amount_minor=3980, currency="EUR"),
        shipping_address=Address(name="A", line1="1 St", city="X", postcode="10115", country="DE"),
        payment_token="tok_ok",
        placed_at=T0,
    )


class CountingStore(MemorySagaStore):
    saves: int = 0

    async def save(self, book: Any) -> None:
        self.saves += 1
        await super().save(book)


async def run(store: MemorySagaStore, *messages: Any) -> list[tuple[str, str]]:
    clock = FixedClock(T0)
    outbox = BatchOutbox(producer="orders", clock=clock)
    items = [incoming(m, n=n) for n, m in enumerate(messages)]
    await handle_saga_messages(store, Batch(None, outbox, clock), items, POLICY)  # type: ignore[arg-type]
    return [(r.message_type or "", r.correlation_id or "") for r in outbox.records()]


async def test_start_and_replies_of_one_order_fold_in_order_within_a_batch() -> None:
    store = CountingStore()
    sent = await run(
        store,
        placed(),
        placed("order-2"),
        placed(),  # a second OrderPlaced: ignored, nothing sent
        REPLIES["StockReserved"],
        REPLIES["PaymentAuthorized"],
    )
    assert sent == [
        ("ReserveStock", OID), ("ReserveStock", "order-2"),
        ("AuthorizePayment", OID), ("CreateShipment", OID), ("OrderConfirmed", OID),
    ]  # fmt: skip
    assert store.saves == 1
    saga = store.sagas[OID]
    assert (saga.status, saga.step, saga.version) == (SagaStatus.RUNNING, Step.CREATE_SHIPMENT, 3)
    assert [h.kind for h in store.history if h.order_id == OID] == ["started", "reply", "reply"]
    assert store.sagas["order-2"].version == 1


async def test_versions_move_once_per_transition_across_batches() -> None:
    store = MemorySagaStore()
    await run(store, placed())
    await run(store, REPLIES["StockReserved"], REPLIES["PaymentDeclined"])
    saga = store.sagas[OID]
    assert saga.version == 3
    assert (saga.status, saga.step) == (SagaStatus.COMPENSATING, Step.RELEASE_STOCK)


async def test_a_reply_for_an_unknown_order_fails_the_batch_before_any_write() -> None:
    store = CountingStore()
    with pytest.raises(PermanentFailure, match="unknown order"):
        await run(store, placed("order-2"), REPLIES["StockReserved"])
    assert store.saves == 0
    assert store.sagas == {}


async def test_a_saga_changed_elsewhere_meanwhile_is_a_conflict() -> None:
    store = MemorySagaStore()
    await run(store, placed())
    book = await store.load_for_update([OID])
    store.sagas[OID] = store.sagas[OID].evolve(version=5)  # another writer moved it on
    book.changed.add(OID)
    with pytest.raises(ConcurrencyConflict):
        await store.save(book)


async def test_an_upstream_cancellation_is_folded_in_order_and_answered_to_the_upstream() -> None:
    store = CountingStore()
    clock = FixedClock(T0)
    outbox = BatchOutbox(producer="orders", clock=clock)
    asked = OrderCancellationRequested(order_id=OID, reference="PS-7", reason="changed mind")
    messages = (placed(), REPLIES["StockReserved"], asked, asked)  # the last one: resent
    items = [incoming(m, n=n) for n, m in enumerate(messages)]
    await handle_saga_messages(store, Batch(None, outbox, clock), items, POLICY)  # type: ignore[arg-type]
    sent = [(r.topic, r.message_type, r.key) for r in outbox.records()]
    assert sent == [
        ("inventory.commands", "ReserveStock", OID.encode()),
        ("payment.commands", "AuthorizePayment", OID.encode()),
        # the cancellation undoes the authorization in flight, then answers the upstream
        ("payment.commands", "VoidPayment", OID.encode()),
        ("orders.inbound.replies", "OrderCancellationAccepted", b"PS-7"),
        ("orders.inbound.replies", "OrderCancellationAccepted", b"PS-7"),
    ]
    saga = store.sagas[OID]
    assert (saga.status, saga.version) == (SagaStatus.COMPENSATING, 3)  # the resend: no change
    assert [h.kind for h in store.history] == ["started", "reply", "cancel", "cancel"]


class RecordingStore(MemorySagaStore):
    asked: list[tuple[list[str], set[str]]]

    async def load_for_update(self, order_ids: Any, starting: Any = ()) -> Any:
        self.asked = [*getattr(self, "asked", []), (list(order_ids), set(starting))]
        return await super().load_for_update(order_ids, starting)


async def test_the_store_is_told_which_sagas_start_in_the_batch() -> None:
    """An id whose first message here is an OrderPlaced may be presumed new by a store
    whose save checks it; one whose first message is a reply may not."""
    store = RecordingStore()
    await run(store, placed())
    await run(store, REPLIES["StockReserved"], placed("order-2"), placed(), placed("order-3"))
    assert store.asked == [
        ([OID], {OID}),
        ([OID, "order-2", "order-3"], {"order-2", "order-3"}),
    ]


async def test_a_saga_read_and_left_unchanged_must_still_be_at_the_version_read() -> None:
    """A reply the stale state ignores would be lost for the real one: the save refuses."""
    store = MemorySagaStore()
    await run(store, placed())
    book = await store.load_for_update([OID])
    store.sagas[OID] = store.sagas[OID].evolve(version=5)  # a timer moved it on meanwhile
    with pytest.raises(ConcurrencyConflict):
        await store.save(book)
