"""Shipments over HTTP, read-only: where an order's parcel is and since when, and its
tracking (every step the carrier reported, with the estimated delivery).

The address is left out on purpose: it is personal data and tracking does not need it.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from orderflow_service.http import Text
from shipping.adapters.repository import ShipmentRepository
from shipping.domain.model import Shipment, ShipmentStatus, TrackingEvent, TrackingStatus

MAX_LIST = 100
_NOT_FOUND: dict[int | str, dict[str, str]] = {404: {"description": "no shipment for the order"}}


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
    eta: datetime | None = None  # the estimated delivery as of the newest tracking step


class TrackingStepView(BaseModel):
    sequence: int
    status: TrackingStatus
    at: datetime
    eta: datetime | None
    detail: str | None


class TrackingView(BaseModel):
    """An order's parcel for its customer: where it is, when it should arrive, and every
    step so far (oldest first; empty until the carrier has booked it)."""

    order_id: str
    status: ShipmentStatus
    carrier: str | None
    tracking_number: str | None
    method_id: str | None
    eta: datetime | None
    steps: list[TrackingStepView]


def _step(sequence: int, event: TrackingEvent) -> TrackingStepView:
    return TrackingStepView(
        sequence=sequence, status=event.status, at=event.at, eta=event.eta, detail=event.detail
    )


def _tracking(shipment: Shipment) -> TrackingView:
    booking = shipment.booking
    return TrackingView(
        order_id=shipment.order_id,
        status=shipment.status,
        carrier=booking.carrier if booking else shipment.carrier,
        tracking_number=booking.tracking_number if booking else None,
        method_id=shipment.method_id,
        eta=shipment.eta,
        steps=[_step(n, event) for n, event in enumerate(shipment.tracking, start=1)],
    )


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
        eta=shipment.eta,
    )


async def _shipment(engine: AsyncEngine, order_id: str) -> Shipment:
    async with engine.connect() as conn:
        shipment = await ShipmentRepository(conn).get(order_id)
    if shipment is None:
        raise HTTPException(404, f"no shipment for order {order_id!r}")
    return shipment


def build_router(engine: AsyncEngine) -> APIRouter:
    router = APIRouter(tags=["shipments"])

    @router.get("/shipments")
    async def list_shipments(
        status: ShipmentStatus | None = None,
        limit: int = Query(default=MAX_LIST, ge=1, le=MAX_LIST),
    ) -> list[ShipmentView]:
        """The most recently changed shipments, optionally of one status."""
        async with engine.connect() as conn:
            return [_view(s) for s in await ShipmentRepository(conn).recent(status, limit)]

    @router.get("/shipments/{order_id}", responses=_NOT_FOUND)
    async def get_shipment(order_id: Text) -> ShipmentView:
        return _view(await _shipment(engine, order_id))

    @router.get("/orders/{order_id}/tracking", responses=_NOT_FOUND)
    async def get_tracking(order_id: Text) -> TrackingView:
        """Where the order's parcel is: each step the carrier reported (booked, in
        transit, out for delivery, delivered; or a delivery exception, then returned to
        the sender), and the estimated delivery."""
        return _tracking(await _shipment(engine, order_id))

    return router
