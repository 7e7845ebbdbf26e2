"""Shared pieces for the payment integration tests (real PostgreSQL, migrated schema)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from orderflow_contracts import topics
from orderflow_contracts.payment import (
    AuthorizePayment,
    CapturePayment,
    RefundPayment,
    VoidPayment,
)
from orderflow_messaging.clock import FixedClock
from orderflow_messaging.consumer import Batch, Incoming
from orderflow_messaging.db import create_engine, dispose, hot_pool
from orderflow_messaging.envelope import Envelope
from orderflow_messaging.outbox import Outbox
from orderflow_messaging.registry import Message
from orderflow_testing.batches import DeliveredRecord, delivered, run_batch
from orderflow_testing.plugin import MigratedSchema, SchemaDatabase
from payment.adapters.batch_store import PgPaymentStore
from payment.adapters.gateway import SimulatedGateway
from payment.adapters.ledger import LedgerEntry
from payment.adapters.repository import PaymentRepository
from payment.application import handlers
from payment.application.batch import handle_commands
from payment.application.book import Command
from payment.application.ports import CardGateway
from payment.application.unit_of_work import PaymentUnitOfWork
from payment.bootstrap import MIGRATIONS
from payment.domain.model import Payment

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
SLOW_DELAY = timedelta(seconds=10)
GATEWAY_CONCURRENCY = 4


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
    # "alone": ``send`` runs each command as a batch of one; "batch": all in one batch.
    mode: str = "alone"

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[PaymentUnitOfWork]:
        async with self.db.engine.begin() as conn:
            outbox = Outbox(conn, producer="payment", clock=self.clock)
            yield PaymentUnitOfWork(conn, outbox, self.clock, self.gateway)

    async def send(self, *commands: Any, crash: bool = False) -> None:
        """Handle ``commands`` as the consumer does (rolled back when ``crash``)."""
        groups = [list(commands)] if self.mode == "batch" else [[c] for c in commands]
        for group in groups:
            await self.batch(*group, crash=crash)

    async def batch(
        self, *commands: Any, crash: bool = False, gateway: CardGateway | None = None
    ) -> None:
        """One consumer batch of ``commands`` (rolled back when ``crash``)."""
        pool = hot_pool(self.db.engine)

        async def handler(batch: Batch, items: Sequence[Incoming[Command]]) -> None:
            store = PgPaymentStore(batch.conn, pool)
            await handle_commands(
                store, gateway or self.gateway, batch, items, concurrency=GATEWAY_CONCURRENCY
            )
            if crash:
                raise Crash

        await run_batch(self.db.engine, handler, commands, clock=self.clock, producer="payment")

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

    async def outbox(self) -> list[tuple[str, str]]:
        """(order id, message type) of every outbox row, in insertion order."""
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT correlation_id, message_type FROM outbox ORDER BY id")
            )
            return [(row.correlation_id, row.message_type) for row in rows]

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


@asynccontextmanager
async def _harness(migrated_schema: MigratedSchema, mode: str) -> AsyncIterator[Harness]:
    db = await migrated_schema(MIGRATIONS)
    # The gateway is an external system: its own pool, never the handler's connection.
    gateway_engine = create_engine(db.url, search_path=db.schema, pool_size=2)
    clock = FixedClock(NOW)
    gateway = SimulatedGateway(gateway_engine, clock=clock, slow_delay=SLOW_DELAY)
    try:
        yield Harness(db, clock, gateway, mode)
    finally:
        await dispose(gateway_engine)


@pytest.fixture(params=["alone", "batch"])
async def harness(
    request: pytest.FixtureRequest, migrated_schema: MigratedSchema
) -> AsyncIterator[Harness]:
    """Each test runs twice: every command its own batch, and all of a ``send`` in one."""
    async with _harness(migrated_schema, request.param) as made:
        yield made


@pytest.fixture
async def batch_harness(migrated_schema: MigratedSchema) -> AsyncIterator[Harness]:
    """For tests that run their batches themselves (``Harness.batch``)."""
    async with _harness(migrated_schema, "batch") as made:
        yield made


def record(command: Message, order_id: str, offset: int) -> DeliveredRecord:
    envelope = Envelope(
        message_id=uuid.uuid4(),
        type=command.TYPE,
        version=command.VERSION,
        occurred_at=NOW,
        producer="orders",
        correlation_id=order_id,
        payload=command.model_dump(mode="json"),
    )
    return delivered(topics.PAYMENT_COMMANDS, offset, envelope)
