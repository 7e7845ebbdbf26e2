"""catalog.events -> checkout's catalog copy."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from checkout.application import catalog_copy
from checkout.application.unit_of_work import PRODUCER, CheckoutUnitOfWork
from orderflow_contracts import registry
from orderflow_contracts.catalog import PriceChanged, ProductPublished
from orderflow_messaging.clock import Clock, IdFactory
from orderflow_messaging.consumer import HandlerContext, MessageConsumer
from orderflow_messaging.settings import ConsumerSettings

CONSUMER = "checkout"


def build_consumer(
    engine: AsyncEngine, settings: ConsumerSettings, clock: Clock, new_id: IdFactory
) -> MessageConsumer:
    consumer = MessageConsumer(
        name=CONSUMER,
        producer=PRODUCER,
        registry=registry(),
        engine=engine,
        settings=settings,
        clock=clock,
    )

    def uow(ctx: HandlerContext) -> CheckoutUnitOfWork:
        return CheckoutUnitOfWork(ctx.conn, ctx.outbox, clock, new_id)

    @consumer.handles(ProductPublished)
    async def on_product_published(ctx: HandlerContext) -> None:
        assert isinstance(ctx.message, ProductPublished)
        await catalog_copy.apply_product_published(uow(ctx), ctx.message, ctx.envelope.occurred_at)

    @consumer.handles(PriceChanged)
    async def on_price_changed(ctx: HandlerContext) -> None:
        assert isinstance(ctx.message, PriceChanged)
        await catalog_copy.apply_price_changed(uow(ctx), ctx.message, ctx.envelope.occurred_at)

    return consumer
