"""The catalog copy's batch use case on the in-memory store: events folded in message
order, a newer change never undone, each changed row written once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from checkout.adapters.batch_store import MemoryCatalogStore
from checkout.application.catalog_copy import CatalogEvent, CopiedItem, handle_catalog_events
from checkout.domain.model import CatalogItem
from orderflow_contracts.catalog import PriceChanged, ProductPublished
from orderflow_messaging.consumer import Incoming
from orderflow_messaging.envelope import SourceCoordinates
from orderflow_messaging.errors import PermanentFailure
from orderflow_messaging.outbox import new_envelope

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


class CountingStore(MemoryCatalogStore):
    saves: int = 0

    async def save(self, copy: Any) -> None:
        self.saves += 1
        await super().save(copy)


def published(
    sku: str, price: int, minute: int, *, active: bool = True
) -> tuple[CatalogEvent, int]:
    event = ProductPublished(
        sku=sku, name=sku.title(), price_minor=price, currency="EUR", active=active
    )
    return event, minute


def repriced(sku: str, price: int, minute: int) -> tuple[CatalogEvent, int]:
    return PriceChanged(sku=sku, price_minor=price, currency="EUR"), minute


async def run(store: MemoryCatalogStore, *events: tuple[CatalogEvent, int]) -> None:
    items: list[Incoming[CatalogEvent]] = []
    for n, (event, minute) in enumerate(events):
        envelope = new_envelope(
            event, message_id=uuid.uuid4(), at=at(minute), producer="catalog",
            correlation_id=event.sku, causation=None,
        )  # fmt: skip
        items.append(Incoming(event, envelope, SourceCoordinates("catalog.events", 0, n)))
    await handle_catalog_events(store, items)


def prices(store: MemoryCatalogStore) -> dict[str, tuple[int, datetime]]:
    return {sku: (c.item.price_minor, c.changed_at) for sku, c in store.items.items()}


async def test_a_batch_is_folded_in_message_order_and_saved_once() -> None:
    store = CountingStore()
    await run(
        store,
        published("TEE", 1990, 0),
        repriced("TEE", 2490, 5),
        repriced("TEE", 2200, 1),  # older than the stored change: ignored
        published("MUG", 1250, 2),
        published("MUG", 1100, 3),
    )
    assert prices(store) == {"TEE": (2490, at(5)), "MUG": (1100, at(3))}
    assert store.items["TEE"].item == CatalogItem("TEE", "Tee", 2490, "EUR", True)
    assert store.saves == 1


async def test_an_older_event_in_a_later_batch_never_undoes_a_newer_change() -> None:
    store = MemoryCatalogStore()
    await run(store, published("TEE", 1990, 0), repriced("TEE", 2490, 5))
    await run(store, published("TEE", 1990, 0), repriced("TEE", 2200, 1))
    assert prices(store) == {"TEE": (2490, at(5))}
    await run(store, published("TEE", 1500, 6, active=False))
    assert store.items["TEE"] == CopiedItem(CatalogItem("TEE", "Tee", 1500, "EUR", False), at(6))


async def test_an_equally_old_change_is_applied() -> None:
    store = MemoryCatalogStore()
    await run(store, published("TEE", 1990, 0), repriced("TEE", 2100, 0))
    assert prices(store) == {"TEE": (2100, at(0))}


async def test_a_price_of_an_unknown_sku_fails_the_batch_and_writes_nothing() -> None:
    store = CountingStore()
    with pytest.raises(PermanentFailure, match="GHOST"):
        await run(store, published("TEE", 1990, 0), repriced("GHOST", 100, 1))
    assert store.saves == 0
    assert store.items == {}


async def test_a_product_announced_again_replaces_its_weight_in_the_copy() -> None:
    store = MemoryCatalogStore()
    first = ProductPublished(sku="MUG", name="Mug", price_minor=1250, currency="EUR", weight_g=300)
    # The catalog announces the whole product as it now is: its current price too.
    heavier = first.model_copy(update={"weight_g": 450, "price_minor": 1100})
    await run(store, (first, 0), repriced("MUG", 1100, 1), (heavier, 2))
    assert store.items["MUG"].item == CatalogItem("MUG", "Mug", 1100, "EUR", True, (), 450)
    await run(store, (first, 1))  # a redelivered older announcement changes nothing
    assert store.items["MUG"].item.weight_g == 450
