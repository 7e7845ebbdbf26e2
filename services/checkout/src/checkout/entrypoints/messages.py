"""catalog.events -> checkout's catalog copy, a batch at a time."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from checkout.adapters.batch_store import PgCatalogStore
from checkout.application.catalog_copy import CatalogEvent, handle_catalog_events
from checkout.application.unit_of_work import PRODUCER
from orderflow_contracts import registry
from orderflow_contracts.catalog import PriceChanged, ProductPublished
from orderflow_messaging.clock import Clock
from orderflow_messaging.consumer import Batch, Incoming, MessageConsumer, batch_consumer
from orderflow_messaging.settings import ConsumerSettings

CONSUMER = "checkout"


def build_consumer(
    engine: AsyncEngine, settings: ConsumerSettings, clock: Clock
) -> MessageConsumer:
    async def on_catalog_events(batch: Batch, items: Sequence[Incoming[CatalogEvent]]) -> None:
        await handle_catalog_events(PgCatalogStore(batch.conn), items)

    # One handler for both: a SKU's publication and its price changes fold in order.
    return batch_consumer(
        CONSUMER, producer=PRODUCER, registry=registry(), engine=engine,
        settings=settings, clock=clock,
        handles=(ProductPublished, PriceChanged), handler=on_catalog_events,
    )  # fmt: skip
