"""Shipping's timers, a tick at a time (the consumer's use case is in ``batch``).

A tick claims and locks up to ``limit`` shipments with one statement (skipping those
another replica holds), decides each in memory in claim order with the pure domain,
writes every changed shipment with one statement and queues its events in that order
(the step on shipping.tracking; the saga's facts, dispatched and delivered, also on
shipping.events); the caller flushes the outbox once and commits. ``advance_shipments``
runs for every order (in transit, out for delivery, delivered), so a tick must stay
cheap per shipment.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import structlog

from orderflow_contracts import topics
from orderflow_contracts.shipping import ShipmentDelivered, ShipmentDispatched
from orderflow_messaging import tracing
from orderflow_messaging.clock import IdFactory
from orderflow_messaging.outbox import BatchOutbox
from orderflow_messaging.registry import Message
from shipping.application.batch import ShipmentBook
from shipping.application.ports import TimerStore
from shipping.application.replies import booking_of, created, tracking_update
from shipping.domain.carrier import SimulatedCarrier
from shipping.domain.model import Shipment, ShipmentStatus, Timings

log = structlog.get_logger(__name__)

# Shipments per tick: a busy tick runs again at once, so this only bounds one transaction.
TICK_LIMIT = 500


@dataclass(frozen=True)
class Tick:
    """One timer round: its transaction's store and outbox, its time, and the ids for
    new bookings."""

    store: TimerStore
    outbox: BatchOutbox
    now: datetime
    new_id: IdFactory


# A timer's use case: one tick, returning how many shipments it moved on.
TickUseCase = Callable[[Tick], Awaitable[int]]


def saga_fact(shipment: Shipment) -> Message | None:
    """The saga's event of a step just taken: dispatched or delivered (None: neither)."""
    shipment_id = booking_of(shipment).shipment_id
    if shipment.status is ShipmentStatus.DISPATCHED:
        return ShipmentDispatched(order_id=shipment.order_id, shipment_id=shipment_id)
    if shipment.status is ShipmentStatus.DELIVERED:
        return ShipmentDelivered(order_id=shipment.order_id, shipment_id=shipment_id)
    return None


def _emit(tick: Tick, book: ShipmentBook, shipment: Shipment, event: Message | None) -> None:
    """Record the step and queue its events: ``event`` (if any) on shipping.events, the
    tracking step on shipping.tracking."""
    book.put(shipment)
    context = tracing.kept_context(shipment.traceparent)
    if event is not None:
        tick.outbox.put(
            topics.SHIPPING_EVENTS, event, correlation_id=shipment.order_id,
            trace_context=context,
        )  # fmt: skip
    tick.outbox.put(
        topics.SHIPPING_TRACKING, tracking_update(shipment), correlation_id=shipment.order_id,
        trace_context=context,
    )  # fmt: skip


async def create_ready_shipments(
    tick: Tick, carrier: SimulatedCarrier, timings: Timings, limit: int = TICK_LIMIT
) -> int:
    """Book the shipments a slow carrier has accepted by now; returns how many."""
    claimed = await tick.store.claim_ready(tick.now, limit)
    book = ShipmentBook({s.order_id: s for s in claimed})
    for shipment in claimed:
        booking = carrier.named(shipment.carrier).book(tick.new_id())
        booked = shipment.confirm(booking, tick.now, timings)
        _emit(tick, book, booked, created(booked))
        log.debug(
            "shipment_created_late",
            order_id=booked.order_id,
            shipment_id=booking_of(booked).shipment_id,
        )
    await tick.store.save(book)
    return len(book.changed)


async def advance_shipments(
    tick: Tick, timings: Timings, carrier: SimulatedCarrier, limit: int = TICK_LIMIT
) -> int:
    """Move due shipments one tracking step (``Shipment.next_step``); returns how many."""
    claimed = await tick.store.claim_due(tick.now, limit)
    book = ShipmentBook({s.order_id: s for s in claimed})
    for shipment in claimed:
        moved = shipment.next_step(tick.now, timings, carrier.named(shipment.carrier))
        if moved is None:
            continue
        _emit(tick, book, moved, saga_fact(moved))
        log.debug(
            "shipment_advanced",
            order_id=moved.order_id,
            shipment_id=booking_of(moved).shipment_id,
            status=moved.status.value,
        )
    await tick.store.save(book)
    return len(book.changed)
