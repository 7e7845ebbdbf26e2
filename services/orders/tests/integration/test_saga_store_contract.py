"""One contract, two stores: the in-memory fake and PostgreSQL must behave alike."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from sqlalchemy import text

from orderflow_messaging.db import hot_pool
from orderflow_messaging.write_plan import WriteConflict, WritePlan
from orderflow_testing.plugin import MigratedSchema
from orders.adapters.repository import ConcurrencyConflict
from orders.adapters.saga_cache import SagaCache
from orders.adapters.saga_store import MemorySagaStore, PgSagaStore
from orders.application.ports import HistoryRow, SagaStore
from orders.application.saga_batch import SagaBook
from orders.bootstrap import MIGRATIONS
from orders.saga.state import Facts, OrderData, OrderLine, Saga, SagaStatus, Step, UpstreamCancel

T0 = datetime(2026, 6, 1, 9, tzinfo=UTC)
ORDER = OrderData("c1", (OrderLine("A", 1, 100),), "EUR", 100, {"name": "A"}, "tok_ok")
Step_ = Callable[[SagaStore], Awaitable[object]]
InTransaction = Callable[[Step_], Awaitable[object]]


def saga(order_id: str, version: int = 1, **changes: object) -> Saga:
    s = Saga(order_id, ORDER, SagaStatus.RUNNING, Step.RESERVE_STOCK, 1, T0, version=version)
    return s.evolve(**changes)


def history(order_id: str, kind: str) -> HistoryRow:
    return HistoryRow(order_id, T0, kind, "X", uuid4(), None, "RUNNING", None, ["C"], "n")


@pytest.fixture(params=["memory", "postgres", "postgres-planned"])
async def in_transaction(
    request: pytest.FixtureRequest, migrated_schema: MigratedSchema
) -> AsyncIterator[tuple[InTransaction, Callable[[], Awaitable[list[str]]]]]:
    if request.param == "memory":
        fake = MemorySagaStore()

        async def on_fake(step: Step_) -> object:
            return await step(fake)

        async def fake_history() -> list[str]:
            return [f"{h.order_id}:{h.kind}" for h in fake.history]

        yield on_fake, fake_history
        return
    db = await migrated_schema(MIGRATIONS)
    pool = await hot_pool(db.engine).pool()

    async def on_postgres(step: Step_) -> object:
        async with pool.acquire() as conn, conn.transaction():
            return await step(PgSagaStore(conn))

    async def planned(step: Step_) -> object:
        """An optimistic batch: load without locks, the writes as one statement; its
        conflicts surface when the plan runs."""
        plan = WritePlan()
        async with pool.acquire() as conn:
            result = await step(PgSagaStore(conn, plan))
            try:
                await plan.execute(conn)
            except WriteConflict as exc:
                raise ConcurrencyConflict(str(exc)) from exc
            return result

    async def pg_history() -> list[str]:
        async with db.engine.connect() as conn:
            rows = await conn.execute(text("SELECT order_id, kind FROM saga_history ORDER BY id"))
            return [f"{r.order_id}:{r.kind}" for r in rows]

    yield (planned if request.param == "postgres-planned" else on_postgres), pg_history


async def test_saved_sagas_load_back_equal_and_history_keeps_its_order(
    in_transaction: tuple[InTransaction, Callable[[], Awaitable[list[str]]]],
) -> None:
    run, read_history = in_transaction

    async def create(store: SagaStore) -> None:
        book = await store.load_for_update(["b", "a"])
        assert book.sagas == {}
        for order_id in ("b", "a"):
            book.sagas[order_id] = saga(order_id)
            book.created.add(order_id)
        book.history.extend([history("b", "started"), history("a", "started")])
        await store.save(book)

    async def advance(store: SagaStore) -> None:
        book = await store.load_for_update(["a"])
        book.sagas["a"] = saga(
            "a", 3, step=Step.CAPTURE_PAYMENT, deadline=T0 + timedelta(seconds=5),
            facts=Facts(stock_reserved=True), compensations=(Step.RELEASE_STOCK,), reason="r",
            upstream_cancel=UpstreamCancel("PS-1", accepted=False, refusal="too late"),
        )  # fmt: skip
        book.changed.add("a")
        book.history.append(history("a", "reply"))
        await store.save(book)

    async def load(store: SagaStore) -> object:
        return await store.load_for_update(["a", "b", "zz"])

    await run(create)
    await run(advance)
    book = await run(load)
    assert isinstance(book, SagaBook)
    assert book.sagas["b"] == saga("b")
    assert book.sagas["a"].step is Step.CAPTURE_PAYMENT
    assert book.sagas["a"].facts == Facts(stock_reserved=True)
    assert book.sagas["a"].compensations == (Step.RELEASE_STOCK,)
    assert book.sagas["a"].upstream_cancel == UpstreamCancel("PS-1", False, "too late")
    assert book.loaded_versions == {"a": 3, "b": 1}
    assert await read_history() == ["b:started", "a:started", "a:reply"]


async def test_stale_versions_and_double_starts_are_conflicts(
    in_transaction: tuple[InTransaction, Callable[[], Awaitable[list[str]]]],
) -> None:
    run, _ = in_transaction

    async def create(store: SagaStore) -> None:
        book = await store.load_for_update(["a"])
        book.sagas["a"] = saga("a")
        book.created.add("a")
        await store.save(book)

    async def stale_update(store: SagaStore) -> None:
        book = SagaBook({"a": saga("a", 7)})  # loaded at version 7: the row is at 1
        book.sagas["a"] = saga("a", 8)
        book.changed.add("a")
        await store.save(book)

    await run(create)
    with pytest.raises(ConcurrencyConflict):
        await run(create)
    with pytest.raises(ConcurrencyConflict):
        await run(stale_update)


async def test_a_saga_read_and_left_unchanged_must_still_be_at_the_version_read(
    in_transaction: tuple[InTransaction, Callable[[], Awaitable[list[str]]]],
) -> None:
    """A message the stale state ignored would be lost for the real saga: no commit."""
    run, read_history = in_transaction

    async def ignore_at(version: int, store: SagaStore) -> None:
        book = SagaBook({"a": saga("a", version)})  # read at ``version``, left as it was
        book.history.append(history("a", "ignored"))
        await store.save(book)

    await run(lambda store: _start(store, "a"))
    with pytest.raises(ConcurrencyConflict):
        await run(lambda store: ignore_at(7, store))
    await run(lambda store: ignore_at(1, store))
    assert await read_history() == ["a:ignored"]  # _start writes no history row


@pytest.fixture
async def planned_with_cache(
    migrated_schema: MigratedSchema,
) -> AsyncIterator[tuple[Callable[..., Awaitable[object]], SagaCache]]:
    """Optimistic batches sharing one cache, as the coordinator's consumer runs them;
    ``locked=True`` runs one in a transaction block (the path after a conflict)."""
    db = await migrated_schema(MIGRATIONS)
    pool = await hot_pool(db.engine).pool()
    cache = SagaCache(100)

    async def batch(step: Step_, *, locked: bool = False) -> object:
        if locked:
            async with pool.acquire() as conn, conn.transaction():
                return await step(PgSagaStore(conn, None, cache))
        plan = WritePlan()
        async with pool.acquire() as conn:
            result = await step(PgSagaStore(conn, plan, cache))
            await plan.execute(conn)
            return result

    return batch, cache


async def _start(store: SagaStore, *order_ids: str) -> None:
    book = await store.load_for_update(list(order_ids), starting=order_ids)
    for order_id in order_ids:
        book.sagas[order_id] = saga(order_id)
        book.created.add(order_id)
    await store.save(book)


async def test_a_committed_batch_keeps_its_sagas_and_the_next_reads_them_from_the_cache(
    planned_with_cache: tuple[Callable[..., Awaitable[object]], SagaCache],
) -> None:
    batch, cache = planned_with_cache
    await batch(lambda store: _start(store, "a", "b"))
    assert cache.get("a") == saga("a")

    async def finish_b(store: SagaStore) -> None:
        book = await store.load_for_update(["b"])
        book.sagas["b"] = saga("b", 2, status=SagaStatus.COMPLETED, step=None)
        book.changed.add("b")
        await store.save(book)

    await batch(finish_b)
    assert cache.get("b") == saga("b", 2, status=SagaStatus.COMPLETED, step=None)
    # What the cache holds is what a batch reads: the table is not asked (an entry
    # differing from the row shows which one was read).
    cache.keep([saga("a", 1, step=Step.CAPTURE_PAYMENT)])
    book = await batch(lambda store: store.load_for_update(["a"]))
    assert isinstance(book, SagaBook)
    assert book.sagas["a"].step is Step.CAPTURE_PAYMENT


async def test_a_stale_entry_is_a_conflict_and_the_locked_rerun_forgets_it(
    planned_with_cache: tuple[Callable[..., Awaitable[object]], SagaCache],
) -> None:
    batch, cache = planned_with_cache
    await batch(lambda store: _start(store, "a"))

    async def advance(store: SagaStore) -> None:
        book = await store.load_for_update(["a"])
        book.sagas["a"] = book.sagas["a"].evolve(version=book.sagas["a"].version + 1)
        book.changed.add("a")
        await store.save(book)

    await batch(advance, locked=True)  # e.g. the deadline timer: the cache still has v1
    assert cache.get("a") is None  # the locked load forgot it
    cache.keep([saga("a", 1)])  # a stale entry nonetheless (say, another replica's write)
    with pytest.raises(WriteConflict):
        await batch(advance)
    await batch(advance, locked=True)
    assert cache.get("a") is None
    await batch(advance)  # read from the table, at version 3
    assert cache.get("a") == saga("a", 4)


async def test_a_starting_saga_is_presumed_new_and_a_redelivered_start_is_a_conflict(
    planned_with_cache: tuple[Callable[..., Awaitable[object]], SagaCache],
) -> None:
    batch, cache = planned_with_cache
    await batch(lambda store: _start(store, "a"))
    cache.forget(["a"])
    book = await batch(lambda store: store.load_for_update(["a"], starting=["a"]))
    assert isinstance(book, SagaBook)
    assert book.sagas == {}  # not looked up
    with pytest.raises(WriteConflict):
        await batch(lambda store: _start(store, "a"))
    assert cache.get("a") is None


async def test_a_planned_save_keeps_its_sagas_at_once_and_an_abandoned_plan_forgets_them(
    migrated_schema: MigratedSchema,
) -> None:
    """A pipelined consumer decides its next batch while this one's statement runs, on
    top of what this one kept; a plan that will not run takes its entries back."""
    db = await migrated_schema(MIGRATIONS)
    pool = await hot_pool(db.engine).pool()
    cache = SagaCache(100)
    async with pool.acquire() as conn:
        plan = WritePlan()
        await _start(PgSagaStore(conn, plan, cache), "a")
        assert cache.get("a") == saga("a")  # before the statement ran
        plan.abandon()
        assert cache.get("a") is None
        assert await conn.fetchval("SELECT count(*) FROM sagas") == 0
