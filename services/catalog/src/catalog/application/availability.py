"""The catalog's availability: a projection of inventory's stock levels
(inventory.stock), a batch at a time. Never a call to inventory: search and product
pages read what inventory last announced."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from catalog.domain.model import StockLevel, latest_levels


class StockLevelStore(Protocol):
    async def save(self, levels: Sequence[StockLevel]) -> None:
        """Keep each level whose revision is above the stored one's (one per SKU)."""

    async def get(self, sku: str) -> StockLevel | None: ...


async def record_levels(store: StockLevelStore, levels: Iterable[StockLevel]) -> int:
    """Fold a batch of levels into the projection: per SKU the highest revision, written
    once; returns how many SKUs the batch named."""
    latest = latest_levels(levels)
    await store.save(latest)
    return len(latest)
