"""One contract, two return stores: the in-memory fake and PostgreSQL (in a transaction
block, and as parts of an optimistic batch's write plan) must behave alike."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orderflow_messaging.db import hot_pool
from orderflow_messaging.write_plan import WriteConflict, WritePlan
from orderflow_testing.plugin import MigratedSchema
from orders.adapters.repository import ConcurrencyConflict
from orders.adapters.return_store import MemoryReturnStore, PgReturnStore
from orders.application.return_book import ReturnBook
from orders.bootstrap import MIGRATIONS
from orders.returns.state import ReceivedLine, ReturnCase, ReturnLine, ReturnStatus
from orders.returns.transitions import ReturnOutcome

T0 = datetime(2026, 6, 1, 9, tzinfo=UTC)
Store = MemoryReturnStore | PgReturnStore
Work = Callable[[Store], Awaitable[Any]]


def case(return_id: str, order_id: str = "o1", **changes: Any) -> ReturnCase:
    lines = (
        ReturnLine("TEE", 2, 1990, 3, 300, (), 0),
        ReturnLine("SET", 1, 3000, 1, 0, (("MUG", 1), ("CAP", 2)), 1),
    )
    base = ReturnCase(
        return_id, order_id, "c1", "EUR", {"name": "A", "postcode": "10115"}, "SimPost", lines,
        ReturnStatus.APPROVED, "too small", T0, attempt=1, deadline=T0 + timedelta(seconds=10),
    )  # fmt: skip
    return base.evolve(**changes)


@pytest.fixture(params=["memory", "postgres", "postgres-planned"])
async def run(
    request: pytest.FixtureRequest, migrated_schema: MigratedSchema
) -> AsyncIterator[Callable[[Work], Awaitable[Any]]]:
    if request.param == "memory":
        fake = MemoryReturnStore()

        async def on_fake(work: Work) -> Any:
            return await work(fake)

        yield on_fake
        return
    db = await migrated_schema(MIGRATIONS)
    pool = await hot_pool(db.engine).pool()

    async def on_postgres(work: Work) -> Any:
        async with pool.acquire() as conn, conn.transaction():
            return await work(PgReturnStore(conn))

    async def planned(work: Work) -> Any:
        plan = WritePlan()
        async with pool.acquire() as conn:
            result = await work(PgReturnStore(conn, plan))
            try:
                await plan.execute(conn)
            except WriteConflict as exc:
                raise ConcurrencyConflict(str(exc)) from exc
            return result

    yield planned if request.param == "postgres-planned" else on_postgres


async def test_returns_load_back_equal_with_their_history_and_only_fresh_versions_save(
    run: Callable[[Work], Awaitable[Any]],
) -> None:
    async def create(store: Store) -> None:
        book = ReturnBook({})  # (a second create: the row exists, unseen by this book)
        book.open(ReturnOutcome(case("R-1"), note="approved"), "fp1", T0)
        await store.save(book)

    async def receive(store: Store) -> None:
        book = await store.load_for_update(["R-1"])
        before = book.cases["R-1"]
        got = before.evolve(
            status=ReturnStatus.RECEIVED, tracking_number="RL1", refund_minor=6680,
            received=(ReceivedLine("TEE", 2, "sellable"), ReceivedLine("SET", 1, "damaged")),
            before=((0, 1),),
        )  # fmt: skip
        book.record(before, ReturnOutcome(got, note="received"), "received", None, T0)
        await store.save(book)

    async def read(store: Store) -> tuple[ReturnBook, list[ReturnCase], list[str], str | None]:
        book = await store.load_for_update(["R-1", "R-none"])
        listed = await store.of_order("o1")
        steps = [f"{h.kind}:{h.to_status}" for h in await store.history("R-1")]
        return book, listed, steps, await store.fingerprint("R-1")

    async def stale(store: Store) -> None:
        book = ReturnBook({"R-1": case("R-1", version=7)})
        book.record(book.cases["R-1"], ReturnOutcome(case("R-1", version=7)), "x", None, T0)
        await store.save(book)

    await run(create)
    await run(receive)
    book, listed, steps, fingerprint = await run(read)
    expected = case(
        "R-1", status=ReturnStatus.RECEIVED, tracking_number="RL1", refund_minor=6680,
        received=(ReceivedLine("TEE", 2, "sellable"), ReceivedLine("SET", 1, "damaged")),
        before=((0, 1),),
        version=2,
    )  # fmt: skip
    assert book.cases == {"R-1": expected}
    assert book.loaded_versions == {"R-1": 2}
    assert listed == [expected]
    assert steps == ["requested:approved", "received:received"]
    assert fingerprint == "fp1"
    with pytest.raises(ConcurrencyConflict):
        await run(create)
    with pytest.raises(ConcurrencyConflict):
        await run(stale)


async def test_due_returns_are_claimed_most_overdue_first(
    run: Callable[[Work], Awaitable[Any]],
) -> None:
    async def create(store: Store) -> None:
        book = await store.load_for_update([])
        for n, (rid, due) in enumerate((("R-a", 30), ("R-b", 10), ("R-c", 99))):
            book.open(ReturnOutcome(case(rid, f"o{n}", deadline=T0 + timedelta(seconds=due))),
                      "fp", T0)  # fmt: skip
        book.open(ReturnOutcome(case("R-done", status=ReturnStatus.COMPLETED, deadline=None)),
                  "fp", T0)  # fmt: skip
        await store.save(book)

    async def claim(store: Store) -> list[str]:
        return await store.claim_due(T0 + timedelta(seconds=60), 10)

    await run(create)
    assert await run(claim) == ["R-b", "R-a"]


async def test_a_return_read_and_left_unchanged_must_still_be_at_the_version_read(
    run: Callable[[Work], Awaitable[Any]],
) -> None:
    """A reply the stale return ignored would be lost for the real one: no commit."""

    async def create(store: Store) -> None:
        book = ReturnBook({})
        book.open(ReturnOutcome(case("R-1"), note="approved"), "fp1", T0)
        await store.save(book)

    async def ignore_at(version: int, store: Store) -> list[str]:
        book = ReturnBook({"R-1": case("R-1", version=version)})  # read, left as it was
        await store.save(book)
        return [h.kind for h in await store.history("R-1")]

    await run(create)
    with pytest.raises(ConcurrencyConflict):
        await run(lambda store: ignore_at(7, store))
    assert await run(lambda store: ignore_at(1, store)) == ["requested"]
