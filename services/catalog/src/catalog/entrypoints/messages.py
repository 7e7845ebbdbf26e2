"""inventory.stock -> the availability projection, a batch at a time."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from catalog.adapters.levels import PgStockLevels
from catalog.application.availability import record_levels
from catalog.application.unit_of_work import PRODUCER
from catalog.domain.model import StockLevel
from orderflow_contracts import registry
from orderflow_contracts.inventory import StockLevelChanged
from orderflow_messaging.clock import Clock
from orderflow_messaging.consumer import Batch, Incoming, MessageConsumer, batch_consumer
from orderflow_messaging.settings import ConsumerSettings


async def on_stock_levels(batch: Batch, items: Sequence[Incoming[StockLevelChanged]]) -> None:
    levels = (StockLevel(i.message.sku, i.message.available, i.message.revision) for i in items)
    await record_levels(PgStockLevels(batch.conn), levels)


def build_consumer(
    engine: AsyncEngine, settings: ConsumerSettings, clock: Clock
) -> MessageConsumer:
    return batch_consumer(
        "catalog", producer=PRODUCER, registry=registry(), engine=engine,
        settings=settings, clock=clock, handles=(StockLevelChanged,), handler=on_stock_levels,
    )  # fmt: skip
