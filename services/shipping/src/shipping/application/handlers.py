"""Shipping use cases. Every command is answered, also when it is a resend: the saga
retries commands after a timeout and needs the reply, never a second shipment.

Replies on shipping.events, by the state the order's shipment is in:
    CreateShipment  created/dispatched/delivered -> ShipmentCreated
                    failed                       -> ShipmentFailed(carrier's reason)
                    cancelled                    -> ShipmentFailed("cancelled")
                    requested (slow carrier)     -> nothing yet; ShipmentCreated comes later
    CancelShipment  requested/created/none yet   -> ShipmentCancelled (none: a tombstone)
                    cancelled/failed             -> ShipmentCancelled
                    dispatched/delivered         -> ShipmentCancellationFailed
"""

from __future__ import annotations

import structlog

from orderflow_contracts import topics
from orderflow_contracts.shipping import (
    CancelShipment,
    CreateShipment,
    ShipmentCancellationFailed,
    ShipmentCancelled,
    ShipmentCreated,
    ShipmentDelivered,
    ShipmentDispatched,
    ShipmentFailed,
)
from orderflow_messaging.registry import Message
from shipping.application.unit_of_work import ShippingUnitOfWork
from shipping.domain.carrier import REJECTED_ADDRESS, Booking, SimulatedCarrier
from shipping.domain.model import (
    Address,
    Line,
    Shipment,
    ShipmentStatus,
    Timings,
    open_shipment,
    tombstone,
)

log = structlog.get_logger(__name__)

CANCELLED_REASON = "cancelled"
_BOOKED = (ShipmentStatus.CREATED, ShipmentStatus.DISPATCHED, ShipmentStatus.DELIVERED)


async def _reply(uow: ShippingUnitOfWork, message: Message, order_id: str) -> None:
    await uow.outbox.put(topics.SHIPPING_EVENTS, message, correlation_id=order_id)


def _booking(shipment: Shipment) -> Booking:
    if shipment.booking is None:
        raise RuntimeError(f"{shipment.order_id}: {shipment.status.value} shipment has no booking")
    return shipment.booking


def _created(shipment: Shipment) -> ShipmentCreated:
    booking = _booking(shipment)
    return ShipmentCreated(
        order_id=shipment.order_id,
        shipment_id=booking.shipment_id,
        carrier=booking.carrier,
        tracking_number=booking.tracking_number,
    )


async def _answer(uow: ShippingUnitOfWork, shipment: Shipment) -> None:
    """The reply to a CreateShipment, first or resent, for the shipment as it stands."""
    order_id = shipment.order_id
    if shipment.status in _BOOKED:
        await _reply(uow, _created(shipment), order_id)
    elif shipment.status is ShipmentStatus.FAILED:
        reason = shipment.reason or REJECTED_ADDRESS
        await _reply(uow, ShipmentFailed(order_id=order_id, reason=reason), order_id)
    elif shipment.status is ShipmentStatus.CANCELLED:
        await _reply(uow, ShipmentFailed(order_id=order_id, reason=CANCELLED_REASON), order_id)
    # requested: the carrier has not answered yet; the slow-carrier timer will reply.


async def create_shipment(
    uow: ShippingUnitOfWork, cmd: CreateShipment, carrier: SimulatedCarrier, timings: Timings
) -> None:
    existing = await uow.shipments.get_for_update(cmd.order_id)
    if existing is not None:
        log.info("shipment_request_repeated", order_id=cmd.order_id, status=existing.status.value)
        await _answer(uow, existing)
        return
    a = cmd.address
    shipment = open_shipment(
        cmd.order_id,
        Address(a.name, a.line1, a.city, a.postcode, a.country),
        [Line(line.sku, line.quantity) for line in cmd.lines],
        carrier,
        uow.new_id(),
        uow.clock(),
        timings,
    )
    if not await uow.shipments.add(shipment):
        # A concurrent CreateShipment won the insert; the retry answers from its row.
        raise RuntimeError(f"concurrent shipment for {cmd.order_id}; retrying")
    # Only the outcome is logged: the address is personal data.
    log.info(
        "shipment_requested",
        order_id=cmd.order_id,
        status=shipment.status.value,
        shipment_id=shipment.booking.shipment_id if shipment.booking else None,
    )
    await _answer(uow, shipment)


async def cancel_shipment(uow: ShippingUnitOfWork, cmd: CancelShipment) -> None:
    order_id = cmd.order_id
    shipment = await uow.shipments.get_for_update(order_id)
    now = uow.clock()
    if shipment is None:
        # Cancelled before it was ever requested: remember, so a late CreateShipment is refused.
        if not await uow.shipments.add(tombstone(order_id, cmd.reason, now)):
            raise RuntimeError(f"concurrent shipment for {order_id}; retrying")
        log.info("shipment_cancelled", order_id=order_id, previous_status=None)
        await _reply(uow, ShipmentCancelled(order_id=order_id), order_id)
        return
    decision = shipment.cancel(cmd.reason, now)
    if decision.refusal is not None:
        log.info("shipment_cancellation_refused", order_id=order_id, status=shipment.status.value)
        refused = ShipmentCancellationFailed(order_id=order_id, reason=decision.refusal)
        await _reply(uow, refused, order_id)
        return
    if decision.changed:
        await uow.shipments.save(decision.shipment)
        log.info("shipment_cancelled", order_id=order_id, previous_status=shipment.status.value)
    await _reply(uow, ShipmentCancelled(order_id=order_id), order_id)


async def create_ready_shipments(
    uow: ShippingUnitOfWork, carrier: SimulatedCarrier, limit: int = 100
) -> int:
    """Book the shipments a slow carrier has accepted by now; returns how many."""
    now = uow.clock()
    ready = await uow.shipments.lock_ready(now, limit)
    for shipment in ready:
        created = shipment.confirm(carrier.book(uow.new_id()), now)
        await uow.shipments.save(created)
        log.info(
            "shipment_created_late",
            order_id=created.order_id,
            shipment_id=_booking(created).shipment_id,
        )
        await _reply(uow, _created(created), created.order_id)
    return len(ready)


async def advance_shipments(uow: ShippingUnitOfWork, timings: Timings, limit: int = 100) -> int:
    """Move due shipments one step (created -> dispatched -> delivered); returns how many."""
    now = uow.clock()
    advanced = 0
    for shipment in await uow.shipments.lock_due(now, timings, limit):
        moved = shipment.next_step(now, timings)
        if moved is None:
            continue
        await uow.shipments.save(moved)
        shipment_id = _booking(moved).shipment_id
        event: Message
        if moved.status is ShipmentStatus.DISPATCHED:
            event = ShipmentDispatched(order_id=moved.order_id, shipment_id=shipment_id)
        else:
            event = ShipmentDelivered(order_id=moved.order_id, shipment_id=shipment_id)
        log.info(
            "shipment_advanced",
            order_id=moved.order_id,
            shipment_id=shipment_id,
            status=moved.status.value,
        )
        await _reply(uow, event, moved.order_id)
        advanced += 1
    return advanced
