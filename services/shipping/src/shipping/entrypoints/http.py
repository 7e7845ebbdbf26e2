"""Shipments over HTTP, read-only: where an order's parcel is and since when.

The address is left out on purpose: it is personal data and tracking does not need it.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from orderflow_service.http import Text
from shipping.adapters.repository import ShipmentRepository
from shipping.domain.model import Shipment, ShipmentStatus

MAX_LIST = 100


class LineView(BaseModel):
    sku: str
    quantity: int


class ShipmentView(BaseModel):
    order_id: str
    status: ShipmentStatus
    shipment_id: str | None
    carrier: str | None
    method_id: str | None = None  # the order's delivery method (null: none chosen)
    tracking_number: str | None
    reason: str | None
    lines: list[LineView]
    requested_at: datetime
    created_at: datetime | None
    ready_at: datetime | None
    dispatched_at: datetime | None
    delivered_at: datetime | None
    updated_at: datetime


def _view(shipment: Shipment) -> ShipmentView:
    booking = shipment.booking
    return ShipmentView(
        order_id=shipment.order_id,
        status=shipment.status,
        shipment_id=booking.shipment_id if booking else None,
        carrier=booking.carrier if booking else shipment.carrier,
        method_id=shipment.method_id,
        tracking_number=booking.tracking_number if booking else None,
        reason=shipment.reason,
        lines=[LineView(sku=line.sku, quantity=line.quantity) for line in shipment.lines],
        requested_at=shipment.requested_at,
        created_at=shipment.created_at,
        ready_at=shipment.ready_at,
        dispatched_at=shipment.dispatched_at,
        delivered_at=shipment.delivered_at,
        updated_at=shipment.updated_at,
    )


def build_router(engine: AsyncEngine) -> APIRouter:
    router = APIRouter(prefix="/shipments", tags=["shipments"])

    @router.get("")
    async def list_shipments(
        status: ShipmentStatus | None = None,
        limit: int = Query(default=MAX_LIST, ge=1, le=MAX_LIST),
    ) -> list[ShipmentView]:
        """The most recently changed shipments, optionally of one status."""
        async with engine.connect() as conn:
            return [_view(s) for s in await ShipmentRepository(conn).recent(status, limit)]

    @router.get("/{order_id}", responses={404: {"description": "no shipment for the order"}})
    async def get_shipment(order_id: Text) -> ShipmentView:
        async with engine.connect() as conn:
            shipment = await ShipmentRepository(conn).get(order_id)
        if shipment is None:
            raise HTTPException(404, f"no shipment for order {order_id!r}")
        return _view(shipment)

    return router
