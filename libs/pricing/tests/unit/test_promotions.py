"""Promotions: the stacking policy and the coupon problems by example, and properties
(hypothesis): a line never goes below zero, the discounts add up, the answer does not
depend on the order promotions are given in, and a fixed amount is never exceeded."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orderflow_pricing import (
    BasketLine,
    CouponProblem,
    DiscountKind,
    Promotion,
    Stacking,
    apply_promotions,
)

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
BASKET = (BasketLine("TEE", 4000), BasketLine("MUG", 1000))
PERCENT, FIXED = DiscountKind.PERCENT, DiscountKind.FIXED


def promo(pid: str, kind: DiscountKind, value: int, **kw: object) -> Promotion:
    currency = "EUR" if kind is FIXED else None
    return Promotion(pid, kind, value, currency=currency, **kw)  # type: ignore[arg-type]


def test_a_percentage_coupon_takes_its_share_of_every_line() -> None:
    ten = promo("ten", PERCENT, 1000, code="TEN")
    result = apply_promotions(BASKET, "EUR", NOW, [ten], ["ten "])
    assert result.line_discounts == (400, 100)
    assert [a.promotion.promotion_id for a in result.applied] == ["ten"]
    assert result.promotions_of(0) == ("ten",)


def test_a_fixed_amount_is_spread_over_the_lines_in_scope() -> None:
    five = promo("five", FIXED, 500, code="FIVE")
    assert apply_promotions(BASKET, "EUR", NOW, [five], ["FIVE"]).line_discounts == (400, 100)
    mugs = promo("mugs", FIXED, 5000, code="MUGS", skus=frozenset({"MUG"}))
    # Scoped to the mug, and never more than the mug costs.
    assert apply_promotions(BASKET, "EUR", NOW, [mugs], ["MUGS"]).line_discounts == (0, 1000)


def test_cart_rules_apply_by_themselves_and_stack_with_coupons() -> None:
    rule = promo("rule", PERCENT, 500)
    ten = promo("ten", PERCENT, 1000, code="TEN", priority=1)
    assert apply_promotions(BASKET, "EUR", NOW, [rule, ten]).line_discounts == (200, 50)
    # The rule first (priority 0), then 10 % of what is left.
    both = apply_promotions(BASKET, "EUR", NOW, [rule, ten], ["TEN"])
    assert both.line_discounts == (200 + 380, 50 + 95)


def test_an_exclusive_coupon_stands_alone() -> None:
    rule = promo("rule", PERCENT, 500)
    solo = promo("solo", PERCENT, 2000, code="SOLO", stacking=Stacking.EXCLUSIVE)
    other = promo("other", FIXED, 100, code="OTHER")
    alone = apply_promotions(BASKET, "EUR", NOW, [rule, solo, other], ["SOLO"])
    assert [a.promotion.promotion_id for a in alone.applied] == ["solo"]
    with pytest.raises(CouponProblem) as refused:
        apply_promotions(BASKET, "EUR", NOW, [rule, solo, other], ["OTHER", "SOLO"])
    assert (refused.value.index, refused.value.reason) == (
        1,
        "cannot be combined with other coupons",
    )


def test_an_exclusive_cart_rule_wins_only_when_it_takes_more() -> None:
    small = promo("small", PERCENT, 500)
    big = promo("big", PERCENT, 2500, stacking=Stacking.EXCLUSIVE)
    tiny = promo("tiny", PERCENT, 100, stacking=Stacking.EXCLUSIVE)
    chosen = apply_promotions(BASKET, "EUR", NOW, [small, big, tiny])
    assert [a.promotion.promotion_id for a in chosen.applied] == ["big"]
    without_big = apply_promotions(BASKET, "EUR", NOW, [small, tiny])
    assert [a.promotion.promotion_id for a in without_big.applied] == ["small"]


@pytest.mark.parametrize(
    ("promotion", "reason"),
    [
        (promo("p", PERCENT, 1000, code="C", valid_until=NOW), "expired"),
        (promo("p", PERCENT, 1000, code="C", valid_from=NOW + timedelta(1)), "not valid yet"),
        (Promotion("p", FIXED, 100, code="C", currency="USD"), "only for orders in USD"),
        (
            promo("p", PERCENT, 1000, code="C", skus=frozenset({"HAT"})),
            "applies to none of the order's products",
        ),
        (
            promo("p", PERCENT, 1000, code="C", min_basket_minor=5001),
            "needs a basket of at least 5001 minor units",
        ),
    ],
)
def test_a_coupon_that_does_not_apply_is_refused_with_its_reason(
    promotion: Promotion, reason: str
) -> None:
    with pytest.raises(CouponProblem) as refused:
        apply_promotions(BASKET, "EUR", NOW, [promotion], ["c"])
    assert refused.value.reason == reason


def test_unknown_and_repeated_coupons_are_refused() -> None:
    ten = promo("ten", PERCENT, 1000, code="TEN")
    with pytest.raises(CouponProblem, match="unknown coupon"):
        apply_promotions(BASKET, "EUR", NOW, [ten], ["NOPE"])
    with pytest.raises(CouponProblem, match="given twice"):
        apply_promotions(BASKET, "EUR", NOW, [ten], ["TEN", "ten"])


def test_a_cart_rule_that_does_not_apply_is_left_out_quietly() -> None:
    big_baskets = promo("big", PERCENT, 1000, min_basket_minor=10_000)
    assert apply_promotions(BASKET, "EUR", NOW, [big_baskets]).total_minor == 0


def test_limited_means_counted() -> None:
    assert promo("p", PERCENT, 1, global_limit=10).limited
    assert promo("p", PERCENT, 1, per_customer_limit=1).limited
    assert not promo("p", PERCENT, 1).limited
    with pytest.raises(ValueError, match="100 %"):
        promo("p", PERCENT, 10_001)


LINES = st.lists(
    st.builds(BasketLine, st.sampled_from(["TEE", "MUG", "HAT"]), st.integers(0, 100_000)),
    min_size=1,
    max_size=6,
)
PROMOTIONS = st.lists(
    st.builds(
        Promotion,
        st.text("abcdef", min_size=1, max_size=3),
        st.sampled_from(list(DiscountKind)),
        st.integers(1, 10_000),
        currency=st.just("EUR"),
        skus=st.none() | st.frozensets(st.sampled_from(["TEE", "MUG", "HAT"]), min_size=1),
        min_basket_minor=st.integers(0, 50_000),
        stacking=st.sampled_from(list(Stacking)),
        priority=st.integers(0, 3),
    ),
    max_size=5,
    unique_by=lambda p: p.promotion_id,
)


@settings(max_examples=300, deadline=None)
@given(lines=LINES, promotions=PROMOTIONS, seed=st.integers(0, 1000))
def test_discounts_never_exceed_the_lines_and_do_not_depend_on_order(
    lines: list[BasketLine], promotions: list[Promotion], seed: int
) -> None:
    result = apply_promotions(lines, "EUR", NOW, promotions)
    assert all(
        0 <= d <= line.total_minor for d, line in zip(result.line_discounts, lines, strict=True)
    )
    assert result.total_minor == sum(a.amount_minor for a in result.applied)
    for applied in result.applied:
        assert applied.amount_minor == sum(applied.by_line)
        if applied.promotion.kind is DiscountKind.FIXED:
            assert applied.amount_minor <= applied.promotion.value
    shuffled = promotions[:]
    random.Random(seed).shuffle(shuffled)
    assert apply_promotions(lines, "EUR", NOW, shuffled) == result


MOMENTS = st.none() | st.datetimes(timezones=st.just(UTC))


@settings(max_examples=200, deadline=None)
@given(
    promotion=st.builds(
        Promotion,
        st.text("abcdef", min_size=1, max_size=3),
        st.sampled_from(list(DiscountKind)),
        st.integers(1, 10_000),
        code=st.none() | st.text("ABC123", min_size=1, max_size=6),
        currency=st.just("EUR"),
        skus=st.none() | st.frozensets(st.sampled_from(["TEE", "MUG", "HAT"])),
        valid_from=MOMENTS,
        valid_until=MOMENTS,
        stacking=st.sampled_from(list(Stacking)),
        global_limit=st.none() | st.integers(1, 100),
        per_customer_limit=st.none() | st.integers(1, 5),
    )
)
def test_the_json_shape_reads_back_as_the_same_promotion(promotion: Promotion) -> None:
    data = json.loads(json.dumps(promotion.to_json()))
    assert Promotion.from_json(data) == promotion
