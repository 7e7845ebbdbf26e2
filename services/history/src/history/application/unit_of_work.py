"""The transaction a use case runs in. The projection sends nothing, so no outbox."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from history.adapters.repository import OrderHistoryRepository


@dataclass
class HistoryUnitOfWork:
    conn: AsyncConnection

    @property
    def orders(self) -> OrderHistoryRepository:
        return OrderHistoryRepository(self.conn)
