"""Price resolution: one unit price for (SKU, quantity, currency, customer, moment).

Precedence, first that prices the SKU in the currency wins:
1. a **contract** list of this customer;
2. a **group** list of one of the customer's groups (a customer in several: the lowest);
3. the **default** list;
4. the catalog's **base price** of the product.
Only lists valid at the moment count (``valid_from`` inclusive, ``valid_until``
exclusive). Within a list, the SKU's tier with the largest minimum quantity the order
reaches is taken (volume prices). Several lists of the same rank that price the SKU: the
lowest unit price wins, then the smallest list id, so the answer never depends on the
order the lists are given in.

Then at most one **rule** (dynamic pricing as data): the first by (priority, rule id)
that applies to the SKU at the moment, and to the stock level when it has a stock bound,
changes the price by ``percent`` (negative: a discount), rounded half up to a minor unit,
and clamps it to the rule's floor and cap. A price is never negative.

No lookup happens here: the caller loads the lists, rules, base price and stock level it
has, so the catalog's API and checkout resolve with the same code and, from the same
data, to the same price, and the resolution says what priced it (for the order line's
audit trail).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum


class ListKind(StrEnum):
    CONTRACT = "contract"
    GROUP = "group"
    DEFAULT = "default"


PRECEDENCE: tuple[ListKind, ...] = (ListKind.CONTRACT, ListKind.GROUP, ListKind.DEFAULT)


class NoPrice(LookupError):
    """Nothing prices this SKU in this currency."""

    def __init__(self, sku: str, currency: str) -> None:
        super().__init__(f"no price for {sku!r} in {currency}")
        self.sku = sku
        self.currency = currency


def _within(at: datetime, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or start <= at) and (end is None or at < end)


@dataclass(frozen=True)
class Tier:
    """From ``min_quantity`` units on, each costs ``unit_price_minor``."""

    min_quantity: int
    unit_price_minor: int

    def __post_init__(self) -> None:
        if self.min_quantity < 1 or self.unit_price_minor < 0:
            raise ValueError("a tier starts at 1 unit or more and is never negative")


@dataclass(frozen=True)
class Customer:
    customer_id: str | None = None  # None: anonymous
    groups: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PriceList:
    list_id: str
    kind: ListKind
    currency: str
    prices: Mapping[str, tuple[Tier, ...]]  # SKU -> its tiers
    customer_id: str | None = None  # whose contract (CONTRACT)
    group: str | None = None  # which customer group (GROUP)
    valid_from: datetime | None = None
    valid_until: datetime | None = None

    def applies(self, customer: Customer, currency: str, at: datetime) -> bool:
        if self.currency != currency or not _within(at, self.valid_from, self.valid_until):
            return False
        if self.kind is ListKind.CONTRACT:
            return customer.customer_id is not None and self.customer_id == customer.customer_id
        if self.kind is ListKind.GROUP:
            return self.group is not None and self.group in customer.groups
        return True

    def tier(self, sku: str, quantity: int) -> Tier | None:
        """The SKU's tier for ``quantity``: the largest minimum it reaches."""
        reached = [t for t in self.prices.get(sku, ()) if t.min_quantity <= quantity]
        return max(reached, key=lambda t: (t.min_quantity, -t.unit_price_minor), default=None)


