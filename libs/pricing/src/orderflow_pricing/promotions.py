"""Promotions: cart rules (no code: they apply by themselves) and coupon codes, applied
to a priced basket. Pure, like ``resolve``: checkout applies them to an order's lines
and records each line's discount; the usage limits are counted where redemptions are
reserved (the saga's first step), never here.

A promotion takes ``percent`` (basis points: 1000 = 10 %) or a ``fixed`` amount off the
lines in its scope (some SKUs, None: the whole basket), when the basket reaches its
minimum, within its validity window. The stacking policy, in this order:
1. coupons the customer gave are all applied, unless one of them is **exclusive**: then
   it must be the only coupon given (else the order is refused, naming it), and no cart
   rule applies beside it;
2. with no exclusive coupon, every **stackable** cart rule that applies is added;
3. with no coupon at all, an **exclusive** cart rule replaces the stackable ones when
   it takes more off (ties: the stackable ones; then the lowest (priority, id)).
Promotions are applied one after another by (priority, id) to what is left of each line,
so a line never goes below zero, whatever the combination. Percentages round half up per
line; a fixed amount is spread over its lines in proportion to what is left of them (the
remainder to the first lines), never more than they have left.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

MAX_BASIS_POINTS = 10_000


class DiscountKind(StrEnum):
    PERCENT = "percent"  # ``value`` in basis points of each line in scope
    FIXED = "fixed"  # ``value`` minor units off the lines in scope, in ``currency``


class Stacking(StrEnum):
    STACKABLE = "stackable"
    EXCLUSIVE = "exclusive"


@dataclass(frozen=True)
class Promotion:
    promotion_id: str
    kind: DiscountKind
    value: int
    code: str | None = None  # None: a cart rule
    currency: str | None = None  # a fixed amount's currency (percent: any)
    min_basket_minor: int = 0  # the basket's total before discounts, in its currency
    skus: frozenset[str] | None = None  # the scope (None: every line)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    stacking: Stacking = Stacking.STACKABLE
    priority: int = 0
    global_limit: int | None = None  # redemptions in all
    per_customer_limit: int | None = None  # redemptions per customer

    def __post_init__(self) -> None:
        if self.value < 1 or (self.kind is DiscountKind.PERCENT and self.value > MAX_BASIS_POINTS):
            raise ValueError("a promotion takes 1 minor unit or 1 basis point up to 100 %")
        if self.kind is DiscountKind.FIXED and self.currency is None:
            raise ValueError("a fixed amount names its currency")

    @property
    def limited(self) -> bool:
        """Whether a redemption must be reserved (its uses are counted)."""
        return self.global_limit is not None or self.per_customer_limit is not None

    def in_force(self, at: datetime) -> bool:
        return (self.valid_from is None or self.valid_from <= at) and (
            self.valid_until is None or at < self.valid_until
        )

    def in_scope(self, sku: str) -> bool:
        return self.skus is None or sku in self.skus

    def to_json(self) -> dict[str, Any]:
        """The JSON shape both the catalog's store and its announcement
        (``PromotionChanged``) use; ``from_json`` reads it back."""
        return {
            "promotion_id": self.promotion_id, "kind": self.kind.value, "value": self.value,
            "code": self.code, "currency": self.currency,
            "min_basket_minor": self.min_basket_minor,
            "skus": sorted(self.skus) if self.skus is not None else None,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "stacking": self.stacking.value, "priority": self.priority,
            "global_limit": self.global_limit, "per_customer_limit": self.per_customer_limit,
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Promotion:
        """A promotion from ``to_json``'s shape (keys beyond it are ignored)."""
        skus = data["skus"]
        return cls(
            promotion_id=data["promotion_id"], kind=DiscountKind(data["kind"]),
            value=data["value"], code=data["code"], currency=data["currency"],
            min_basket_minor=data["min_basket_minor"],
            skus=frozenset(skus) if skus is not None else None,
            valid_from=_moment(data["valid_from"]), valid_until=_moment(data["valid_until"]),
            stacking=Stacking(data["stacking"]), priority=data["priority"],
            global_limit=data["global_limit"], per_customer_limit=data["per_customer_limit"],
        )  # fmt: skip


