"""The one price-resolution function of orderflow (issue #14): what a SKU costs a
customer at a moment, and which list or rule priced it. Pure: the catalog API and
checkout give it the same data and get the same answer."""

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
    "BasePrice",
    "Customer",
    "ListKind",
    "NoPrice",
    "PriceList",
    "PriceRule",
    "Resolution",
    "Tier",
    "resolve",
]
