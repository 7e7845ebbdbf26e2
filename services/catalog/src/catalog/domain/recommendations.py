"""The "bought together" projection: how many orders had two products in one basket,
from the orders checkout placed (OrderPlaced on checkout.events). A pure fold: each
order adds one to every ordered pair of the distinct SKUs of its lines (a bundle counts
as itself), so the counts do not depend on the order the orders arrive in, and a
rebuild from the topic equals the live projection."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from itertools import permutations

Pair = tuple[str, str]  # (sku, other): the other was bought with the sku

# An order of more SKUs than this adds the pairs of its first ones (in SKU order): a
# basket of 100 lines would add 9,900 pairs and say little about any of them.
MAX_SKUS = 20


def pairs_of(skus: Iterable[str]) -> list[Pair]:
    """Every ordered pair of distinct SKUs of one basket."""
    distinct = sorted(set(skus))[:MAX_SKUS]
    return list(permutations(distinct, 2))


def bought_together(baskets: Iterable[Iterable[str]]) -> Counter[Pair]:
    """The pairs the baskets add, with how many baskets add each."""
    counts: Counter[Pair] = Counter()
    for skus in baskets:
        counts.update(pairs_of(skus))
    return counts
