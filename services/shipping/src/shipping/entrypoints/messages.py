"""shipping.commands -> the batch use case."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from orderflow_contracts import registry
from orderflow_contracts.shipping import (
    CancelReturnLabel,
    CancelShipment,
    CreateReturnLabel,
    CreateShipment,
)
from orderflow_messaging.clock import Clock, IdFactory
from orderflow_messaging.consumer import Batch, Incoming, MessageConsumer, batch_consumer
from orderflow_messaging.settings import ConsumerSettings
from shipping.adapters.batch_store import PgShipmentStore
from shipping.adapters.label_store import PgLabelStore
from shipping.application.batch import Command, Shipper, handle_commands
from shipping.application.return_labels import LabelCommand, handle_label_commands
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
    shipper = Shipper(carrier, timings, new_id)

    async def on_shipment_commands(batch: Batch, items: Sequence[Incoming[Command]]) -> None:
        await handle_commands(PgShipmentStore(batch.conn), batch, items, shipper)

    async def on_label_commands(batch: Batch, items: Sequence[Incoming[LabelCommand]]) -> None:
        await handle_label_commands(PgLabelStore(batch.conn), batch, items, carrier)

    # One handler for both: an order's create and cancel are folded together, in order.
    consumer = batch_consumer(
        "shipping", producer=PRODUCER, registry=registry(), engine=engine,
        settings=settings, clock=clock, new_id=new_id,
        handles=(CreateShipment, CancelShipment), handler=on_shipment_commands,
    )  # fmt: skip
    # Return labels: their own table, in the same batch transaction.
    consumer.handles(CreateReturnLabel, CancelReturnLabel)(on_label_commands)
    return consumer
