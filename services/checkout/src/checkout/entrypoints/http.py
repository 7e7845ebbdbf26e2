"""Orders and the local catalog copy over HTTP.

Errors answer ``{"detail": [{"field": ..., "reason": ...}, ...]}``: 400 for a missing or
malformed Idempotency-Key, 422 for a body that is malformed or breaks a rule (every
reason at once), 409 for a key reused with a different request, 503 with Retry-After
when the system is past its capacity (admission.py) or the store is unavailable.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from checkout.adapters.repository import CatalogRepository, OrderRepository
from checkout.domain.idempotency import HEADER, KEY_REUSED, check_idempotency_key
from checkout.domain.model import CatalogItem, Order, OrderDraft, Problem
from checkout.domain.placing import KeyReused, Rejected
from checkout.domain.reorder import (
    PriceChange,
    Unavailable,
    missing_lines,
    price_changes,
    reorder_lines,
)
from checkout.domain.rules import nul_problems
from checkout.entrypoints.admission import Admission
from checkout.entrypoints.order_desk import OrderDesk
from checkout.entrypoints.requests import OrderIn, parse_order, parse_reorder
from orderflow_contracts.catalog import PickupPointData
from orderflow_messaging.clock import Clock, IdFactory
from orderflow_messaging.faults import is_infrastructure
from orderflow_service.http import NO_NUL


class OrderAccepted(BaseModel):
    order_id: str
    status: str
    total_minor: int
    currency: str


class PriceChangeView(BaseModel):
    sku: str
    was_minor: int
    now_minor: int


class UnavailableView(BaseModel):
    sku: str
    quantity: int
    reason: str


class ReorderAccepted(OrderAccepted):
    """The new order, and what differs from the one it repeats."""

    reordered_from: str
    price_changes: list[PriceChangeView]
    unavailable: list[UnavailableView]  # the past order's lines left out, and why


class OrderLineView(BaseModel):
    sku: str
    quantity: int
    unit_price_minor: int
    price_source: str  # contract:<list> | group:<list> | default:<list> | base
    price_rule: str | None = None
    discount_minor: int = 0  # taken off quantity x unit price by ``promotions``
    promotions: list[str] = []


class DiscountView(BaseModel):
    promotion_id: str
    code: str | None  # None: a cart rule
    amount_minor: int
    limited: bool  # its uses are counted (redeemed as the saga's first step)


class DeliveryView(BaseModel):
    """The delivery chosen and its price (part of ``total_minor``)."""

    method_id: str
    kind: str  # home | pickup
    carrier: str
    price_minor: int
    zone: str
    weight_g: int
    free: bool  # the basket reached the method's free-shipping threshold
    pickup_point: PickupPointData | None = None


class OrderView(OrderAccepted):
    customer_id: str
    lines: list[OrderLineView]
    discounts: list[DiscountView] = []
    delivery: DeliveryView | None = None  # null: no delivery chosen
    created_at: datetime


class PriceDataView(BaseModel):
    """One piece of checkout's copy of the price data and the revision it holds."""

    kind: str  # list | rule | customer | promotion | delivery
    id: str
    revision: int
    active: bool


class CatalogItemView(BaseModel):
    sku: str
    name: str
    price_minor: int
    currency: str
    active: bool


STORE_UNAVAILABLE = Problem(
    "", "the order store is unavailable for the moment; retry with the same Idempotency-Key"
)


def _refused(status: int, problems: list[Problem]) -> JSONResponse:
    detail = [{"field": p.field, "reason": p.reason} for p in problems]
    return JSONResponse({"detail": detail}, status_code=status)


def _accepted(order: Order) -> JSONResponse:
    body = OrderAccepted(
        order_id=order.order_id,
        status=order.status.value,
        total_minor=order.total_minor,
        currency=order.currency,
    )
    return JSONResponse(body.model_dump(), status_code=202)


def _reordered(
    previous: Order, placed: Order, unavailable: tuple[Unavailable, ...]
) -> JSONResponse:
    changes: tuple[PriceChange, ...] = price_changes(previous, placed)
    body = ReorderAccepted(
        order_id=placed.order_id, status=placed.status.value, total_minor=placed.total_minor,
        currency=placed.currency, reordered_from=previous.order_id,
        price_changes=[PriceChangeView(**dataclasses.asdict(c)) for c in changes],
        unavailable=[UnavailableView(**dataclasses.asdict(u)) for u in unavailable],
    )  # fmt: skip
    return JSONResponse(body.model_dump(), status_code=202)


