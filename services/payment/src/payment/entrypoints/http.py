"""Payments and the gateway's ledger over HTTP, read only."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from orderflow_service.http import Text
from payment.adapters.gateway import SimulatedGateway
from payment.adapters.ledger import LedgerEntry
from payment.adapters.repository import PaymentRepository
from payment.domain.model import Payment


class PaymentView(BaseModel):
    """No token: it is not needed to follow a payment, and the less it travels the better."""

    order_id: str
    status: str
    amount_minor: int
    currency: str | None
    authorization_id: str | None
    captured_minor: int
    refunded_minor: int
    reason: str | None


class LedgerEntryView(BaseModel):
    key: str
    order_id: str
    kind: str
    amount_minor: int
    currency: str | None
    result: str
    authorization_id: str | None
    created_at: datetime


def _payment_view(payment: Payment) -> PaymentView:
    return PaymentView(
        order_id=payment.order_id,
        status=payment.status.value,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        authorization_id=payment.authorization_id,
        captured_minor=payment.captured_minor,
        refunded_minor=payment.refunded_minor,
        reason=payment.reason,
    )


def _ledger_view(entry: LedgerEntry) -> LedgerEntryView:
    return LedgerEntryView(
        key=entry.key,
        order_id=entry.order_id,
        kind=entry.kind.value,
        amount_minor=entry.amount_minor,
        currency=entry.currency,
        result=entry.result,
        authorization_id=entry.authorization_id,
        created_at=entry.created_at,
    )


def build_router(engine: AsyncEngine, gateway: SimulatedGateway) -> APIRouter:
    router = APIRouter(tags=["payment"])

    @router.get(
        "/payments/{order_id}", responses={404: {"description": "no payment for the order"}}
    )
    async def get_payment(order_id: Text) -> PaymentView:
        async with engine.connect() as conn:
            payment = await PaymentRepository(conn).get(order_id)
        if payment is None:
            raise HTTPException(404, f"no payment for order {order_id!r}")
        return _payment_view(payment)

    @router.get("/ledger")
    async def get_ledger(
        order_id: Text | None = None, limit: int = Query(default=200, ge=1, le=1000)
    ) -> list[LedgerEntryView]:
        """The gateway's ledger (one order's, or the newest entries): two approved
        captures of one authorization would be a double charge."""
        return [_ledger_view(entry) for entry in await gateway.ledger(order_id, limit)]

    return router
