"""Keeping checkout's copy of the catalog: catalog.events -> catalog_items, a batch at
a time.

The batch's SKU rows are loaded and locked once (in SKU order), its events are folded in
message order by ``CatalogCopy`` (pure, no I/O), and each changed row is written once.
The inbox already drops redelivered messages; every change is guarded by the event's
time anyway, so a replay of an older event never undoes a newer price.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import structlog

from checkout.application.ports import CatalogStore
from checkout.domain.model import CatalogItem
from orderflow_contracts.catalog import PriceChanged, ProductPublished
from orderflow_messaging.consumer import Incoming
from orderflow_messaging.errors import PermanentFailure

log = structlog.get_logger(__name__)

CatalogEvent = ProductPublished | PriceChanged


@dataclass(frozen=True)
class CopiedItem:
    """A row of the copy: the item, and when catalog made its latest change (the event's
    ``occurred_at``, not when it arrived)."""

    item: CatalogItem
    changed_at: datetime


@dataclass
class CatalogCopy:
    """The rows a batch touches, and which of them it changed."""

    items: dict[str, CopiedItem]
    changed: set[str] = field(default_factory=set)

    def apply(self, event: CatalogEvent, occurred_at: datetime) -> bool:
        """Fold one event in; False when the copy holds a newer change of its SKU."""
        stored = self.items.get(event.sku)
        match event:
            case ProductPublished():
                components = tuple((c.sku, c.quantity) for c in event.components or ())
                item = CatalogItem(
                    event.sku, event.name, event.price_minor, event.currency, event.active,
                    components, event.weight_g,
                )  # fmt: skip
            case PriceChanged():
                if stored is None:
                    # Catalog announces a product before any price change on the same key
                    # (one partition), so this can only follow a lost ProductPublished:
                    # dead-letter it for an operator rather than invent a nameless product.
                    raise PermanentFailure(f"price changed for unknown SKU {event.sku!r}")
                item = replace(stored.item, price_minor=event.price_minor, currency=event.currency)
        if stored is not None and stored.changed_at > occurred_at:
            return False
        self.items[event.sku] = CopiedItem(item, occurred_at)
        self.changed.add(event.sku)
        return True


async def handle_catalog_events(
    store: CatalogStore, items: Sequence[Incoming[CatalogEvent]]
) -> None:
    """Load and lock once, fold in message order, write each changed row once. (The copy
    answers nobody: it needs neither the batch's outbox nor its clock.)"""
    copy = await store.load_for_update(sorted({item.message.sku for item in items}))
    applied = sum(copy.apply(item.message, item.envelope.occurred_at) for item in items)
    await store.save(copy)
    log.debug("catalog_copy_batch", events=len(items), applied=applied, skus=len(copy.changed))
