"""Checkout's copy of the price data, one contract for two stores (the in-memory fake and
PostgreSQL): the newest revision of each subject wins in any delivery order, and a load
gives the lists, groups, rules and (when a rule reads stock) levels a batch needs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from checkout.adapters.price_copy import MemoryPriceCopy, PgPriceCopy
from checkout.application.price_copy import PriceEvent, newest_changes
from checkout.bootstrap import MIGRATIONS
from checkout.domain.pricing import PriceBook
from orderflow_contracts.catalog import (
    CustomerPriceGroupsChanged,
    DeliveryMethodChanged,
    DeliveryZone,
    ListedPrice,
    PriceListChanged,
    PriceRuleChanged,
    PriceTier,
    WeightBand,
)
from orderflow_contracts.inventory import StockLevelChanged
from orderflow_messaging.db import hot_pool
from orderflow_pricing import DeliveryMethod, ListKind, Tier
from orderflow_testing.plugin import MigratedSchema

pytestmark = pytest.mark.integration

T0 = datetime(2026, 1, 1, tzinfo=UTC)
Step = Callable[[Any], Awaitable[Any]]
OnStore = Callable[[Step], Awaitable[Any]]


@pytest.fixture(params=["memory", "postgres"])
async def on_store(
    request: pytest.FixtureRequest, migrated_schema: MigratedSchema
) -> AsyncIterator[OnStore]:
    if request.param == "memory":
        fake = MemoryPriceCopy()

        async def on_fake(step: Step) -> Any:
            return await step(fake)

        yield on_fake
        return
    pool = await hot_pool((await migrated_schema(MIGRATIONS)).engine).pool()

    async def on_postgres(step: Step) -> Any:
        async with pool.acquire() as conn, conn.transaction():
            return await step(PgPriceCopy(conn))

    yield on_postgres


def _list(list_id: str, kind: str, price: int, revision: int, **who: Any) -> PriceListChanged:
    tiers = [PriceTier(min_quantity=1, unit_price_minor=price)]
    return PriceListChanged(
        list_id=list_id, kind=kind, currency="EUR", prices=[ListedPrice(sku="TEE", tiers=tiers)],
        revision=revision, valid_from=T0, **who,
    )  # fmt: skip


async def _save(on_store: OnStore, *events: PriceEvent) -> None:
    async def step(store: Any) -> None:
        await store.save(newest_changes(list(events)))

    await on_store(step)


async def _load(on_store: OnStore, customers: list[str], skus: list[str]) -> PriceBook:
    async def step(store: Any) -> PriceBook:
        book: PriceBook = await store.load(customers, skus)
        return book

    return await on_store(step)


async def test_the_newest_revision_wins_and_a_load_takes_what_the_customers_need(
    on_store: OnStore,
) -> None:
    await _save(
        on_store,
        _list("spring", "default", 1800, 2),
        _list("spring", "default", 9999, 1),  # older, in the same batch: dropped
        _list("acme", "contract", 1500, 1, customer_id="acme"),
        _list("other", "contract", 1000, 1, customer_id="someone-else"),
        _list("trade", "group", 1700, 1, group="trade"),
        _list("gone", "group", 1600, 1, group="trade", active=False),
        CustomerPriceGroupsChanged(customer_id="c-trade", groups=["trade"], revision=1),
    )
    await _save(on_store, _list("spring", "default", 1, 1))  # a late, older state: ignored
    book = await _load(on_store, ["acme", "c-trade"], ["TEE"])
    lists = {p.list_id: p for p in book.lists}
    assert sorted(lists) == ["acme", "spring", "trade"]
    assert lists["spring"].prices == {"TEE": (Tier(1, 1800),)}
    assert lists["spring"].valid_from == T0
    assert (lists["acme"].kind, lists["acme"].customer_id) == (ListKind.CONTRACT, "acme")
    assert book.groups == {"c-trade": frozenset({"trade"})}
    assert book.rules == ()
    assert book.levels == {}
    anonymous = await _load(on_store, ["nobody"], ["TEE"])
    assert [p.list_id for p in anonymous.lists] == ["spring"]


async def test_levels_are_loaded_only_when_a_rule_reads_stock(on_store: OnStore) -> None:
    levels = [StockLevelChanged(sku="TEE", available=a, revision=r) for a, r in ((3, 2), (9, 1))]
    plain = PriceRuleChanged(rule_id="tees", basis_points=-1000, skus=["TEE"], revision=1)
    await _save(on_store, *levels, plain)
    book = await _load(on_store, [], ["TEE"])
    assert [(r.rule_id, r.skus, str(r.percent)) for r in book.rules] == [
        ("tees", frozenset({"TEE"}), "-10")
    ]
    assert book.levels == {}
    clearance = PriceRuleChanged(rule_id="clear", basis_points=-5000, stock_at_most=5,
                                 floor_minor=100, revision=1)  # fmt: skip
    await _save(on_store, clearance)
    book = await _load(on_store, [], ["TEE", "MUG"])
    assert book.levels == {"TEE": 3}
    assert {r.rule_id: (r.stock_at_most, r.floor_minor, r.skus) for r in book.rules} == {
        "tees": (None, 0, frozenset({"TEE"})), "clear": (5, 100, None)
    }  # fmt: skip


def _method(method_id: str, price: int, revision: int, **more: Any) -> DeliveryMethodChanged:
    zone = DeliveryZone(
        zone="de", countries=["DE"], bands=[WeightBand(max_weight_g=5000, price_minor=price)]
    )
    return DeliveryMethodChanged(
        method_id=method_id, name=method_id, kind="home", carrier="SimPost", currency="EUR",
        zones=[zone], revision=revision, **more,
    )  # fmt: skip


async def test_delivery_methods_newest_revision_offered_ones_only(on_store: OnStore) -> None:
    await _save(
        on_store,
        _method("home", 490, 2, free_over_minor=5000),
        _method("home", 9999, 1),  # older, in the same batch: dropped
        _method("gone", 100, 1, active=False),
    )
    await _save(on_store, _method("home", 1, 1))  # a late, older state: ignored
    book = await _load(on_store, [], ["TEE"])
    assert sorted(book.delivery) == ["home"]
    home = book.delivery["home"]
    assert (home.zones[0].bands[0].price_minor, home.free_over_minor) == (490, 5000)
    announced = _method("home", 490, 2, free_over_minor=5000).model_dump(mode="json")
    assert home == DeliveryMethod.from_json(announced)
