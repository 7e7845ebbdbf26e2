"""inventory.stock -> the availability projection, checkout.events -> the "bought
together" projection (one lingering consumer); promotions.commands -> redemptions; a
batch at a time."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from catalog.adapters.levels import PgStockLevels
from catalog.adapters.promotions import PgRedemptions
from catalog.adapters.recommendations import PgBoughtTogether
from catalog.application.availability import record_levels
from catalog.application.promotions import RedemptionCommand, handle_redemptions
from catalog.application.recommendations import count_orders
from catalog.application.unit_of_work import PRODUCER
from catalog.domain.model import StockLevel
from orderflow_contracts import registry
from orderflow_contracts.checkout import OrderPlaced
from orderflow_contracts.inventory import StockLevelChanged
from orderflow_contracts.promotions import RedeemPromotions, ReleasePromotions
from orderflow_messaging.clock import Clock
from orderflow_messaging.consumer import Batch, Incoming, MessageConsumer, batch_consumer
from orderflow_messaging.settings import ConsumerSettings


async def on_stock_levels(batch: Batch, items: Sequence[Incoming[StockLevelChanged]]) -> None:
    levels = (StockLevel(i.message.sku, i.message.available, i.message.revision) for i in items)
    await record_levels(PgStockLevels(batch.conn, batch.plan), levels)


async def on_orders_placed(batch: Batch, items: Sequence[Incoming[OrderPlaced]]) -> None:
    await count_orders(PgBoughtTogether(batch.conn, batch.plan), items)


def build_consumer(
    engine: AsyncEngine, settings: ConsumerSettings, clock: Clock
) -> MessageConsumer:
    """The catalog's projections: both are folds that need no answer, so they share
    one consumer (and its linger). Neither loads anything: an optimistic batch is one
    statement (the inbox claim and both upserts)."""
    consumer = batch_consumer(
        "catalog", producer=PRODUCER, registry=registry(), engine=engine,
        settings=settings, clock=clock, handles=(StockLevelChanged,), handler=on_stock_levels,
        optimistic=True,
    )  # fmt: skip
    consumer.handles(OrderPlaced)(on_orders_placed)
    return consumer


async def on_redemptions(batch: Batch, items: Sequence[Incoming[RedemptionCommand]]) -> None:
    await handle_redemptions(PgRedemptions(batch.conn), batch, items)


def build_promotions_consumer(
    engine: AsyncEngine, settings: ConsumerSettings, clock: Clock
) -> MessageConsumer:
    """The saga's redemption step: its own group, without the availability consumer's
    linger (an order waits for the answer)."""
    return batch_consumer(
        "promotions", producer=PRODUCER, registry=registry(), engine=engine,
        settings=settings, clock=clock, handles=(RedeemPromotions, ReleasePromotions),
        handler=on_redemptions,
    )  # fmt: skip