@dataclass(frozen=True)
class PriceRule:
    """A dynamic price change as data: ``percent`` of the price (negative: cheaper),
    for some SKUs (None: all), in a time window, optionally only while the stock is
    within bounds; the result kept between ``floor_minor`` and ``cap_minor``."""

    rule_id: str
    percent: Decimal
    priority: int = 0
    skus: frozenset[str] | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    stock_at_most: int | None = None  # e.g. clearance while few are left
    stock_at_least: int | None = None  # e.g. a discount while plenty are in stock
    floor_minor: int = 0
    cap_minor: int | None = None

    def __post_init__(self) -> None:
        if self.floor_minor < 0 or (
            self.cap_minor is not None and self.cap_minor < self.floor_minor
        ):
            raise ValueError("a rule's floor is 0 or more and its cap not below its floor")

    def applies(self, sku: str, at: datetime, stock: int | None) -> bool:
        if self.skus is not None and sku not in self.skus:
            return False
        if not _within(at, self.valid_from, self.valid_until):
            return False
        if self.stock_at_most is not None and (stock is None or stock > self.stock_at_most):
            return False
        return not (
            self.stock_at_least is not None and (stock is None or stock < self.stock_at_least)
        )

    def apply(self, price_minor: int) -> int:
        changed = (Decimal(price_minor) * (100 + self.percent) / 100).quantize(
            Decimal(1), rounding=ROUND_HALF_UP
        )
        clamped = max(int(changed), self.floor_minor, 0)
        return clamped if self.cap_minor is None else min(clamped, self.cap_minor)


@dataclass(frozen=True)
class BasePrice:
    """The catalog's own price of the product (the last resort)."""

    unit_price_minor: int
    currency: str


@dataclass(frozen=True)
class Resolution:
    sku: str
    quantity: int
    currency: str
    unit_price_minor: int
    source: str  # "contract:<list>", "group:<list>", "default:<list>" or "base"
    tier_min_quantity: int | None = None
    listed_unit_price_minor: int = 0  # before the rule
    rule: str | None = None  # the rule id that changed it
    considered: tuple[str, ...] = ()  # the lists that applied, sorted

    @property
    def total_minor(self) -> int:
        return self.unit_price_minor * self.quantity


def resolve(
    sku: str,
    quantity: int,
    currency: str,
    customer: Customer,
    at: datetime,
    *,
    lists: Iterable[PriceList] = (),
    rules: Iterable[PriceRule] = (),
    base: BasePrice | None = None,
    stock: int | None = None,
) -> Resolution:
    """The unit price of ``quantity`` x ``sku`` for ``customer`` at ``at`` (module
    docstring: the precedence); ``NoPrice`` when nothing prices it in ``currency``."""
    if quantity < 1:
        raise ValueError("a quantity is 1 or more")
    applicable = [p for p in lists if p.applies(customer, currency, at)]
    listed = _from_lists(sku, quantity, applicable)
    if listed is not None:
        price_list, tier = listed
        source = f"{price_list.kind.value}:{price_list.list_id}"
        listed_price, tier_min = tier.unit_price_minor, tier.min_quantity
    elif base is not None and base.currency == currency:
        source, listed_price, tier_min = "base", base.unit_price_minor, None
    else:
        raise NoPrice(sku, currency)
    rule = _first_rule(rules, sku, at, stock)
    price = rule.apply(listed_price) if rule is not None else max(listed_price, 0)
    return Resolution(
        sku=sku,
        quantity=quantity,
        currency=currency,
        unit_price_minor=price,
        source=source,
        tier_min_quantity=tier_min,
        listed_unit_price_minor=listed_price,
        rule=rule.rule_id if rule is not None else None,
        considered=tuple(sorted(p.list_id for p in applicable)),
    )


def _from_lists(
    sku: str, quantity: int, applicable: list[PriceList]
) -> tuple[PriceList, Tier] | None:
    for kind in PRECEDENCE:
        offers = [
            (tier.unit_price_minor, price_list.list_id, price_list, tier)
            for price_list in applicable
            if price_list.kind is kind and (tier := price_list.tier(sku, quantity)) is not None
        ]
        if offers:
            # Equal price and id (two lists named alike): the tier decides, then it is
            # the same answer whichever is taken.
            _, _, price_list, tier = min(offers, key=lambda o: (o[0], o[1], o[3].min_quantity))
            return price_list, tier
    return None


def _first_rule(
    rules: Iterable[PriceRule], sku: str, at: datetime, stock: int | None
) -> PriceRule | None:
    candidates = [r for r in rules if r.applies(sku, at, stock)]
    return min(candidates, key=lambda r: (r.priority, r.rule_id), default=None)
