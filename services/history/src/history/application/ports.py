"""What the batch use case needs from storage (PostgreSQL, or the in-memory fake)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from history.domain.projection import OrderHistory


class HistoryStore(Protocol):
    async def load_for_update(self, order_ids: Sequence[str]) -> dict[str, OrderHistory]:
        """The rows of those of ``order_ids`` (sorted) that exist, locked in that order."""

    async def save(self, rows: Sequence[OrderHistory], loaded: Collection[str]) -> set[str]:
        """Write ``rows`` at once. A row whose order is in ``loaded`` (read and locked by
        this transaction) is overwritten; any other is inserted, unless another transaction
        created that order since the load: such a row is not written, its order's row is
        locked, and its id returned so that the caller folds onto that row instead."""
