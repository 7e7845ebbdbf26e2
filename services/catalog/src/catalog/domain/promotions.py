"""Promotions as the catalog keeps them, and their redemptions.

A promotion (``orderflow_pricing.Promotion``: what it takes off, and when) is stored
with what its manager declared (SKUs, categories) and the scope that declaration covers
now (the SKUs of those categories and below, announced as a SKU set); ``redeemed``
counts its reserved uses.

``RedemptionBook`` decides a batch of redemption commands in message order, in memory:
a redemption reserves one use of every promotion the order names, all or none, while
each promotion has a use left in all and for the customer; a release gives the order's
uses back (and, when nothing was reserved yet, leaves a tombstone so that a late
redemption is refused, never reserved after the order gave up).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from catalog.domain.prices import InvalidPrices
from orderflow_contracts.promotions import (
    PromotionRedemptionRefused,
    PromotionsRedeemed,
    PromotionsReleased,
    RedeemPromotions,
    ReleasePromotions,
)
from orderflow_messaging.registry import Message
from orderflow_pricing import DiscountKind, Promotion

MAX_FIXED_MINOR = 10_000_000_000


class InvalidPromotion(InvalidPrices):
    """A promotion that cannot be kept: which field, and why."""


@dataclass(frozen=True)
class StoredPromotion:
    promotion: Promotion  # its ``skus``: the scope as announced
    declared_skus: frozenset[str] | None
    categories: tuple[str, ...] | None
    active: bool
    revision: int
    redeemed: int = 0

    @property
    def promotion_id(self) -> str:
        return self.promotion.promotion_id

    def same_definition(self, other: StoredPromotion) -> bool:
        return (self.promotion, self.declared_skus, self.categories, self.active) == (
            other.promotion,
            other.declared_skus,
            other.categories,
            other.active,
        )


def checked_promotion(promotion: Promotion) -> Promotion:
    """``promotion`` if it is consistent, else ``InvalidPromotion`` naming the field."""
    if promotion.kind is DiscountKind.PERCENT and promotion.currency is not None:
        raise InvalidPromotion("currency", "a percentage applies in any currency")
    if promotion.kind is DiscountKind.FIXED and promotion.value > MAX_FIXED_MINOR:
        raise InvalidPromotion("value", f"at most {MAX_FIXED_MINOR} minor units")
    start, end = promotion.valid_from, promotion.valid_until
    if start is not None and end is not None and end <= start:
        raise InvalidPromotion("valid_until", "is not after valid_from")
    if promotion.skus is not None and not promotion.skus:
        raise InvalidPromotion("skus", "the scope covers no product")
    return promotion


class RedemptionStatus(StrEnum):
    RESERVED = "reserved"
    RELEASED = "released"


@dataclass(frozen=True)
class Redemption:
    order_id: str
    promotion_id: str
    customer_id: str | None  # None: a tombstone (released before it was reserved)
    status: RedemptionStatus
    at: datetime


@dataclass
class RedemptionBook:
    """What a batch of redemption commands touches: the named promotions (locked), the
    orders' redemptions, and the batch's customers' reserved uses per promotion."""

    promotions: dict[str, StoredPromotion]
    redemptions: dict[tuple[str, str], Redemption]  # (order id, promotion id)
    customer_uses: dict[tuple[str, str], int]  # (promotion id, customer id) -> reserved
    written: dict[tuple[str, str], Redemption] = field(default_factory=dict)
    counted: set[str] = field(default_factory=set)  # promotions whose count changed

    def apply(self, command: Message, now: datetime) -> Message:
        match command:
            case RedeemPromotions():
                return self._redeem(command, now)
            case ReleasePromotions():
                return self._release(command, now)
        raise TypeError(f"not a redemption command: {command.TYPE}")

    def _redeem(self, cmd: RedeemPromotions, now: datetime) -> Message:
        wanted = list(dict.fromkeys(cmd.promotion_ids))
        known = [self.redemptions.get((cmd.order_id, pid)) for pid in wanted]
        if all(r is not None and r.status is RedemptionStatus.RESERVED for r in known):
            return PromotionsRedeemed(order_id=cmd.order_id, promotion_ids=wanted)  # resent
        for pid, existing in zip(wanted, known, strict=True):
            if existing is not None and existing.status is RedemptionStatus.RELEASED:
                return _refused(cmd, pid, "the order gave its redemptions back")
        for pid in wanted:
            if (reason := self._why_not(pid, cmd.customer_id)) is not None:
                return _refused(cmd, pid, reason)
        for pid in wanted:
            self._count(pid, cmd.customer_id, +1)
            self._put(
                Redemption(cmd.order_id, pid, cmd.customer_id, RedemptionStatus.RESERVED, now)
            )
        return PromotionsRedeemed(order_id=cmd.order_id, promotion_ids=wanted)

    def _why_not(self, pid: str, customer_id: str) -> str | None:
        stored = self.promotions.get(pid)
        if stored is None:
            return f"unknown promotion {pid}"
        if not stored.active:
            return f"{pid} is withdrawn"
        limit = stored.promotion.global_limit
        if limit is not None and stored.redeemed >= limit:
            return f"{pid} has no use left"
        per_customer = stored.promotion.per_customer_limit
        if (
            per_customer is not None
            and self.customer_uses.get((pid, customer_id), 0) >= per_customer
        ):
            return f"{pid} has no use left for this customer"
        return None

    def _release(self, cmd: ReleasePromotions, now: datetime) -> Message:
        wanted = list(dict.fromkeys(cmd.promotion_ids))
        for pid in wanted:
            existing = self.redemptions.get((cmd.order_id, pid))
            if existing is None:
                self._put(Redemption(cmd.order_id, pid, None, RedemptionStatus.RELEASED, now))
            elif existing.status is RedemptionStatus.RESERVED:
                assert existing.customer_id is not None  # only tombstones have none
                self._count(pid, existing.customer_id, -1)
                self._put(replace(existing, status=RedemptionStatus.RELEASED, at=now))
        return PromotionsReleased(order_id=cmd.order_id, promotion_ids=wanted)

    def _count(self, pid: str, customer_id: str, delta: int) -> None:
        stored = self.promotions.get(pid)
        if stored is not None:  # a release of a promotion deleted since: nothing to count
            self.promotions[pid] = replace(stored, redeemed=stored.redeemed + delta)
            self.counted.add(pid)
        key = (pid, customer_id)
        self.customer_uses[key] = self.customer_uses.get(key, 0) + delta

    def _put(self, redemption: Redemption) -> None:
        key = (redemption.order_id, redemption.promotion_id)
        self.redemptions[key] = self.written[key] = redemption


def _refused(cmd: RedeemPromotions, pid: str, reason: str) -> Message:
    return PromotionRedemptionRefused(order_id=cmd.order_id, promotion_id=pid, reason=reason)
