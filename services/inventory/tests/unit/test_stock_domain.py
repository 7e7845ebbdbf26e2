"""The inventory domain: all-or-nothing reservations, conservation of stock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from inventory.domain.model import ReservationStatus, StockItem, decide_reservation, merge_lines

EXPIRES = datetime(2026, 1, 1, tzinfo=UTC)


def items(**available: int) -> dict[str, StockItem]:
    return {sku: StockItem(sku, qty, qty) for sku, qty in available.items()}


def test_reserves_every_line() -> None:
    decision = decide_reservation("o1", {"A": 2, "B": 1}, items(A=5, B=1), EXPIRES)
    assert decision.reservation.status is ReservationStatus.RESERVED
    assert decision.items["A"].available == 3
    assert decision.items["A"].reserved == 2
    assert decision.items["B"].available == 0
    assert all(item.conserved for item in decision.items.values())


def test_one_short_line_reserves_nothing() -> None:
    decision = decide_reservation("o1", {"A": 2, "B": 2}, items(A=5, B=1), EXPIRES)
    assert decision.reservation.status is ReservationStatus.REJECTED
    assert decision.items == {}
    assert decision.unavailable == ["B"]


def test_unknown_sku_is_unavailable() -> None:
    decision = decide_reservation("o1", {"NOPE": 1}, items(A=5), EXPIRES)
    assert decision.unavailable == ["NOPE"]


def test_release_commit_and_restock_conserve_stock() -> None:
    item = StockItem("A", 10, 10).reserve(4)
    assert (item.available, item.reserved) == (6, 4)
    committed = item.commit(4)
    assert (committed.reserved, committed.committed) == (0, 4)
    restocked = committed.restock_committed(4)
    assert (restocked.available, restocked.committed) == (10, 0)
    released = item.release(4)
    assert (released.available, released.reserved) == (10, 0)
    assert all(i.conserved for i in (item, committed, restocked, released))


def test_cannot_reserve_more_than_available() -> None:
    with pytest.raises(ValueError, match="available"):
        StockItem("A", 1, 1).reserve(2)


def test_adjust_moves_initial_with_available() -> None:
    item = StockItem("A", 10, 6, reserved=4).adjust(20)
    assert (item.initial, item.available, item.reserved) == (24, 20, 4)
    assert item.conserved


def test_merge_lines_sums_repeated_skus() -> None:
    assert merge_lines([("A", 1), ("B", 2), ("A", 3)]) == {"A": 4, "B": 2}
