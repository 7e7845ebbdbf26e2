"""payment.commands -> use cases."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from orderflow_contracts import registry
from orderflow_contracts.payment import (
    AuthorizePayment,
    CapturePayment,
    RefundPayment,
    VoidPayment,
)
from orderflow_messaging.clock import Clock
from orderflow_messaging.consumer import HandlerContext, MessageConsumer
from orderflow_messaging.settings import ConsumerSettings
from payment.application import handlers
from payment.application.ports import CardGateway
from payment.application.unit_of_work import PaymentUnitOfWork

PRODUCER = "payment"


def build_consumer(
    engine: AsyncEngine, settings: ConsumerSettings, clock: Clock, gateway: CardGateway
) -> MessageConsumer:
    consumer = MessageConsumer(
        name="payment",
        producer=PRODUCER,
        registry=registry(),
        engine=engine,
        settings=settings,
        clock=clock,
    )

    def uow(ctx: HandlerContext) -> PaymentUnitOfWork:
        return PaymentUnitOfWork(ctx.conn, ctx.outbox, clock, gateway, engine)

    @consumer.handles(AuthorizePayment)
    async def on_authorize_payment(ctx: HandlerContext) -> None:
        assert isinstance(ctx.message, AuthorizePayment)
        await handlers.authorize_payment(uow(ctx), ctx.message)

    @consumer.handles(CapturePayment)
    async def on_capture_payment(ctx: HandlerContext) -> None:
        assert isinstance(ctx.message, CapturePayment)
        await handlers.capture_payment(uow(ctx), ctx.message)

    @consumer.handles(VoidPayment)
    async def on_void_payment(ctx: HandlerContext) -> None:
        assert isinstance(ctx.message, VoidPayment)
        await handlers.void_payment(uow(ctx), ctx.message)

    @consumer.handles(RefundPayment)
    async def on_refund_payment(ctx: HandlerContext) -> None:
        assert isinstance(ctx.message, RefundPayment)
        await handlers.refund_payment(uow(ctx), ctx.message)

    return consumer
