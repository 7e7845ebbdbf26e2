"""Shipping's consumer use case, a batch at a time.

The shipments of the batch's orders are loaded and locked once (in order id order, so
batches never deadlock), every command is decided in memory in message order by
``ShipmentBook`` (pure, no I/O: the simulated carrier decides in process), and each new
or changed row is written once. Every command is answered, also when it is a resend: the
saga retries commands after a timeout and needs the reply, never a second shipment.
A command that adds a tracking step (a booking at once, a cancellation of a booked
shipment) also sends it on shipping.tracking.

Replies on shipping.events, by the state the order's shipment is in:
    CreateShipment  created or later (booked)    -> ShipmentCreated
                    failed                       -> ShipmentFailed(carrier's reason)
                    cancelled                    -> ShipmentFailed("cancelled")
                    requested (slow carrier)     -> nothing yet; ShipmentCreated comes later
    CancelShipment  requested/created/none yet   -> ShipmentCancelled (none: a tombstone)
                    cancelled/failed             -> ShipmentCancelled
                    dispatched or later          -> ShipmentCancellationFailed
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import structlog

from orderflow_contracts import topics
from orderflow_contracts.shipping import (
    CancelShipment,
    CreateShipment,
    ShipmentCancellationFailed,
    ShipmentCancelled,
)
from orderflow_messaging import tracing
from orderflow_messaging.clock import IdFactory
from orderflow_messaging.consumer import Batch, Incoming
from orderflow_messaging.registry import Message
from shipping.application.ports import ShipmentStore
from shipping.application.replies import answer_to_create, tracking_update
from shipping.domain.carrier import SimulatedCarrier
from shipping.domain.model import Address, Line, Shipment, Timings, open_shipment, tombstone

log = structlog.get_logger(__name__)

Command = CreateShipment | CancelShipment


@dataclass(frozen=True)
class Shipper:
    """What opening a shipment needs besides its row: the carrier, the timings, and the
    shipment ids (injected, so tests can predict bookings)."""

    carrier: SimulatedCarrier
    timings: Timings
    new_id: IdFactory


@dataclass
class ShipmentBook:
    """The shipments a batch touches, and which of them the batch created or changed."""

    shipments: dict[str, Shipment]
    created: set[str] = field(default_factory=set)
    changed: set[str] = field(default_factory=set)

    def apply(
        self, cmd: Command, now: datetime, shipper: Shipper, traceparent: str | None = None
    ) -> Message | None:
        """Decide one command; returns its reply (None: a slow carrier's answer pending).
        A shipment it opens keeps ``traceparent`` for the timers' events."""
        match cmd:
            case CreateShipment():
                return self._create(cmd, now, shipper, traceparent)
            case CancelShipment():
                return self._cancel(cmd, now)

    def _create(
        self, cmd: CreateShipment, now: datetime, shipper: Shipper, traceparent: str | None
    ) -> Message | None:
        existing = self.shipments.get(cmd.order_id)
        if existing is not None:
            return answer_to_create(existing)
        a = cmd.address
        shipment = open_shipment(
            cmd.order_id,
            Address(a.name, a.line1, a.city, a.postcode, a.country),
            [Line(line.sku, line.quantity) for line in cmd.lines],
            shipper.carrier.named(cmd.carrier),
            shipper.new_id(),
            now,
            shipper.timings,
            cmd.method_id,
        )
        if traceparent is not None:
            shipment = replace(shipment, traceparent=traceparent)
        self.put(shipment, new=True)
        return answer_to_create(shipment)

    def _cancel(self, cmd: CancelShipment, now: datetime) -> Message:
        order_id = cmd.order_id
        shipment = self.shipments.get(order_id)
        if shipment is None:
            # Cancelled before it was ever requested: remember, so a late create is refused.
            self.put(tombstone(order_id, cmd.reason, now), new=True)
            return ShipmentCancelled(order_id=order_id)
        decision = shipment.cancel(cmd.reason, now)
        if decision.refusal is not None:
            return ShipmentCancellationFailed(order_id=order_id, reason=decision.refusal)
        if decision.changed:
            self.put(decision.shipment)
        return ShipmentCancelled(order_id=order_id)

    def steps(self, order_id: str) -> int:
        """How many tracking steps the order's shipment has (0: none, or no shipment)."""
        shipment = self.shipments.get(order_id)
        return len(shipment.tracking) if shipment is not None else 0

    def put(self, shipment: Shipment, *, new: bool = False) -> None:
        """Record ``shipment`` as the order's, new (to insert) or changed (to update)."""
        self.shipments[shipment.order_id] = shipment
        (self.created if new else self.changed).add(shipment.order_id)


async def handle_commands(
    store: ShipmentStore, batch: Batch, items: Sequence[Incoming[Command]], shipper: Shipper
) -> None:
    """Load and lock once, fold in message order, write each new or changed row once."""
    book = await store.load_for_update(sorted({item.message.order_id for item in items}))
    now = batch.clock()
    for item in items:
        order_id = item.message.order_id
        steps = book.steps(order_id)
        reply = book.apply(item.message, now, shipper, tracing.traceparent_of(item.envelope))
        if reply is not None:
            batch.outbox.put(
                topics.SHIPPING_EVENTS, reply, correlation_id=order_id, causation=item.envelope
            )
        if book.steps(order_id) > steps:
            batch.outbox.put(
                topics.SHIPPING_TRACKING, tracking_update(book.shipments[order_id]),
                correlation_id=order_id, causation=item.envelope,
            )  # fmt: skip
        # Only the outcome is logged: the address is personal data.
        log.debug(
            "shipment_command",
            order_id=order_id,
            command=item.message.TYPE,
            status=book.shipments[order_id].status.value,
            reply=reply.TYPE if reply is not None else None,
        )
    await store.save(book)
    log.debug(
        "shipping_batch", commands=len(items), created=len(book.created), changed=len(book.changed)
    )
