"""Periodic background work (deadline sweepers, expiry, simulated carriers)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PeriodicTask:
    """Call ``tick`` every ``interval_s``; a tick returning True (more work) runs again at once."""

    name: str
    interval_s: float
    tick: Callable[[], Awaitable[bool]]

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            busy = False
            try:
                busy = await self.tick()
            except Exception as exc:
                log.warning("periodic_task_failed", task=self.name, error=repr(exc))
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.interval_s)
