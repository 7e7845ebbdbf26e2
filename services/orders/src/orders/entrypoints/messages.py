"""checkout.events and the participants' replies -> saga use cases."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from orderflow_contracts import inventory, payment, registry, shipping
from orderflow_contracts.checkout import OrderPlaced
from orderflow_messaging.clock import Clock
from orderflow_messaging.consumer import HandlerContext, MessageConsumer
from orderflow_messaging.settings import ConsumerSettings
from orders.application import saga_service
from orders.application.unit_of_work import OrdersUnitOfWork
from orders.saga.policy import SagaPolicy

PRODUCER = "orders"
REPLIES = (*inventory.EVENTS, *payment.EVENTS, *shipping.EVENTS)


def build_consumer(
    engine: AsyncEngine, settings: ConsumerSettings, clock: Clock, policy: SagaPolicy
) -> MessageConsumer:
    consumer = MessageConsumer(
        name="orders",
        producer=PRODUCER,
        registry=registry(),
        engine=engine,
        settings=settings,
        clock=clock,
    )

    def uow(ctx: HandlerContext) -> OrdersUnitOfWork:
        return OrdersUnitOfWork(ctx.conn, ctx.outbox, clock, policy)

    @consumer.handles(OrderPlaced)
    async def on_order_placed(ctx: HandlerContext) -> None:
        assert isinstance(ctx.message, OrderPlaced)
        await saga_service.start_saga(uow(ctx), ctx.message, ctx.envelope.message_id)

    @consumer.handles(*REPLIES)
    async def on_reply(ctx: HandlerContext) -> None:
        await saga_service.handle_reply(uow(ctx), ctx.message, ctx.envelope.message_id)

    return consumer
