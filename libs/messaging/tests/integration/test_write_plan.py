"""An optimistic batch's write plan on the real database: one statement, all or nothing."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from orderflow_messaging.db import hot_pool
from orderflow_messaging.write_plan import WriteConflict, WritePlan
from orderflow_testing.plugin import SchemaDatabase

pytestmark = pytest.mark.integration

_INSERT = (
    "INSERT INTO kv (k, v, version) SELECT k, v, 1 FROM unnest($1::text[], $2::int[]) "
    "AS u(k, v) ON CONFLICT (k) DO NOTHING"
)
_UPDATE = """
    UPDATE kv SET v = u.v, version = kv.version + 1
    FROM unnest($1::text[], $2::int[], $3::int[]) AS u(k, v, expected)
    WHERE kv.k = u.k AND kv.version = u.expected
"""
_LOG = "INSERT INTO log (note) SELECT unnest($1::text[])"


@pytest.fixture
async def db(messaging_db: SchemaDatabase) -> SchemaDatabase:
    async with messaging_db.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE kv (k text PRIMARY KEY, v int, version int)"))
        await conn.execute(text("CREATE TABLE log (id bigserial PRIMARY KEY, note text)"))
        await conn.execute(text("INSERT INTO kv VALUES ('a', 1, 1), ('b', 2, 1)"))
    return messaging_db


async def _run(db: SchemaDatabase, plan: WritePlan) -> None:
    pool = await hot_pool(db.engine).pool()
    async with pool.acquire() as conn:
        await plan.execute(conn)


async def _rows(db: SchemaDatabase) -> tuple[list[tuple[str, int, int]], list[str]]:
    async with db.engine.connect() as conn:
        kv = [tuple(r) for r in await conn.execute(text("SELECT k, v, version FROM kv ORDER BY k"))]
        log = [r[0] for r in await conn.execute(text("SELECT note FROM log ORDER BY id"))]
    return kv, log  # type: ignore[return-value]


def _plan(expected_a: int, new_key: str, parked: bool = False) -> WritePlan:
    plan = WritePlan()
    plan.add(_INSERT, [new_key], [30], expect=1)
    plan.add(_UPDATE, ["a", "b"], [10, 20], [expected_a, 1], expect=2)
    plan.add(_LOG, ["one", "two"])
    plan.require("NOT $1::bool", parked)
    return plan


async def test_every_part_commits_together(db: SchemaDatabase) -> None:
    await _run(db, _plan(expected_a=1, new_key="c"))
    assert await _rows(db) == ([("a", 10, 2), ("b", 20, 2), ("c", 30, 1)], ["one", "two"])


@pytest.mark.parametrize(
    ("expected_a", "new_key", "parked"),
    [(7, "c", False), (1, "a", False), (1, "c", True)],
    ids=["a row changed since loaded", "a new row exists already", "a guard is false"],
)
async def test_a_failed_expectation_writes_nothing(
    db: SchemaDatabase, expected_a: int, new_key: str, parked: bool
) -> None:
    with pytest.raises(WriteConflict):
        await _run(db, _plan(expected_a, new_key, parked))
    assert await _rows(db) == ([("a", 1, 1), ("b", 2, 1)], [])


async def test_an_empty_part_is_a_no_op(db: SchemaDatabase) -> None:
    plan = WritePlan()
    plan.add(_INSERT, [], [], expect=0)
    plan.add(_LOG, ["only"])
    await _run(db, plan)
    assert await _rows(db) == ([("a", 1, 1), ("b", 2, 1)], ["only"])


_HOLD = """
    SELECT 1 FROM kv JOIN unnest($1::text[], $2::int[]) AS u(k, version)
      ON kv.k = u.k AND kv.version = u.version
    FOR SHARE OF kv
"""


async def test_a_commit_runs_the_callbacks_and_a_conflict_does_not(db: SchemaDatabase) -> None:
    called: list[str] = []
    ok, stale = _plan(expected_a=1, new_key="c"), _plan(expected_a=1, new_key="d")
    for name, plan in (("ok", ok), ("stale", stale)):
        plan.after_commit(lambda name=name: called.append(f"{name} committed"))  # type: ignore[misc]
        plan.if_abandoned(lambda name=name: called.append(f"{name} abandoned"))  # type: ignore[misc]
    await _run(db, ok)
    with pytest.raises(WriteConflict):
        await _run(db, stale)  # a is at version 2 now
    assert called == ["ok committed", "stale abandoned"]
    ok.abandon()  # committed already: nothing left to call
    assert called == ["ok committed", "stale abandoned"]


async def test_a_held_row_must_be_at_the_version_read(db: SchemaDatabase) -> None:
    plan = WritePlan()
    plan.hold(_HOLD, ["a", "b"], [1, 1], expect=2)
    plan.add(_LOG, ["held"])
    await _run(db, plan)
    stale = WritePlan()
    stale.hold(_HOLD, ["a"], [0], expect=1)
    stale.add(_LOG, ["stale"])
    with pytest.raises(WriteConflict):
        await _run(db, stale)
    assert (await _rows(db))[1] == ["held"]


async def test_a_held_row_changed_while_the_plan_waits_for_it_is_a_conflict(
    db: SchemaDatabase,
) -> None:
    """The lock is what closes the window: a change not yet committed when the plan
    runs makes it wait, and the committed change is then seen (not the snapshot's row)."""
    pool = await hot_pool(db.engine).pool()
    async with pool.acquire() as other:
        writing = other.transaction()
        await writing.start()
        await other.execute("UPDATE kv SET version = version + 1 WHERE k = 'a'")
        plan = WritePlan()
        plan.hold(_HOLD, ["a"], [1], expect=1)
        plan.add(_LOG, ["raced"])
        running = asyncio.create_task(_run(db, plan))
        await asyncio.sleep(0.3)
        assert not running.done()  # waiting for the row's lock
        await writing.commit()
        with pytest.raises(WriteConflict):
            await running
    assert await _rows(db) == ([("a", 1, 2), ("b", 2, 1)], [])
