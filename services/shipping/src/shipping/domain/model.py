"""Shipments: one per order, moved along by the carrier and by time.

    requested --(carrier ready)--> created --(dispatch_after)--> dispatched
        |                             |                               |
        +---------> cancelled <-------+                  (deliver_after)--> delivered
    (carrier refuses the address: failed at once)

A cancellation that arrives before any CreateShipment leaves a cancelled tombstone, so a
late CreateShipment is refused instead of shipping goods of a cancelled order. Once the
parcel is dispatched it can no longer be cancelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from shipping.domain.carrier import Booking, CarrierVerdict, SimulatedCarrier

ALREADY_DISPATCHED = "already dispatched"


class ShipmentStatus(StrEnum):
    REQUESTED = "requested"
    CREATED = "created"
    DISPATCHED = "dispatched"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    FAILED = "failed"


@dataclass(frozen=True)
class Address:
    name: str
    line1: str
    city: str
    postcode: str
    country: str


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: int


@dataclass(frozen=True)
class Timings:
    slow_delay: timedelta
    dispatch_after: timedelta
    deliver_after: timedelta


@dataclass(frozen=True)
class Shipment:
    order_id: str
    status: ShipmentStatus
    # When the first command for this order arrived (also for a tombstone).
    requested_at: datetime
    updated_at: datetime
    address: Address | None = None
    lines: tuple[Line, ...] = ()
    booking: Booking | None = None
    reason: str | None = None
    created_at: datetime | None = None
    ready_at: datetime | None = None
    dispatched_at: datetime | None = None
    delivered_at: datetime | None = None
    # The W3C ``traceparent`` of the CreateShipment that opened it (when tracing is on):
    # the events the timers emit later (created late, dispatched, delivered) continue
    # the order's trace instead of each starting one of their own.
    traceparent: str | None = None
    # The order's delivery method and the carrier it books with (None: the default).
    method_id: str | None = None
    carrier: str | None = None

    def is_ready(self, now: datetime) -> bool:
        """A slow carrier has now accepted the parcel."""
        return (
            self.status is ShipmentStatus.REQUESTED
            and self.ready_at is not None
            and now >= self.ready_at
        )

    def confirm(self, booking: Booking, now: datetime) -> Shipment:
        if self.status is not ShipmentStatus.REQUESTED:
            raise ValueError(f"{self.order_id}: cannot confirm a {self.status.value} shipment")
        return replace(
            self, status=ShipmentStatus.CREATED, booking=booking, created_at=now, updated_at=now
        )

    def next_step(self, now: datetime, timings: Timings) -> Shipment | None:
        """The shipment one step further along, or None when no step is due yet."""
        created, dispatched = self.created_at, self.dispatched_at
        if self.status is ShipmentStatus.CREATED and created is not None:
            if now < created + timings.dispatch_after:
                return None
            return replace(
                self, status=ShipmentStatus.DISPATCHED, dispatched_at=now, updated_at=now
            )
        if self.status is ShipmentStatus.DISPATCHED and dispatched is not None:
            if now < dispatched + timings.deliver_after:
                return None
            return replace(self, status=ShipmentStatus.DELIVERED, delivered_at=now, updated_at=now)
        return None

    def cancel(self, reason: str, now: datetime) -> CancelDecision:
        if self.status in (ShipmentStatus.REQUESTED, ShipmentStatus.CREATED):
            cancelled = replace(
                self, status=ShipmentStatus.CANCELLED, reason=reason, updated_at=now
            )
            return CancelDecision(cancelled, changed=True)
        if self.status in (ShipmentStatus.DISPATCHED, ShipmentStatus.DELIVERED):
            return CancelDecision(self, changed=False, refusal=ALREADY_DISPATCHED)
        # Cancelled or failed: nothing will ship, so the cancellation already holds.
        return CancelDecision(self, changed=False)


@dataclass(frozen=True)
class CancelDecision:
    shipment: Shipment
    changed: bool
    refusal: str | None = None


def open_shipment(
    order_id: str,
    address: Address,
    lines: Sequence[Line],
    carrier: SimulatedCarrier,
    shipment_id: UUID,
    now: datetime,
    timings: Timings,
    method_id: str | None = None,
) -> Shipment:
    """The first CreateShipment of an order: ask the carrier (the one its delivery
    method books with), record its answer."""
    requested = Shipment(
        order_id, ShipmentStatus.REQUESTED, now, now, address=address, lines=tuple(lines),
        method_id=method_id, carrier=carrier.name,
    )  # fmt: skip
    verdict = carrier.assess(address.postcode)
    if verdict is CarrierVerdict.REJECTED:
        return replace(requested, status=ShipmentStatus.FAILED, reason=carrier.rejection_reason)
    if verdict is CarrierVerdict.SLOW:
        return replace(requested, ready_at=now + timings.slow_delay)
    return replace(
        requested,
        status=ShipmentStatus.CREATED,
        booking=carrier.book(shipment_id),
        created_at=now,
    )


def tombstone(order_id: str, reason: str, now: datetime) -> Shipment:
    """A cancellation that came before the shipment: remembered to refuse a late create."""
    return Shipment(order_id, ShipmentStatus.CANCELLED, now, now, reason=reason)
