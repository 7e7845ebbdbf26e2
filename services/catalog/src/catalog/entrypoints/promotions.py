"""Promotions over HTTP: cart rules and coupons for promotion managers, with how often
each was redeemed. Every change is announced on catalog.events for checkout's copy;
checkout applies them, the saga redeems the limited ones (docs/catalog.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from catalog.application import promotions
from catalog.application.unit_of_work import unit_of_work
from catalog.domain.promotions import InvalidPromotion, StoredPromotion
from catalog.entrypoints.prices import Moment
from catalog.entrypoints.views import Slug
from orderflow_contracts.common import CouponCode, Currency, MinorUnits, PromotionId, Sku
from orderflow_messaging.clock import Clock
from orderflow_pricing import DiscountKind, Promotion, Stacking, normalized
from orderflow_service.http import invalid


class PromotionBody(BaseModel):
    """A whole promotion: a PUT replaces what was there (its uses are kept)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    code: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    kind: Literal["percent", "fixed"]
    value: Annotated[int, Field(ge=1, le=10_000_000_000)]
    currency: Currency | None = None
    min_basket_minor: MinorUnits = 0
    skus: Annotated[list[Sku], Field(min_length=1, max_length=10_000)] | None = None
    categories: Annotated[list[Slug], Field(min_length=1, max_length=100)] | None = None
    valid_from: Moment | None = None
    valid_until: Moment | None = None
    stacking: Literal["stackable", "exclusive"] = "stackable"
    priority: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    global_limit: Annotated[int, Field(ge=1)] | None = None
    per_customer_limit: Annotated[int, Field(ge=1)] | None = None
    active: bool = True


class PromotionView(BaseModel):
    promotion_id: str
    code: CouponCode | None
    kind: str
    value: int
    currency: str | None
    min_basket_minor: int
    skus: list[str] | None  # the scope: the declared SKUs and the categories' products
    categories: list[str] | None
    valid_from: Moment | None
    valid_until: Moment | None
    stacking: str
    priority: int
    global_limit: int | None
    per_customer_limit: int | None
    active: bool
    revision: int
    redeemed: int  # reserved uses (released ones are given back)


def _view(stored: StoredPromotion) -> PromotionView:
    announced = promotions.promotion_changed(stored).model_dump()
    return PromotionView.model_validate(announced | {"redeemed": stored.redeemed})


def _promotion(promotion_id: str, body: PromotionBody) -> Promotion:
    kind = DiscountKind(body.kind)
    if kind is DiscountKind.PERCENT and body.value > 10_000:
        raise invalid(("body", "value"), "a percentage is 1 to 10000 basis points")
    if kind is DiscountKind.FIXED and body.currency is None:
        raise invalid(("body", "currency"), "a fixed amount names its currency")
    code = normalized(body.code) if body.code is not None else None
    if code is not None and not _is_code(code):
        raise invalid(("body", "code"), "letters, digits, - and _ (any case), 1 to 32")
    return Promotion(
        promotion_id=promotion_id, kind=kind, value=body.value, code=code,
        currency=body.currency, min_basket_minor=body.min_basket_minor,
        skus=frozenset(body.skus) if body.skus is not None else None,
        valid_from=body.valid_from, valid_until=body.valid_until,
        stacking=Stacking(body.stacking), priority=body.priority,
        global_limit=body.global_limit, per_customer_limit=body.per_customer_limit,
    )  # fmt: skip


def _is_code(code: str) -> bool:
    return code[0].isalnum() and all(c.isalnum() or c in "-_" for c in code) and code.isascii()


def build_promotions_router(engine: AsyncEngine, clock: Clock) -> APIRouter:
    router = APIRouter(tags=["promotions"])

    @router.get("/promotions")
    async def list_promotions() -> list[PromotionView]:
        async with unit_of_work(engine, clock) as uow:
            return [_view(s) for s in await uow.promotions.all()]

    @router.get("/promotions/{promotion_id}", responses={404: {"description": "unknown"}})
    async def get_promotion(promotion_id: PromotionId) -> PromotionView:
        async with unit_of_work(engine, clock) as uow:
            stored = await uow.promotions.get(promotion_id)
        if stored is None:
            raise HTTPException(404, f"unknown promotion {promotion_id!r}")
        return _view(stored)

    @router.put("/promotions/{promotion_id}", responses={422: {"description": "inconsistent"}})
    async def put_promotion(promotion_id: PromotionId, body: PromotionBody) -> PromotionView:
        """Create or replace a cart rule (no ``code``) or a coupon (announced as
        PromotionChanged); ``active: false`` withdraws it. A scope of ``skus`` and
        ``categories`` (and their subcategories) covers their products at the time it
        is saved."""
        promotion = _promotion(promotion_id, body)
        try:
            async with unit_of_work(engine, clock) as uow:
                stored = await promotions.save_promotion(
                    uow, promotion, body.categories, active=body.active
                )
        except InvalidPromotion as exc:
            raise invalid(("body", exc.field), exc.reason) from exc
        except ValueError as exc:  # the domain's own invariants (Promotion.__post_init__)
            raise invalid(("body", "value"), str(exc)) from exc
        return _view(stored)

    return router
