"""checkout.events (orders placed, cancellations upstream asked for) and the
participants' replies (to a saga, or to a return) -> the saga batch use case."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from orderflow_contracts import inventory, payment, promotions, registry, shipping
from orderflow_contracts.checkout import OrderCancellationRequested, OrderPlaced
from orderflow_messaging.clock import Clock
from orderflow_messaging.consumer import Batch, Incoming, MessageConsumer, batch_consumer
from orderflow_messaging.registry import Message
from orderflow_messaging.settings import ConsumerSettings
from orders.adapters.return_store import PgReturnStore
from orders.adapters.saga_cache import SagaCache
from orders.adapters.saga_store import PgSagaStore
from orders.application.saga_batch import handle_saga_messages
from orders.returns.policy import ReturnPolicy
from orders.saga.policy import SagaPolicy

PRODUCER = "orders"
REPLIES = (*promotions.EVENTS, *inventory.EVENTS, *payment.EVENTS, *shipping.EVENTS)


def build_consumer(
    engine: AsyncEngine,
    settings: ConsumerSettings,
    clock: Clock,
    policy: SagaPolicy,
    return_policy: ReturnPolicy | None = None,
    cache: SagaCache | None = None,
) -> MessageConsumer:
    returns = return_policy or ReturnPolicy()

    async def on_saga_messages(batch: Batch, items: Sequence[Incoming[Message]]) -> None:
        await handle_saga_messages(
            PgSagaStore(batch.conn, batch.plan, cache), batch, items, policy,
            PgReturnStore(batch.conn, batch.plan), returns,
        )  # fmt: skip

    # One handler for the start and every reply: a batch's messages of one order are
    # folded together, in order.
    return batch_consumer(
        "orders", producer=PRODUCER, registry=registry(), engine=engine,
        settings=settings, clock=clock,
        handles=(OrderPlaced, OrderCancellationRequested, *REPLIES), handler=on_saga_messages,
        # The saga cache holds what a batch decided before its statement commits, so the
        # next batch is decided meanwhile (orderflow_messaging.consumer: pipelined).
        optimistic=True, pipelined=True,
    )  # fmt: skip