def _order_view(order: Order) -> OrderView:
    return OrderView(
        order_id=order.order_id,
        status=order.status.value,
        total_minor=order.total_minor,
        currency=order.currency,
        customer_id=order.customer_id,
        lines=[
            OrderLineView(
                sku=line.sku,
                quantity=line.quantity,
                unit_price_minor=line.unit_price_minor,
                price_source=line.price_source,
                price_rule=line.price_rule,
                discount_minor=line.discount_minor,
                promotions=[pid for pid, _ in line.discounts],
            )
            for line in order.lines
        ],
        discounts=[DiscountView(**dataclasses.asdict(d)) for d in order.discounts],
        delivery=DeliveryView(**dataclasses.asdict(order.delivery)) if order.delivery else None,
        created_at=order.created_at,
    )


def _item_view(item: CatalogItem) -> CatalogItemView:
    return CatalogItemView(
        sku=item.sku,
        name=item.name,
        price_minor=item.price_minor,
        currency=item.currency,
        active=item.active,
    )


async def _find_order(engine: AsyncEngine, order_id: str) -> Order | None:
    try:
        parsed = uuid.UUID(order_id)
    except ValueError:
        return None  # not an id checkout could have given out
    async with engine.connect() as conn:
        return await OrderRepository(conn).get(parsed)


