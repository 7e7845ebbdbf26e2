"""Catalog search: what a query asks for and what its answer holds (pure).

Filters combine as a shopper expects: values of one attribute are alternatives (colour
black OR white), different filters all apply (colour AND size AND category AND price).
Facets are disjunctive: each facet counts the products that match every filter except
its own, so picking "black" still shows how many white ones there are. A category filter
takes the category's whole subtree; the category facet counts each category with its
descendants.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from catalog.domain.model import Category, Product

# Price facet bucket edges, in minor units of the product's currency (10, 25, 50, 100,
# 250): a bucket holds prices from its lower edge up to, not including, the next.
PRICE_EDGES: tuple[int, ...] = (1_000, 2_500, 5_000, 10_000, 25_000)
MAX_PAGE_SIZE = 100
MAX_ATTRIBUTE_FILTERS = 20


class Sort(StrEnum):
    RELEVANCE = "relevance"  # best text match first; without text, by name
    PRICE_ASC = "price_asc"
    PRICE_DESC = "price_desc"
    NAME = "name"
    NEWEST = "newest"  # most recently published or repriced first


class InvalidQuery(ValueError):
    """A query parameter that cannot be searched with: which, and why."""

    def __init__(self, parameter: str, reason: str) -> None:
        super().__init__(f"{parameter}: {reason}")
        self.parameter = parameter
        self.reason = reason


@dataclass(frozen=True)
class PriceRange:
    """Prices in ``currency`` from ``min_minor`` to ``max_minor`` (both inclusive)."""

    currency: str
    min_minor: int | None = None
    max_minor: int | None = None


@dataclass(frozen=True)
class SearchQuery:
    text: str | None = None
    category: str | None = None
    family: str | None = None
    attributes: Mapping[str, frozenset[str]] = field(default_factory=dict)
    price: PriceRange | None = None
    # True: only products with stock available; False: only those without (a SKU with no
    # level announced counts as without); None: both.
    in_stock: bool | None = None
    sort: Sort = Sort.RELEVANCE
    page: int = 1
    page_size: int = 20

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def attribute_filters(values: Sequence[str]) -> dict[str, frozenset[str]]:
    """``["colour:black", "colour:white", "size:M"]`` -> ``{"colour": {black, white},
    "size": {M}}``; ``InvalidQuery`` for a filter without ``name:value``."""
    if len(values) > MAX_ATTRIBUTE_FILTERS:
        raise InvalidQuery("attr", f"at most {MAX_ATTRIBUTE_FILTERS} attribute filters")
    chosen: dict[str, set[str]] = {}
    for item in values:
        name, sep, value = item.partition(":")
        if not sep or not name or not value:
            raise InvalidQuery("attr", f"{item!r} is not name:value (e.g. colour:black)")
        chosen.setdefault(name, set()).add(value)
    return {name: frozenset(v) for name, v in chosen.items()}


def price_range(
    currency: str | None, min_minor: int | None, max_minor: int | None
) -> PriceRange | None:
    """The price filter, or None without one. Minor units of different currencies do not
    compare, so a bound needs its currency."""
    if min_minor is None and max_minor is None:
        return None if currency is None else PriceRange(currency)
    if currency is None:
        raise InvalidQuery("currency", "a price bound needs the currency it is in")
    if min_minor is not None and max_minor is not None and min_minor > max_minor:
        raise InvalidQuery("price_max", "is below price_min")
    return PriceRange(currency, min_minor, max_minor)


@dataclass(frozen=True)
class CategoryCount:
    slug: str
    name: str
    parent: str | None
    count: int


@dataclass(frozen=True)
class ValueCount:
    value: str
    count: int


@dataclass(frozen=True)
class PriceBucket:
    currency: str
    min_minor: int  # inclusive
    max_minor: int | None  # exclusive; None: no upper edge
    count: int


@dataclass(frozen=True)
class StockCount:
    in_stock: int
    out_of_stock: int


@dataclass(frozen=True)
class Facets:
    categories: list[CategoryCount]
    attributes: dict[str, list[ValueCount]]
    prices: list[PriceBucket]
    stock: StockCount


@dataclass(frozen=True)
class SearchResult:
    total: int
    items: list[Product]
    facets: Facets


def bucket_bounds(bucket: int) -> tuple[int, int | None]:
    """Bucket n of ``width_bucket(price, PRICE_EDGES)``: 0 is below the first edge."""
    low = 0 if bucket == 0 else PRICE_EDGES[bucket - 1]
    high = PRICE_EDGES[bucket] if bucket < len(PRICE_EDGES) else None
    return low, high


def rolled_up(direct: Mapping[str | None, int], tree: Sequence[Category]) -> list[CategoryCount]:
    """Each category's count with its descendants' (``direct``: products placed directly
    in each), in tree order; categories with none are left out."""
    by_slug = {c.slug: c for c in tree}
    totals: dict[str, int] = {}
    for slug, count in direct.items():
        seen: set[str] = set()
        while slug is not None and slug in by_slug and slug not in seen:
            seen.add(slug)  # a cycle cannot be stored, but a loop must never hang
            totals[slug] = totals.get(slug, 0) + count
            slug = by_slug[slug].parent
    return [
        CategoryCount(c.slug, c.name, c.parent, totals[c.slug]) for c in tree if c.slug in totals
    ]


def comparison(products: Sequence[Product]) -> list[tuple[str, list[str | None]]]:
    """The attribute table of ``products`` (in their order): one row per attribute any of
    them has, sorted by name, with each product's value or None."""
    names = sorted({name for p in products for name in p.attributes})
    return [(name, [p.attributes.get(name) for p in products]) for name in names]
