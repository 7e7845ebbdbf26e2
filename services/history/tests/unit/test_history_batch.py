"""The history batch use case on the in-memory store: a batch's facts folded in message
order onto the stored rows, each order's row loaded once and written once, and the same
rows as one fact at a time."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from history.adapters.batch_store import MemoryHistoryStore
from history.application.batch import facts_of, record_facts
from history.domain.projection import (
    Fact,
    Fulfilment,
    Line,
    OrderHistory,
    Placed,
    ShipmentProgressed,
    Status,
    StatusReached,
    apply,
    fold,
)
from orderflow_contracts.orders import OrderCancelled, OrderConfirmed
from orderflow_contracts.shipping import ShipmentCreated, ShipmentDispatched
from orderflow_testing.batches import incoming

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def placed(order_id: str, seconds: float = 0, customer_id: str = "c1") -> Placed:
    return Placed(
        order_id=order_id,
        occurred_at=at(seconds),
        customer_id=customer_id,
        placed_at=at(seconds),
        total_minor=2500,
        currency="EUR",
        lines=(Line("TEE", 2, 1250, "EUR"),),
    )


def reached(order_id: str, status: Status, seconds: float, reason: str | None = None) -> Fact:
    return StatusReached(order_id, at(seconds), status, reason)


def shipped(order_id: str, fulfilment: Fulfilment, seconds: float) -> Fact:
    return ShipmentProgressed(order_id, at(seconds), fulfilment)


class CountingStore(MemoryHistoryStore):
    loads: int = 0
    saves: int = 0

    async def load_for_update(self, order_ids: Sequence[str]) -> dict[str, OrderHistory]:
        self.loads += 1
        return await super().load_for_update(order_ids)

    async def save(self, rows: Sequence[OrderHistory], loaded: Collection[str]) -> set[str]:
        self.saves += 1
        return await super().save(rows, loaded)


# Four orders interleaved; each order's facts out of order; a resent OrderConfirmed (a new
# message, so it counts); o4 has a row from an earlier batch.
BATCH: list[Fact] = [
    reached("o1", Status.COMPLETED, 2),
    reached("o2", Status.CANCELLED, 5, "by customer"),
    placed("o1"),
    reached("o4", Status.COMPLETED, 9),
    shipped("o2", Fulfilment.DELIVERED, 4),
    reached("o1", Status.CONFIRMED, 1),
    placed("o3", customer_id="c3"),
    reached("o1", Status.CONFIRMED, 1),
    placed("o2", customer_id="c2"),
    shipped("o1", Fulfilment.DISPATCHED, 3),
    reached("o4", Status.CONFIRMED, 8),  # stale: o4 is completed by now
]
EARLIER: list[Fact] = [placed("o4", customer_id="c4"), reached("o4", Status.CONFIRMED, 1)]


async def test_a_batch_is_folded_onto_the_stored_rows_and_saved_once() -> None:
    store = CountingStore(rows=fold(EARLIER))
    written = await record_facts(store, BATCH)
    assert (store.loads, store.saves) == (1, 1)
    assert written == store.rows
    o1, o2, o3, o4 = (store.rows[o] for o in ("o1", "o2", "o3", "o4"))
    assert (o1.status, o1.status_at, o1.fulfilment) == (
        Status.COMPLETED,
        at(2),
        Fulfilment.DISPATCHED,
    )
    assert (o1.customer_id, o1.events_applied, o1.updated_at) == ("c1", 5, at(3))
    assert (o2.status, o2.reason, o2.status_at, o2.fulfilment) == (
        Status.CANCELLED,
        "by customer",
        at(5),
        Fulfilment.DELIVERED,
    )
    assert (o2.customer_id, o2.events_applied, o2.updated_at) == ("c2", 3, at(5))
    assert (o3.status, o3.customer_id, o3.events_applied) == (Status.PLACED, "c3", 1)
    # Folded onto the earlier row, not from nothing.
    assert (o4.status, o4.status_at, o4.customer_id) == (Status.COMPLETED, at(9), "c4")
    assert (o4.events_applied, o4.updated_at) == (4, at(9))


async def test_a_batch_gives_the_rows_of_one_fact_at_a_time_in_any_order() -> None:
    batched = MemoryHistoryStore(rows=fold(EARLIER))
    await record_facts(batched, BATCH)
    one_by_one = MemoryHistoryStore(rows=fold(EARLIER))
    for fact in BATCH:
        await record_facts(one_by_one, [fact])
    assert batched.rows == one_by_one.rows
    # What a replay computes: apply, one fact at a time, from nothing.
    replayed: dict[str, OrderHistory] = {}
    for fact in [*EARLIER, *BATCH]:
        replayed[fact.order_id] = apply(replayed.get(fact.order_id), fact)
    assert batched.rows == replayed
    backwards = MemoryHistoryStore(rows=fold(EARLIER))
    await record_facts(backwards, BATCH[::-1])
    assert backwards.rows == batched.rows


class RacingStore(CountingStore):
    """Another replica creates some of the batch's orders between our load and save."""

    rival: Sequence[Fact] = ()

    async def save(self, rows: Sequence[OrderHistory], loaded: Collection[str]) -> set[str]:
        if self.rival:
            self.rows.update(fold(self.rival))
            self.rival = ()
        return await super().save(rows, loaded)


async def test_an_order_created_meanwhile_gets_the_batch_folded_onto_its_row() -> None:
    rival = [shipped("o1", Fulfilment.DISPATCHED, 3), placed("o3", customer_id="c3")]
    ours = [placed("o1"), placed("o2", customer_id="c2"), reached("o1", Status.COMPLETED, 2)]
    store = RacingStore()
    store.rival = rival
    written = await record_facts(store, ours)
    assert (store.loads, store.saves) == (2, 2)  # the taken order reloaded and saved again
    assert store.rows == fold([*rival, *ours])
    assert written == {o: store.rows[o] for o in ("o1", "o2")}
    o1 = store.rows["o1"]
    assert (o1.status, o1.fulfilment, o1.events_applied) == (
        Status.COMPLETED,
        Fulfilment.DISPATCHED,
        3,
    )


async def test_no_facts_touch_no_rows() -> None:
    store = CountingStore()
    assert await record_facts(store, []) == {}
    assert (store.loads, store.saves) == (0, 0)


def test_facts_of_keeps_message_order_and_the_envelope_time_and_skips_the_rest() -> None:
    items = [
        incoming(OrderCancelled(order_id="o2", reason="r"), n=0),
        incoming(ShipmentCreated(order_id="o1", shipment_id="s", carrier="c", tracking_number="t")),
        incoming(ShipmentDispatched(order_id="o1", shipment_id="s"), n=2),
        incoming(OrderConfirmed(order_id="o1"), n=3),
    ]
    items = [
        replace(item, envelope=item.envelope.model_copy(update={"occurred_at": at(n)}))
        for n, item in enumerate(items)
    ]
    assert facts_of(items) == [
        StatusReached("o2", at(0), Status.CANCELLED, "r"),
        ShipmentProgressed("o1", at(2), Fulfilment.DISPATCHED),
        StatusReached("o1", at(3), Status.CONFIRMED),
    ]
