"""Explicit row <-> domain mapping for shipments, and the SQLAlchemy repository of the
HTTP routes (the batch store of the consumer and timers, ``batch_store``, maps rows here
too)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from shipping.adapters.tables import shipments
from shipping.domain.carrier import Booking
from shipping.domain.model import (
    Address,
    Line,
    Shipment,
    ShipmentStatus,
    TrackingEvent,
    TrackingStatus,
)


class Row(Protocol):
    """A shipments row by column name: SQLAlchemy's ``row._mapping`` or an asyncpg record."""

    def __getitem__(self, column: str, /) -> Any: ...


def shipment_from_row(row: Row) -> Shipment:
    booking = None
    if row["shipment_id"] is not None:
        booking = Booking(row["shipment_id"], row["carrier"], row["tracking_number"])
    address = row["address"]
    return Shipment(
        order_id=row["order_id"],
        status=ShipmentStatus(row["status"]),
        requested_at=row["requested_at"],
        updated_at=row["updated_at"],
        address=Address(**address) if address is not None else None,
        lines=tuple(Line(str(line["sku"]), int(line["quantity"])) for line in row["lines"]),
        booking=booking,
        reason=row["reason"],
        created_at=row["created_at"],
        ready_at=row["ready_at"],
        dispatched_at=row["dispatched_at"],
        delivered_at=row["delivered_at"],
        traceparent=row["traceparent"],
        method_id=row["method_id"],
        carrier=row["carrier"],
        tracking=tuple(_event(step) for step in row["tracking"]),
        next_step_at=row["next_step_at"],
    )


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _event(step: dict[str, Any]) -> TrackingEvent:
    at = datetime.fromisoformat(step["at"])
    return TrackingEvent(TrackingStatus(step["status"]), at, _moment(step["eta"]), step["detail"])


def _step(event: TrackingEvent) -> dict[str, Any]:
    eta = event.eta
    return {
        "status": event.status.value,
        "at": event.at.isoformat(),
        "eta": None if eta is None else eta.isoformat(),
        "detail": event.detail,
    }


def _shipment(row: Any) -> Shipment:
    return shipment_from_row(row._mapping)


def shipment_values(shipment: Shipment) -> dict[str, Any]:
    """Every column but ``order_id``; the JSONB ones (address, lines) as Python data."""
    address = shipment.address
    booking = shipment.booking
    return {
        "status": shipment.status.value,
        "address": None
        if address is None
        else {
            "name": address.name,
            "line1": address.line1,
            "city": address.city,
            "postcode": address.postcode,
            "country": address.country,
        },
        "lines": [{"sku": line.sku, "quantity": line.quantity} for line in shipment.lines],
        "shipment_id": booking.shipment_id if booking else None,
        "carrier": booking.carrier if booking else shipment.carrier,
        "tracking_number": booking.tracking_number if booking else None,
        "reason": shipment.reason,
        "requested_at": shipment.requested_at,
        "created_at": shipment.created_at,
        "ready_at": shipment.ready_at,
        "dispatched_at": shipment.dispatched_at,
        "delivered_at": shipment.delivered_at,
        "updated_at": shipment.updated_at,
        "traceparent": shipment.traceparent,
        "method_id": shipment.method_id,
        "tracking": [_step(event) for event in shipment.tracking],
        "next_step_at": shipment.next_step_at,
    }


class ShipmentRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, order_id: str) -> Shipment | None:
        query = select(shipments).where(shipments.c.order_id == order_id)
        row = (await self._conn.execute(query)).first()
        return _shipment(row) if row else None

    async def recent(self, status: ShipmentStatus | None, limit: int) -> list[Shipment]:
        query = select(shipments).order_by(shipments.c.updated_at.desc()).limit(limit)
        if status is not None:
            query = query.where(shipments.c.status == status.value)
        return [_shipment(row) for row in await self._conn.execute(query)]
