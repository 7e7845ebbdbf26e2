"""checkout.events, orders.events, shipping.events -> the projection."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from history.application import handlers
from history.application.facts import HANDLED, fact_of
from history.application.unit_of_work import HistoryUnitOfWork
from orderflow_contracts import registry
from orderflow_messaging.clock import Clock
from orderflow_messaging.consumer import HandlerContext, MessageConsumer
from orderflow_messaging.settings import ConsumerSettings

PRODUCER = "history"


def build_consumer(
    engine: AsyncEngine, settings: ConsumerSettings, clock: Clock
) -> MessageConsumer:
    consumer = MessageConsumer(
        name="history",
        producer=PRODUCER,
        registry=registry(),
        engine=engine,
        settings=settings,
        clock=clock,
    )

    # Types not in HANDLED have no handler: the consumer counts them as ignored.
    @consumer.handles(*HANDLED)
    async def on_order_fact(ctx: HandlerContext) -> None:
        fact = fact_of(ctx.message, ctx.envelope.occurred_at)
        if fact is not None:
            await handlers.record_fact(HistoryUnitOfWork(ctx.conn), fact)

    return consumer
