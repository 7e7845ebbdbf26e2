"""The one price-resolution function of orderflow (issue #14): what a SKU costs a
customer at a moment, and which list or rule priced it; the promotions applied to a
priced basket; and what a delivery method charges for it. Pure: the catalog API and
checkout give them the same data and get the same answer."""

from orderflow_pricing.delivery import (
    Band,
    DeliveryKind,
    DeliveryMethod,
    DeliveryProblem,
    DeliveryQuote,
    PickupPoint,
    Zone,
    delivery_options,
    quote_delivery,
)
from orderflow_pricing.promotions import (
    Applied,
    BasketLine,
    CouponProblem,
    Discounted,
    DiscountKind,
    Promotion,
    Stacking,
    apply_promotions,
    normalized,
)
from orderflow_pricing.resolution import (
    PRECEDENCE,
    BasePrice,
    Customer,
    ListKind,
    NoPrice,
    PriceList,
    PriceRule,
    Resolution,
    Tier,
    resolve,
)

__all__ = [
    "PRECEDENCE",
    "Applied",
    "Band",
    "BasePrice",
    "BasketLine",
    "CouponProblem",
    "Customer",
    "DeliveryKind",
    "DeliveryMethod",
    "DeliveryProblem",
    "DeliveryQuote",
    "DiscountKind",
    "Discounted",
    "ListKind",
    "NoPrice",
    "PickupPoint",
    "PriceList",
    "PriceRule",
    "Promotion",
    "Resolution",
    "Stacking",
    "Tier",
    "Zone",
    "apply_promotions",
    "delivery_options",
    "normalized",
    "quote_delivery",
    "resolve",
]
