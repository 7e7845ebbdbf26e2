"""Checkout's rules and pricing: every problem is reported, prices come from the copy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from checkout.domain import rules
from checkout.domain.model import (
    AddressDraft,
    CatalogItem,
    DeliveryDraft,
    LineDraft,
    OrderDelivery,
    OrderDraft,
    OrderLine,
    PricedOrder,
    Problem,
)
from checkout.domain.pricing import NO_PRICE_DATA, PriceBook
from orderflow_pricing import (
    Band,
    DeliveryKind,
    DeliveryMethod,
    DiscountKind,
    ListKind,
    PickupPoint,
    PriceList,
    PriceRule,
    Promotion,
    Resolution,
    Tier,
    Zone,
)

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def validate_order(
    draft: OrderDraft, catalog: Mapping[str, CatalogItem], prices: PriceBook = NO_PRICE_DATA
) -> list[Problem]:
    return rules.validate_order(draft, catalog, prices, NOW)


def price_order(
    draft: OrderDraft, catalog: Mapping[str, CatalogItem], prices: PriceBook = NO_PRICE_DATA
) -> PricedOrder:
    return rules.price_order(draft, catalog, prices, NOW)


CATALOG = {
    "TEE": CatalogItem("TEE", "Tee", 1990, "EUR"),
    "MUG": CatalogItem("MUG", "Mug", 1250, "EUR"),
    "OLD": CatalogItem("OLD", "Retired", 900, "EUR", active=False),
    "USD-ONLY": CatalogItem("USD-ONLY", "Import", 500, "USD"),
    "GOLD": CatalogItem("GOLD", "Gold bar", 5_000_000_000, "EUR"),
}
ADDRESS = AddressDraft("Ada Lovelace", "1 Analytical Way", "London", "N1 9GU", "GB")


def order(*lines: tuple[str, int], **changes: object) -> OrderDraft:
    draft = OrderDraft(
        customer_id="c-1",
        lines=tuple(LineDraft(sku, qty) for sku, qty in lines),
        shipping_address=ADDRESS,
        payment_token="tok_visa_4242",
    )
    return replace(draft, **changes)  # type: ignore[arg-type]


def test_a_valid_order_has_no_problems() -> None:
    assert validate_order(order(("TEE", 2), ("MUG", 1)), CATALOG) == []


@pytest.mark.parametrize("quantity", [1, 10_000])
def test_quantity_limits_are_inclusive(quantity: int) -> None:
    assert validate_order(order(("TEE", quantity)), CATALOG) == []


@pytest.mark.parametrize("quantity", [0, -1, 10_001])
def test_quantity_out_of_range(quantity: int) -> None:
    assert validate_order(order(("TEE", quantity)), CATALOG) == [
        Problem("lines[0].quantity", f"must be 1 to 10000, not {quantity}")
    ]


def test_line_count_limits() -> None:
    assert validate_order(order(), CATALOG) == [
        Problem("lines", "an order has 1 to 100 lines, not 0")
    ]
    assert validate_order(order(*[("MUG", 1)] * 100), CATALOG) == []
    assert validate_order(order(*[("MUG", 1)] * 101), CATALOG) == [
        Problem("lines", "an order has 1 to 100 lines, not 101")
    ]


def test_unknown_inactive_and_foreign_currency_skus() -> None:
    problems = validate_order(order(("TEE", 1), ("X", 1), ("OLD", 1), ("USD-ONLY", 1)), CATALOG)
    assert problems == [
        Problem("lines[1].sku", "unknown SKU 'X'"),
        Problem("lines[2].sku", "SKU 'OLD' is not for sale"),
        Problem("lines[3].sku", "SKU 'USD-ONLY' is priced in USD, not EUR"),
    ]


def test_order_currency_must_match_every_item() -> None:
    assert validate_order(order(("USD-ONLY", 1), currency="USD"), CATALOG) == []
    assert validate_order(order(("TEE", 1), currency="USD"), CATALOG) == [
        Problem("lines[0].sku", "SKU 'TEE' is priced in EUR, not USD")
    ]


def test_malformed_currency_is_one_problem_not_one_per_line() -> None:
    assert validate_order(order(("TEE", 1), ("MUG", 1), currency="eur"), CATALOG) == [
        Problem("currency", "must be a three-letter ISO 4217 code such as EUR")
    ]


@pytest.mark.parametrize("token", ["tok_a", "tok_visa_4242", "tok_" + "a" * 60])
def test_good_tokens(token: str) -> None:
    assert validate_order(order(("TEE", 1), payment_token=token), CATALOG) == []


@pytest.mark.parametrize(
    "token", ["", "tok_", "tok_ABC", "tok-abc", "4242424242424242", "tok_" + "a" * 61]
)
def test_bad_tokens_are_refused_without_echoing_them(token: str) -> None:
    problems = validate_order(order(("TEE", 1), payment_token=token), CATALOG)
    assert problems == [Problem("payment_token", "must match ^tok_[a-z0-9_]{1,60}$")]


def test_address_and_customer_rules() -> None:
    address = AddressDraft("", "x" * 201, "Berlin", "10115", "de")
    problems = validate_order(
        order(("TEE", 1), shipping_address=address, customer_id="c" * 65), CATALOG
    )
    assert problems == [
        Problem("customer_id", "must be 1 to 64 characters"),
        Problem("shipping_address.name", "must be 1 to 200 characters"),
        Problem("shipping_address.line1", "must be 1 to 200 characters"),
        Problem("shipping_address.country", "must be a two-letter ISO 3166 code such as DE"),
    ]


def test_every_problem_is_listed_at_once() -> None:
    draft = order(("X", 1), ("TEE", 0), payment_token="card", customer_id="")
    fields = [p.field for p in validate_order(draft, CATALOG)]
    assert fields == ["customer_id", "lines[0].sku", "lines[1].quantity", "payment_token"]


def test_total_above_the_contract_limit_is_refused() -> None:
    assert validate_order(order(("GOLD", 2)), CATALOG) == []
    assert validate_order(order(("GOLD", 2), ("MUG", 1)), CATALOG) == [
        Problem("lines", "the order total exceeds 10000000000 minor units")
    ]


def test_pricing_uses_catalog_unit_prices() -> None:
    priced = price_order(order(("TEE", 2), ("MUG", 1), ("TEE", 1)), CATALOG)
    assert priced.lines == (
        OrderLine("TEE", 2, 1990),
        OrderLine("MUG", 1, 1250),
        OrderLine("TEE", 1, 1990),
    )
    assert priced.total_minor == 2 * 1990 + 1250 + 1990
    assert priced.currency == "EUR"


def test_pricing_follows_the_copy_not_the_request() -> None:
    repriced = {**CATALOG, "TEE": replace(CATALOG["TEE"], price_minor=2490)}
    assert price_order(order(("TEE", 2)), repriced).total_minor == 4980


def test_an_invalid_order_cannot_be_priced() -> None:
    with pytest.raises(ValueError, match="unknown SKU"):
        price_order(order(("X", 1)), CATALOG)


def _list(list_id: str, kind: ListKind, price: int, currency: str = "EUR", **who: str) -> PriceList:
    return PriceList(
        list_id, kind, currency, {"TEE": (Tier(1, price), Tier(10, price - 100))}, **who
    )  # type: ignore[arg-type]


PRICES = PriceBook(
    lists=(
        _list("spring", ListKind.DEFAULT, 1800),
        _list("acme", ListKind.CONTRACT, 1500, customer_id="acme"),
        _list("trade", ListKind.GROUP, 1700, group="trade"),
        _list("us", ListKind.DEFAULT, 2100, "USD"),
    ),
    rules=(PriceRule("mugs", Decimal(-10), skus=frozenset({"MUG"})),),
    groups={"c-trade": frozenset({"trade"})},
)


def test_each_line_is_priced_by_the_resolution_and_says_what_priced_it() -> None:
    priced = {
        who: price_order(order(("TEE", 1), ("MUG", 1), ("TEE", 10), customer_id=who), CATALOG,
                         PRICES).lines
        for who in ("anon-1", "acme", "c-trade")
    }  # fmt: skip
    assert priced["anon-1"] == (
        OrderLine("TEE", 1, 1800, "default:spring"),
        OrderLine("MUG", 1, 1125, "base", "mugs"),  # 1250 less 10 %
        OrderLine("TEE", 10, 1700, "default:spring"),  # the volume tier
    )
    assert [ln.unit_price_minor for ln in priced["acme"]] == [1500, 1125, 1400]
    assert [ln.price_source for ln in priced["c-trade"]] == ["group:trade", "base", "group:trade"]


def test_a_list_prices_a_sku_in_a_currency_its_base_price_is_not_in() -> None:
    usd = order(("TEE", 1), ("MUG", 1), currency="USD")
    assert validate_order(usd, CATALOG, PRICES) == [
        Problem("lines[1].sku", "SKU 'MUG' is priced in EUR, not USD")
    ]
    priced = price_order(order(("TEE", 1), currency="USD"), CATALOG, PRICES)
    assert priced.lines == (OrderLine("TEE", 1, 2100, "default:us"),)


class CountingBook(PriceBook):
    """A price book that counts its resolutions (a frozen dataclass: the count lives in
    a list)."""

    def __init__(self, calls: list[str]) -> None:
        super().__init__()
        object.__setattr__(self, "calls", calls)

    def price(
        self, item: CatalogItem, quantity: int, currency: str, customer_id: str, at: datetime
    ) -> Resolution:
        self.calls.append(item.sku)  # type: ignore[attr-defined]
        return super().price(item, quantity, currency, customer_id, at)


def test_assessing_an_order_resolves_each_line_once() -> None:
    calls: list[str] = []
    assessed = rules.assess_order(
        order(("TEE", 2), ("MUG", 1), ("TEE", 1)), CATALOG, CountingBook(calls), NOW
    )
    assert calls == ["TEE", "MUG", "TEE"]
    assert assessed == price_order(order(("TEE", 2), ("MUG", 1), ("TEE", 1)), CATALOG)


def test_assessing_an_invalid_order_lists_what_validation_lists() -> None:
    draft = order(("TEE", 1), ("X", 1), ("USD-ONLY", 1), payment_token="card")
    assert rules.assess_order(draft, CATALOG, NO_PRICE_DATA, NOW) == validate_order(draft, CATALOG)
    assert validate_order(draft, CATALOG) != []


TEN = Promotion("ten", DiscountKind.PERCENT, 1000, code="TEN", global_limit=10)
MUGS = Promotion("mugs", DiscountKind.FIXED, 300, currency="EUR", skus=frozenset({"MUG"}))
WITH_PROMOTIONS = PriceBook(promotions=(TEN, MUGS))


def test_promotions_are_applied_per_line_and_the_total_is_lines_less_discounts() -> None:
    priced = price_order(order(("TEE", 2), ("MUG", 1), coupons=("ten",)), CATALOG, WITH_PROMOTIONS)
    tee, mug = priced.lines
    # The cart rule first (priority 0, "mugs" < "ten"), then 10 % of what is left.
    assert mug.discounts == (("mugs", 300), ("ten", 95))
    assert tee.discounts == (("ten", 398),)
    assert [(d.promotion_id, d.code, d.amount_minor, d.limited) for d in priced.discounts] == [
        ("mugs", None, 300, False),
        ("ten", "TEN", 493, True),
    ]
    subtotal = tee.total_minor + mug.total_minor
    assert priced.total_minor == subtotal - 300 - 493


def test_a_coupon_that_does_not_apply_is_a_problem_naming_it() -> None:
    draft = order(("TEE", 1), coupons=("TEN", "nope"))
    assert validate_order(draft, CATALOG, WITH_PROMOTIONS) == [
        Problem("coupons[1]", "unknown coupon")
    ]
    too_many = order(("TEE", 1), coupons=tuple(f"C{i}" for i in range(6)))
    assert Problem("coupons", "at most 5 coupons") in validate_order(too_many, CATALOG)


PICKUP_POINT = PickupPoint("mitte", "Kiosk", "Torstr. 1", "Berlin", "10119", "DE")
HOME = DeliveryMethod(
    "home", "Home", DeliveryKind.HOME, "SimPost", "EUR",
    zones=(Zone("uk", frozenset({"GB"}), (Band(1000, 490), Band(5000, 690))),),
    free_over_minor=10_000,
)  # fmt: skip
PICKUP = DeliveryMethod(
    "pickup", "Pickup", DeliveryKind.PICKUP, "SimPoint", "EUR",
    zones=(Zone("de", frozenset({"DE"}), (Band(5000, 290),)),), pickup_points=(PICKUP_POINT,),
)  # fmt: skip
WEIGHED = CATALOG | {
    "TEE": replace(CATALOG["TEE"], weight_g=200),
    "MUG": replace(CATALOG["MUG"], weight_g=350),
}
WITH_DELIVERY = PriceBook(promotions=(MUGS,), delivery={"home": HOME, "pickup": PICKUP})


def test_the_delivery_is_priced_by_weight_and_added_to_the_total() -> None:
    draft = order(("TEE", 2), ("MUG", 2), delivery=DeliveryDraft("home"))  # 1100 g
    priced = price_order(draft, WEIGHED, WITH_DELIVERY)
    assert priced.delivery == OrderDelivery("home", "home", "SimPost", 690, "uk", 1100)
    lines = 2 * 1990 + 2 * 1250
    assert priced.total_minor == lines - 300 + 690
    # Free once the basket (after discounts) reaches the threshold.
    big = price_order(order(("TEE", 6), delivery=DeliveryDraft("home")), WEIGHED, WITH_DELIVERY)
    assert big.delivery is not None
    assert (big.delivery.price_minor, big.delivery.free) == (0, True)
    assert big.total_minor == 6 * 1990


def test_a_pickup_order_is_priced_to_its_point_whatever_the_address() -> None:
    draft = order(("TEE", 1), delivery=DeliveryDraft("pickup", "mitte"))  # address in GB
    priced = price_order(draft, WEIGHED, WITH_DELIVERY)
    assert priced.delivery is not None
    assert (priced.delivery.price_minor, priced.delivery.pickup_point) == (290, PICKUP_POINT)
    assert priced.total_minor == 1990 + 290


@pytest.mark.parametrize(
    ("delivery", "field", "reason"),
    [
        (DeliveryDraft("nope"), "delivery.method", "unknown delivery method 'nope'"),
        (DeliveryDraft("pickup"), "delivery.pickup_point", "choose a pickup point of 'pickup'"),
        (DeliveryDraft("home", "mitte"), "delivery.pickup_point", "'home' delivers home"),
    ],
)
def test_a_delivery_that_cannot_be_had_is_a_problem_naming_it(
    delivery: DeliveryDraft, field: str, reason: str
) -> None:
    draft = order(("TEE", 1), delivery=delivery)
    assert validate_order(draft, WEIGHED, WITH_DELIVERY) == [Problem(field, reason)]


def test_a_parcel_too_heavy_for_the_method_is_refused_with_its_weight() -> None:
    draft = order(("MUG", 15), delivery=DeliveryDraft("home"))  # 5250 g
    [problem] = validate_order(draft, WEIGHED, WITH_DELIVERY)
    assert problem == Problem("delivery.method", "'home' takes up to 5000 g to GB, not 5250 g")


def test_an_order_without_a_delivery_choice_is_charged_none() -> None:
    priced = price_order(order(("TEE", 1)), WEIGHED, WITH_DELIVERY)
    assert (priced.delivery, priced.total_minor) == (None, 1990)
