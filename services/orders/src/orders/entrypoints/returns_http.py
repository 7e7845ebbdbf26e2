"""Returns over HTTP: a customer's request (``POST /orders/{id}/returns``, with an
Idempotency-Key) and cancel, the warehouse's receipt of the parcel, and the reads.

Answers: 201 with the return, approved or rejected by the policy with its reasons (a
retry under the same key: 200 and the same return); 422 for a request no policy could
accept (every field and reason: a SKU not on the order, more units than are left to
return, a receipt that does not match the return; a missing key); 404 for an unknown
order or return; 409 for a key reused for another request, or a step the return is past.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Header, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from orderflow_contracts.common import Sku
from orderflow_messaging.clock import Clock, IdFactory, new_message_id
from orderflow_messaging.db import Connection, hot_pool
from orderflow_messaging.outbox import BatchOutbox
from orderflow_service.http import NO_NUL, Text, invalid
from orders.adapters.return_store import PgReturnStore
from orders.application import returns_service
from orders.application.returns_service import KeyReused, ReturnRequest
from orders.returns.policy import InvalidRequest, Problem, ReturnPolicy
from orders.returns.state import ReceivedLine, ReturnCase
from orders.returns.transitions import ReturnRefused

HEADER = "Idempotency-Key"
T = TypeVar("T")


class ReturnLineIn(BaseModel):
    sku: Sku
    quantity: int = Field(gt=0, le=10_000)


class ReturnIn(BaseModel):
    lines: list[ReturnLineIn] = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=200, pattern=NO_NUL)


class ReceivedLineIn(BaseModel):
    sku: Sku
    quantity: int = Field(gt=0, le=10_000)
    condition: Literal["sellable", "damaged"]


class ReceiptIn(BaseModel):
    lines: list[ReceivedLineIn] = Field(min_length=1, max_length=100)


class CancelIn(BaseModel):
    reason: str = Field(
        default="cancelled by customer", min_length=1, max_length=200, pattern=NO_NUL
    )


class ReturnLineOut(BaseModel):
    sku: str
    quantity: int
    unit_price_minor: int
    refund_minor: int  # what these units refund, if they all come back


class ReceivedOut(BaseModel):
    sku: str
    quantity: int
    condition: str


class StepOut(BaseModel):
    at: datetime
    kind: str
    message_type: str | None
    from_status: str | None
    to_status: str
    commands: list[str]
    note: str


class ReturnOut(BaseModel):
    return_id: str
    order_id: str
    status: str
    reason: str
    outcome: str | None = Field(description="why it was rejected, cancelled or failed")
    lines: list[ReturnLineOut]
    received: list[ReceivedOut]
    refund_minor: int
    currency: str
    tracking_number: str | None
    requested_at: datetime
    deadline: datetime | None
    history: list[StepOut] = Field(default_factory=list)


def view(case: ReturnCase, history: list[StepOut] | None = None) -> ReturnOut:
    return ReturnOut(
        return_id=case.return_id, order_id=case.order_id, status=case.status.value,
        reason=case.reason, outcome=case.outcome,
        lines=[
            ReturnLineOut(sku=ln.sku, quantity=ln.quantity, unit_price_minor=ln.unit_price_minor,
                          refund_minor=ln.refund_minor(ln.quantity))
            for ln in case.lines
        ],
        received=[ReceivedOut(sku=r.sku, quantity=r.quantity, condition=r.condition)
                  for r in case.received],
        refund_minor=case.refund_minor, currency=case.currency,
        tracking_number=case.tracking_number, requested_at=case.requested_at,
        deadline=case.deadline, history=history or [],
    )  # fmt: skip


def _unprocessable(problems: list[Problem]) -> HTTPException:
    detail = [{"loc": ["body", *p.field.split(".")], "msg": p.reason} for p in problems]
    return HTTPException(422, detail)


def build_returns_router(
    engine: AsyncEngine,
    clock: Clock,
    policy: ReturnPolicy,
    producer: str,
    new_id: IdFactory = new_message_id,
) -> APIRouter:
    router = APIRouter(tags=["returns"])
    pool = hot_pool(engine)

    async def in_transaction(work: Callable[[Connection, BatchOutbox], Awaitable[T]]) -> T:
        outbox = BatchOutbox(producer=producer, clock=clock, new_id=new_id)
        async with (await pool.pool()).acquire() as conn, conn.transaction():
            result = await work(conn, outbox)
            await outbox.flush(conn)
        return result

    @router.post(
        "/orders/{order_id}/returns",
        status_code=201,
        response_model=ReturnOut,
        responses={
            200: {"description": "a retry: the return its Idempotency-Key made"},
            409: {"description": "the Idempotency-Key was used for another request"},
            404: {"description": "unknown order"},
            422: {"description": "a SKU not on the order, more than is left to return"},
        },
    )
    async def request_return(
        order_id: Text,
        body: ReturnIn,
        idempotency_key: Annotated[str | None, Header(alias=HEADER)] = None,
    ) -> JSONResponse:
        """Ask to return units of a delivered order; the policy answers at once
        (docs/returns.md): ``approved`` (a label follows) or ``rejected`` (``outcome``
        says why)."""
        if idempotency_key is None or not 1 <= len(idempotency_key) <= 128:
            raise invalid(("header", HEADER), f"the {HEADER} header is required (1-128 chars)")
        units: dict[str, int] = {}
        for line in body.lines:
            units[line.sku] = units.get(line.sku, 0) + line.quantity
        request = ReturnRequest(units, body.reason)
        try:
            done = await in_transaction(
                lambda conn, outbox: returns_service.request_return(
                    conn, outbox, order_id, idempotency_key, request, clock(), policy
                )
            )
        except LookupError:
            raise HTTPException(404, f"unknown order {order_id!r}") from None
        except InvalidRequest as exc:
            raise _unprocessable(exc.problems) from None
        except KeyReused:
            raise HTTPException(409, f"{HEADER} reused with a different request") from None
        status = 201 if done.new else 200
        return JSONResponse(view(done.case).model_dump(mode="json"), status_code=status)

    @router.get("/orders/{order_id}/returns")
    async def returns_of_order(order_id: Text) -> list[ReturnOut]:
        async with (await pool.pool()).acquire() as conn:
            return [view(case) for case in await PgReturnStore(conn).of_order(order_id)]

    @router.get("/returns/{return_id}", responses={404: {"description": "unknown return"}})
    async def get_return(return_id: Text) -> ReturnOut:
        """The return with its history (every transition, its commands, why)."""
        async with (await pool.pool()).acquire() as conn:
            store = PgReturnStore(conn)
            case = await store.get(return_id)
            if case is None:
                raise HTTPException(404, f"unknown return {return_id!r}")
            steps = [
                StepOut(
                    at=row.at,
                    kind=row.kind,
                    message_type=row.message_type,
                    from_status=row.from_status,
                    to_status=row.to_status,
                    commands=row.commands,
                    note=row.note,
                )
                for row in await store.history(return_id)
            ]
            return view(case, steps)

    @router.post(
        "/returns/{return_id}/receipt",
        status_code=202,
        responses={
            404: {"description": "unknown return"},
            409: {"description": "no parcel is expected for the return"},
            422: {"description": "the receipt does not match the return"},
        },
    )
    async def receive(return_id: Text, body: ReceiptIn) -> ReturnOut:
        """The warehouse received the return's parcel: what was in it, in which
        condition (``sellable``: restocked; ``damaged``: written off). The units received
        are refunded as the order charged them."""
        received = [ReceivedLine(ln.sku, ln.quantity, ln.condition) for ln in body.lines]
        return await _change(
            return_id,
            lambda conn, outbox: returns_service.receive_return(
                conn, outbox, return_id, received, clock(), policy
            ),
        )

    @router.post(
        "/returns/{return_id}/cancel",
        status_code=202,
        responses={
            404: {"description": "unknown return"},
            409: {"description": "the parcel arrived: too late to cancel"},
        },
    )
    async def cancel(return_id: Text, body: CancelIn | None = None) -> ReturnOut:
        reason = (body or CancelIn()).reason
        return await _change(
            return_id,
            lambda conn, outbox: returns_service.cancel_return(
                conn, outbox, return_id, reason, clock(), policy
            ),
        )

    async def _change(
        return_id: str, work: Callable[[Connection, BatchOutbox], Awaitable[ReturnCase]]
    ) -> ReturnOut:
        try:
            return view(await in_transaction(work))
        except LookupError:
            raise HTTPException(404, f"unknown return {return_id!r}") from None
        except ReturnRefused as refused:
            if refused.problems:
                raise _unprocessable(refused.problems) from None
            raise HTTPException(409, str(refused)) from None

    return router
