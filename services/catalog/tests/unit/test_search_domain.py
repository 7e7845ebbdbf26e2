"""The pure parts of catalog search: filters, facet roll-up, comparison, tree order."""

from __future__ import annotations

from itertools import pairwise

import pytest

from catalog.adapters.repository import tree_order
from catalog.domain.model import Category, Product
from catalog.domain.search import (
    MAX_ATTRIBUTE_FILTERS,
    PRICE_EDGES,
    InvalidQuery,
    PriceRange,
    SearchQuery,
    attribute_filters,
    bucket_bounds,
    comparison,
    price_range,
    rolled_up,
)

TREE = [
    Category("apparel", "Apparel"),
    Category("tops", "Tops", "apparel"),
    Category("tees", "Tees", "tops"),
    Category("home", "Home"),
]


def test_values_of_one_attribute_are_alternatives() -> None:
    assert attribute_filters(["colour:black", "size:M", "colour:white", "note:a:b"]) == {
        "colour": frozenset({"black", "white"}),
        "size": frozenset({"M"}),
        "note": frozenset({"a:b"}),  # the value may hold a colon
    }
    assert attribute_filters([]) == {}


@pytest.mark.parametrize("bad", ["colour", ":black", "colour:", ":"])
def test_a_filter_needs_name_and_value(bad: str) -> None:
    with pytest.raises(InvalidQuery) as raised:
        attribute_filters([bad])
    assert raised.value.parameter == "attr"


def test_attribute_filters_are_bounded() -> None:
    with pytest.raises(InvalidQuery):
        attribute_filters([f"a{n}:v" for n in range(MAX_ATTRIBUTE_FILTERS + 1)])


def test_a_price_bound_needs_its_currency() -> None:
    assert price_range(None, None, None) is None
    assert price_range("EUR", None, None) == PriceRange("EUR")
    assert price_range("EUR", 100, 200) == PriceRange("EUR", 100, 200)
    assert price_range("EUR", 100, 100) == PriceRange("EUR", 100, 100)
    with pytest.raises(InvalidQuery) as raised:
        price_range(None, 100, None)
    assert raised.value.parameter == "currency"
    with pytest.raises(InvalidQuery) as raised:
        price_range("EUR", 200, 100)
    assert raised.value.parameter == "price_max"


def test_buckets_cover_every_price_once() -> None:
    bounds = [bucket_bounds(n) for n in range(len(PRICE_EDGES) + 1)]
    assert bounds[0] == (0, PRICE_EDGES[0])
    assert bounds[-1] == (PRICE_EDGES[-1], None)
    for (_, high), (low, _) in pairwise(bounds):
        assert high == low  # adjacent, no gap, no overlap


def test_category_counts_roll_up_to_the_root() -> None:
    counts = rolled_up({"tees": 2, "tops": 1, "home": 4, None: 3, "gone": 5}, TREE)
    assert [(c.slug, c.count) for c in counts] == [
        ("apparel", 3), ("tops", 3), ("tees", 2), ("home", 4),
    ]  # fmt: skip


def test_roll_up_never_loops() -> None:
    loop = [Category("a", "A", "b"), Category("b", "B", "a")]
    assert {(c.slug, c.count) for c in rolled_up({"a": 1}, loop)} == {("a", 1), ("b", 1)}


def test_comparison_rows_one_per_attribute() -> None:
    mug = Product("MUG", "Mug", 1, "EUR", attributes={"colour": "white", "capacity": "350 ml"})
    print_ = Product("PRINT", "Print", 1, "EUR", attributes={"signed": "yes"})
    assert comparison([mug, print_]) == [
        ("capacity", ["350 ml", None]),
        ("colour", ["white", None]),
        ("signed", [None, "yes"]),
    ]


def test_tree_order_puts_parents_first_and_siblings_by_name() -> None:
    shuffled = [TREE[2], TREE[3], TREE[1], TREE[0], Category("art", "Art")]
    assert [c.slug for c in tree_order(shuffled)] == ["apparel", "tops", "tees", "art", "home"]


def test_offset_of_a_page() -> None:
    assert SearchQuery(page=3, page_size=20).offset == 40
