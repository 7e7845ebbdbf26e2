"""The shipping batch use case on the in-memory store: decisions in message order, each
reply queued in order (caused by its command), the store loaded and written once."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from orderflow_contracts.common import Address, StockLine
from orderflow_contracts.shipping import CancelShipment, CreateShipment
from orderflow_messaging.clock import FixedClock, SequentialIds
from orderflow_messaging.consumer import Batch
from orderflow_messaging.outbox import BatchOutbox
from orderflow_testing.batches import incoming
from shipping.adapters.batch_store import ConcurrentShipment, MemoryShipmentStore
from shipping.application.batch import Command, ShipmentBook, Shipper, handle_commands
from shipping.domain.carrier import SimulatedCarrier
from shipping.domain.model import Shipment, ShipmentStatus, Timings

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
TIMINGS = Timings(
    slow_delay=timedelta(seconds=10),
    dispatch_after=timedelta(seconds=3),
    deliver_after=timedelta(seconds=3),
)
ACCEPTED, REJECTED, SLOW = "10115", "00100", "99501"
Reply = tuple[str, dict[str, Any]]


class CountingStore(MemoryShipmentStore):
    loads: int = 0
    saves: int = 0

    async def load_for_update(self, order_ids: Sequence[str]) -> ShipmentBook:
        self.loads += 1
        return await super().load_for_update(order_ids)

    async def save(self, book: ShipmentBook) -> None:
        self.saves += 1
        await super().save(book)


def create(order_id: str, postcode: str = ACCEPTED) -> CreateShipment:
    return CreateShipment(
        order_id=order_id,
        address=Address(
            name="Ada Lovelace", line1="1 Analytical Way", city="London",
            postcode=postcode, country="GB",
        ),
        lines=[StockLine(sku="A", quantity=2)],
    )  # fmt: skip


def cancel(order_id: str, reason: str = "customer cancelled") -> CancelShipment:
    return CancelShipment(order_id=order_id, reason=reason)


class Desk:
    """A store, fixed time and sequential shipment ids; ``run`` is one consumer batch."""

    def __init__(self) -> None:
        self.store = CountingStore()
        self.clock = FixedClock(NOW)
        self.shipper = Shipper(SimulatedCarrier(), TIMINGS, SequentialIds())
        self.tracked: list[dict[str, Any]] = []  # the TrackingUpdated payloads so far

    async def run(self, *commands: Command) -> list[Reply]:
        """The batch's replies, as (type, payload), each checked to be caused by its
        command; its tracking steps go to ``tracked``."""
        outbox = BatchOutbox(producer="shipping", clock=self.clock)
        batch = Batch(None, outbox, self.clock)  # type: ignore[arg-type]
        items = [incoming(c, n=n) for n, c in enumerate(commands)]
        await handle_commands(self.store, batch, items, self.shipper)
        replies = []
        causes = {item.envelope.message_id: item.message.order_id for item in items}
        for record in outbox.records():
            assert record.value is not None
            envelope = json.loads(record.value)
            assert causes[UUID(envelope["causation_id"])] == envelope["payload"]["order_id"]
            if record.topic == "shipping.tracking":
                assert record.message_type == "TrackingUpdated"
                self.tracked.append(envelope["payload"])
                continue
            assert record.topic == "shipping.events"
            replies.append((str(record.message_type), envelope["payload"]))
        return replies

    def shipment(self, order_id: str) -> Shipment:
        return self.store.shipments[order_id]


def kinds(replies: list[Reply]) -> list[str]:
    return [kind for kind, _ in replies]


async def test_create_books_at_once_and_answers_with_the_booking() -> None:
    desk = Desk()
    assert await desk.run(create("o1")) == [
        ("ShipmentCreated", {
            "order_id": "o1", "shipment_id": str(UUID(int=1)), "carrier": "SimPost",
            "tracking_number": "SP000000000001",
        }),
    ]  # fmt: skip
    shipment = desk.shipment("o1")
    assert shipment.status is ShipmentStatus.CREATED
    assert (shipment.requested_at, shipment.created_at) == (NOW, NOW)
    assert shipment.address is not None
    assert shipment.address.postcode == ACCEPTED
    assert (desk.store.loads, desk.store.saves) == (1, 1)
    eta = (NOW + timedelta(seconds=6)).isoformat().replace("+00:00", "Z")
    assert desk.tracked == [{
        "order_id": "o1", "shipment_id": str(UUID(int=1)), "carrier": "SimPost",
        "tracking_number": "SP000000000001", "sequence": 1, "status": "booked",
        "at": NOW.isoformat().replace("+00:00", "Z"), "eta": eta, "detail": None,
    }]  # fmt: skip


async def test_a_delivery_method_books_with_its_own_carrier() -> None:
    desk = Desk()
    express = create("o1").model_copy(update={"method_id": "express", "carrier": "SimExpress"})
    (kind, reply), _ = await desk.run(express, create("o2"))
    assert (kind, reply["carrier"], reply["tracking_number"]) == (
        "ShipmentCreated", "SimExpress", "SE000000000001"
    )  # fmt: skip
    shipment = desk.shipment("o1")
    assert (shipment.method_id, shipment.carrier) == ("express", "SimExpress")
    default = desk.shipment("o2")  # no method chosen: the default carrier
    assert (default.method_id, default.carrier) == (None, "SimPost")
    assert default.booking is not None
    assert default.booking.carrier == "SimPost"


async def test_a_resend_is_answered_again_without_a_second_shipment() -> None:
    desk = Desk()
    first = await desk.run(create("o1"), create("o1"))  # resent within the batch
    again = await desk.run(create("o1"))  # and in a later one
    assert kinds(first + again) == ["ShipmentCreated"] * 3
    assert first[0] == first[1] == again[0]
    assert list(desk.store.shipments) == ["o1"]
    assert desk.shipper.new_id() == UUID(int=2)  # one shipment id was ever taken
    assert [step["status"] for step in desk.tracked] == ["booked"]  # booked once


@pytest.mark.parametrize(
    ("postcode", "replies"),
    [(REJECTED, ["ShipmentFailed", "ShipmentFailed"]), (SLOW, [])],
)
async def test_rejected_and_slow_are_answered_by_their_state_on_resend(
    postcode: str, replies: list[str]
) -> None:
    desk = Desk()
    assert kinds(await desk.run(create("o1", postcode), create("o1", postcode))) == replies
    status = desk.shipment("o1").status
    assert status is (ShipmentStatus.FAILED if postcode == REJECTED else ShipmentStatus.REQUESTED)


async def test_cancel_before_create_leaves_a_tombstone_that_refuses_the_create() -> None:
    desk = Desk()
    replies = await desk.run(cancel("o9", "payment declined"), create("o9"), cancel("o9"))
    assert replies == [
        ("ShipmentCancelled", {"order_id": "o9"}),
        ("ShipmentFailed", {"order_id": "o9", "reason": "cancelled"}),
        ("ShipmentCancelled", {"order_id": "o9"}),
    ]
    stone = desk.shipment("o9")
    assert (stone.status, stone.reason, stone.address, stone.booking) == (
        ShipmentStatus.CANCELLED, "payment declined", None, None,
    )  # fmt: skip
    assert kinds(await desk.run(create("o9"))) == ["ShipmentFailed"]  # also in a later batch
    assert desk.shipper.new_id() == UUID(int=1)  # nothing was ever booked


async def test_cancel_after_create_cancels_and_a_late_resend_fails() -> None:
    desk = Desk()
    same_batch = await desk.run(create("o1"), cancel("o1"), create("o1"))
    await desk.run(create("o2", SLOW))
    later = await desk.run(cancel("o2"), create("o2", SLOW))
    assert kinds(same_batch) == ["ShipmentCreated", "ShipmentCancelled", "ShipmentFailed"]
    assert kinds(later) == ["ShipmentCancelled", "ShipmentFailed"]
    for order_id in ("o1", "o2"):
        assert desk.shipment(order_id).status is ShipmentStatus.CANCELLED
        assert desk.shipment(order_id).reason == "customer cancelled"
    assert desk.shipment("o1").booking is not None  # booked, then cancelled: kept as it was
    # o1's tracking: booked, then cancelled (o2 was never booked: no steps).
    assert [(s["order_id"], s["sequence"], s["status"]) for s in desk.tracked] == [
        ("o1", 1, "booked"), ("o1", 2, "cancelled"),
    ]  # fmt: skip


async def test_cancel_after_dispatch_is_refused_and_writes_nothing() -> None:
    desk = Desk()
    await desk.run(create("o1"))
    dispatched = desk.shipment("o1").next_step(
        NOW + timedelta(seconds=3), TIMINGS, desk.shipper.carrier
    )
    assert dispatched is not None
    desk.store.shipments["o1"] = dispatched
    book = await desk.store.load_for_update(["o1"])
    assert book.apply(cancel("o1"), NOW, desk.shipper) is not None
    assert (book.created, book.changed) == (set(), set())
    assert await desk.run(cancel("o1")) == [
        ("ShipmentCancellationFailed", {"order_id": "o1", "reason": "already dispatched"})
    ]
    assert desk.shipment("o1") == dispatched


async def test_a_batch_of_many_orders_is_loaded_and_saved_once() -> None:
    desk = Desk()
    orders = [f"o{i}" for i in range(20)]
    replies = await desk.run(*(create(o) for o in orders), *(cancel(o) for o in orders[::2]))
    assert kinds(replies) == ["ShipmentCreated"] * 20 + ["ShipmentCancelled"] * 10
    assert (desk.store.loads, desk.store.saves) == (1, 1)
    cancelled = {o for o, s in desk.store.shipments.items() if s.status is ShipmentStatus.CANCELLED}
    assert cancelled == set(orders[::2])


async def test_a_shipment_created_meanwhile_fails_the_save_and_writes_none_of_it() -> None:
    desk = Desk()
    racing = await desk.store.load_for_update(["o1", "o2"])  # another batch, loaded first
    await desk.run(create("o1"))
    racing.apply(create("o2"), NOW, desk.shipper)
    racing.apply(create("o1"), NOW, desk.shipper)
    with pytest.raises(ConcurrentShipment):
        await desk.store.save(racing)
    assert list(desk.store.shipments) == ["o1"]
    assert desk.shipment("o1").booking == desk.shipper.carrier.book(UUID(int=1))
