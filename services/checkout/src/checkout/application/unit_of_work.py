"""The transaction a use case runs in: repositories, the outbox, the clock and ids."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from checkout.adapters.repository import CatalogRepository, OrderRepository
from orderflow_messaging.clock import Clock, IdFactory
from orderflow_messaging.outbox import Outbox

PRODUCER = "checkout"


@dataclass
class CheckoutUnitOfWork:
    conn: AsyncConnection
    outbox: Outbox
    clock: Clock
    new_id: IdFactory

    @property
    def catalog(self) -> CatalogRepository:
        return CatalogRepository(self.conn)

    @property
    def orders(self) -> OrderRepository:
        return OrderRepository(self.conn)


@asynccontextmanager
async def unit_of_work(
    engine: AsyncEngine, clock: Clock, new_id: IdFactory
) -> AsyncIterator[CheckoutUnitOfWork]:
    """One transaction: commits on leaving, rolls back (state and outbox) on an error."""
    async with engine.begin() as conn:
        yield CheckoutUnitOfWork(conn, Outbox(conn, producer=PRODUCER, clock=clock), clock, new_id)
