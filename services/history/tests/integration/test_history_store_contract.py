"""One contract, two stores: the in-memory fake and PostgreSQL must behave alike, so that
unit tests of the batch use case on the fake say something about production. Then what
only PostgreSQL can show: locks and a concurrent insert."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from history.adapters.batch_store import MemoryHistoryStore, PgHistoryStore
from history.application.ports import HistoryStore
from history.bootstrap import MIGRATIONS
from history.domain.projection import Delivery, Fulfilment, Line, OrderHistory, Status, blank
from orderflow_messaging.db import hot_pool
from orderflow_messaging.write_plan import WriteConflict, WritePlan
from orderflow_testing.plugin import MigratedSchema

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
Step = Callable[[HistoryStore], Awaitable[object]]


class Stores:
    """Runs a step in a transaction of its own (PostgreSQL) or directly (the fake)."""

    def __init__(self, run: Callable[[Step], Awaitable[object]], *, planned: bool = False) -> None:
        self._run = run
        self.planned = planned

    async def run(self, step: Step) -> object:
        return await self._run(step)

    async def rows(self, *order_ids: str) -> dict[str, OrderHistory]:
        async def load(store: HistoryStore) -> dict[str, OrderHistory]:
            return await store.load_for_update(order_ids)

        found = await self.run(load)
        assert isinstance(found, dict)
        return found


@pytest.fixture(params=["memory", "postgres", "postgres-planned"])
async def stores(
    request: pytest.FixtureRequest, migrated_schema: MigratedSchema
) -> AsyncIterator[Stores]:
    if request.param == "memory":
        fake = MemoryHistoryStore()

        async def on_fake(step: Step) -> object:
            return await step(fake)

        yield Stores(on_fake)
        return
    pool = await hot_pool((await migrated_schema(MIGRATIONS)).engine).pool()

    async def on_postgres(step: Step) -> object:
        async with pool.acquire() as conn, conn.transaction():
            return await step(PgHistoryStore(conn))

    async def planned(step: Step) -> object:
        """An optimistic batch: no locks, the writes as one statement at the end."""
        plan = WritePlan()
        async with pool.acquire() as conn:
            result = await step(PgHistoryStore(conn, plan))
            await plan.execute(conn)
            return result

    if request.param == "postgres-planned":
        yield Stores(planned, planned=True)
    else:
        yield Stores(on_postgres)


FULL = OrderHistory(
    order_id="o1",
    status=Status.CANCELLED,
    status_at=T0 + timedelta(seconds=5),
    fulfilment=Fulfilment.DELIVERED,
    updated_at=T0 + timedelta(seconds=6),
    events_applied=7,
    reason="by customer",
    customer_id="c1",
    placed_at=T0,
    total_minor=4100,
    currency="EUR",
    lines=(Line("TEE", 2, 1250, "EUR"), Line("MUG", 1, 1600, "EUR")),
    delivery=Delivery("simpoint", "pickup", "SimPoint", 290, "point-berlin-1"),
)


async def test_rows_are_inserted_and_updated_column_for_column(stores: Stores) -> None:
    bare = blank("o2", T0)  # every nullable column null

    async def insert(store: HistoryStore) -> object:
        assert await store.load_for_update(["o2", "o1"]) == {}
        return await store.save([FULL, bare], set())

    assert await stores.run(insert) == set()
    assert await stores.rows("o1", "o2", "o3") == {"o1": FULL, "o2": bare}
    later = replace(
        FULL, status=Status.COMPLETED, reason=None, lines=(), events_applied=8,
        delivery=Delivery("simpost", "home", "SimPost", 0),
    )  # fmt: skip

    async def update(store: HistoryStore) -> object:
        loaded = await store.load_for_update(["o1", "o3"])
        assert loaded == {"o1": FULL}
        return await store.save([later], loaded.keys())

    assert await stores.run(update) == set()
    assert await stores.rows("o1", "o2") == {"o1": later, "o2": bare}


async def test_a_row_created_since_the_load_is_neither_written_nor_overwritten(
    stores: Stores,
) -> None:
    theirs = replace(FULL, events_applied=1)
    mine = replace(blank("o1", T0), events_applied=1)

    async def race(store: HistoryStore) -> object:
        assert await store.load_for_update(["o1", "o2"]) == {}
        await stores.run(lambda other: other.save([theirs], set()))  # another replica
        return await store.save([mine, blank("o2", T0)], set())

    if stores.planned:
        # An optimistic batch is rolled back whole (its consumer then runs it in a
        # transaction block, which takes the path above).
        with pytest.raises(WriteConflict):
            await stores.run(race)
        assert await stores.rows("o1", "o2") == {"o1": theirs}
        return
    assert await stores.run(race) == {"o1"}
    assert await stores.rows("o1", "o2") == {"o1": theirs, "o2": blank("o2", T0)}


@pytest.fixture
async def pg(migrated_schema: MigratedSchema) -> Stores:
    pool = await hot_pool((await migrated_schema(MIGRATIONS)).engine).pool()

    async def on_postgres(step: Step) -> object:
        async with pool.acquire() as conn, conn.transaction():
            return await step(PgHistoryStore(conn))

    return Stores(on_postgres)


async def test_a_loaded_row_stays_locked_until_commit(pg: Stores) -> None:
    await pg.run(lambda store: store.save([FULL], set()))
    loaded, release = asyncio.Event(), asyncio.Event()

    async def hold(store: HistoryStore) -> object:
        await store.load_for_update(["o1"])
        loaded.set()
        await release.wait()
        return await store.save([replace(FULL, events_applied=8)], {"o1"})

    holder = asyncio.create_task(pg.run(hold))
    try:
        await loaded.wait()
        waiter = asyncio.create_task(pg.rows("o1"))
        await asyncio.sleep(0.3)
        assert not waiter.done()  # blocked on the row lock
    finally:
        release.set()
        await holder
    assert (await waiter)["o1"].events_applied == 8  # reads the committed row


async def test_an_insert_racing_an_open_insert_waits_and_is_reported(pg: Stores) -> None:
    inserted, release = asyncio.Event(), asyncio.Event()

    async def first(store: HistoryStore) -> object:
        taken = await store.save([FULL], set())
        inserted.set()
        await release.wait()
        return taken

    async def second(store: HistoryStore) -> object:
        assert await store.load_for_update(["o1"]) == {}
        await inserted.wait()
        return await store.save([blank("o1", T0)], set())

    one = asyncio.create_task(pg.run(first))
    two = asyncio.create_task(pg.run(second))
    try:
        await inserted.wait()
        await asyncio.sleep(0.3)
        assert not two.done()  # waits for the first transaction's insert
    finally:
        release.set()
    assert await one == set()
    assert await two == {"o1"}
    assert await pg.rows("o1") == {"o1": FULL}
