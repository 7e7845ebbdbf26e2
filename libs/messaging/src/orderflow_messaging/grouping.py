"""Group commit for callers that come one at a time (HTTP requests, concurrent gateway
calls): what arrives while a group runs waits for the next one, so under load one
transaction carries many calls, and a lone call waits for nobody.

``run_group`` gets the calls in arrival order and returns one result per call: a value,
or an exception that is that call's own (it is raised to that caller only). When
``run_group`` itself raises, the group's transaction failed as a whole: each call is
then run alone with ``run_one`` (so one call cannot fail the others), or, without it,
every caller gets the exception. When the database cannot be reached at all
(``faults.unreachable``), every caller gets the exception at once: running the calls
one by one would only wait for the same connection timeout once per call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import structlog

from orderflow_messaging.faults import unreachable

log = structlog.get_logger(__name__)

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Call(Generic[T, R]):
    item: T
    result: asyncio.Future[R] = field(repr=False)


class GroupCommit(Generic[T, R]):
    def __init__(
        self,
        name: str,
        run_group: Callable[[Sequence[T]], Awaitable[Sequence[R | BaseException]]],
        *,
        run_one: Callable[[T], Awaitable[R]] | None = None,
        max_group: int = 200,
    ) -> None:
        self._name = name
        self._run_group = run_group
        self._run_one = run_one
        self._max_group = max_group
        self._waiting: list[_Call[T, R]] = []
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """``item``'s result, once the group it went into has run."""
        result: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Call(item, result))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work(), name=f"group-{self._name}")
        # Shielded: a caller that goes away (a client disconnect) must not cancel the
        # group, whose transaction carries other callers' work.
        return await asyncio.shield(result)

    async def _work(self) -> None:
        while self._waiting:
            group = self._waiting[: self._max_group]
            del self._waiting[: self._max_group]
            await self._settle(group)

    async def _settle(self, group: list[_Call[T, R]]) -> None:
        try:
            results = await self._run_group([call.item for call in group])
        except Exception as exc:
            if self._run_one is None or unreachable(exc):
                for call in group:
                    _set(call, exc)
                return
            log.info("group_failed_one_by_one", group=self._name, size=len(group), error=repr(exc))
            for call in group:
                try:
                    _set(call, await self._run_one(call.item))
                except Exception as one_exc:
                    _set(call, one_exc)
            return
        for call, result in zip(group, results, strict=True):
            _set(call, result)


def _set(call: _Call[T, R], result: R | BaseException) -> None:
    if call.result.done():
        return
    if isinstance(result, BaseException):
        call.result.set_exception(result)
    else:
        call.result.set_result(result)
