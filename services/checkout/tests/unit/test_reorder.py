"""Reordering, pure: which lines of a past order can be ordered again, and what changed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from checkout.domain.model import CatalogItem, LineDraft, Order, OrderLine, OrderStatus
from checkout.domain.reorder import (
    GONE_SINCE,
    NOT_SOLD,
    PriceChange,
    Unavailable,
    missing_lines,
    price_changes,
    reorder_lines,
)

NOW = datetime(2026, 12, 7, tzinfo=UTC)


def order(*lines: tuple[str, int, int], order_id: str = "o-1") -> Order:
    return Order(
        order_id, "k", "f", "c-1",
        tuple(OrderLine(sku, quantity, price) for sku, quantity, price in lines),
        "EUR", sum(q * p for _, q, p in lines), OrderStatus.PLACED, NOW,
    )  # fmt: skip


CATALOG = {
    "TEE": CatalogItem("TEE", "Tee", 2190, "EUR"),
    "MUG": CatalogItem("MUG", "Mug", 1250, "EUR"),
    "OLD": CatalogItem("OLD", "Retired", 900, "EUR", active=False),
    "KIT": CatalogItem("KIT", "Kit", 3000, "EUR", components=(("TEE", 1), ("MUG", 2))),
}
PAST = order(
    ("TEE", 2, 1990), ("MUG", 1, 1250), ("OLD", 1, 900), ("GONE", 1, 500), ("KIT", 1, 2900)
)


def test_lines_still_sold_and_in_stock_are_ordered_again() -> None:
    lines, unavailable = reorder_lines(PAST, CATALOG, {"TEE": 10, "MUG": 10})
    assert lines == (LineDraft("TEE", 2), LineDraft("MUG", 1), LineDraft("KIT", 1))
    assert unavailable == (Unavailable("OLD", 1, NOT_SOLD), Unavailable("GONE", 1, NOT_SOLD))


def test_a_level_too_low_leaves_the_line_out_and_says_why() -> None:
    _, unavailable = reorder_lines(PAST, CATALOG, {"TEE": 1, "MUG": 0})
    assert [(u.sku, u.reason) for u in unavailable][:2] == [
        ("TEE", "only 1 of TEE in stock"), ("MUG", "MUG is out of stock"),
    ]  # fmt: skip
    # The kit needs 2 mugs per kit: out of stock through its component.
    assert ("KIT", "MUG is out of stock") in [(u.sku, u.reason) for u in unavailable]


def test_an_unknown_level_does_not_hold_a_line_back() -> None:
    lines, _ = reorder_lines(order(("TEE", 3, 1990)), CATALOG, {})
    assert lines == (LineDraft("TEE", 3),)


def test_changes_compare_todays_prices_and_name_what_was_left_out() -> None:
    placed = order(("TEE", 2, 2190), ("MUG", 1, 1250), order_id="o-2")
    assert price_changes(PAST, placed) == (PriceChange("TEE", 1990, 2190),)
    assert [u.sku for u in missing_lines(PAST, placed)] == ["OLD", "GONE", "KIT"]
    assert {u.reason for u in missing_lines(PAST, placed)} == {GONE_SINCE}
    assert price_changes(PAST, replace(PAST, order_id="o-3")) == ()
