"""Explicit row <-> domain mapping for shipments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from orderflow_messaging.sql import insert_or_ignore
from shipping.adapters.tables import shipments
from shipping.domain.carrier import Booking
from shipping.domain.model import Address, Line, Shipment, ShipmentStatus, Timings


def _shipment(row: Any) -> Shipment:
    booking = None
    if row.shipment_id is not None:
        booking = Booking(row.shipment_id, row.carrier, row.tracking_number)
    return Shipment(
        order_id=row.order_id,
        status=ShipmentStatus(row.status),
        requested_at=row.requested_at,
        updated_at=row.updated_at,
        address=Address(**row.address) if row.address is not None else None,
        lines=tuple(Line(str(line["sku"]), int(line["quantity"])) for line in row.lines),
        booking=booking,
        reason=row.reason,
        created_at=row.created_at,
        ready_at=row.ready_at,
        dispatched_at=row.dispatched_at,
        delivered_at=row.delivered_at,
    )


def _values(shipment: Shipment) -> dict[str, Any]:
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
        "carrier": booking.carrier if booking else None,
        "tracking_number": booking.tracking_number if booking else None,
        "reason": shipment.reason,
        "requested_at": shipment.requested_at,
        "created_at": shipment.created_at,
        "ready_at": shipment.ready_at,
        "dispatched_at": shipment.dispatched_at,
        "delivered_at": shipment.delivered_at,
        "updated_at": shipment.updated_at,
    }


class ShipmentRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, order_id: str) -> Shipment | None:
        query = select(shipments).where(shipments.c.order_id == order_id)
        row = (await self._conn.execute(query)).first()
        return _shipment(row) if row else None

    async def get_for_update(self, order_id: str) -> Shipment | None:
        query = select(shipments).where(shipments.c.order_id == order_id).with_for_update()
        row = (await self._conn.execute(query)).first()
        return _shipment(row) if row else None

    async def recent(self, status: ShipmentStatus | None, limit: int) -> list[Shipment]:
        query = select(shipments).order_by(shipments.c.updated_at.desc()).limit(limit)
        if status is not None:
            query = query.where(shipments.c.status == status.value)
        return [_shipment(row) for row in await self._conn.execute(query)]

    async def add(self, shipment: Shipment) -> bool:
        """Insert; False when the order already has a shipment (a concurrent duplicate)."""
        row = dict(order_id=shipment.order_id, **_values(shipment))
        result = await self._conn.execute(insert_or_ignore(shipments, row, ["order_id"]), row)
        return bool(result.rowcount)

    async def save(self, shipment: Shipment) -> None:
        await self._conn.execute(
            update(shipments)
            .where(shipments.c.order_id == shipment.order_id)
            .values(**_values(shipment))
        )

    async def lock_ready(self, now: datetime, limit: int) -> list[Shipment]:
        """Requested shipments the slow carrier has accepted by ``now``.

        SKIP LOCKED: another replica's timer holding a row is handling it; waiting for it
        would only find the row already moved on.
        """
        query = (
            select(shipments)
            .where(
                shipments.c.status == ShipmentStatus.REQUESTED.value,
                shipments.c.ready_at <= now,
            )
            .order_by(shipments.c.ready_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_shipment(row) for row in await self._conn.execute(query)]

    async def lock_due(self, now: datetime, timings: Timings, limit: int) -> list[Shipment]:
        """Shipments whose next tracking step is due at ``now`` (SKIP LOCKED as above)."""
        query = (
            select(shipments)
            .where(
                or_(
                    and_(
                        shipments.c.status == ShipmentStatus.CREATED.value,
                        shipments.c.created_at <= now - timings.dispatch_after,
                    ),
                    and_(
                        shipments.c.status == ShipmentStatus.DISPATCHED.value,
                        shipments.c.dispatched_at <= now - timings.deliver_after,
                    ),
                )
            )
            .order_by(shipments.c.updated_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_shipment(row) for row in await self._conn.execute(query)]
