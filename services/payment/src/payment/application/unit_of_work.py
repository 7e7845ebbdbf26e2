"""The transaction a use case runs in: repositories, the outbox, the clock and the gateway."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from orderflow_messaging.clock import Clock
from orderflow_messaging.outbox import Outbox
from payment.adapters.command_state import CommandState, load_command_state
from payment.adapters.idempotency import IdempotencyKeyRepository, KeyedRequest, commit_pending
from payment.adapters.repository import PaymentRepository
from payment.application.ports import CardGateway


@dataclass
class PaymentUnitOfWork:
    conn: AsyncConnection
    outbox: Outbox
    clock: Clock
    gateway: CardGateway
    # Not ``conn``'s transaction: a key must be committed before the gateway is called.
    engine: AsyncEngine

    @property
    def payments(self) -> PaymentRepository:
        return PaymentRepository(self.conn)

    @property
    def keys(self) -> IdempotencyKeyRepository:
        return IdempotencyKeyRepository(self.conn)

    async def load(self, request: KeyedRequest) -> CommandState:
        """The command's stored key, the order's payment and its open authorization
        (one round trip; call it with the order locked)."""
        return await load_command_state(self.conn, request)

    async def commit_pending_key(self, request: KeyedRequest) -> None:
        await commit_pending(self.engine, request)


# Opens a transaction and yields its unit of work (used by the periodic task: one
# transaction per order, so one order's fault never holds back the others).
UnitOfWorkFactory = Callable[[], AbstractAsyncContextManager[PaymentUnitOfWork]]
