"""shipping.commands -> use cases."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from orderflow_contracts import registry
from orderflow_contracts.shipping import CancelShipment, CreateShipment
from orderflow_messaging.clock import Clock, IdFactory
from orderflow_messaging.consumer import HandlerContext, MessageConsumer
from orderflow_messaging.settings import ConsumerSettings
from shipping.application import handlers
from shipping.application.unit_of_work import ShippingUnitOfWork
from shipping.domain.carrier import SimulatedCarrier
from shipping.domain.model import Timings

PRODUCER = "shipping"


def build_consumer(
    engine: AsyncEngine,
    settings: ConsumerSettings,
    clock: Clock,
    new_id: IdFactory,
    carrier: SimulatedCarrier,
    timings: Timings,
) -> MessageConsumer:
    consumer = MessageConsumer(
        name="shipping",
        producer=PRODUCER,
        registry=registry(),
        engine=engine,
        settings=settings,
        clock=clock,
        new_id=new_id,
    )

    def uow(ctx: HandlerContext) -> ShippingUnitOfWork:
        return ShippingUnitOfWork(ctx.conn, ctx.outbox, clock, new_id)

    @consumer.handles(CreateShipment)
    async def on_create_shipment(ctx: HandlerContext) -> None:
        assert isinstance(ctx.message, CreateShipment)
        await handlers.create_shipment(uow(ctx), ctx.message, carrier, timings)

    @consumer.handles(CancelShipment)
    async def on_cancel_shipment(ctx: HandlerContext) -> None:
        assert isinstance(ctx.message, CancelShipment)
        await handlers.cancel_shipment(uow(ctx), ctx.message)

    return consumer
