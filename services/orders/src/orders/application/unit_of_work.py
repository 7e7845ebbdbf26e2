"""The transaction a saga use case runs in."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from orderflow_messaging.clock import Clock
from orderflow_messaging.outbox import Outbox
from orders.adapters.repository import SagaRepository
from orders.saga.policy import SagaPolicy


@dataclass
class OrdersUnitOfWork:
    conn: AsyncConnection
    outbox: Outbox
    clock: Clock
    policy: SagaPolicy

    @property
    def sagas(self) -> SagaRepository:
        return SagaRepository(self.conn)
