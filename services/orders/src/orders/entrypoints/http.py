"""Order status, timeline and customer cancel over HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from orderflow_messaging.clock import Clock
from orderflow_messaging.outbox import Outbox
from orderflow_service.http import NO_NUL, Text
from orders.adapters.repository import SagaRepository
from orders.application import saga_service
from orders.application.unit_of_work import OrdersUnitOfWork
from orders.saga.policy import SagaPolicy
from orders.saga.state import Saga
from orders.saga.transitions import CancelRefused


class TimelineEntry(BaseModel):
    at: datetime
    kind: str
    message_type: str | None
    from_status: str | None
    to_status: str
    step: str | None
    commands: list[str]
    note: str


class OrderView(BaseModel):
    order_id: str
    status: str
    step: str | None
    reason: str | None
    customer_id: str
    total_minor: int
    currency: str
    lines: list[dict[str, Any]]
    fulfilment: dict[str, bool]
    deadline: datetime | None
    created_at: datetime
    updated_at: datetime
    timeline: list[TimelineEntry] = Field(default_factory=list)


class CancelRequest(BaseModel):
    reason: str = Field(
        default="cancelled by customer", min_length=1, max_length=200, pattern=NO_NUL
    )


def _view(saga: Saga, times: Any, history: list[Any]) -> OrderView:
    facts = saga.facts
    return OrderView(
        order_id=saga.order_id,
        status=saga.status.value,
        step=saga.step.value if saga.step else None,
        reason=saga.reason,
        customer_id=saga.order.customer_id,
        total_minor=saga.order.total_minor,
        currency=saga.order.currency,
        lines=[
            {"sku": ln.sku, "quantity": ln.quantity, "unit_price_minor": ln.unit_price_minor}
            for ln in saga.order.lines
        ],
        fulfilment={
            "shipment_created": facts.shipment_created,
            "dispatched": facts.shipment_dispatched,
            "delivered": facts.shipment_delivered,
        },
        deadline=saga.deadline,
        created_at=times.created_at,
        updated_at=times.updated_at,
        timeline=[
            TimelineEntry(
                at=h.at,
                kind=h.kind,
                message_type=h.message_type,
                from_status=h.from_status,
                to_status=h.to_status,
                step=h.step,
                commands=list(h.commands),
                note=h.note,
            )
            for h in history
        ],
    )


def build_router(engine: AsyncEngine, clock: Clock, policy: SagaPolicy, producer: str) -> APIRouter:
    router = APIRouter(prefix="/orders", tags=["orders"])

    @router.get("")
    async def list_orders(
        status: Text | None = None, limit: int = Query(default=50, ge=1, le=500)
    ) -> list[dict[str, Any]]:
        async with engine.connect() as conn:
            rows = await SagaRepository(conn).listing(status, limit)
        return [
            {
                "order_id": r.order_id,
                "status": r.status,
                "step": r.step,
                "reason": r.reason,
                "updated_at": r.updated_at,
            }
            for r in rows
        ]

    @router.get("/{order_id}", responses={404: {"description": "unknown order"}})
    async def get_order(order_id: Text) -> OrderView:
        async with engine.connect() as conn:
            repo = SagaRepository(conn)
            saga = await repo.get(order_id)
            if saga is None:
                raise HTTPException(404, f"unknown order {order_id!r}")
            return _view(saga, await repo.created_at(order_id), await repo.history(order_id))

    @router.post(
        "/{order_id}/cancel",
        status_code=202,
        responses={
            404: {"description": "unknown order"},
            409: {"description": "the order can no longer be cancelled (detail says why)"},
        },
    )
    async def cancel(order_id: Text, body: CancelRequest | None = None) -> JSONResponse:
        reason = (body or CancelRequest()).reason
        try:
            async with engine.begin() as conn:
                outbox = Outbox(conn, producer=producer, clock=clock)
                uow = OrdersUnitOfWork(conn, outbox, clock, policy)
                saga = await saga_service.cancel_order(uow, order_id, reason)
        except LookupError:
            raise HTTPException(404, f"unknown order {order_id!r}") from None
        except CancelRefused as refused:
            raise HTTPException(409, str(refused)) from None
        return JSONResponse(
            {"order_id": order_id, "status": saga.status.value, "reason": saga.reason},
            status_code=202,
        )

    return router
