"""The rules an order request must pass, and its pricing from the local catalog copy and
price data (``PriceBook``: the catalog's lists and rules, resolved as the catalog does).

``validate_order`` returns every problem at once (not the first), so a client can fix a
request in one round trip. The limits mirror the OrderPlaced contract: a request that
passes here always makes a valid OrderPlaced.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import datetime

from checkout.domain.model import (
    AddressDraft,
    CatalogItem,
    LineDraft,
    OrderDelivery,
    OrderDiscount,
    OrderDraft,
    OrderLine,
    PricedOrder,
    Problem,
)
from checkout.domain.pricing import PriceBook
from orderflow_pricing import (
    BasketLine,
    CouponProblem,
    DeliveryProblem,
    Discounted,
    NoPrice,
    Resolution,
    apply_promotions,
    quote_delivery,
)

MAX_LINES = 100
MAX_QUANTITY = 10_000
MAX_TOTAL_MINOR = 10_000_000_000
MAX_CUSTOMER_ID = 64
MAX_COUPONS = 5
TOKEN = re.compile(r"^tok_[a-z0-9_]{1,60}$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
# Longest allowed value of each address field (as in the contract's Address).
ADDRESS_LIMITS = {"name": 200, "line1": 200, "city": 100, "postcode": 20}
NUL_REASON = "must not contain the NUL character"


def validate_order(
    draft: OrderDraft,
    catalog: Mapping[str, CatalogItem],
    prices: PriceBook,
    at: datetime,
) -> list[Problem]:
    """Every reason ``draft`` cannot be placed at ``at``; empty when it can."""
    assessed = assess_order(draft, catalog, prices, at)
    return assessed if isinstance(assessed, list) else []


def price_order(
    draft: OrderDraft, catalog: Mapping[str, CatalogItem], prices: PriceBook, at: datetime
) -> PricedOrder:
    """Price a draft that passes ``validate_order``: each line as ``prices`` resolves
    it now, with what priced it."""
    assessed = assess_order(draft, catalog, prices, at)
    if isinstance(assessed, list):
        raise ValueError(f"cannot price an invalid order: {assessed}")
    return assessed


def assess_order(
    draft: OrderDraft,
    catalog: Mapping[str, CatalogItem],
    prices: PriceBook,
    at: datetime,
) -> PricedOrder | list[Problem]:
    """``draft`` priced at ``at``, or every reason it cannot be placed. Each line is
    resolved once: the resolution that proves a line priceable is the one charged."""
    problems: list[Problem] = []
    if not 1 <= len(draft.customer_id) <= MAX_CUSTOMER_ID:
        problems.append(Problem("customer_id", f"must be 1 to {MAX_CUSTOMER_ID} characters"))
    if not 1 <= len(draft.lines) <= MAX_LINES:
        problems.append(
            Problem("lines", f"an order has 1 to {MAX_LINES} lines, not {len(draft.lines)}")
        )
    currency_ok = CURRENCY.fullmatch(draft.currency) is not None
    if not currency_ok:
        problems.append(Problem("currency", "must be a three-letter ISO 4217 code such as EUR"))
    resolved: list[Resolution] = []
    for index, line in enumerate(draft.lines):
        problems += _line_problems(index, line, catalog)
        item = catalog.get(line.sku)
        if not currency_ok or item is None or not item.active or line.quantity < 1:
            continue
        resolution = _resolve(index, line, item, draft, prices, at)
        if isinstance(resolution, Problem):
            problems.append(resolution)
        else:
            resolved.append(resolution)
    if TOKEN.fullmatch(draft.payment_token) is None:
        # The token itself is never echoed: it stands for a card.
        problems.append(Problem("payment_token", f"must match {TOKEN.pattern}"))
    problems += _address_problems(draft.shipping_address)
    if len(draft.coupons) > MAX_COUPONS:
        problems.append(Problem("coupons", f"at most {MAX_COUPONS} coupons"))
    if problems:
        return problems
    if sum(r.total_minor for r in resolved) > MAX_TOTAL_MINOR:
        return [Problem("lines", f"the order total exceeds {MAX_TOTAL_MINOR} minor units")]
    basket = [BasketLine(r.sku, r.total_minor) for r in resolved]
    try:
        discounted = apply_promotions(basket, draft.currency, at, prices.promotions, draft.coupons)
    except CouponProblem as refused:
        return [Problem(f"coupons[{refused.index}]", refused.reason)]
    priced = _priced(resolved, discounted, draft.currency, catalog)
    if draft.delivery is None:
        return priced
    delivery = _delivery(draft, priced, catalog, prices)
    if isinstance(delivery, Problem):
        return [delivery]
    total = priced.total_minor + delivery.price_minor
    return dataclasses.replace(priced, total_minor=total, delivery=delivery)


def _priced(
    resolved: list[Resolution],
    discounted: Discounted,
    currency: str,
    catalog: Mapping[str, CatalogItem],
) -> PricedOrder:
    lines = tuple(_line(r, _shares(discounted, n), catalog) for n, r in enumerate(resolved))
    discounts = tuple(
        OrderDiscount(p.promotion_id, p.code, a.amount_minor, p.limited)
        for a in discounted.applied
        for p in (a.promotion,)
    )
    total = sum(line.total_minor for line in lines) - discounted.total_minor
    return PricedOrder(lines, currency, total, discounts)


def _delivery(
    draft: OrderDraft, priced: PricedOrder, catalog: Mapping[str, CatalogItem], prices: PriceBook
) -> OrderDelivery | Problem:
    """The chosen method's price for the order (its weight, its basket after discounts,
    its address or pickup point), or why the method cannot take it."""
    choice = draft.delivery
    assert choice is not None
    method = prices.delivery.get(choice.method)
    if method is None:
        return Problem("delivery.method", f"unknown delivery method {choice.method!r}")
    weight = sum((catalog[line.sku].weight_g or 0) * line.quantity for line in priced.lines)
    try:
        quote = quote_delivery(
            method, country=draft.shipping_address.country, weight_g=weight,
            basket_minor=priced.total_minor, currency=priced.currency,
            pickup_point_id=choice.pickup_point,
        )  # fmt: skip
    except DeliveryProblem as refused:
        return Problem(f"delivery.{refused.field}", refused.reason)
    return OrderDelivery(
        method.method_id, method.kind.value, method.carrier, quote.price_minor, quote.zone,
        weight, quote.free, quote.pickup_point,
    )  # fmt: skip


def _line(
    r: Resolution, shares: tuple[tuple[str, int], ...], catalog: Mapping[str, CatalogItem]
) -> OrderLine:
    components = catalog[r.sku].components
    return OrderLine(r.sku, r.quantity, r.unit_price_minor, r.source, r.rule, shares, components)


def _shares(discounted: Discounted, line: int) -> tuple[tuple[str, int], ...]:
    """What each promotion took off the line."""
    return tuple(
        (a.promotion.promotion_id, a.by_line[line]) for a in discounted.applied if a.by_line[line]
    )


def _line_problems(
    index: int, line: LineDraft, catalog: Mapping[str, CatalogItem]
) -> list[Problem]:
    problems: list[Problem] = []
    if not 0 < line.quantity <= MAX_QUANTITY:
        problems.append(
            Problem(f"lines[{index}].quantity", f"must be 1 to {MAX_QUANTITY}, not {line.quantity}")
        )
    item = catalog.get(line.sku)
    field = f"lines[{index}].sku"
    if item is None:
        problems.append(Problem(field, f"unknown SKU {line.sku!r}"))
    elif not item.active:
        problems.append(Problem(field, f"SKU {line.sku!r} is not for sale"))
    return problems


def _resolve(
    index: int,
    line: LineDraft,
    item: CatalogItem,
    draft: OrderDraft,
    prices: PriceBook,
    at: datetime,
) -> Resolution | Problem:
    """A sellable line's price, or why nothing prices it in the order's currency (no
    list does, and its base price is in another currency)."""
    try:
        return prices.price(item, line.quantity, draft.currency, draft.customer_id, at)
    except NoPrice:
        reason = f"SKU {line.sku!r} is priced in {item.currency}, not {draft.currency}"
        return Problem(f"lines[{index}].sku", reason)


def _address_problems(address: AddressDraft) -> list[Problem]:
    problems = [
        Problem(f"shipping_address.{field}", f"must be 1 to {limit} characters")
        for field, limit in ADDRESS_LIMITS.items()
        if not 1 <= len(getattr(address, field)) <= limit
    ]
    if COUNTRY.fullmatch(address.country) is None:
        problems.append(
            Problem("shipping_address.country", "must be a two-letter ISO 3166 code such as DE")
        )
    return problems


def nul_problems(draft: OrderDraft) -> list[Problem]:
    """Text that PostgreSQL could not store (a NUL character) is refused like any other
    malformed value, before it reaches a query."""
    texts = {
        "customer_id": draft.customer_id,
        "payment_token": draft.payment_token,
        "currency": draft.currency,
    }
    address = dataclasses.asdict(draft.shipping_address)
    texts |= {f"shipping_address.{name}": value for name, value in address.items()}
    texts |= {f"lines[{i}].sku": line.sku for i, line in enumerate(draft.lines)}
    texts |= {f"coupons[{i}]": code for i, code in enumerate(draft.coupons)}
    if draft.delivery is not None:
        texts["delivery.method"] = draft.delivery.method
        texts["delivery.pickup_point"] = draft.delivery.pickup_point or ""
    return [Problem(field, NUL_REASON) for field, value in texts.items() if "\x00" in value]
