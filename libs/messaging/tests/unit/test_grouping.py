"""GroupCommit: calls that arrive while a group runs share the next group."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from orderflow_messaging.grouping import GroupCommit


class Recorder:
    def __init__(self, fail_group: bool = False) -> None:
        self.groups: list[list[int]] = []
        self.alone: list[int] = []
        self.fail_group = fail_group
        self.release = asyncio.Event()

    async def run_group(self, items: Sequence[int]) -> list[int | BaseException]:
        self.groups.append(list(items))
        await self.release.wait()
        if self.fail_group and len(items) > 1:
            raise RuntimeError("the group's transaction failed")
        return [ValueError(f"bad {i}") if i < 0 else i * 10 for i in items]

    async def run_one(self, item: int) -> int:
        self.alone.append(item)
        if item == 13:
            raise RuntimeError("13 fails alone too")
        return item * 100


async def test_calls_made_while_a_group_runs_share_the_next_group() -> None:
    rec = Recorder()
    groups = GroupCommit("t", rec.run_group)
    first = asyncio.ensure_future(groups.submit(1))
    await asyncio.sleep(0)
    rest = [asyncio.ensure_future(groups.submit(n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    rec.release.set()
    assert await first == 10
    assert [await r for r in rest] == [20, 30, 40]
    assert rec.groups == [[1], [2, 3, 4]]


async def test_a_calls_own_exception_reaches_that_caller_only() -> None:
    rec = Recorder()
    rec.release.set()
    groups = GroupCommit("t", rec.run_group)
    results = await asyncio.gather(
        groups.submit(1), groups.submit(-1), groups.submit(2), return_exceptions=True
    )
    assert results[0] == 10
    assert results[2] == 20
    assert isinstance(results[1], ValueError)


async def test_a_failed_group_runs_each_call_alone() -> None:
    rec = Recorder(fail_group=True)
    rec.release.set()
    groups = GroupCommit("t", rec.run_group, run_one=rec.run_one)
    results = await asyncio.gather(
        groups.submit(5), groups.submit(13), groups.submit(7), return_exceptions=True
    )
    assert results[0] == 500
    assert results[2] == 700
    assert isinstance(results[1], RuntimeError)
    assert rec.alone == [5, 13, 7]


async def test_without_run_one_every_caller_of_a_failed_group_gets_the_error() -> None:
    rec = Recorder(fail_group=True)
    rec.release.set()
    groups = GroupCommit("t", rec.run_group)
    results = await asyncio.gather(groups.submit(1), groups.submit(2), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)


async def test_a_caller_that_goes_away_does_not_cancel_the_group() -> None:
    rec = Recorder()
    groups = GroupCommit("t", rec.run_group)
    gone = asyncio.ensure_future(groups.submit(1))
    await asyncio.sleep(0)
    stays = asyncio.ensure_future(groups.submit(2))
    await asyncio.sleep(0)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    rec.release.set()
    assert await stays == 20
    assert rec.groups == [[1], [2]]


async def test_an_unreachable_database_fails_the_whole_group_at_once() -> None:
    async def down(items: Sequence[int]) -> list[int | BaseException]:
        raise ConnectionRefusedError("connection refused")

    alone: list[int] = []

    async def one(item: int) -> int:
        alone.append(item)
        return item

    groups = GroupCommit("t", down, run_one=one)
    results = await asyncio.gather(groups.submit(1), groups.submit(2), return_exceptions=True)
    assert all(isinstance(r, ConnectionRefusedError) for r in results)
    assert alone == []  # not once per call: each would wait for the same refusal
