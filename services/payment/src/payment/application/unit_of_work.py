"""The transaction the timer's use case runs in: repositories, the outbox, the clock and
the gateway (the consumer's batches use ``ports.PaymentStore`` instead)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from orderflow_messaging.clock import Clock
from orderflow_messaging.outbox import Outbox
from payment.adapters.idempotency import IdempotencyKeyRepository
from payment.adapters.repository import PaymentRepository
from payment.application.ports import CardGateway


@dataclass
class PaymentUnitOfWork:
    conn: AsyncConnection
    outbox: Outbox
    clock: Clock
    gateway: CardGateway

    @property
    def payments(self) -> PaymentRepository:
        return PaymentRepository(self.conn)

    @property
    def keys(self) -> IdempotencyKeyRepository:
        return IdempotencyKeyRepository(self.conn)


# Opens a transaction and yields its unit of work (used by the periodic task: one
# transaction per order, so one order's fault never holds back the others).
UnitOfWorkFactory = Callable[[], AbstractAsyncContextManager[PaymentUnitOfWork]]
