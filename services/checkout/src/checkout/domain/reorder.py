"""Reordering a past order, pure: which of its lines can be ordered again today, and
what changed between the two orders.

A line is ordered again when checkout's catalog copy still sells its SKU and, where the
stock copy (inventory.stock) knows a level, enough is there (a bundle: enough of each
component); the others are reported as unavailable with the reason. Prices are today's,
resolved as for any new order; ``price_changes`` compares them line by line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from checkout.domain.model import CatalogItem, LineDraft, Order

NOT_SOLD = "no longer sold"
GONE_SINCE = "not available when reordered"


@dataclass(frozen=True)
class Unavailable:
    sku: str
    quantity: int
    reason: str


@dataclass(frozen=True)
class PriceChange:
    sku: str
    was_minor: int
    now_minor: int


def _short(item: CatalogItem, quantity: int, levels: Mapping[str, int]) -> str | None:
    """Why ``quantity`` of ``item`` cannot be had now (None: it can, as far as known)."""
    needs = item.components or ((item.sku, 1),)
    for sku, per_unit in needs:
        level = levels.get(sku)
        if level is not None and level < per_unit * quantity:
            return f"only {level} of {sku} in stock" if level > 0 else f"{sku} is out of stock"
    return None


def reorder_lines(
    previous: Order, catalog: Mapping[str, CatalogItem], levels: Mapping[str, int]
) -> tuple[tuple[LineDraft, ...], tuple[Unavailable, ...]]:
    """The lines to order again and those that cannot be, in the order's line order."""
    lines, unavailable = [], []
    for line in previous.lines:
        item = catalog.get(line.sku)
        reason = (
            NOT_SOLD if item is None or not item.active else _short(item, line.quantity, levels)
        )
        if reason is None:
            lines.append(LineDraft(line.sku, line.quantity))
        else:
            unavailable.append(Unavailable(line.sku, line.quantity, reason))
    return tuple(lines), tuple(unavailable)


def price_changes(previous: Order, placed: Order) -> tuple[PriceChange, ...]:
    was = {line.sku: line.unit_price_minor for line in previous.lines}
    return tuple(
        PriceChange(line.sku, was[line.sku], line.unit_price_minor)
        for line in placed.lines
        if line.sku in was and was[line.sku] != line.unit_price_minor
    )


def missing_lines(previous: Order, placed: Order) -> tuple[Unavailable, ...]:
    """The previous order's lines the reorder left out (for a retry's answer, when the
    reasons of the first answer are no longer known)."""
    kept = {line.sku for line in placed.lines}
    return tuple(
        Unavailable(line.sku, line.quantity, GONE_SINCE)
        for line in previous.lines
        if line.sku not in kept
    )
