"""The transaction a use case runs in: the repository, the outbox and the clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from catalog.adapters.delivery import DeliveryStore
from catalog.adapters.prices import PriceBook
from catalog.adapters.promotions import PromotionStore
from catalog.adapters.repository import CategoryRepository, ProductRepository
from orderflow_messaging.clock import Clock
from orderflow_messaging.outbox import Outbox

PRODUCER = "catalog"


@dataclass
class CatalogUnitOfWork:
    conn: AsyncConnection
    outbox: Outbox
    clock: Clock

    @property
    def products(self) -> ProductRepository:
        return ProductRepository(self.conn)

    @property
    def categories(self) -> CategoryRepository:
        return CategoryRepository(self.conn)

    @property
    def prices(self) -> PriceBook:
        return PriceBook(self.conn)

    @property
    def promotions(self) -> PromotionStore:
        return PromotionStore(self.conn)

    @property
    def delivery(self) -> DeliveryStore:
        return DeliveryStore(self.conn)


@asynccontextmanager
async def unit_of_work(engine: AsyncEngine, clock: Clock) -> AsyncIterator[CatalogUnitOfWork]:
    """One transaction: commits on leaving, rolls back (state and outbox) on an error."""
    async with engine.begin() as conn:
        yield CatalogUnitOfWork(conn, Outbox(conn, producer=PRODUCER, clock=clock), clock)
