"""Shared pieces for the payment integration tests (real PostgreSQL, migrated schema)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from orderflow_messaging.db import dispose
from orderflow_contracts.payment import (
    AuthorizePayment,
    CapturePayment,
    RefundPayment,
    VoidPayment,
)
from orderflow_messaging.clock import FixedClock
from orderflow_messaging.db import create_engine
from orderflow_messaging.outbox import Outbox
from orderflow_testing.plugin import MigratedSchema, SchemaDatabase
from payment.adapters.gateway import SimulatedGateway
from payment.adapters.ledger import LedgerEntry
from payment.adapters.repository import PaymentRepository
from payment.application import handlers
from payment.application.unit_of_work import PaymentUnitOfWork
from payment.bootstrap import MIGRATIONS
from payment.domain.model import Payment

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
SLOW_DELAY = timedelta(seconds=10)

UseCase = Callable[[PaymentUnitOfWork, Any], Awaitable[None]]


def authorize(
    order_id: str, token: str = "tok_ok", key: str = "", amount: int = 1000
) -> AuthorizePayment:
    return AuthorizePayment(
        order_id=order_id,
        amount_minor=amount,
        currency="EUR",
        payment_token=token,
        idempotency_key=key or f"idem:{order_id}:authorize",
    )


def capture(order_id: str, key: str = "", amount: int = 1000) -> CapturePayment:
    return CapturePayment(
        order_id=order_id,
        amount_minor=amount,
        currency="EUR",
        idempotency_key=key or f"idem:{order_id}:capture",
    )


def void(order_id: str, key: str = "") -> VoidPayment:
    return VoidPayment(order_id=order_id, idempotency_key=key or f"idem:{order_id}:void")


def refund(order_id: str, key: str = "", amount: int = 1000) -> RefundPayment:
    return RefundPayment(
        order_id=order_id,
        amount_minor=amount,
        currency="EUR",
        idempotency_key=key or f"idem:{order_id}:refund",
    )


USE_CASES: dict[type[Any], UseCase] = {
    AuthorizePayment: handlers.authorize_payment,
    CapturePayment: handlers.capture_payment,
    VoidPayment: handlers.void_payment,
    RefundPayment: handlers.refund_payment,
}


def key_of(order_id: str, operation: str) -> str:
    """The key the command builders above use by default (keys are at least 8 long)."""
    return f"idem:{order_id}:{operation}"


class Crash(Exception):
    """Stands for the process dying before the handler's transaction commits."""


@dataclass
class Harness:
    db: SchemaDatabase
    clock: FixedClock
    gateway: SimulatedGateway

    def uow(self, conn: AsyncConnection) -> PaymentUnitOfWork:
        outbox = Outbox(conn, producer="payment", clock=self.clock)
        return PaymentUnitOfWork(conn, outbox, self.clock, self.gateway, self.db.engine)

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[PaymentUnitOfWork]:
        async with self.db.engine.begin() as conn:
            yield self.uow(conn)

    async def send(self, *commands: Any, crash: bool = False) -> None:
        """Handle each command in a transaction of its own (rolled back when ``crash``)."""
        for command in commands:
            async with self.unit_of_work() as uow:
                await USE_CASES[type(command)](uow, command)
                if crash:
                    raise Crash

    async def tick(self) -> int:
        return await handlers.complete_pending_authorizations(self.unit_of_work)

    async def replies(self, order_id: str) -> list[tuple[str, dict[str, Any]]]:
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT message_type, value FROM outbox WHERE correlation_id = :o ORDER BY id"
                ),
                {"o": order_id},
            )
            return [(row.message_type, json.loads(row.value)["payload"]) for row in rows]

    async def reply_types(self, order_id: str) -> list[str]:
        return [message_type for message_type, _ in await self.replies(order_id)]

    async def ledger(self, order_id: str) -> list[LedgerEntry]:
        return await self.gateway.ledger(order_id)

    async def ledger_rows(self, order_id: str) -> list[tuple[str, str, int, str]]:
        """(key, kind, amount, result) per ledger row of the order."""
        return [
            (e.key, e.kind.value, e.amount_minor, e.result) for e in await self.ledger(order_id)
        ]

    async def payment(self, order_id: str) -> Payment | None:
        async with self.db.engine.connect() as conn:
            return await PaymentRepository(conn).get(order_id)

    async def key_state(self, key: str) -> str | None:
        async with self.db.engine.connect() as conn:
            state = await conn.scalar(
                text("SELECT state FROM idempotency_keys WHERE key = :k"), {"k": key}
            )
            return None if state is None else str(state)


@pytest.fixture
async def harness(migrated_schema: MigratedSchema) -> AsyncIterator[Harness]:
    db = await migrated_schema(MIGRATIONS)
    # The gateway is an external system: its own pool, never the handler's connection.
    gateway_engine = create_engine(db.url, search_path=db.schema, pool_size=2)
    clock = FixedClock(NOW)
    gateway = SimulatedGateway(gateway_engine, clock=clock, slow_delay=SLOW_DELAY)
    try:
        yield Harness(db, clock, gateway)
    finally:
        await dispose(gateway_engine)
