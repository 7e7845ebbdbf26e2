"""Promotion use cases: keep promotions (each change and its announcement commit
together, for checkout's copy), and answer the saga's redemption commands a batch at a
time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

import structlog

from catalog.application.announce import announce, next_revision
from catalog.application.unit_of_work import CatalogUnitOfWork
from catalog.domain.promotions import (
    InvalidPromotion,
    RedemptionBook,
    StoredPromotion,
    checked_promotion,
)
from orderflow_contracts import topics
from orderflow_contracts.catalog import PromotionChanged
from orderflow_contracts.promotions import RedeemPromotions, ReleasePromotions
from orderflow_messaging.consumer import Batch, Incoming
from orderflow_pricing import Promotion

log = structlog.get_logger(__name__)

RedemptionCommand = RedeemPromotions | ReleasePromotions


async def save_promotion(
    uow: CatalogUnitOfWork,
    promotion: Promotion,
    categories: Sequence[str] | None,
    *,
    active: bool = True,
) -> StoredPromotion:
    """Create or replace the promotion (its next revision) and announce it; the same
    definition again changes nothing. ``promotion.skus`` is the declared SKU set; the
    announced scope adds the products of ``categories`` and their subcategories.
    ``InvalidPromotion`` when it is inconsistent, names SKUs or categories the catalog
    does not have, or takes a coupon code another promotion has."""
    declared = promotion.skus
    if declared is not None:
        known = await uow.products.many(sorted(declared))
        if unknown := sorted(declared - set(known)):
            raise InvalidPromotion("skus", f"unknown SKUs: {', '.join(unknown)}")
    if categories is not None:
        slugs = {c.slug for c in await uow.categories.tree()}
        if unknown := sorted(set(categories) - slugs):
            raise InvalidPromotion("categories", f"unknown categories: {', '.join(unknown)}")
    scope = await _scope(uow, declared, categories)
    checked = checked_promotion(replace(promotion, skus=scope))
    if checked.code is not None:
        holder = await uow.promotions.holder_of(checked.code)
        if holder is not None and holder != checked.promotion_id:
            raise InvalidPromotion("code", f"{checked.code} is the code of {holder}")
    before = await uow.promotions.get(checked.promotion_id, for_update=True)
    wanted = StoredPromotion(
        checked, declared, tuple(sorted(categories)) if categories is not None else None,
        active, next_revision(before), before.redeemed if before else 0,
    )  # fmt: skip
    if before is not None and before.same_definition(wanted):
        return before  # sent again: nothing changed, nothing to announce
    await uow.promotions.save(wanted)
    await announce(uow, promotion_changed(wanted), checked.promotion_id)
    log.info("promotion_saved", promotion_id=checked.promotion_id, revision=wanted.revision)
    return wanted


async def _scope(
    uow: CatalogUnitOfWork, declared: frozenset[str] | None, categories: Sequence[str] | None
) -> frozenset[str] | None:
    if declared is None and categories is None:
        return None
    under = await uow.promotions.skus_under(categories) if categories else []
    return frozenset(declared or ()) | frozenset(under)


def promotion_changed(stored: StoredPromotion) -> PromotionChanged:
    return PromotionChanged(
        **stored.promotion.to_json(),
        categories=list(stored.categories) if stored.categories is not None else None,
        active=stored.active,
        revision=stored.revision,
    )


class RedemptionStore(Protocol):
    async def load_for_update(
        self, promotion_ids: Sequence[str], order_ids: Sequence[str], customers: Sequence[str]
    ) -> RedemptionBook:
        """The named promotions (locked, in id order), the orders' redemptions and the
        customers' reserved uses of those promotions."""

    async def save(self, book: RedemptionBook) -> None:
        """The book's written redemptions and changed counts."""


async def handle_redemptions(
    store: RedemptionStore, batch: Batch, items: Sequence[Incoming[RedemptionCommand]]
) -> None:
    """Load and lock once, decide in message order, write once; every command is
    answered (a resend gets the same answer, never a second use)."""
    commands = [item.message for item in items]
    book = await store.load_for_update(
        sorted({pid for c in commands for pid in c.promotion_ids}),
        sorted({c.order_id for c in commands}),
        sorted({c.customer_id for c in commands if isinstance(c, RedeemPromotions)}),
    )
    now = batch.clock()
    for item in items:
        reply = book.apply(item.message, now)
        batch.outbox.put(
            topics.PROMOTIONS_EVENTS,
            reply,
            correlation_id=item.message.order_id,
            causation=item.envelope,
        )
        log.debug("redemption", order_id=item.message.order_id, reply=reply.TYPE)
    await store.save(book)
