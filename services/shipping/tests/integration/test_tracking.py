"""The timers on the real PostgreSQL: a slow carrier's late booking, and shipments moving
created -> dispatched -> delivered, each event sent once even with several replicas."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from uuid import uuid4

from orderflow_messaging.outbox import Outbox
from shipping.application import handlers
from shipping.application.unit_of_work import ShippingUnitOfWork
from shipping.domain.model import ShipmentStatus

from .conftest import NOW, SLOW, TIMINGS, Shipping


async def _event_counts(shipping: Shipping) -> Counter[tuple[str, str]]:
    rows = await shipping.scalar(
        "SELECT coalesce(json_agg(json_build_array(message_type, correlation_id)), '[]')"
        " FROM outbox"
    )
    return Counter((kind, order_id) for kind, order_id in rows)


async def test_timer_moves_created_to_dispatched_to_delivered(shipping: Shipping) -> None:
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
    shipping.at(5.9)
    assert await shipping.tick_advance() == 0
    shipping.at(6.0)
    assert await shipping.tick_advance() == 1
    shipping.at(600)
    assert await shipping.tick_advance() == 0
    delivered = await shipping.shipment("o1")
    assert delivered.status is ShipmentStatus.DELIVERED
    assert delivered.delivered_at == NOW + timedelta(seconds=6)
    assert await shipping.replies("o1") == [
        ("ShipmentCreated", {
            "order_id": "o1", "shipment_id": shipment_id, "carrier": "SimPost",
            "tracking_number": "SP000000000001",
        }),
        ("ShipmentDispatched", {"order_id": "o1", "shipment_id": shipment_id}),
        ("ShipmentDelivered", {"order_id": "o1", "shipment_id": shipment_id}),
    ]  # fmt: skip


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
    shipping.at(3)
    moved = await asyncio.gather(*(shipping.tick_advance() for _ in range(4)))
    assert sum(moved) == len(orders)
    shipping.at(6)
    moved = await asyncio.gather(*(shipping.tick_advance() for _ in range(4)))
    assert sum(moved) == len(orders)
    counts = await _event_counts(shipping)
    for order_id in orders:
        assert counts[("ShipmentDispatched", order_id)] == 1
        assert counts[("ShipmentDelivered", order_id)] == 1
    assert sum(counts.values()) == 3 * len(orders)


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
    async with shipping.engine.begin() as conn:
        outbox = Outbox(conn, producer="shipping", clock=shipping.clock, new_id=uuid4)
        first = ShippingUnitOfWork(conn, outbox, shipping.clock, shipping.ids)
        assert await handlers.advance_shipments(first, TIMINGS) == 1
        assert await handlers.create_ready_shipments(first, shipping.carrier) == 1
        # The first replica has not committed: a second one must move on at once, neither
        # waiting for the row locks nor repeating the step.
        assert await asyncio.wait_for(shipping.tick_advance(), 5) == 0
        assert await asyncio.wait_for(shipping.tick_ready(), 5) == 0
    assert await shipping.types("o1") == ["ShipmentCreated", "ShipmentDispatched"]
    assert await shipping.types("o2") == ["ShipmentCreated"]
