r"""Shipments: one per order, moved along by the carrier and by time.

    requested --(carrier ready)--> created --(dispatch_after)--> dispatched
        |                             |                               |
        +---------> cancelled <-------+             (half of deliver_after)
    (carrier refuses the address: failed at once)                     |
                                                              out_for_delivery
                                      (the other half) /                    \ (nobody there)
                                               delivered          delivery_exception
                                                                             | (half again)
                                                                         returned

Every step the parcel takes is a tracking event (``TrackingEvent``: booked, in transit,
out for delivery, delivered, delivery exception, returned to sender) with the estimated
delivery as of that step; the shipment keeps them all, in order, and ``next_step_at``
says when the next one is due.

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

from shipping.domain.carrier import NOBODY_THERE, Booking, CarrierVerdict, SimulatedCarrier

ALREADY_DISPATCHED = "already dispatched"


class ShipmentStatus(StrEnum):
    REQUESTED = "requested"
    CREATED = "created"
    DISPATCHED = "dispatched"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    DELIVERY_EXCEPTION = "delivery_exception"
    RETURNED = "returned"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def booked(self) -> bool:
        """The carrier has the parcel's booking (the reply to a create is ShipmentCreated)."""
        return self not in _UNBOOKED

    @property
    def moving(self) -> bool:
        """A tracking step is still to come."""
        return self in _MOVING


_UNBOOKED = frozenset({ShipmentStatus.REQUESTED, ShipmentStatus.CANCELLED, ShipmentStatus.FAILED})
_MOVING = frozenset({
    ShipmentStatus.CREATED, ShipmentStatus.DISPATCHED, ShipmentStatus.OUT_FOR_DELIVERY,
    ShipmentStatus.DELIVERY_EXCEPTION,
})  # fmt: skip


class TrackingStatus(StrEnum):
    BOOKED = "booked"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    DELIVERY_EXCEPTION = "delivery_exception"
    RETURNED_TO_SENDER = "returned_to_sender"
    CANCELLED = "cancelled"  # by the sender, before dispatch


@dataclass(frozen=True)
class TrackingEvent:
    """One step of a parcel as the carrier reports it; ``eta``: the estimated delivery as
    of this step (None once it is delivered or will not be)."""

    status: TrackingStatus
    at: datetime
    eta: datetime | None
    detail: str | None = None


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
    # Every tracking step so far, oldest first; when the next one is due (None: no more).
    tracking: tuple[TrackingEvent, ...] = ()
    next_step_at: datetime | None = None

    @property
    def eta(self) -> datetime | None:
        return self.tracking[-1].eta if self.tracking else None

    def is_due(self, now: datetime) -> bool:
        """A tracking step is due at ``now``."""
        return self.status.moving and self.next_step_at is not None and now >= self.next_step_at

    def is_ready(self, now: datetime) -> bool:
        """A slow carrier has now accepted the parcel."""
        return (
            self.status is ShipmentStatus.REQUESTED
            and self.ready_at is not None
            and now >= self.ready_at
        )

    def confirm(self, booking: Booking, now: datetime, timings: Timings) -> Shipment:
        if self.status is not ShipmentStatus.REQUESTED:
            raise ValueError(f"{self.order_id}: cannot confirm a {self.status.value} shipment")
        return _booked(self, booking, now, timings)

    def next_step(
        self, now: datetime, timings: Timings, carrier: SimulatedCarrier
    ) -> Shipment | None:
        """The shipment one step further along, or None when no step is due yet. Out for
        delivery comes halfway through ``deliver_after``; ``carrier`` decides whether the
        parcel is taken then (else a delivery exception, and back to the sender after
        another half)."""
        if not self.is_due(now):
            return None
        half = timings.deliver_after / 2
        match self.status:
            case ShipmentStatus.CREATED:
                eta = now + timings.deliver_after
                step = self._step(ShipmentStatus.DISPATCHED, TrackingStatus.IN_TRANSIT, now, eta)
                return replace(step, dispatched_at=now, next_step_at=now + half)
            case ShipmentStatus.DISPATCHED:
                step = self._step(
                    ShipmentStatus.OUT_FOR_DELIVERY, TrackingStatus.OUT_FOR_DELIVERY, now, self.eta
                )
                return replace(step, next_step_at=now + half)
            case ShipmentStatus.OUT_FOR_DELIVERY if self._taken(carrier):
                step = self._step(ShipmentStatus.DELIVERED, TrackingStatus.DELIVERED, now, None)
                return replace(step, delivered_at=now, next_step_at=None)
            case ShipmentStatus.OUT_FOR_DELIVERY:
                step = self._step(
                    ShipmentStatus.DELIVERY_EXCEPTION, TrackingStatus.DELIVERY_EXCEPTION, now,
                    None, NOBODY_THERE,
                )  # fmt: skip
                return replace(step, reason=NOBODY_THERE, next_step_at=now + half)
            case _:  # a delivery exception: the parcel goes back
                step = self._step(
                    ShipmentStatus.RETURNED, TrackingStatus.RETURNED_TO_SENDER, now, None
                )
                return replace(step, next_step_at=None)

    def _taken(self, carrier: SimulatedCarrier) -> bool:
        return self.address is None or carrier.delivers(self.address.postcode)

    def _step(
        self,
        status: ShipmentStatus,
        event: TrackingStatus,
        now: datetime,
        eta: datetime | None,
        detail: str | None = None,
    ) -> Shipment:
        tracked = (*self.tracking, TrackingEvent(event, now, eta, detail))
        return replace(self, status=status, tracking=tracked, updated_at=now)

    def cancel(self, reason: str, now: datetime) -> CancelDecision:
        if self.status in (ShipmentStatus.REQUESTED, ShipmentStatus.CREATED):
            cancelled = replace(
                self, status=ShipmentStatus.CANCELLED, reason=reason, updated_at=now,
                next_step_at=None,
            )  # fmt: skip
            if self.status is ShipmentStatus.CREATED:  # booked: its tracking says so
                step = TrackingEvent(TrackingStatus.CANCELLED, now, None, reason)
                cancelled = replace(cancelled, tracking=(*self.tracking, step))
            return CancelDecision(cancelled, changed=True)
        if self.status.booked:  # dispatched or later
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
    return _booked(requested, carrier.book(shipment_id), now, timings)


def _booked(shipment: Shipment, booking: Booking, now: datetime, timings: Timings) -> Shipment:
    """Booked with the carrier: its first tracking event, dispatch due after
    ``dispatch_after``, the parcel expected ``deliver_after`` after that."""
    eta = now + timings.dispatch_after + timings.deliver_after
    return replace(
        shipment,
        status=ShipmentStatus.CREATED,
        booking=booking,
        created_at=now,
        updated_at=now,
        tracking=(TrackingEvent(TrackingStatus.BOOKED, now, eta),),
        next_step_at=now + timings.dispatch_after,
    )


def tombstone(order_id: str, reason: str, now: datetime) -> Shipment:
    """A cancellation that came before the shipment: remembered to refuse a late create."""
    return Shipment(order_id, ShipmentStatus.CANCELLED, now, now, reason=reason)
