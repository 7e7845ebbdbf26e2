"""payment.commands -> the batch use case."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from orderflow_contracts import registry
from orderflow_contracts.payment import (
    AuthorizePayment,
    CapturePayment,
    RefundPayment,
    VoidPayment,
)
from orderflow_messaging.clock import Clock
from orderflow_messaging.consumer import Batch, Incoming, MessageConsumer, batch_consumer
from orderflow_messaging.db import hot_pool
from orderflow_messaging.settings import ConsumerSettings
from payment.adapters.batch_store import PgPaymentStore
from payment.adapters.documents import PgDocumentStore
from payment.application.batch import handle_commands
from payment.application.book import Command
from payment.application.ports import CardGateway

PRODUCER = "payment"


def build_consumer(
    engine: AsyncEngine,
    settings: ConsumerSettings,
    clock: Clock,
    gateway: CardGateway,
    *,
    gateway_concurrency: int = 16,
) -> MessageConsumer:
    # The pending keys are committed on a connection of their own, from the same pool.
    pool = hot_pool(engine)

    async def on_payment_commands(batch: Batch, items: Sequence[Incoming[Command]]) -> None:
        store = PgPaymentStore(batch.conn, pool)
        await handle_commands(
            store, gateway, batch, items,
            concurrency=gateway_concurrency, documents=PgDocumentStore(batch.conn),
        )  # fmt: skip

    # One handler for the four: an order's commands are decided together, in order.
    return batch_consumer(
        "payment", producer=PRODUCER, registry=registry(), engine=engine,
        settings=settings, clock=clock,
        handles=(AuthorizePayment, CapturePayment, VoidPayment, RefundPayment),
        handler=on_payment_commands,
    )  # fmt: skip
