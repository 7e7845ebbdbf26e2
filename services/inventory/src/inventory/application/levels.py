"""Stock levels as inventory announces them (inventory.stock, keyed by SKU): the
catalog's availability is a projection of these, never a call to inventory."""

from __future__ import annotations

import re
from collections.abc import Iterable

from inventory.domain.model import StockItem
from orderflow_contracts import topics
from orderflow_contracts.common import SKU_PATTERN
from orderflow_contracts.inventory import StockLevelChanged
from orderflow_messaging.outbox import Outbox

_SKU = re.compile(SKU_PATTERN)


def announceable(sku: str) -> bool:
    """A SKU the contracts can name (stock rows from before ``PUT /stock`` checked the
    SKU may hold others: nobody can order those, and no level can carry them)."""
    return 0 < len(sku) <= 64 and _SKU.match(sku) is not None


def level_of(item: StockItem) -> StockLevelChanged:
    return StockLevelChanged(sku=item.sku, available=item.available, revision=item.revision)


async def announce(outbox: Outbox, items: Iterable[StockItem]) -> None:
    """Queue each item's level in the transaction that wrote it (SKU order)."""
    for item in sorted(items, key=lambda i: i.sku):
        await outbox.put(topics.INVENTORY_STOCK, level_of(item), correlation_id=item.sku)
