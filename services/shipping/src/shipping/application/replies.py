"""Shipments -> shipping.events and shipping.tracking messages (pure: the consumer's fold
and the timers share them)."""

from __future__ import annotations

from orderflow_contracts.shipping import (
    ShipmentCreated,
    ShipmentFailed,
    TrackingUpdated,
)
from orderflow_messaging.registry import Message
from shipping.domain.carrier import REJECTED_ADDRESS, Booking
from shipping.domain.model import Shipment, ShipmentStatus

CANCELLED_REASON = "cancelled"


def booking_of(shipment: Shipment) -> Booking:
    if shipment.booking is None:
        raise RuntimeError(f"{shipment.order_id}: {shipment.status.value} shipment has no booking")
    return shipment.booking


def created(shipment: Shipment) -> ShipmentCreated:
    booking = booking_of(shipment)
    return ShipmentCreated(
        order_id=shipment.order_id,
        shipment_id=booking.shipment_id,
        carrier=booking.carrier,
        tracking_number=booking.tracking_number,
    )


def answer_to_create(shipment: Shipment) -> Message | None:
    """The reply to a CreateShipment, first or resent, for the shipment as it stands; None
    while a slow carrier has not answered (the slow-carrier timer replies then)."""
    order_id = shipment.order_id
    if shipment.status.booked:
        return created(shipment)
    if shipment.status is ShipmentStatus.FAILED:
        return ShipmentFailed(order_id=order_id, reason=shipment.reason or REJECTED_ADDRESS)
    if shipment.status is ShipmentStatus.CANCELLED:
        return ShipmentFailed(order_id=order_id, reason=CANCELLED_REASON)
    return None


def tracking_update(shipment: Shipment) -> TrackingUpdated:
    """The shipment's newest tracking step, as the event readers of shipping.tracking get."""
    booking = booking_of(shipment)
    step = shipment.tracking[-1]
    return TrackingUpdated(
        order_id=shipment.order_id,
        shipment_id=booking.shipment_id,
        carrier=booking.carrier,
        tracking_number=booking.tracking_number,
        sequence=len(shipment.tracking),
        status=step.status.value,
        at=step.at,
        eta=step.eta,
        detail=step.detail,
    )
