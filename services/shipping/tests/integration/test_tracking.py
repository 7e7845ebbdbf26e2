"""The timers on the real PostgreSQL: a slow carrier's late booking, and shipments moving
through every tracking step (booked, in transit, out for delivery, delivered; or a
delivery exception and back to the sender), each event sent once even with several
replicas."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable
from datetime import timedelta

from orderflow_messaging.db import hot_pool
from orderflow_messaging.outbox import BatchOutbox
from shipping.adapters.batch_store import PgShipmentStore
from shipping.application import handlers
from shipping.application.handlers import Tick, TickUseCase
from shipping.domain.model import ShipmentStatus

from .conftest import NOW, SLOW, TIMINGS, CountingConnection, Shipping


async def _event_counts(shipping: Shipping) -> Counter[tuple[str, str]]:
    rows = await shipping.scalar(
        "SELECT coalesce(json_agg(json_build_array(message_type, correlation_id)), '[]')"
        " FROM outbox"
    )
    return Counter((kind, order_id) for kind, order_id in rows)


def _moment(seconds: float) -> str:
    return (NOW + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


async def test_timer_moves_a_shipment_through_every_tracking_step(shipping: Shipping) -> None:
    await shipping.create("o1")
    shipment_id = (await shipping.replies("o1"))[0][1]["shipment_id"]
    shipping.at(2.9)
    assert await shipping.tick_advance() == 0
    shipping.at(3.0)
    assert await shipping.tick_advance() == 1
    assert await shipping.tick_advance() == 0
    dispatched = await shipping.shipment("o1")
    assert dispatched.status is ShipmentStatus.DISPATCHED
    assert dispatched.dispatched_at == NOW + timedelta(seconds=3)
    shipping.at(4.4)
    assert await shipping.tick_advance() == 0
    shipping.at(4.5)
    assert await shipping.tick_advance() == 1
    assert (await shipping.shipment("o1")).status is ShipmentStatus.OUT_FOR_DELIVERY
    shipping.at(5.9)
    assert await shipping.tick_advance() == 0
    shipping.at(6.0)
    assert await shipping.tick_advance() == 1
    shipping.at(600)
    assert await shipping.tick_advance() == 0
    delivered = await shipping.shipment("o1")
    assert delivered.status is ShipmentStatus.DELIVERED
    assert delivered.delivered_at == NOW + timedelta(seconds=6)
    # Every step, read back from the row as it was written.
    assert [(e.status.value, e.eta) for e in delivered.tracking] == [
        ("booked", NOW + timedelta(seconds=6)),
        ("in_transit", NOW + timedelta(seconds=6)),
        ("out_for_delivery", NOW + timedelta(seconds=6)),
        ("delivered", None),
    ]
    booking = {"order_id": "o1", "shipment_id": shipment_id, "carrier": "SimPost",
               "tracking_number": "SP000000000001", "detail": None}  # fmt: skip
    assert await shipping.tracking("o1") == [
        {**booking, "sequence": 1, "status": "booked", "at": _moment(0), "eta": _moment(6)},
        {**booking, "sequence": 2, "status": "in_transit", "at": _moment(3), "eta": _moment(6)},
        {**booking, "sequence": 3, "status": "out_for_delivery", "at": _moment(4.5),
         "eta": _moment(6)},
        {**booking, "sequence": 4, "status": "delivered", "at": _moment(6), "eta": None},
    ]  # fmt: skip
    assert await shipping.replies("o1") == [
        ("ShipmentCreated", {
            "order_id": "o1", "shipment_id": shipment_id, "carrier": "SimPost",
            "tracking_number": "SP000000000001",
        }),
        ("ShipmentDispatched", {"order_id": "o1", "shipment_id": shipment_id}),
        ("ShipmentDelivered", {"order_id": "o1", "shipment_id": shipment_id}),
    ]  # fmt: skip


async def test_an_undeliverable_parcel_is_tracked_back_to_its_sender(shipping: Shipping) -> None:
    await shipping.create("o1", "98765")
    for moment in (3, 4.5, 6, 7.5, 600):
        shipping.at(moment)
        await shipping.tick_advance()
    returned = await shipping.shipment("o1")
    assert returned.status is ShipmentStatus.RETURNED
    assert returned.reason == "recipient not found at the address"
    assert returned.delivered_at is None
    assert [(s["sequence"], s["status"], s["detail"]) for s in await shipping.tracking("o1")] == [
        (1, "booked", None), (2, "in_transit", None), (3, "out_for_delivery", None),
        (4, "delivery_exception", "recipient not found at the address"),
        (5, "returned_to_sender", None),
    ]  # fmt: skip
    # The saga hears of the dispatch only: it is never told of a delivery.
    assert await shipping.types("o1") == ["ShipmentCreated", "ShipmentDispatched"]


async def test_slow_shipment_is_created_late_unless_cancelled(shipping: Shipping) -> None:
    await shipping.create("slow", SLOW)
    await shipping.create("gone", SLOW)
    shipping.at(4)
    await shipping.cancel("gone")
    shipping.at(9.9)
    assert await shipping.tick_ready() == 0
    assert await shipping.replies("slow") == []
    shipping.at(10.2)
    assert await shipping.tick_ready() == 1
    assert await shipping.tick_ready() == 0
    assert await shipping.types("slow") == ["ShipmentCreated"]
    assert await shipping.types("gone") == ["ShipmentCancelled"]
    assert (await shipping.shipment("gone")).status is ShipmentStatus.CANCELLED
    created = await shipping.shipment("slow")
    assert created.status is ShipmentStatus.CREATED
    assert created.created_at == NOW + timedelta(seconds=10.2)
    # Dispatch counts from the carrier's acceptance, not from the request.
    shipping.at(13.1)
    assert await shipping.tick_advance() == 0
    shipping.at(13.2)
    assert await shipping.tick_advance() == 1
    # A resend now gets the late booking again.
    await shipping.create("slow", SLOW)
    replies = await shipping.replies("slow")
    assert [kind for kind, _ in replies] == [
        "ShipmentCreated", "ShipmentDispatched", "ShipmentCreated",
    ]  # fmt: skip
    assert replies[0][1] == replies[2][1]


async def test_concurrent_ticks_send_each_event_once(shipping: Shipping) -> None:
    orders = [f"o{i}" for i in range(30)]
    for order_id in orders:
        await shipping.create(order_id)
    for moment in (3, 4.5, 6):  # dispatched, out for delivery, delivered
        shipping.at(moment)
        moved = await asyncio.gather(*(shipping.tick_advance() for _ in range(4)))
        assert sum(moved) == len(orders)
    counts = await _event_counts(shipping)
    for order_id in orders:
        assert counts[("ShipmentDispatched", order_id)] == 1
        assert counts[("ShipmentDelivered", order_id)] == 1
        assert counts[("TrackingUpdated", order_id)] == 4
    assert sum(counts.values()) == 7 * len(orders)


async def test_concurrent_slow_carrier_ticks_book_each_shipment_once(shipping: Shipping) -> None:
    orders = [f"o{i}" for i in range(30)]
    for order_id in orders:
        await shipping.create(order_id, SLOW)
    shipping.at(10)
    booked = await asyncio.gather(*(shipping.tick_ready() for _ in range(4)))
    assert sum(booked) == len(orders)
    counts = await _event_counts(shipping)
    assert all(counts[("ShipmentCreated", order_id)] == 1 for order_id in orders)
    assert await shipping.scalar("SELECT count(DISTINCT shipment_id) FROM shipments") == 30


async def test_a_shipment_locked_by_another_replica_is_skipped_not_awaited(
    shipping: Shipping,
) -> None:
    await shipping.create("o1")
    await shipping.create("o2", SLOW)
    shipping.at(10)
    pool = await hot_pool(shipping.engine).pool()
    async with pool.acquire() as conn, conn.transaction():
        outbox = BatchOutbox(producer="shipping", clock=shipping.clock)
        first = Tick(PgShipmentStore(conn), outbox, shipping.clock(), shipping.ids)
        assert await handlers.advance_shipments(first, TIMINGS, shipping.carrier) == 1
        assert await handlers.create_ready_shipments(first, shipping.carrier, TIMINGS) == 1
        await outbox.flush(conn)
        # The first replica has not committed: a second one must move on at once, neither
        # waiting for the row locks nor repeating the step.
        assert await asyncio.wait_for(shipping.tick_advance(), 5) == 0
        assert await asyncio.wait_for(shipping.tick_ready(), 5) == 0
    assert await shipping.types("o1") == ["ShipmentCreated", "ShipmentDispatched"]
    assert await shipping.types("o2") == ["ShipmentCreated"]


async def test_a_tick_claims_updates_and_queues_many_shipments_with_one_statement_each(
    shipping: Shipping,
) -> None:
    # Created a tenth of a second apart, in an order other than their ids' order: a tick
    # takes the longest waiting first, and its events follow that order.
    orders = [f"o{(i * 7) % 40:02d}" for i in range(40)]
    for n, order_id in enumerate(orders):
        shipping.at(n / 10)
        await shipping.create(order_id)
    shipping.at(5)
    await shipping.create("late")  # due for dispatch only at 8
    await shipping.create("gone")
    await shipping.cancel("gone")  # never moves
    statements: list[list[str]] = []

    async def counted(use_case: TickUseCase) -> int:
        pool = await hot_pool(shipping.engine).pool()
        outbox = BatchOutbox(producer="shipping", clock=shipping.clock)
        async with pool.acquire() as raw, raw.transaction():
            conn = CountingConnection(raw)
            store = PgShipmentStore(conn)  # type: ignore[arg-type]
            moved = await use_case(Tick(store, outbox, shipping.clock(), shipping.ids))
            await outbox.flush(conn)  # type: ignore[arg-type]
        statements.append(conn.statements)
        return moved

    def advance(t: Tick) -> Awaitable[int]:
        return handlers.advance_shipments(t, TIMINGS, shipping.carrier)

    shipping.at(7)  # the 40 due for dispatch
    assert await counted(advance) == 40
    assert await counted(advance) == 0
    shipping.at(10)  # "late" due for dispatch (at 8), the 40 out for delivery (at 8.5)
    assert await counted(advance) == 41
    shipping.at(11.5)  # the 40 due for delivery, "late" out for delivery
    assert await counted(advance) == 41
    assert statements == [
        ["SELECT", "UPDATE", "INSERT"], ["SELECT"], ["SELECT", "UPDATE", "INSERT"],
        ["SELECT", "UPDATE", "INSERT"],
    ]  # fmt: skip
    events = await shipping.scalar(
        "SELECT json_agg(json_build_array(message_type, correlation_id) ORDER BY id)"
        " FROM outbox WHERE message_type IN ('ShipmentDispatched', 'ShipmentDelivered')"
    )
    # The most overdue first: dispatched in creation order; "late" (due since 8) before
    # the 40 due together at 8.5, which go in order id order.
    assert events == (
        [["ShipmentDispatched", o] for o in orders]
        + [["ShipmentDispatched", "late"]]
        + [["ShipmentDelivered", o] for o in sorted(orders)]
    )
    statuses = await shipping.scalar(
        "SELECT json_object_agg(status, n) FROM"
        " (SELECT status, count(*) AS n FROM shipments GROUP BY status) AS s"
    )
    assert statuses == {"delivered": 40, "out_for_delivery": 1, "cancelled": 1}
    delivered = await shipping.shipment(orders[0])
    assert delivered.delivered_at == delivered.updated_at == NOW + timedelta(seconds=11.5)
    assert delivered.dispatched_at == NOW + timedelta(seconds=7)


async def test_a_tick_takes_at_most_its_limit_the_longest_waiting_first(
    shipping: Shipping,
) -> None:
    for n, order_id in enumerate(["c", "a", "d", "b", "e"]):
        shipping.at(n)
        await shipping.create(order_id, SLOW)
    shipping.at(30)
    assert await shipping.tick_ready(limit=2) == 2
    assert (
        await shipping.scalar(
            "SELECT string_agg(order_id, '' ORDER BY order_id) FROM shipments"
            " WHERE status = 'created'"
        )
        == "ac"
    )
    assert await shipping.tick_ready(limit=2) == 2
    assert await shipping.tick_ready(limit=2) == 1
    assert await shipping.tick_ready(limit=2) == 0
    shipping.at(40)
    assert await shipping.tick_advance(limit=3) == 3
    assert await shipping.tick_advance(limit=3) == 2
    assert await shipping.tick_advance(limit=3) == 0
