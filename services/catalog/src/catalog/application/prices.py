"""Price use cases: keep lists, rules and customers' price groups (each change and the
event announcing its whole new state commit together), and quote: what SKUs cost a
customer now, resolved by ``orderflow_pricing.resolve`` as checkout resolves them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import structlog

from catalog.application.announce import announce, next_revision
from catalog.application.unit_of_work import CatalogUnitOfWork
from catalog.domain.model import UnknownProduct
from catalog.domain.prices import InvalidPrices, StoredList, StoredRule, checked_list, checked_rule
from orderflow_contracts.catalog import (
    CustomerPriceGroupsChanged,
    ListedPrice,
    PriceListChanged,
    PriceRuleChanged,
    PriceTier,
)
from orderflow_pricing import (
    BasePrice,
    Customer,
    PriceList,
    PriceRule,
    Resolution,
    Tier,
    resolve,
)

log = structlog.get_logger(__name__)


async def save_price_list(
    uow: CatalogUnitOfWork, price_list: PriceList, *, active: bool = True
) -> StoredList:
    """Create or replace the list (its next revision) and announce it; the same list
    again changes nothing. ``InvalidPrices``
    when it is inconsistent or prices SKUs the catalog does not have."""
    checked_list(price_list)
    known = await uow.products.many(sorted(price_list.prices))
    if unknown := sorted(set(price_list.prices) - set(known)):
        raise InvalidPrices("prices", f"unknown SKUs: {', '.join(unknown)}")
    before = await uow.prices.price_list(price_list.list_id, for_update=True)
    if before is not None and (before.price_list, before.active) == (price_list, active):
        return before  # sent again: nothing changed, nothing to announce
    stored = StoredList(price_list, active, next_revision(before))
    await uow.prices.save_list(stored)
    await announce(uow, list_changed(stored), price_list.list_id)
    log.info("price_list_saved", list_id=price_list.list_id, revision=stored.revision)
    return stored


async def save_rule(
    uow: CatalogUnitOfWork, rule: PriceRule, basis_points: int, *, active: bool = True
) -> StoredRule:
    """Create or replace the rule (its next revision) and announce it."""
    checked_rule(rule)
    before = await uow.prices.rule(rule.rule_id, for_update=True)
    if before is not None and (before.rule, before.active) == (rule, active):
        return before  # sent again: nothing changed, nothing to announce
    stored = StoredRule(rule, basis_points, active, next_revision(before))
    await uow.prices.save_rule(stored)
    await announce(uow, rule_changed(stored), rule.rule_id)
    log.info("price_rule_saved", rule_id=rule.rule_id, revision=stored.revision)
    return stored


async def set_price_groups(uow: CatalogUnitOfWork, customer_id: str, groups: Sequence[str]) -> int:
    """Put the customer in exactly these price groups and announce it; the revision
    (unchanged, and nothing announced, when they are the groups it has)."""
    current, revision = await uow.prices.groups_of(customer_id, for_update=True)
    wanted = sorted(set(groups))
    if revision and current == wanted:
        return revision
    await uow.prices.save_groups(customer_id, wanted, revision + 1)
    changed = CustomerPriceGroupsChanged(
        customer_id=customer_id, groups=wanted, revision=revision + 1
    )
    await announce(uow, changed, customer_id)
    return revision + 1


async def quote(
    uow: CatalogUnitOfWork,
    skus: Sequence[str],
    quantity: int,
    currency: str,
    customer_id: str | None,
    at: datetime,
) -> list[Resolution]:
    """Each SKU's unit price for ``quantity`` units. ``UnknownProduct`` for a SKU the
    catalog does not sell (unknown or inactive); ``NoPrice`` when nothing prices one in
    ``currency``. The stock a rule may depend on is the catalog's availability."""
    groups, _ = await uow.prices.groups_of(customer_id) if customer_id else ([], 0)
    customer = Customer(customer_id, frozenset(groups))
    lists = await uow.prices.lists_for(customer_id, groups, currency, at)
    rules = [r.rule for r in await uow.prices.rules(active_only=True)]
    products = await uow.products.many(skus)
    quoted = []
    for sku in skus:
        product = products.get(sku)
        if product is None or not product.active:
            raise UnknownProduct(sku)
        base = BasePrice(product.price_minor, product.currency)
        resolution = resolve(
            sku, quantity, currency, customer, at,
            lists=lists, rules=rules, base=base, stock=product.available,
        )  # fmt: skip
        quoted.append(resolution)
    return quoted


def list_changed(stored: StoredList) -> PriceListChanged:
    p = stored.price_list
    prices = [
        ListedPrice(sku=sku, tiers=[_tier(t) for t in tiers])
        for sku, tiers in sorted(p.prices.items())
    ]
    return PriceListChanged(
        list_id=p.list_id, kind=p.kind.value, currency=p.currency,
        customer_id=p.customer_id, group=p.group,
        valid_from=p.valid_from, valid_until=p.valid_until,
        prices=prices, active=stored.active, revision=stored.revision,
    )  # fmt: skip


def _tier(tier: Tier) -> PriceTier:
    return PriceTier(min_quantity=tier.min_quantity, unit_price_minor=tier.unit_price_minor)


def rule_changed(stored: StoredRule) -> PriceRuleChanged:
    r = stored.rule
    return PriceRuleChanged(
        rule_id=r.rule_id, basis_points=stored.basis_points, priority=r.priority,
        skus=sorted(r.skus) if r.skus is not None else None,
        valid_from=r.valid_from, valid_until=r.valid_until,
        stock_at_most=r.stock_at_most, stock_at_least=r.stock_at_least,
        floor_minor=r.floor_minor, cap_minor=r.cap_minor,
        active=stored.active, revision=stored.revision,
    )  # fmt: skip
