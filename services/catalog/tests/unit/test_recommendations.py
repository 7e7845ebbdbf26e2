"""The "bought together" fold: each order adds one to every ordered pair of its distinct
SKUs, whatever the order the orders come in; the consumer's use case adds a batch's
pairs in one write, and a rebuild counts each message once."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.adapters.recommendations import MemoryBoughtTogether
from catalog.application.recommendations import Rebuild, count_orders
from catalog.domain.recommendations import MAX_SKUS, bought_together, pairs_of
from orderflow_contracts.checkout import OrderPlaced
from orderflow_contracts.common import Address, Money, PricedLineV4
from orderflow_contracts.shipping import ShipmentCancelled
from orderflow_testing.batches import incoming

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def placed(*skus: str) -> OrderPlaced:
    unit = Money(amount_minor=100, currency="EUR")
    return OrderPlaced(
        order_id=str(uuid.uuid4()), customer_id="c",
        lines=[
            PricedLineV4(sku=s, quantity=1, unit_price=unit, price_source="base") for s in skus
        ],
        total=Money(amount_minor=100 * len(skus), currency="EUR"),
        shipping_address=Address(name="A", line1="1", city="B", postcode="1", country="DE"),
        payment_token="tok_ok", placed_at=T0,
    )  # fmt: skip


def test_an_order_adds_every_ordered_pair_of_its_distinct_skus_once() -> None:
    assert sorted(pairs_of(["TEE", "MUG", "TEE", "CAP"])) == [
        ("CAP", "MUG"), ("CAP", "TEE"), ("MUG", "CAP"), ("MUG", "TEE"), ("TEE", "CAP"),
        ("TEE", "MUG"),
    ]  # fmt: skip
    assert pairs_of(["TEE"]) == []
    assert pairs_of(["TEE", "TEE"]) == []
    big = [f"SKU-{n:03d}" for n in range(100)]
    assert len(pairs_of(big)) == MAX_SKUS * (MAX_SKUS - 1)


@settings(max_examples=200, deadline=None)
@given(
    baskets=st.lists(st.lists(st.sampled_from(["A", "B", "C", "D"]), max_size=5), max_size=12),
    seed=st.integers(0, 1000),
)
def test_the_counts_do_not_depend_on_the_order_of_the_orders(
    baskets: list[list[str]], seed: int
) -> None:
    counts = bought_together(baskets)
    shuffled = baskets[:]
    random.Random(seed).shuffle(shuffled)
    assert bought_together(shuffled) == counts
    assert all(counts[(a, b)] == counts[(b, a)] for a, b in counts)  # symmetric
    assert all(
        counts[(a, b)] == sum(1 for basket in baskets if a in basket and b in basket)
        for a, b in counts
    )


async def test_a_batch_is_counted_and_added_in_one_write() -> None:
    store = MemoryBoughtTogether()
    items = [incoming(placed("TEE", "MUG"), n=0), incoming(placed("TEE", "MUG", "CAP"), n=1)]
    await count_orders(store, items)
    await count_orders(store, [incoming(placed("TEE", "CAP"), n=2)])
    assert store.counts[("TEE", "MUG")] == 2
    assert store.counts[("TEE", "CAP")] == 2
    assert store.counts[("MUG", "CAP")] == 1
    assert sum(store.counts.values()) == 2 * 2 + 6


def test_a_rebuild_counts_each_message_once_and_ignores_other_types() -> None:
    rebuild = Rebuild()
    order, message_id = placed("TEE", "MUG"), uuid.uuid4()
    assert rebuild.feed(message_id, order) == "applied"
    assert rebuild.feed(message_id, order) == "duplicate"  # a copy from `replay topic`
    assert rebuild.feed(uuid.uuid4(), ShipmentCancelled(order_id="o")) == "ignored"
    assert rebuild.counts == Counter({("MUG", "TEE"): 1, ("TEE", "MUG"): 1})
    assert rebuild.outcomes == Counter({"applied": 1, "duplicate": 1, "ignored": 1})
