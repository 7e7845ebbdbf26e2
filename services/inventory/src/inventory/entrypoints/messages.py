"""inventory.commands -> use cases."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from inventory.application import handlers
from inventory.application.unit_of_work import InventoryUnitOfWork
from orderflow_contracts import registry
from orderflow_contracts.inventory import CommitStock, ReleaseStock, ReserveStock
from orderflow_messaging.clock import Clock
from orderflow_messaging.consumer import HandlerContext, MessageConsumer
from orderflow_messaging.settings import ConsumerSettings

PRODUCER = "inventory"


def build_consumer(
    engine: AsyncEngine, settings: ConsumerSettings, clock: Clock, reservation_ttl: timedelta
) -> MessageConsumer:
    consumer = MessageConsumer(
        name="inventory",
        producer=PRODUCER,
        registry=registry(),
        engine=engine,
        settings=settings,
        clock=clock,
    )

    def uow(ctx: HandlerContext) -> InventoryUnitOfWork:
        return InventoryUnitOfWork(ctx.conn, ctx.outbox, clock)

    @consumer.handles(ReserveStock)
    async def on_reserve_stock(ctx: HandlerContext) -> None:
        assert isinstance(ctx.message, ReserveStock)
        await handlers.reserve_stock(uow(ctx), ctx.message, reservation_ttl)

    @consumer.handles(ReleaseStock)
    async def on_release_stock(ctx: HandlerContext) -> None:
        assert isinstance(ctx.message, ReleaseStock)
        await handlers.release_stock(uow(ctx), ctx.message)

    @consumer.handles(CommitStock)
    async def on_commit_stock(ctx: HandlerContext) -> None:
        assert isinstance(ctx.message, CommitStock)
        await handlers.commit_stock(uow(ctx), ctx.message)

    return consumer
