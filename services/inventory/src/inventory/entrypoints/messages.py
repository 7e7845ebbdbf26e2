"""inventory.commands -> the batch use case."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from inventory.adapters.batch_store import PgStockStore
from inventory.application.batch import Command, handle_commands
from inventory.application.unit_of_work import PRODUCER
from orderflow_contracts import registry
from orderflow_contracts.inventory import CommitStock, ReleaseStock, ReserveStock, RestockReturn
from orderflow_messaging.clock import Clock
from orderflow_messaging.consumer import Batch, Incoming, MessageConsumer, batch_consumer
from orderflow_messaging.settings import ConsumerSettings


def build_consumer(
    engine: AsyncEngine, settings: ConsumerSettings, clock: Clock, reservation_ttl: timedelta
) -> MessageConsumer:
    async def on_stock_commands(batch: Batch, items: Sequence[Incoming[Command]]) -> None:
        await handle_commands(PgStockStore(batch.conn), batch, items, reservation_ttl)

    # One handler for all four: a batch's commands are folded together, in order.
    return batch_consumer(
        "inventory", producer=PRODUCER, registry=registry(), engine=engine,
        settings=settings, clock=clock,
        handles=(ReserveStock, ReleaseStock, CommitStock, RestockReturn),
        handler=on_stock_commands,
    )  # fmt: skip
