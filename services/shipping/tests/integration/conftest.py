"""A shipping schema on the real PostgreSQL, a clock the test moves, and ways to read
back what the service stored and what it queued in its outbox."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from orderflow_contracts.common import Address, StockLine
from orderflow_contracts.shipping import CancelShipment, CreateShipment
from orderflow_messaging.clock import FixedClock, SequentialIds
from orderflow_messaging.consumer import Batch, Incoming
from orderflow_messaging.envelope import Envelope
from orderflow_messaging.registry import Message
from orderflow_testing.batches import DeliveredRecord, delivered, run_batch
from orderflow_testing.plugin import MigratedSchema
from shipping.adapters.batch_store import PgShipmentStore
from shipping.adapters.repository import ShipmentRepository
from shipping.application import handlers
from shipping.application.batch import Command, Shipper, handle_commands
from shipping.application.handlers import TickUseCase
from shipping.bootstrap import MIGRATIONS
from shipping.domain.carrier import SimulatedCarrier
from shipping.domain.model import Shipment, Timings
from shipping.entrypoints.timers import run_tick

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
TIMINGS = Timings(
    slow_delay=timedelta(seconds=10),
    dispatch_after=timedelta(seconds=3),
    deliver_after=timedelta(seconds=3),
)
ACCEPTED, REJECTED, SLOW = "10115", "00100", "99501"

Reply = tuple[str, dict[str, Any]]


def create_command(order_id: str, postcode: str = ACCEPTED) -> CreateShipment:
    return CreateShipment(
        order_id=order_id,
        address=Address(
            name="Ada Lovelace", line1="1 Analytical Way", city="London",
            postcode=postcode, country="GB",
        ),
        lines=[StockLine(sku="A", quantity=2), StockLine(sku="B", quantity=1)],
    )  # fmt: skip


def cancel_command(order_id: str, reason: str = "customer cancelled") -> CancelShipment:
    return CancelShipment(order_id=order_id, reason=reason)


def command_record(
    message: Message, order_id: str, offset: int, message_id: UUID
) -> DeliveredRecord:
    envelope = Envelope(
        message_id=message_id, type=message.TYPE, version=message.VERSION, occurred_at=NOW,
        producer="orders", correlation_id=order_id, payload=message.model_dump(mode="json"),
    )  # fmt: skip
    return delivered("shipping.commands", offset, envelope)


@dataclass
class Shipping:
    engine: AsyncEngine
    clock: FixedClock = field(default_factory=lambda: FixedClock(NOW))
    ids: SequentialIds = field(default_factory=SequentialIds)
    carrier: SimulatedCarrier = field(default_factory=SimulatedCarrier)

    def at(self, seconds: float) -> None:
        """Move the clock to ``seconds`` after NOW."""
        self.clock.now = NOW + timedelta(seconds=seconds)

    async def run(self, use_case: TickUseCase) -> int:
        """One timer tick in its own transaction, as the timers run it."""
        return await run_tick(self.engine, self.clock, self.ids, use_case)

    @property
    def shipper(self) -> Shipper:
        return Shipper(self.carrier, TIMINGS, self.ids)

    async def batch(self, *commands: Command) -> None:
        """One consumer batch of ``commands`` in one transaction, as the consumer runs it."""

        async def handler(batch: Batch, items: Sequence[Incoming[Command]]) -> None:
            await handle_commands(PgShipmentStore(batch.conn), batch, items, self.shipper)

        await run_batch(self.engine, handler, commands, clock=self.clock, producer="shipping")

    async def create(self, order_id: str, postcode: str = ACCEPTED) -> None:
        await self.batch(create_command(order_id, postcode))

    async def cancel(self, order_id: str, reason: str = "customer cancelled") -> None:
        await self.batch(cancel_command(order_id, reason))

    async def tick_ready(self, limit: int = handlers.TICK_LIMIT) -> int:
        return await self.run(
            lambda t: handlers.create_ready_shipments(t, self.carrier, TIMINGS, limit)
        )

    async def tick_advance(self, limit: int = handlers.TICK_LIMIT) -> int:
        return await self.run(lambda t: handlers.advance_shipments(t, TIMINGS, self.carrier, limit))

    async def _queued(self, order_id: str, topic: str) -> list[Reply]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT topic, message_type, value FROM outbox"
                    " WHERE correlation_id = :o AND topic = :t ORDER BY id"
                ),
                {"o": order_id, "t": topic},
            )
            return [(row.message_type, json.loads(row.value)["payload"]) for row in rows]

    async def replies(self, order_id: str) -> list[Reply]:
        """(type, payload) of every message queued for the order on shipping.events."""
        return await self._queued(order_id, "shipping.events")

    async def tracking(self, order_id: str) -> list[dict[str, Any]]:
        """The order's TrackingUpdated payloads queued on shipping.tracking, in order."""
        steps = await self._queued(order_id, "shipping.tracking")
        assert {kind for kind, _ in steps} <= {"TrackingUpdated"}
        return [payload for _, payload in steps]

    async def types(self, order_id: str) -> list[str]:
        return [kind for kind, _ in await self.replies(order_id)]

    async def shipment(self, order_id: str) -> Shipment:
        async with self.engine.connect() as conn:
            shipment = await ShipmentRepository(conn).get(order_id)
        assert shipment is not None, f"no shipment for {order_id}"
        return shipment

    async def scalar(self, sql: str) -> Any:
        async with self.engine.connect() as conn:
            return await conn.scalar(text(sql))


class CountingConnection:
    """Delegates to an asyncpg connection, recording the first word of each statement."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self.statements: list[str] = []

    async def fetch(self, query: str, *args: object) -> Any:
        self.statements.append(query.split()[0])
        return await self._conn.fetch(query, *args)

    async def execute(self, query: str, *args: object) -> str:
        self.statements.append(query.split()[0])
        return str(await self._conn.execute(query, *args))


@pytest.fixture
async def shipping(migrated_schema: MigratedSchema) -> Shipping:
    db = await migrated_schema(MIGRATIONS)
    return Shipping(db.engine)
