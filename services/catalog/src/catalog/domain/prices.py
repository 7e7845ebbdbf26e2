"""Prices beyond the base price, as the catalog keeps them: price lists and rules (the
resolution itself is ``orderflow_pricing.resolve``, shared with checkout), each with
whether it is in force and its revision (every change announces the whole new state)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from orderflow_pricing import ListKind, PriceList, PriceRule, Tier


class InvalidPrices(ValueError):
    """A price list or rule that cannot be kept: which field, and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class StoredList:
    price_list: PriceList
    active: bool
    revision: int


@dataclass(frozen=True)
class StoredRule:
    rule: PriceRule
    basis_points: int  # the rule's percent x 100, as on the wire
    active: bool
    revision: int


def checked_list(price_list: PriceList) -> PriceList:
    """``price_list`` if it is consistent, else ``InvalidPrices`` naming the field."""
    if price_list.kind is ListKind.CONTRACT and not price_list.customer_id:
        raise InvalidPrices("customer_id", "a contract list names its customer")
    if price_list.kind is ListKind.GROUP and not price_list.group:
        raise InvalidPrices("group", "a group list names its customer group")
    if price_list.kind is not ListKind.CONTRACT and price_list.customer_id:
        raise InvalidPrices("customer_id", "only a contract list names a customer")
    if price_list.kind is not ListKind.GROUP and price_list.group:
        raise InvalidPrices("group", "only a group list names a customer group")
    _check_window(price_list.valid_from, price_list.valid_until)
    for sku, tiers in price_list.prices.items():
        starts = [t.min_quantity for t in tiers]
        if len(set(starts)) != len(starts):
            raise InvalidPrices("prices", f"{sku}: two tiers start at the same quantity")
    return price_list


def checked_rule(rule: PriceRule) -> PriceRule:
    _check_window(rule.valid_from, rule.valid_until)
    at_most, at_least = rule.stock_at_most, rule.stock_at_least
    if at_most is not None and at_least is not None and at_least > at_most:
        raise InvalidPrices("stock_at_least", "is above stock_at_most")
    return rule


def _check_window(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and end <= start:
        raise InvalidPrices("valid_until", "is not after valid_from")


def tiers_of(prices: Mapping[str, list[tuple[int, int]]]) -> dict[str, tuple[Tier, ...]]:
    """``{"SKU": [(min_quantity, unit_price_minor), ...]}`` -> tiers, lowest first."""
    return {sku: tuple(Tier(q, p) for q, p in sorted(tiers)) for sku, tiers in prices.items()}
