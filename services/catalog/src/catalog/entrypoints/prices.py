"""Prices over HTTP: price lists, dynamic rules and customers' price groups for pricing
managers; ``GET /prices`` for everyone (what SKUs cost a customer now, and what priced
them). Every change is announced on catalog.events for checkout's copy."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from catalog.application import prices
from catalog.application.unit_of_work import unit_of_work
from catalog.domain.model import UnknownProduct
from catalog.domain.prices import InvalidPrices, StoredList, StoredRule, tiers_of
from orderflow_contracts.catalog import PriceId
from orderflow_contracts.common import Currency, MinorUnits, Sku
from orderflow_messaging.clock import Clock
from orderflow_pricing import ListKind, NoPrice, PriceList, PriceRule, Resolution
from orderflow_service.http import NO_NUL, UtcMoment, invalid

_BODY = ConfigDict(extra="forbid", strict=True)


Moment = UtcMoment
# What PostgreSQL text can hold (no NUL), as long as the contracts' customer id.
CustomerId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_NUL)]
MAX_QUOTED = 50


class TierBody(BaseModel):
    model_config = _BODY

    min_quantity: Annotated[int, Field(ge=1, le=1_000_000)]
    unit_price_minor: MinorUnits


class ListedPriceBody(BaseModel):
    model_config = _BODY

    sku: Sku
    tiers: Annotated[list[TierBody], Field(min_length=1, max_length=20)]


class PriceListBody(BaseModel):
    """A whole price list: a PUT replaces what was there."""

    model_config = _BODY

    kind: Literal["default", "group", "contract"]
    currency: Currency
    customer_id: CustomerId | None = None
    group: PriceId | None = None
    valid_from: Moment | None = None
    valid_until: Moment | None = None
    prices: Annotated[list[ListedPriceBody], Field(max_length=10_000)]
    active: bool = True


class PriceListView(PriceListBody):
    list_id: str
    revision: int


class PriceRuleBody(BaseModel):
    model_config = _BODY

    basis_points: Annotated[int, Field(ge=-10_000, le=100_000)]
    priority: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    skus: Annotated[list[Sku], Field(max_length=1000)] | None = None
    valid_from: Moment | None = None
    valid_until: Moment | None = None
    stock_at_most: Annotated[int, Field(ge=0)] | None = None
    stock_at_least: Annotated[int, Field(ge=0)] | None = None
    floor_minor: MinorUnits = 0
    cap_minor: MinorUnits | None = None
    active: bool = True


class PriceRuleView(PriceRuleBody):
    rule_id: str
    revision: int


class PriceGroupsBody(BaseModel):
    model_config = _BODY

    groups: Annotated[list[PriceId], Field(max_length=20)]


class PriceGroupsView(PriceGroupsBody):
    customer_id: str
    revision: int


class PriceView(BaseModel):
    sku: str
    quantity: int
    unit_price_minor: int
    total_minor: int
    source: str  # contract:<list> | group:<list> | default:<list> | base
    tier_min_quantity: int | None
    listed_unit_price_minor: int  # before a rule
    rule: str | None


class Quote(BaseModel):
    currency: str
    customer_id: str | None
    at: datetime
    prices: list[PriceView]


def _list_view(stored: StoredList) -> PriceListView:
    # The view is what the announcement says (the same fields, the same state).
    return PriceListView.model_validate(prices.list_changed(stored).model_dump())


def _rule_view(stored: StoredRule) -> PriceRuleView:
    return PriceRuleView.model_validate(prices.rule_changed(stored).model_dump())


def _price_view(r: Resolution) -> PriceView:
    return PriceView(
        sku=r.sku, quantity=r.quantity, unit_price_minor=r.unit_price_minor,
        total_minor=r.total_minor, source=r.source, tier_min_quantity=r.tier_min_quantity,
        listed_unit_price_minor=r.listed_unit_price_minor, rule=r.rule,
    )  # fmt: skip


def build_prices_router(engine: AsyncEngine, clock: Clock) -> APIRouter:
    router = APIRouter(tags=["prices"])

    @router.get("/prices", responses={422: {"description": "unknown SKU, or no price"}})
    async def get_prices(
        sku: Annotated[list[Sku], Query(min_length=1, max_length=MAX_QUOTED)],
        currency: Currency,
        customer_id: CustomerId | None = None,
        quantity: Annotated[int, Query(ge=1, le=10_000)] = 1,
    ) -> Quote:
        """What ``quantity`` units of each SKU cost the customer (anonymous without
        ``customer_id``) now, and which list, tier or rule priced it; the precedence is
        in docs/catalog.md#prices. Checkout charges by the same resolution."""
        at = clock()
        skus = list(dict.fromkeys(sku))
        try:
            async with unit_of_work(engine, clock) as uow:
                quoted = await prices.quote(uow, skus, quantity, currency, customer_id, at)
        except UnknownProduct as exc:
            raise invalid(("query", "sku"), f"{exc}: not sold") from exc
        except NoPrice as exc:
            raise invalid(("query", "currency"), str(exc)) from exc
        return Quote(
            currency=currency, customer_id=customer_id, at=at,
            prices=[_price_view(r) for r in quoted],
        )  # fmt: skip

    @router.get("/price-lists")
    async def list_price_lists() -> list[PriceListView]:
        async with unit_of_work(engine, clock) as uow:
            return [_list_view(s) for s in await uow.prices.price_lists()]

    @router.get("/price-lists/{list_id}", responses={404: {"description": "unknown list"}})
    async def get_price_list(list_id: PriceId) -> PriceListView:
        async with unit_of_work(engine, clock) as uow:
            stored = await uow.prices.price_list(list_id)
        if stored is None:
            raise HTTPException(404, f"unknown price list {list_id!r}")
        return _list_view(stored)

    @router.put("/price-lists/{list_id}", responses={422: {"description": "inconsistent"}})
    async def put_price_list(list_id: PriceId, body: PriceListBody) -> PriceListView:
        """Create or replace the list (a new revision, announced as PriceListChanged);
        ``active: false`` withdraws it. Every SKU must be in the catalog."""
        if len({p.sku for p in body.prices}) != len(body.prices):
            raise invalid(("body", "prices"), "a SKU is listed twice")
        price_list = PriceList(
            list_id=list_id, kind=ListKind(body.kind), currency=body.currency,
            prices=tiers_of({
                p.sku: [(t.min_quantity, t.unit_price_minor) for t in p.tiers]
                for p in body.prices
            }),
            customer_id=body.customer_id, group=body.group,
            valid_from=body.valid_from, valid_until=body.valid_until,
        )  # fmt: skip
        try:
            async with unit_of_work(engine, clock) as uow:
                stored = await prices.save_price_list(uow, price_list, active=body.active)
        except InvalidPrices as exc:
            raise invalid(("body", exc.field), exc.reason) from exc
        return _list_view(stored)

    @router.get("/price-rules")
    async def list_price_rules() -> list[PriceRuleView]:
        async with unit_of_work(engine, clock) as uow:
            return [_rule_view(s) for s in await uow.prices.rules()]

    @router.put("/price-rules/{rule_id}", responses={422: {"description": "inconsistent"}})
    async def put_price_rule(rule_id: PriceId, body: PriceRuleBody) -> PriceRuleView:
        """Create or replace a dynamic pricing rule (announced as PriceRuleChanged)."""
        if body.cap_minor is not None and body.cap_minor < body.floor_minor:
            raise invalid(("body", "cap_minor"), "is below floor_minor")
        rule = PriceRule(
            rule_id=rule_id, percent=Decimal(body.basis_points) / 100, priority=body.priority,
            skus=frozenset(body.skus) if body.skus is not None else None,
            valid_from=body.valid_from, valid_until=body.valid_until,
            stock_at_most=body.stock_at_most, stock_at_least=body.stock_at_least,
            floor_minor=body.floor_minor, cap_minor=body.cap_minor,
        )  # fmt: skip
        try:
            async with unit_of_work(engine, clock) as uow:
                stored = await prices.save_rule(uow, rule, body.basis_points, active=body.active)
        except InvalidPrices as exc:
            raise invalid(("body", exc.field), exc.reason) from exc
        return _rule_view(stored)

    @router.get("/customers/{customer_id}/price-groups")
    async def get_price_groups(customer_id: CustomerId) -> PriceGroupsView:
        async with unit_of_work(engine, clock) as uow:
            groups, revision = await uow.prices.groups_of(customer_id)
        return PriceGroupsView(customer_id=customer_id, groups=groups, revision=revision)

    @router.put("/customers/{customer_id}/price-groups")
    async def put_price_groups(customer_id: CustomerId, body: PriceGroupsBody) -> PriceGroupsView:
        """Put the customer in exactly these price groups (announced as
        CustomerPriceGroupsChanged)."""
        async with unit_of_work(engine, clock) as uow:
            revision = await prices.set_price_groups(uow, customer_id, body.groups)
        groups = sorted(set(body.groups))
        return PriceGroupsView(customer_id=customer_id, groups=groups, revision=revision)

    return router
