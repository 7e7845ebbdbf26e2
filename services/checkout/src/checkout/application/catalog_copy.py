"""Keeping checkout's copy of the catalog: catalog.events -> catalog_items.

The inbox already drops redelivered messages; the writes are upserts guarded by the
event's time anyway, so a replay of an older event never undoes a newer price.
"""

from __future__ import annotations

from datetime import datetime

import structlog

from checkout.application.unit_of_work import CheckoutUnitOfWork
from checkout.domain.model import CatalogItem
from orderflow_contracts.catalog import PriceChanged, ProductPublished
from orderflow_messaging.errors import PermanentFailure

log = structlog.get_logger(__name__)


async def apply_product_published(
    uow: CheckoutUnitOfWork, event: ProductPublished, occurred_at: datetime
) -> None:
    item = CatalogItem(event.sku, event.name, event.price_minor, event.currency, event.active)
    applied = await uow.catalog.upsert(item, occurred_at)
    log.info("catalog_item_published", sku=event.sku, applied=applied)


async def apply_price_changed(
    uow: CheckoutUnitOfWork, event: PriceChanged, occurred_at: datetime
) -> None:
    applied = await uow.catalog.reprice(event.sku, event.price_minor, event.currency, occurred_at)
    if applied is None:
        # Catalog announces a product before any price change on the same key (one
        # partition), so this can only follow a lost ProductPublished: dead-letter it
        # for an operator rather than invent a product without a name.
        raise PermanentFailure(f"price changed for unknown SKU {event.sku!r}")
    log.info("catalog_item_repriced", sku=event.sku, applied=applied)