def _moment(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


@dataclass(frozen=True)
class BasketLine:
    sku: str
    total_minor: int  # the line's price before discounts


@dataclass(frozen=True)
class Applied:
    """A promotion applied: how much it took off in all and from each line."""

    promotion: Promotion
    amount_minor: int
    by_line: tuple[int, ...]


@dataclass(frozen=True)
class Discounted:
    """The basket after promotions: each line's discount (its sum over ``applied``)."""

    applied: tuple[Applied, ...]
    line_discounts: tuple[int, ...]

    @property
    def total_minor(self) -> int:
        return sum(self.line_discounts)

    def promotions_of(self, line: int) -> tuple[str, ...]:
        return tuple(a.promotion.promotion_id for a in self.applied if a.by_line[line])


class CouponProblem(ValueError):
    """A coupon the order cannot have: which one (its position among the codes given),
    and why, for the customer."""

    def __init__(self, index: int, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.index = index
        self.code = code
        self.reason = reason


def normalized(code: str) -> str:
    """Codes are matched without regard to case or surrounding spaces."""
    return code.strip().upper()


def apply_promotions(
    lines: Sequence[BasketLine],
    currency: str,
    at: datetime,
    promotions: Iterable[Promotion],
    codes: Sequence[str] = (),
) -> Discounted:
    """What ``promotions`` take off ``lines`` (module docstring: the policy). Every
    coupon in ``codes`` must apply, else ``CouponProblem`` for the first that does not."""
    offered = list(promotions)
    coupons = _coupons(lines, currency, at, offered, codes)
    subtotal = sum(line.total_minor for line in lines)
    rules = [p for p in offered if p.code is None and _eligible(p, lines, currency, at, subtotal)]
    exclusive = [c for c in coupons if c.stacking is Stacking.EXCLUSIVE]
    if exclusive:
        if len(coupons) > 1:
            index = list(coupons).index(exclusive[0])
            raise CouponProblem(index, codes[index], "cannot be combined with other coupons")
        return _discount(lines, coupons)
    stackable = coupons + [r for r in rules if r.stacking is Stacking.STACKABLE]
    best = _discount(lines, stackable)
    if coupons:
        return best
    for rule in sorted(
        (r for r in rules if r.stacking is Stacking.EXCLUSIVE),
        key=lambda r: (r.priority, r.promotion_id),
    ):
        alone = _discount(lines, [rule])
        if alone.total_minor > best.total_minor:
            best = alone
    return best


def _coupons(
    lines: Sequence[BasketLine],
    currency: str,
    at: datetime,
    offered: list[Promotion],
    codes: Sequence[str],
) -> list[Promotion]:
    by_code = {normalized(p.code): p for p in offered if p.code is not None}
    subtotal = sum(line.total_minor for line in lines)
    coupons: list[Promotion] = []
    for index, code in enumerate(codes):
        promotion = by_code.get(normalized(code))
        if promotion is None:
            raise CouponProblem(index, code, "unknown coupon")
        if promotion in coupons:
            raise CouponProblem(index, code, "given twice")
        reason = _why_not(promotion, lines, currency, at, subtotal)
        if reason is not None:
            raise CouponProblem(index, code, reason)
        coupons.append(promotion)
    return coupons


def _why_not(
    p: Promotion, lines: Sequence[BasketLine], currency: str, at: datetime, subtotal: int
) -> str | None:
    if p.valid_until is not None and at >= p.valid_until:
        return "expired"
    if not p.in_force(at):
        return "not valid yet"
    if p.currency is not None and p.currency != currency:
        return f"only for orders in {p.currency}"
    if not any(p.in_scope(line.sku) for line in lines):
        return "applies to none of the order's products"
    if subtotal < p.min_basket_minor:
        return f"needs a basket of at least {p.min_basket_minor} minor units"
    return None


def _eligible(
    p: Promotion, lines: Sequence[BasketLine], currency: str, at: datetime, subtotal: int
) -> bool:
    return _why_not(p, lines, currency, at, subtotal) is None


def _discount(lines: Sequence[BasketLine], chosen: Collection[Promotion]) -> Discounted:
    left = [line.total_minor for line in lines]
    applied: list[Applied] = []
    for promotion in sorted(chosen, key=lambda p: (p.priority, p.promotion_id)):
        scope = [n for n, line in enumerate(lines) if promotion.in_scope(line.sku)]
        by_line = _take(promotion, left, scope)
        for n, amount in enumerate(by_line):
            left[n] -= amount
        if any(by_line):
            applied.append(Applied(promotion, sum(by_line), by_line))
    discounts = tuple(line.total_minor - rest for line, rest in zip(lines, left, strict=True))
    return Discounted(tuple(applied), discounts)


def _take(promotion: Promotion, left: list[int], scope: list[int]) -> tuple[int, ...]:
    taken = [0] * len(left)
    if promotion.kind is DiscountKind.PERCENT:
        for n in scope:
            share = (Decimal(left[n]) * promotion.value / MAX_BASIS_POINTS).quantize(
                Decimal(1), rounding=ROUND_HALF_UP
            )
            taken[n] = min(int(share), left[n])
        return tuple(taken)
    available = sum(left[n] for n in scope)
    amount = min(promotion.value, available)
    if amount == 0:
        return tuple(taken)
    for n in scope:
        taken[n] = amount * left[n] // available
    remainder = amount - sum(taken)
    for n in scope:  # what rounding down left over, to the first lines that have room
        extra = min(remainder, left[n] - taken[n])
        taken[n] += extra
        remainder -= extra
    return tuple(taken)
