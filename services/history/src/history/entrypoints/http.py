"""The order history over HTTP: one order, or a customer's orders (newest first)."""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from history.adapters.repository import CustomerOrders, OrderHistoryRepository
from history.domain.projection import OrderHistory, Status
from orderflow_service.http import Text, UtcMoment, invalid


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


def _cursor(placed_at: datetime, order_id: str) -> str:
    """Where a page ended, opaque to clients: the last row's sort key."""
    raw = json.dumps([placed_at.isoformat(), order_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _after(cursor: str | None) -> tuple[datetime, str] | None:
    """A cursor's sort key; 422 when it is not one this service gave."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, order_id = json.loads(raw)
        placed_at = datetime.fromisoformat(at)
        if placed_at.tzinfo is None or not isinstance(order_id, str):
            raise ValueError(cursor)
    except (ValueError, TypeError) as exc:
        raise invalid(("query", "cursor"), "not a cursor of this list") from exc
    return placed_at, order_id


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
        request: Request,
        response: Response,
        customer_id: Text,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        status: Annotated[list[Status] | None, Query()] = None,
        placed_from: Annotated[UtcMoment | None, Query()] = None,
        placed_to: Annotated[UtcMoment | None, Query()] = None,
        cursor: Annotated[str | None, Query(max_length=500)] = None,
    ) -> list[OrderHistoryView]:
        """The customer's orders, newest first, in pages of ``limit``: only those in one
        of the ``status`` values (repeat it) when given, placed in [``placed_from``,
        ``placed_to``). When there are more, the ``Link`` header names the next page
        (``rel="next"``, the same query with a ``cursor``); paging by cursor never
        repeats or skips an order as new ones are placed."""
        if placed_from is not None and placed_to is not None and placed_to < placed_from:
            raise invalid(("query", "placed_to"), "before placed_from")
        where = CustomerOrders(frozenset(status or ()), placed_from, placed_to, _after(cursor))
        async with engine.connect() as conn:
            found = await OrderHistoryRepository(conn).of_customer(customer_id, limit + 1, where)
        page = found[:limit]
        if len(found) > limit:
            last = page[-1]
            assert last.placed_at is not None  # a customer's rows come from OrderPlaced
            following = _cursor(last.placed_at, last.order_id)
            next_page = request.url.include_query_params(cursor=following)
            response.headers["Link"] = f'<{next_page}>; rel="next"'
        return [_view(history) for history in page]

    return router
