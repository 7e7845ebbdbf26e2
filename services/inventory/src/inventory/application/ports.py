"""What the batch use case needs from storage (PostgreSQL, or the in-memory fake)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from inventory.application.batch import StockBook


class StockStore(Protocol):
    async def load_for_update(
        self, order_ids: Sequence[str], skus: Iterable[str], receipts_of: Sequence[str] = ()
    ) -> StockBook:
        """The orders' reservations and the stock rows of ``skus`` and of those
        reservations' lines, locked (reservations by order id, then SKUs in order), and
        the return receipts of the orders ``receipts_of``."""

    async def save(self, book: StockBook) -> None:
        """Insert the book's new reservations (a concurrent insert of the same order is
        an error), update its changed ones, write each moved SKU once, and insert its new
        return receipts (one of a return that has one is an error)."""
