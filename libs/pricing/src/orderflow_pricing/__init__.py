"""The one price-resolution function of orderflow (issue #14): what a SKU costs a
customer at a moment, and which list or rule priced it; and the promotions applied to a
priced basket. Pure: the catalog API and checkout give them the same data and get the
same answer."""

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
    "BasePrice",
    "BasketLine",
    "CouponProblem",
    "Customer",
    "DiscountKind",
    "Discounted",
    "ListKind",
    "NoPrice",
    "PriceList",
    "PriceRule",
    "Promotion",
    "Resolution",
    "Stacking",
    "Tier",
    "apply_promotions",
    "normalized",
    "resolve",
]
