"""catalog.events (key: SKU for products; the list, rule or customer id for prices).

Price lists, rules and customers' price groups travel as their whole current state with
a ``revision`` that only grows: a reader keeps the highest revision it has seen, so a
redelivery or replay never brings an older state back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from orderflow_contracts.common import (
    CarrierName,
    Country,
    CouponCode,
    Currency,
    CustomerId,
    DeliveryId,
    MinorUnits,
    PromotionId,
    Sku,
    StockLine,
    Weight,
)
from orderflow_messaging.registry import Message

PriceId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
]
Revision = Annotated[int, Field(ge=1)]


class ProductPublished(Message):
    """A product as it is published (key: SKU), and announced again, whole, when what it
    carries changes (its weight; a bundle's with a component's): a consumer keeps the
    newest. A bundle names its ``components`` (the SKUs, and how many of each, one unit
    of it is made of); its price is its own."""

    TYPE = "ProductPublished"
    VERSION = 1
    sku: Sku
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    price_minor: MinorUnits
    currency: Currency
    active: bool = True
    components: Annotated[list[StockLine], Field(min_length=2, max_length=20)] | None = None
    # One unit's shipping weight (null: unknown, weighed as nothing); a bundle's is its
    # components'. Delivery rates are by weight.
    weight_g: Weight | None = None


class PriceChanged(Message):
    TYPE = "PriceChanged"
    VERSION = 1
    sku: Sku
    price_minor: MinorUnits
    currency: Currency


class PriceTier(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    min_quantity: Annotated[int, Field(ge=1, le=1_000_000)]
    unit_price_minor: MinorUnits


class ListedPrice(BaseModel):
    """A SKU's tiers in a list: from ``min_quantity`` units on, ``unit_price_minor`` each."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    sku: Sku
    tiers: Annotated[list[PriceTier], Field(min_length=1, max_length=20)]


class PriceListChanged(Message):
    """A price list as it now is (key: list id). ``kind`` says whom it prices: everyone
    (``default``), a customer group (``group``) or one customer (``contract``); valid
    from ``valid_from`` (inclusive) until ``valid_until`` (exclusive); ``active`` False:
    withdrawn."""

    TYPE = "PriceListChanged"
    VERSION = 1
    list_id: PriceId
    kind: Literal["default", "group", "contract"]
    currency: Currency
    customer_id: CustomerId | None = None
    group: PriceId | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    prices: Annotated[list[ListedPrice], Field(max_length=10_000)]
    active: bool = True
    revision: Revision


class PriceRuleChanged(Message):
    """A dynamic pricing rule as it now is (key: rule id): the price changed by
    ``basis_points`` hundredths of a per cent (-1500: 15 % cheaper) for ``skus`` (null:
    all), in a window, optionally only while the stock is within bounds, kept between
    ``floor_minor`` and ``cap_minor``."""

    TYPE = "PriceRuleChanged"
    VERSION = 1
    rule_id: PriceId
    basis_points: Annotated[int, Field(ge=-10_000, le=100_000)]
    priority: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    skus: Annotated[list[Sku], Field(max_length=1000)] | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    stock_at_most: Annotated[int, Field(ge=0)] | None = None
    stock_at_least: Annotated[int, Field(ge=0)] | None = None
    floor_minor: MinorUnits = 0
    cap_minor: MinorUnits | None = None
    active: bool = True
    revision: Revision


class CustomerPriceGroupsChanged(Message):
    """The price groups a customer belongs to (key: customer id)."""

    TYPE = "CustomerPriceGroupsChanged"
    VERSION = 1
    customer_id: CustomerId
    groups: Annotated[list[PriceId], Field(max_length=20)]
    revision: Revision


class PromotionChanged(Message):
    """A promotion as it now is (key: promotion id): a cart rule (``code`` null) or a
    coupon, taking ``value`` basis points (``percent``) or minor units in ``currency``
    (``fixed``) off the lines of ``skus`` (null: every line; a category scope is
    announced as the SKUs it covered when the promotion was saved), for baskets of at
    least ``min_basket_minor``, in a window; ``global_limit`` and ``per_customer_limit``
    count redemptions; ``stacking`` is ``exclusive`` for one that combines with no
    other (docs/catalog.md: the policy)."""

    TYPE = "PromotionChanged"
    VERSION = 1
    promotion_id: PromotionId
    code: CouponCode | None = None
    kind: Literal["percent", "fixed"]
    value: Annotated[int, Field(ge=1, le=10_000_000_000)]
    currency: Currency | None = None
    min_basket_minor: MinorUnits = 0
    skus: Annotated[list[Sku], Field(max_length=10_000)] | None = None
    categories: Annotated[list[PriceId], Field(max_length=100)] | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    stacking: Literal["stackable", "exclusive"] = "stackable"
    priority: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    global_limit: Annotated[int, Field(ge=1)] | None = None
    per_customer_limit: Annotated[int, Field(ge=1)] | None = None
    active: bool = True
    revision: Revision


class WeightBand(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    max_weight_g: Weight
    price_minor: MinorUnits


class DeliveryZone(BaseModel):
    """Countries priced alike: the first band whose ``max_weight_g`` an order's weight
    does not exceed prices it (bands by increasing weight)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    zone: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    countries: Annotated[list[Country], Field(min_length=1, max_length=300)]
    bands: Annotated[list[WeightBand], Field(min_length=1, max_length=50)]


class PickupPointData(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    point_id: DeliveryId
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    line1: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    city: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    postcode: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    country: Country


class DeliveryMethodChanged(Message):
    """A delivery method as it now is (key: method id): ``home`` delivery or ``pickup``
    at one of its ``pickup_points``, carried by ``carrier``, priced in ``currency`` by
    destination zone and weight, free for baskets (after discounts) of at least
    ``free_over_minor`` (docs/catalog.md: Delivery options)."""

    TYPE = "DeliveryMethodChanged"
    VERSION = 1
    method_id: DeliveryId
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    kind: Literal["home", "pickup"]
    carrier: CarrierName
    currency: Currency
    zones: Annotated[list[DeliveryZone], Field(min_length=1, max_length=50)]
    free_over_minor: MinorUnits | None = None
    pickup_points: Annotated[list[PickupPointData], Field(max_length=1000)] = []
    active: bool = True
    revision: Revision


MESSAGES: tuple[type[Message], ...] = (
    ProductPublished,
    PriceChanged,
    PriceListChanged,
    PriceRuleChanged,
    CustomerPriceGroupsChanged,
    PromotionChanged,
    DeliveryMethodChanged,
)
