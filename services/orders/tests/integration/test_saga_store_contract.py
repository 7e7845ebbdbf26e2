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
