"""catalog.events and inventory.stock -> checkout's copies (the catalog's products and
price data, inventory's stock levels), a batch at a time."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from checkout.adapters.batch_store import PgCatalogStore
from checkout.adapters.price_copy import PgPriceCopy
from checkout.application.catalog_copy import CatalogEvent, handle_catalog_events
from checkout.application.price_copy import PRICE_EVENTS, PriceEvent, handle_price_events
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

    async def on_price_events(batch: Batch, items: Sequence[Incoming[PriceEvent]]) -> None:
        await handle_price_events(PgPriceCopy(batch.conn), items)

    # One handler for both: a SKU's publication and its price changes fold in order.
    consumer = batch_consumer(
        CONSUMER, producer=PRODUCER, registry=registry(), engine=engine,
        settings=settings, clock=clock,
        handles=(ProductPublished, PriceChanged), handler=on_catalog_events,
    )  # fmt: skip
    consumer.handles(*PRICE_EVENTS)(on_price_events)
    return consumer
