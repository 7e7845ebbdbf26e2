"""The transaction a use case runs in: repositories, the outbox and the clock."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from inventory.adapters.repository import ReservationRepository, StockRepository
from orderflow_messaging.clock import Clock
from orderflow_messaging.outbox import Outbox


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
