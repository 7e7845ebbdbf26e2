"""One contract, two stores: the in-memory fake and PostgreSQL must behave alike, so
that unit tests of the batch use case on the fake say something about production."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import pytest

from inventory.adapters.batch_store import ConcurrentReservation, MemoryStockStore, PgStockStore
from inventory.adapters.repository import StockRepository
from inventory.application.ports import StockStore
from inventory.bootstrap import MIGRATIONS
from inventory.domain.model import Reservation, ReservationStatus, StockItem
from orderflow_messaging.db import hot_pool
from orderflow_testing.plugin import MigratedSchema

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
# Runs a step against a store inside one transaction (PostgreSQL) or directly (fake).
InTransaction = Callable[[Callable[[StockStore], Awaitable[object]]], Awaitable[object]]


@pytest.fixture(params=["memory", "postgres"])
async def in_transaction(
    request: pytest.FixtureRequest, migrated_schema: MigratedSchema
) -> AsyncIterator[InTransaction]:
    if request.param == "memory":
        fake = MemoryStockStore(stock={"A": StockItem("A", 10, 10), "B": StockItem("B", 5, 5)})

        async def on_fake(step: Callable[[StockStore], Awaitable[object]]) -> object:
            return await step(fake)

        yield on_fake
        return
    db = await migrated_schema(MIGRATIONS)
    async with db.engine.begin() as conn:
        await StockRepository(conn).add_if_missing(StockItem("A", 10, 10))
        await StockRepository(conn).add_if_missing(StockItem("B", 5, 5))
    pool = await hot_pool(db.engine).pool()

    async def on_postgres(step: Callable[[StockStore], Awaitable[object]]) -> object:
        async with pool.acquire() as conn, conn.transaction():
            return await step(PgStockStore(conn))

    yield on_postgres


async def test_load_returns_the_asked_rows_and_those_of_the_reservations(
    in_transaction: InTransaction,
) -> None:
    async def reserve(store: StockStore) -> None:
        book = await store.load_for_update(["o1"], {"A"})
        assert book.reservations == {}
        assert set(book.stock) == {"A"}
        book.reservations["o1"] = Reservation("o1", ReservationStatus.RESERVED, {"B": 2}, NOW)
        book.created.add("o1")
        book.stock["B"] = StockItem("B", 5, 3, 2, revision=1)
        book.moved.add("B")
        await store.save(book)

    await in_transaction(reserve)

    async def load(store: StockStore) -> object:
        return await store.load_for_update(["o1", "o2"], {"Z"})

    book = await in_transaction(load)
    assert book.reservations == {  # type: ignore[attr-defined]
        "o1": Reservation("o1", ReservationStatus.RESERVED, {"B": 2}, NOW)
    }
    # The revision is written and read back with the quantities.
    assert book.stock == {"B": StockItem("B", 5, 3, 2, revision=1)}  # type: ignore[attr-defined]


async def test_changed_reservations_are_updated_and_untouched_rows_kept(
    in_transaction: InTransaction,
) -> None:
    async def create(store: StockStore) -> None:
        book = await store.load_for_update(["o1", "o2"], set())
        for order in ("o1", "o2"):
            book.reservations[order] = Reservation(order, ReservationStatus.RESERVED, {"A": 1}, NOW)
            book.created.add(order)
        await store.save(book)

    async def release_one(store: StockStore) -> None:
        book = await store.load_for_update(["o1"], set())
        old = book.reservations["o1"]
        book.reservations["o1"] = Reservation("o1", ReservationStatus.RELEASED, old.lines, NOW, "x")
        book.changed.add("o1")
        await store.save(book)

    async def load(store: StockStore) -> object:
        return await store.load_for_update(["o1", "o2"], set())

    await in_transaction(create)
    await in_transaction(release_one)
    book = await in_transaction(load)
    statuses = {o: r.status for o, r in book.reservations.items()}  # type: ignore[attr-defined]
    assert statuses == {"o1": ReservationStatus.RELEASED, "o2": ReservationStatus.RESERVED}
    assert book.reservations["o1"].reason == "x"  # type: ignore[attr-defined]
    assert book.stock == {"A": StockItem("A", 10, 10)}  # type: ignore[attr-defined]


async def test_a_reservation_created_twice_is_a_conflict(in_transaction: InTransaction) -> None:
    async def create(store: StockStore) -> None:
        book = await store.load_for_update(["o1"], set())
        book.reservations["o1"] = Reservation("o1", ReservationStatus.RELEASED, {}, None)
        book.created.add("o1")
        await store.save(book)

    await in_transaction(create)
    with pytest.raises(ConcurrentReservation):
        await in_transaction(create)