def _documented_body() -> dict[str, Any]:
    """``OrderIn``'s JSON Schema for the OpenAPI, self-contained (its ``$defs`` inlined) and
    with every string marked NUL-free. The route reads the body itself, so FastAPI cannot
    document it; the business rules (SKUs, limits, token format) are answered as 422s."""
    schema = OrderIn.model_json_schema()
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, list):
            return [inline(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return inline(definitions[node["$ref"].rsplit("/", 1)[-1]])
        inlined = {key: inline(value) for key, value in node.items()}
        if inlined.get("type") == "string":
            inlined["pattern"] = NO_NUL
        return inlined

    body: dict[str, Any] = inline(schema)
    return {"required": True, "content": {"application/json": {"schema": body}}}


_PLACE_RESPONSES: dict[int | str, dict[str, object]] = {
    202: {"model": OrderAccepted, "description": "placed now, or earlier with this key"},
    400: {"description": "Idempotency-Key missing or malformed"},
    409: {"description": KEY_REUSED},
    422: {"description": "the body is malformed or breaks a rule; every reason listed"},
    503: {
        "description": "overloaded (admission control) or the order store is unavailable: "
        "nothing was stored; retry after Retry-After seconds with the same key"
    },
}


_REORDER_RESPONSES: dict[int | str, dict[str, object]] = {
    **_PLACE_RESPONSES,
    202: {"model": ReorderAccepted, "description": "the new order (now, or earlier by this key)"},
    404: {"description": "unknown order"},
}


def _overloaded(reason: str, retry_after_s: int) -> JSONResponse:
    response = _refused(503, [Problem("", f"{reason}; retry after {retry_after_s} s")])
    response.headers["Retry-After"] = str(retry_after_s)
    return response


def build_router(
    engine: AsyncEngine,
    clock: Clock,
    new_id: IdFactory,
    order_placed_version: int = 4,
    admission: Admission | None = None,
) -> APIRouter:
    router = APIRouter(tags=["checkout"])
    desk = OrderDesk(engine, clock, new_id, event_version=order_placed_version)

    async def placed_or_refused(key: str, draft: OrderDraft) -> Order | JSONResponse:
        """The order ``key`` placed (now or before), or the refusal to answer with: 422
        for a rule broken, 409 for a key reused, 503 when overloaded or the store is
        down."""
        if admission is not None and (reason := admission.refusal()):
            return _overloaded(reason, admission.bounds.retry_after_s)
        try:
            with admission.placing() if admission else contextlib.nullcontext():
                outcome = await desk.place(key, draft)
        except Exception as exc:
            if not is_infrastructure(exc):
                raise
            # Nothing is lost: the request either committed or did not, and a retry
            # with the same key answers with the order either way.
            response = _refused(503, [STORE_UNAVAILABLE])
            response.headers["Retry-After"] = "1"
            return response
        if isinstance(outcome, Rejected):
            return _refused(422, outcome.problems)
        if isinstance(outcome, KeyReused):
            return _refused(409, [Problem(HEADER, KEY_REUSED)])
        return outcome.order

    @router.post(
        "/orders",
        status_code=202,
        responses=_PLACE_RESPONSES,
        openapi_extra={"requestBody": _documented_body()},
    )
    async def place_order(
        request: Request,
        idempotency_key: Annotated[str | None, Header(alias=HEADER)] = None,
    ) -> JSONResponse:
        """Place an order once per Idempotency-Key; a retry gets the same answer.

        The body (``OrderIn``: customer_id, lines [{sku, quantity}], shipping_address,
        payment_token, currency) is read raw so that its problems are answered in this
        service's error shape rather than FastAPI's.
        """
        key = check_idempotency_key(idempotency_key)
        if isinstance(key, Problem):
            return _refused(400, [key])
        draft = parse_order(await request.body())
        if isinstance(draft, list):
            return _refused(422, draft)
        if problems := nul_problems(draft):
            return _refused(422, problems)
        placed = await placed_or_refused(key, draft)
        if isinstance(placed, JSONResponse):
            return placed
        return _accepted(placed)

    @router.post("/orders/{order_id}/reorder", status_code=202, responses=_REORDER_RESPONSES)
    async def reorder(
        order_id: str,
        request: Request,
        idempotency_key: Annotated[str | None, Header(alias=HEADER)] = None,
    ) -> JSONResponse:
        """Order a past order's lines again, at today's prices, as a new order through
        the same saga. The body gives the address and payment token for this order
        (``shipping_address``, ``payment_token``, optional ``delivery`` and ``coupons``);
        lines no longer sold or not in stock are left out and listed in ``unavailable``,
        lines whose price changed in ``price_changes``. A retry with the same key gets
        the same order."""
        key = check_idempotency_key(idempotency_key)
        if isinstance(key, Problem):
            return _refused(400, [key])
        previous = await _find_order(engine, order_id)
        if previous is None:
            raise HTTPException(404, f"unknown order {order_id!r}")
        body = parse_reorder(await request.body())
        if isinstance(body, list):
            return _refused(422, body)
        async with engine.connect() as conn:
            again = await OrderRepository(conn).by_idempotency_key(key)
            catalog = await CatalogRepository(conn).items(line.sku for line in previous.lines)
            needed = {sku for item in catalog.values() for sku, _ in item.components}
            levels = await CatalogRepository(conn).stock_levels(needed | set(catalog))
        if again is not None:  # answered again from the order the key placed
            return _reordered(previous, again, missing_lines(previous, again))
        lines, unavailable = reorder_lines(previous, catalog, levels)
        if not lines:
            reason = f"no line of order {order_id} can be ordered now"
            return _refused(422, [Problem("lines", reason)] + [
                Problem(f"lines[{n}]", f"{u.sku}: {u.reason}") for n, u in enumerate(unavailable)
            ])  # fmt: skip
        draft = body.to_draft(previous, lines)
        if problems := nul_problems(draft):
            return _refused(422, problems)
        placed = await placed_or_refused(key, draft)
        if isinstance(placed, JSONResponse):
            return placed
        return _reordered(previous, placed, unavailable)

    @router.get("/orders/{order_id}", responses={404: {"description": "unknown order"}})
    async def get_order(order_id: str) -> OrderView:
        order = await _find_order(engine, order_id)
        if order is None:
            raise HTTPException(404, f"unknown order {order_id!r}")
        return _order_view(order)

    @router.get("/catalog")
    async def list_catalog() -> list[CatalogItemView]:
        """Checkout's copy of the catalog, as fed by catalog.events."""
        async with engine.connect() as conn:
            return [_item_view(item) for item in await CatalogRepository(conn).all()]

    @router.get("/catalog/price-data")
    async def list_price_data() -> list[PriceDataView]:
        """Checkout's copy of the catalog's price lists, rules and customers' price
        groups (what orders are priced by), with the revision of each."""
        async with engine.connect() as conn:
            rows = await CatalogRepository(conn).price_data()
        return [PriceDataView(kind=k, id=i, revision=r, active=a) for k, i, r, a in rows]

    return router
