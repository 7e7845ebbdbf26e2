"""The transaction a use case runs in: repositories, the outbox and the clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from inventory.adapters.repository import ReservationRepository, StockRepository
from orderflow_messaging.clock import Clock
from orderflow_messaging.outbox import Outbox

PRODUCER = "inventory"


@dataclass
class InventoryUnitOfWork:
    conn: AsyncConnection
    outbox: Outbox
    clock: Clock

    @property
    def stock(self) -> StockRepository:
        return StockRepository(self.conn)

    @property
    def reservations(self) -> ReservationRepository:
        return ReservationRepository(self.conn)


@asynccontextmanager
async def unit_of_work(engine: AsyncEngine, clock: Clock) -> AsyncIterator[InventoryUnitOfWork]:
    """One transaction: commits on leaving, rolls back (state and outbox) on an error."""
    async with engine.begin() as conn:
        yield InventoryUnitOfWork(conn, Outbox(conn, producer=PRODUCER, clock=clock), clock)
