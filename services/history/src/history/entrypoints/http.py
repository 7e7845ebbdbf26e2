"""The order history over HTTP: one order, or a customer's orders (newest first)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from history.adapters.repository import OrderHistoryRepository
from history.domain.projection import OrderHistory
from orderflow_service.http import Text


class LineView(BaseModel):
    sku: str
    quantity: int
    unit_price_minor: int
    currency: str
    price_source: str  # contract:<list> | group:<list> | default:<list> | base
    price_rule: str | None
    discount_minor: int = 0  # taken off quantity x unit price by ``promotions``
    promotions: list[str] = []


class DeliveryView(BaseModel):
    """The delivery chosen and its price (part of ``total_minor``)."""

    method_id: str
    kind: str  # home | pickup
    carrier: str
    price_minor: int
    pickup_point: str | None = None


class OrderHistoryView(BaseModel):
    order_id: str
    customer_id: str | None
    placed_at: datetime | None
    total_minor: int | None
    currency: str | None
    lines: list[LineView] | None
    delivery: DeliveryView | None = None  # null: none chosen (or placed before v4)
    status: str
    reason: str | None
    status_at: datetime | None
    fulfilment: str
    updated_at: datetime
    events_applied: int


def _view(history: OrderHistory) -> OrderHistoryView:
    lines = None
    if history.lines is not None:
        lines = [
            LineView(
                sku=line.sku,
                quantity=line.quantity,
                unit_price_minor=line.unit_price_minor,
                currency=line.currency,
                price_source=line.price_source,
                price_rule=line.price_rule,
                discount_minor=line.discount_minor,
                promotions=list(line.promotions),
            )
            for line in history.lines
        ]
    return OrderHistoryView(
        order_id=history.order_id,
        customer_id=history.customer_id,
        placed_at=history.placed_at,
        total_minor=history.total_minor,
        currency=history.currency,
        lines=lines,
        delivery=DeliveryView(**dataclasses.asdict(history.delivery)) if history.delivery else None,
        status=history.status.value,
        reason=history.reason,
        status_at=history.status_at,
        fulfilment=history.fulfilment.value,
        updated_at=history.updated_at,
        events_applied=history.events_applied,
    )


def build_router(engine: AsyncEngine) -> APIRouter:
    router = APIRouter(prefix="/history", tags=["history"])

    @router.get("/orders/{order_id}", responses={404: {"description": "no history for the order"}})
    async def get_order(order_id: Text) -> OrderHistoryView:
        async with engine.connect() as conn:
            history = await OrderHistoryRepository(conn).get(order_id)
        if history is None:
            raise HTTPException(404, f"no history for order {order_id!r}")
        return _view(history)

    @router.get("/customers/{customer_id}/orders")
    async def customer_orders(
        customer_id: Text, limit: int = Query(default=50, ge=1, le=500)
    ) -> list[OrderHistoryView]:
        async with engine.connect() as conn:
            found = await OrderHistoryRepository(conn).of_customer(customer_id, limit)
        return [_view(history) for history in found]

    return router
