"""The timers' use cases on the in-memory store: one claim and one save per tick, each
claimed shipment decided in claim order by the domain, its events queued in that order:
each step on shipping.tracking, dispatched and delivered also on shipping.events."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from orderflow_messaging import tracing
from orderflow_messaging.clock import FixedClock, SequentialIds
from orderflow_messaging.envelope import header_value
from orderflow_messaging.outbox import BatchOutbox
from shipping.adapters.batch_store import MemoryShipmentStore
from shipping.application import handlers
from shipping.application.batch import ShipmentBook
from shipping.application.handlers import Tick
from shipping.domain.carrier import SimulatedCarrier
from shipping.domain.model import Address, Shipment, ShipmentStatus, Timings, open_shipment

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
TIMINGS = Timings(
    slow_delay=timedelta(seconds=10),
    dispatch_after=timedelta(seconds=3),
    deliver_after=timedelta(seconds=3),
)
CARRIER = SimulatedCarrier()
Event = tuple[str, dict[str, Any]]


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def opened(order_id: str, when: float, postcode: str = "10115", n: int = 1) -> Shipment:
    address = Address("Ada Lovelace", "1 Analytical Way", "London", postcode, "GB")
    return open_shipment(order_id, address, [], CARRIER, UUID(int=n), at(when), TIMINGS)


class CountingStore(MemoryShipmentStore):
    claims: int = 0
    saves: int = 0

    async def claim_ready(self, now: datetime, limit: int) -> list[Shipment]:
        self.claims += 1
        return await super().claim_ready(now, limit)

    async def claim_due(self, now: datetime, limit: int) -> list[Shipment]:
        self.claims += 1
        return await super().claim_due(now, limit)

    async def save(self, book: ShipmentBook) -> None:
        self.saves += 1
        await super().save(book)


class Timers:
    """A store with shipments, a clock the test moves, and booking ids from 100 on."""

    def __init__(self, *shipments: Shipment) -> None:
        self.store = CountingStore({s.order_id: s for s in shipments})
        self.clock = FixedClock(NOW)
        self.ids = SequentialIds()
        for _ in range(99):
            self.ids()
        self.tracked: list[tuple[str, str]] = []  # (order id, step) on shipping.tracking

    def at(self, seconds: float) -> None:
        self.clock.now = at(seconds)

    async def _tick(self, use_case: handlers.TickUseCase) -> tuple[int, list[Event]]:
        outbox = BatchOutbox(producer="shipping", clock=self.clock)
        moved = await use_case(Tick(self.store, outbox, self.clock(), self.ids))
        events = []
        for record in outbox.records():
            assert record.value is not None
            payload = json.loads(record.value)["payload"]
            assert record.key == payload["order_id"].encode()
            if record.topic == "shipping.tracking":
                self.tracked.append((payload["order_id"], payload["status"]))
                continue
            assert record.topic == "shipping.events"
            events.append((str(record.message_type), payload))
        return moved, events

    async def advance(self, limit: int = handlers.TICK_LIMIT) -> tuple[int, list[Event]]:
        return await self._tick(lambda t: handlers.advance_shipments(t, TIMINGS, CARRIER, limit))

    async def ready(self, limit: int = handlers.TICK_LIMIT) -> tuple[int, list[Event]]:
        return await self._tick(
            lambda t: handlers.create_ready_shipments(t, CARRIER, TIMINGS, limit)
        )

    def steps(self) -> list[tuple[str, str]]:
        """The tracking steps queued since the last call."""
        steps, self.tracked = self.tracked, []
        return steps

    def shipment(self, order_id: str) -> Shipment:
        return self.store.shipments[order_id]


def kinds(events: list[Event]) -> list[tuple[str, str]]:
    return [(kind, payload["order_id"]) for kind, payload in events]


async def test_a_tick_moves_every_due_shipment_one_step_in_claim_order() -> None:
    timers = Timers(
        opened("c", 0, n=1), opened("a", 1, n=2), opened("b", 0.5, n=3), opened("late", 2.5, n=4)
    )
    timers.at(4)
    moved, events = await timers.advance()
    assert moved == 3
    assert events == [
        ("ShipmentDispatched", {"order_id": "c", "shipment_id": str(UUID(int=1))}),
        ("ShipmentDispatched", {"order_id": "b", "shipment_id": str(UUID(int=3))}),
        ("ShipmentDispatched", {"order_id": "a", "shipment_id": str(UUID(int=2))}),
    ]
    assert (timers.store.claims, timers.store.saves) == (1, 1)
    for order_id in ("a", "b", "c"):
        assert timers.shipment(order_id).status is ShipmentStatus.DISPATCHED
        assert timers.shipment(order_id).dispatched_at == at(4)
    assert timers.shipment("late").status is ShipmentStatus.CREATED
    assert timers.steps() == [("c", "in_transit"), ("b", "in_transit"), ("a", "in_transit")]
    timers.at(7)  # a, b, c out for delivery (due at 5.5), late dispatched (due at 5.5)
    moved, events = await timers.advance()
    assert moved == 4
    assert kinds(events) == [("ShipmentDispatched", "late")]
    assert timers.steps() == [
        ("a", "out_for_delivery"), ("b", "out_for_delivery"), ("c", "out_for_delivery"),
        ("late", "in_transit"),
    ]  # fmt: skip
    timers.at(8.5)
    moved, events = await timers.advance()
    assert kinds(events) == [("ShipmentDelivered", o) for o in ("a", "b", "c")]
    assert timers.steps() == [
        ("a", "delivered"), ("b", "delivered"), ("c", "delivered"), ("late", "out_for_delivery")
    ]  # fmt: skip
    assert (timers.store.claims, timers.store.saves) == (3, 3)
    assert timers.shipment("a").delivered_at == at(8.5)


async def test_a_shipment_takes_one_step_per_tick_even_when_several_are_due() -> None:
    timers = Timers(opened("o1", 0))
    timers.at(100)
    assert kinds((await timers.advance())[1]) == [("ShipmentDispatched", "o1")]
    assert await timers.advance() == (0, [])  # dispatched at 100: not due yet
    timers.at(103)
    assert await timers.advance() == (1, [])  # out for delivery: a tracking step only
    assert kinds((await timers.advance())[1]) == []  # out at 103: not due yet
    timers.at(104.5)
    assert kinds((await timers.advance())[1]) == [("ShipmentDelivered", "o1")]
    assert await timers.advance() == (0, [])
    assert timers.shipment("o1").status is ShipmentStatus.DELIVERED
    assert [step for _, step in timers.steps()] == [
        "in_transit", "out_for_delivery", "delivered"
    ]  # fmt: skip


async def test_an_undeliverable_parcel_is_tracked_back_to_its_sender() -> None:
    timers = Timers(opened("o1", 0, "98765"))
    for moment in (3, 4.5, 6, 7.5, 100):
        timers.at(moment)
        _, events = await timers.advance()
        assert kinds(events) == ([("ShipmentDispatched", "o1")] if moment == 3 else [])
    assert timers.steps() == [
        ("o1", "in_transit"), ("o1", "out_for_delivery"), ("o1", "delivery_exception"),
        ("o1", "returned_to_sender"),
    ]  # fmt: skip
    assert timers.shipment("o1").status is ShipmentStatus.RETURNED


async def test_nothing_due_moves_nothing_and_sends_nothing() -> None:
    stopped = opened("gone", 0, n=2).cancel("customer", at(1)).shipment
    shipments = (opened("o1", 0), opened("slow", 0, "99501"), opened("bad", 0, "00100"), stopped)
    timers = Timers(*shipments)
    timers.at(2.9)
    assert await timers.advance() == (0, [])
    assert await timers.ready() == (0, [])
    timers.at(1000)
    assert kinds((await timers.advance())[1]) == [("ShipmentDispatched", "o1")]
    assert [timers.shipment(s.order_id) for s in shipments[1:]] == list(shipments[1:])
    assert timers.steps() == [("o1", "in_transit")]


async def test_a_slow_carriers_accepted_shipments_are_booked_in_ready_order() -> None:
    timers = Timers(opened("s2", 2, "99501"), opened("s1", 1, "99501"), opened("s9", 9, "99501"))
    timers.at(12)
    moved, events = await timers.ready()
    assert moved == 2
    assert events == [
        ("ShipmentCreated", {
            "order_id": "s1", "shipment_id": str(UUID(int=100)), "carrier": "SimPost",
            "tracking_number": "SP000000000064",
        }),
        ("ShipmentCreated", {
            "order_id": "s2", "shipment_id": str(UUID(int=101)), "carrier": "SimPost",
            "tracking_number": "SP000000000065",
        }),
    ]  # fmt: skip
    booked = timers.shipment("s1")
    assert (booked.status, booked.created_at, booked.updated_at) == (
        ShipmentStatus.CREATED, at(12), at(12),
    )  # fmt: skip
    assert booked.booking == CARRIER.book(UUID(int=100))
    assert timers.shipment("s9").status is ShipmentStatus.REQUESTED
    assert (timers.store.claims, timers.store.saves) == (1, 1)
    assert timers.steps() == [("s1", "booked"), ("s2", "booked")]
    # Dispatch counts from the carrier's acceptance.
    timers.at(14.9)
    assert await timers.advance() == (0, [])
    timers.at(15)
    assert kinds((await timers.advance())[1]) == [
        ("ShipmentDispatched", "s1"), ("ShipmentDispatched", "s2"),
    ]  # fmt: skip


async def test_a_slow_shipment_is_booked_later_with_its_methods_carrier() -> None:
    address = Address("Ada Lovelace", "1 Analytical Way", "London", "99501", "GB")
    express = CARRIER.named("SimExpress")
    slow = open_shipment("s1", address, [], express, UUID(int=1), at(0), TIMINGS, "express")
    timers = Timers(slow)
    timers.at(10)
    _, [(kind, payload)] = await timers.ready()
    assert (kind, payload["carrier"], payload["tracking_number"][:2]) == (
        "ShipmentCreated", "SimExpress", "SE"
    )  # fmt: skip
    assert timers.shipment("s1").method_id == "express"


async def test_a_tick_takes_at_most_its_limit_and_the_next_one_the_rest() -> None:
    timers = Timers(*(opened(f"o{n:03d}", n / 100, n=n + 1) for n in range(250)))
    slow = Timers(*(replace(opened(f"s{n}", 0, "99501"), ready_at=at(n)) for n in range(5)))
    timers.at(10)
    slow.at(10)
    first = await timers.advance(limit=100)
    assert first[0] == 100
    assert [o for _, o in kinds(first[1])] == [f"o{n:03d}" for n in range(100)]
    assert (await timers.advance(limit=100))[0] == 100
    assert (await timers.advance(limit=100))[0] == 50
    assert (await timers.advance(limit=100))[0] == 0
    assert [o for _, o in kinds((await slow.ready(limit=3))[1])] == ["s0", "s1", "s2"]
    assert [o for _, o in kinds((await slow.ready(limit=3))[1])] == ["s3", "s4"]
    assert handlers.TICK_LIMIT >= 500


async def test_the_timers_events_continue_the_trace_the_shipment_kept() -> None:
    kept = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    timers = Timers(replace(opened("traced", 0, n=1), traceparent=kept), opened("plain", 0, n=2))
    timers.at(4)
    outbox = BatchOutbox(producer="shipping", clock=timers.clock)
    tracing.enable()
    try:
        await handlers.advance_shipments(
            Tick(timers.store, outbox, timers.clock(), timers.ids), TIMINGS, CARRIER
        )
    finally:
        tracing.enable(False)
    sent = {
        (r.topic, json.loads(r.value or b"")["payload"]["order_id"]): header_value(
            r.headers, "traceparent"
        )
        for r in outbox.records()
    }
    assert sent == {
        ("shipping.events", "traced"): kept.encode(), ("shipping.events", "plain"): None,
        ("shipping.tracking", "traced"): kept.encode(), ("shipping.tracking", "plain"): None,
    }  # fmt: skip
    # The row keeps it for the next step (delivered).
    assert timers.shipment("traced").traceparent == kept
