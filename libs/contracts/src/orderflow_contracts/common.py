"""Value types shared by several contracts. Money is integer minor units + ISO currency."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# Also a PostgreSQL regular expression as it is (orderflow verify matches rows with it).
SKU_PATTERN = r"^[A-Z0-9][A-Z0-9-]*$"
Sku = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=SKU_PATTERN)]
Currency = Annotated[str, StringConstraints(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$")]
Country = Annotated[str, StringConstraints(min_length=2, max_length=2, pattern=r"^[A-Z]{2}$")]
OrderId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
CustomerId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Quantity = Annotated[int, Field(gt=0, le=10_000)]
MinorUnits = Annotated[int, Field(ge=0, le=10_000_000_000)]
PromotionId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
]
# Coupon codes are kept upper-case; customers may type them in any case.
CouponCode = Annotated[
    str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Z0-9][A-Z0-9_-]*$")
]
# Delivery methods and pickup points: managers' ids, like price lists'.
DeliveryId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
]
CarrierName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
# An upstream system's own order reference (the key of orders.inbound and its replies).
UpstreamReference = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Weight = Annotated[int, Field(ge=0, le=100_000_000)]  # grams
# A return (RMA) of an order, numbered by the coordinator: ``R-`` and 16 hex digits.
ReturnId = Annotated[str, StringConstraints(pattern=r"^R-[0-9a-f]{16}$")]


class Contract(BaseModel):
    # Tolerant reader, like orderflow_messaging.registry.Message.
    model_config = ConfigDict(frozen=True, extra="ignore")


class StockLine(Contract):
    sku: Sku
    quantity: Quantity


class PricedLine(Contract):
    sku: Sku
    quantity: Quantity
    unit_price_minor: MinorUnits


class Address(Contract):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    line1: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    city: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    postcode: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    country: Country


class Money(Contract):
    amount_minor: MinorUnits
    currency: Currency


class PricedLineV2(Contract):
    sku: Sku
    quantity: Quantity
    unit_price: Money


PriceSource = Annotated[
    str,
    StringConstraints(
        min_length=1,
        max_length=80,
        pattern=r"^(base|(contract|group|default):[a-z0-9][a-z0-9-]*)$",
    ),
]


class PricedLineV3(PricedLineV2):
    """A line with what priced it: ``price_source`` is ``base`` (the catalog's price),
    or ``contract:<list>``, ``group:<list>``, ``default:<list>``; ``price_rule`` the
    dynamic pricing rule that changed it, if one did."""

    price_source: PriceSource
    price_rule: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None


class PricedLineV4(PricedLineV3):
    """A line with its discount: ``discount_minor`` taken off its price (quantity x
    unit price) by the ``promotions`` named."""

    discount_minor: MinorUnits = 0
    promotions: Annotated[list[PromotionId], Field(max_length=10)] = []
    # A bundle's line: the component SKUs one unit of it is made of (null: not a bundle).
    # The saga reserves and ships the components, all or none.
    components: Annotated[list[StockLine], Field(min_length=2, max_length=20)] | None = None


class OrderDiscount(Contract):
    """A promotion applied to an order: what it took off in all (the sum of the lines'
    shares), the coupon code it was given by (null: a cart rule), and whether its uses
    are counted (``limited``: the saga reserves a redemption before anything else)."""

    promotion_id: PromotionId
    code: CouponCode | None = None
    amount_minor: MinorUnits
    limited: bool = False


class DeliveryChoice(Contract):
    """The customer's choice: a delivery ``method`` and, for a pickup method, one of its
    pickup points."""

    method: DeliveryId
    pickup_point: DeliveryId | None = None


class OrderDelivery(Contract):
    """How an order is delivered and what that costs (part of its total): the method, its
    kind (``home``, or ``pickup`` at ``pickup_point``, whose ``pickup_address`` the
    parcel goes to), the carrier that takes it, the zone and weight it was priced by,
    and ``free`` when the basket reached the method's free-shipping threshold."""

    method_id: DeliveryId
    kind: Literal["home", "pickup"]
    carrier: CarrierName
    price_minor: MinorUnits
    zone: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    weight_g: Weight
    free: bool = False
    pickup_point: DeliveryId | None = None
    pickup_address: Address | None = None
