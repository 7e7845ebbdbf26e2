"""One contract, two stores each: the in-memory fakes and PostgreSQL must behave alike,
so that unit tests of the batch use cases on the fakes say something about production."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from checkout.adapters.batch_store import (
    ConcurrentSubmission,
    MemoryCatalogStore,
    MemorySubmissionStore,
    PgCatalogStore,
    PgSubmissionStore,
)
from checkout.adapters.repository import CatalogRepository
from checkout.application.catalog_copy import CatalogCopy, CopiedItem
from checkout.application.ports import CatalogStore, SubmissionStore
from checkout.bootstrap import MIGRATIONS
from checkout.domain.model import CatalogItem, Order, OrderLine, OrderStatus
from orderflow_messaging.db import hot_pool
from orderflow_messaging.write_plan import WriteConflict, WritePlan
from orderflow_testing.plugin import MigratedSchema

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
LATER = T0 + timedelta(minutes=5)
TEE = CatalogItem("TEE", "Tee", 1990, "EUR")
MUG = CatalogItem("MUG", "Mug", 1250, "EUR", active=False)


def order(n: int, key: str) -> Order:
    return Order(
        order_id=f"00000000-0000-0000-0000-{n:012d}",
        idempotency_key=key,
        request_fingerprint=f"fp-{n}",
        customer_id="c-1",
        lines=(OrderLine("TEE", 2, 1990), OrderLine("MUG", 1, 1250)),
        currency="EUR",
        total_minor=2 * 1990 + 1250,
        status=OrderStatus.PLACED,
        created_at=T0,
    )


@dataclass
class Stores:
    """Runs a step against a store inside one transaction (PostgreSQL) or directly."""

    catalog: Callable[[Callable[[CatalogStore], Awaitable[Any]]], Awaitable[Any]]
    submissions: Callable[[Callable[[SubmissionStore], Awaitable[Any]]], Awaitable[Any]]


@pytest.fixture(params=["memory", "postgres", "postgres-planned"])
async def stores(
    request: pytest.FixtureRequest, migrated_schema: MigratedSchema
) -> AsyncIterator[Stores]:
    if request.param == "memory":
        catalog = MemoryCatalogStore({"TEE": CopiedItem(TEE, T0), "MUG": CopiedItem(MUG, T0)})
        submissions = MemorySubmissionStore(catalog={"TEE": TEE, "MUG": MUG})

        async def on_catalog(step: Callable[[CatalogStore], Awaitable[Any]]) -> Any:
            return await step(catalog)

        async def on_submissions(step: Callable[[SubmissionStore], Awaitable[Any]]) -> Any:
            return await step(submissions)

        yield Stores(on_catalog, on_submissions)
        return
    db = await migrated_schema(MIGRATIONS)
    async with db.engine.begin() as conn:
        for item in (TEE, MUG):
            await CatalogRepository(conn).upsert(item, T0)
    pool = await hot_pool(db.engine).pool()

    async def on_pg_catalog(step: Callable[[CatalogStore], Awaitable[Any]]) -> Any:
        async with pool.acquire() as conn, conn.transaction():
            return await step(PgCatalogStore(conn))

    async def on_pg_submissions(step: Callable[[SubmissionStore], Awaitable[Any]]) -> Any:
        async with pool.acquire() as conn, conn.transaction():
            return await step(PgSubmissionStore(conn))

    async def planned(step: Callable[[SubmissionStore], Awaitable[Any]]) -> Any:
        """An optimistic batch: the insert is a part of one statement at the end; an
        order placed meanwhile rolls it back."""
        plan = WritePlan()
        async with pool.acquire() as conn:
            result = await step(PgSubmissionStore(conn, plan))
            try:
                await plan.execute(conn)
            except WriteConflict as exc:
                raise ConcurrentSubmission(str(exc)) from exc
            return result

    yield Stores(
        on_pg_catalog, planned if request.param == "postgres-planned" else on_pg_submissions
    )


async def _copy(store: CatalogStore) -> CatalogCopy:
    return await store.load_for_update(["MUG", "NEW", "TEE"])


async def test_catalog_load_returns_the_asked_rows_that_exist(stores: Stores) -> None:
    async def load(store: CatalogStore) -> CatalogCopy:
        return await store.load_for_update(["TEE", "GHOST"])

    copy = await stores.catalog(load)
    assert copy.items == {"TEE": CopiedItem(TEE, T0)}
    assert copy.changed == set()


async def test_catalog_save_writes_changed_rows_and_keeps_the_others(stores: Stores) -> None:
    async def change(store: CatalogStore) -> None:
        copy = await store.load_for_update(["TEE", "NEW"])
        copy.items["TEE"] = CopiedItem(CatalogItem("TEE", "Tee 2", 2490, "USD", False), LATER)
        copy.items["NEW"] = CopiedItem(CatalogItem("NEW", "New", 5, "EUR"), LATER)
        copy.changed |= {"TEE", "NEW"}
        await store.save(copy)

    await stores.catalog(change)
    copy = await stores.catalog(_copy)
    assert copy.items == {
        "TEE": CopiedItem(CatalogItem("TEE", "Tee 2", 2490, "USD", False), LATER),
        "NEW": CopiedItem(CatalogItem("NEW", "New", 5, "EUR"), LATER),
        "MUG": CopiedItem(MUG, T0),
    }


async def test_catalog_save_keeps_a_newer_row_stored_meanwhile(stores: Stores) -> None:
    stale = await stores.catalog(_copy)  # "NEW" unknown when this batch looked

    async def newer(store: CatalogStore) -> None:
        copy = await store.load_for_update(["NEW"])
        copy.items["NEW"] = CopiedItem(CatalogItem("NEW", "New", 7, "EUR"), LATER)
        copy.changed.add("NEW")
        await store.save(copy)

    async def older(store: CatalogStore) -> None:
        stale.items["NEW"] = CopiedItem(CatalogItem("NEW", "New", 5, "EUR"), T0)
        stale.changed.add("NEW")
        await store.save(stale)

    await stores.catalog(newer)
    await stores.catalog(older)
    copy = await stores.catalog(_copy)
    assert copy.items["NEW"] == CopiedItem(CatalogItem("NEW", "New", 7, "EUR"), LATER)


async def test_submissions_load_the_asked_orders_and_items(stores: Stores) -> None:
    async def place(store: SubmissionStore) -> None:
        book = await store.load(["upstream:a", "upstream:b"], ["TEE"], [])
        assert book.orders == {}
        assert book.catalog == {"TEE": TEE}
        book.placed += [order(1, "upstream:a"), order(2, "upstream:b")]
        await store.save(book)

    async def load(store: SubmissionStore) -> Any:
        return await store.load(["upstream:b", "upstream:c"], ["MUG", "GHOST"], [])

    await stores.submissions(place)
    book = await stores.submissions(load)
    assert book.orders == {"upstream:b": order(2, "upstream:b")}
    assert book.catalog == {"MUG": MUG}
    assert book.placed == []


async def test_submissions_load_nothing_when_nothing_is_asked(stores: Stores) -> None:
    async def load(store: SubmissionStore) -> Any:
        return await store.load([], [], [])

    book = await stores.submissions(load)
    assert (book.orders, book.catalog) == ({}, {})


async def test_an_order_placed_meanwhile_under_a_key_fails_the_save(stores: Stores) -> None:
    async def place(store: SubmissionStore) -> None:
        book = await store.load([], [], [])  # as a batch that looked before the other committed
        book.placed += [order(3, "upstream:x"), order(1, "upstream:a")]
        await store.save(book)

    async def place_a(store: SubmissionStore) -> None:
        book = await store.load(["upstream:a"], [], [])
        book.placed.append(order(2, "upstream:a"))
        await store.save(book)

    async def load(store: SubmissionStore) -> Any:
        return await store.load(["upstream:a", "upstream:x"], [], [])

    await stores.submissions(place_a)
    with pytest.raises(ConcurrentSubmission):
        await stores.submissions(place)
    book = await stores.submissions(load)
    assert book.orders == {"upstream:a": order(2, "upstream:a")}  # nothing of the failed batch
