"""The availability projection's fold: per SKU the highest revision, whatever the order."""

from __future__ import annotations

import itertools

from catalog.adapters.levels import MemoryStockLevels
from catalog.application.availability import record_levels
from catalog.domain.model import Product, StockLevel, latest_levels

LEVELS = [
    StockLevel("B", 4, 2),
    StockLevel("A", 1, 7),
    StockLevel("B", 9, 1),
    StockLevel("A", 0, 8),
]


def test_the_highest_revision_of_each_sku_wins_in_any_order() -> None:
    for order in itertools.permutations(LEVELS):
        assert latest_levels(order) == [StockLevel("A", 0, 8), StockLevel("B", 4, 2)]


async def test_a_batch_writes_each_sku_once_and_never_moves_one_back() -> None:
    store = MemoryStockLevels({"A": StockLevel("A", 3, 9)})
    assert await record_levels(store, LEVELS) == 2
    assert store.levels == {"A": StockLevel("A", 3, 9), "B": StockLevel("B", 4, 2)}


def test_in_stock_needs_an_announced_level_above_zero() -> None:
    assert not Product("TEE", "Tee", 1990, "EUR").in_stock  # none announced
    assert not Product("TEE", "Tee", 1990, "EUR", available=0).in_stock
    assert Product("TEE", "Tee", 1990, "EUR", available=2).in_stock
