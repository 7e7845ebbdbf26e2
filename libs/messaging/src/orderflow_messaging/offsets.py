"""Committing consumer offsets after the work, at most every ``commit_interval_ms``.

A batch's offsets may be committed only after its transaction committed (the work is
durable, its inbox rows record it). Nothing requires committing them at once: a
committed offset only says where a restarted or rebalanced consumer starts again, and
every record after it that was handled already is recognised by the inbox and skipped.
So the offsets of handled batches are gathered and committed together: once the
interval has passed since the last commit, else by a timer when it ends; before a
rebalance takes partitions away; and, after ``close``, batch by batch while the
subscriber stops. Under load a consumer
then sends a few offset commits a second instead of one per poll, and no hop waits
for one.

Never committed: an offset of a batch whose transaction did not commit (the caller
reports only handled batches), or an offset of a partition this consumer no longer
owns (it would move the new owner's position back).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import structlog
from aiokafka import ConsumerRebalanceListener, TopicPartition

log = structlog.get_logger(__name__)


class _Record(Protocol):
    topic: str
    partition: int
    offset: int


class OffsetCommitter(ConsumerRebalanceListener):  # type: ignore[misc]
    """One per subscriber: holds the next offset to commit per partition."""

    def __init__(self, name: str, interval_s: float) -> None:
        self._name = name
        self._interval_s = interval_s
        self._pending: dict[TopicPartition, int] = {}
        self._consumer: Any = None  # an AIOKafkaConsumer (or a test's stand-in)
        self._last = time.monotonic()
        self._lock = asyncio.Lock()
        self._timer: asyncio.Task[None] | None = None

    @property
    def pending(self) -> dict[TopicPartition, int]:
        return dict(self._pending)

    async def handled(self, consumer: Any, records: Sequence[_Record]) -> None:
        """The batch's transaction committed: its offsets may go."""
        if not callable(getattr(consumer, "assignment", None)):
            return  # faststream's in-memory test broker: nothing to commit
        self._consumer = consumer
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            if record.offset >= self._pending.get(tp, 0):
                self._pending[tp] = record.offset + 1
        if self._interval_s <= 0 or time.monotonic() - self._last >= self._interval_s:
            await self.commit()
        elif self._timer is None or self._timer.done():
            self._timer = asyncio.create_task(self._commit_later())

    async def _commit_later(self) -> None:
        await asyncio.sleep(max(0.0, self._last + self._interval_s - time.monotonic()))
        await self.commit()

    async def commit(self, only: Iterable[TopicPartition] | None = None) -> None:
        """Commit what is pending (of ``only`` these partitions); a failed commit is
        logged and dropped: the records are then redelivered and skipped by the inbox."""
        async with self._lock:
            consumer = self._consumer
            if consumer is None or not self._pending:
                return
            owned = consumer.assignment()
            chosen = set(self._pending) if only is None else set(only) & set(self._pending)
            offsets = {tp: self._pending.pop(tp) for tp in chosen}
            offsets = {tp: offset for tp, offset in offsets.items() if tp in owned}
            self._last = time.monotonic()
            if not offsets:
                return
            try:
                await consumer.commit(offsets)
            except Exception as exc:
                log.info("offset_commit_failed", consumer=self._name, error=repr(exc))

    async def close(self) -> None:
        """The subscriber is about to stop: commit what is pending, and from now on each
        handled batch at once (its consumer is still open until the broker stops; after
        that, a commit fails and is dropped)."""
        self._interval_s = 0.0
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
        await self.commit()

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        # Still the owner here: commit what was handled, so the next owner does not
        # fetch it again.
        await self.commit(only=list(revoked))

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        return None
