"""Committing consumer offsets after the work, at most every ``commit_interval_ms``.

A batch's offsets may be committed only after its transaction committed (the work is
durable, its inbox rows record it). Nothing requires committing them at once: a
committed offset only says where a restarted or rebalanced consumer starts again, and
every record after it that was handled already is recognised by the inbox and skipped.
So the offsets of handled batches are gathered and committed together by a background
loop, at most every interval (a failed commit is tried again), and, after ``close``,
batch by batch while the subscriber stops. Under load a consumer
then sends a few offset commits a second instead of one per poll, and no hop waits
for one.

Never committed: an offset of a batch whose transaction did not commit (the caller
reports only handled batches), or an offset of a partition this consumer no longer
owns (it would move the new owner's position back: a rebalance drops the revoked
partitions' pending offsets, and a commit skips what the consumer does not own).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import structlog
from aiokafka import ConsumerRebalanceListener, TopicPartition

from orderflow_messaging import metrics
from orderflow_messaging.lag import forget_lag

log = structlog.get_logger(__name__)


class _Record(Protocol):
    topic: str
    partition: int
    offset: int


class OffsetGaps:
    """Finds records a consumer skipped: an offset reset.

    Our producers are idempotent and never transactional, and no topic is compacted, so
    a partition's offsets have no holes: a record whose offset is beyond the one expected
    means the records between were never handled here. That happens when the committed
    offset fell below the partition's log start (retention deleted the records before
    the consumer got to them) and the consumer reset to the earliest offset left. It is
    logged at ERROR with the range and counted, when it happens, not found later by
    ``orderflow verify``. The expected offset is the committed one after an assignment,
    then the offset after the last record seen.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._expected: dict[TopicPartition, int] = {}

    async def check(self, consumer: Any, records: Sequence[_Record]) -> int:
        """Before a batch is handled: the number of records skipped before it."""
        skipped = 0
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            expected = self._expected.get(tp)
            if expected is None:
                expected = await self._committed(consumer, tp)
            if expected is not None and record.offset > expected:
                skipped += self._report(tp, expected, record.offset)
            self._expected[tp] = record.offset + 1
        return skipped

    def forget(self, partitions: Iterable[TopicPartition]) -> None:
        """A rebalance: the next owner's committed offset is the reference again."""
        for tp in partitions:
            self._expected.pop(tp, None)

    async def _committed(self, consumer: Any, tp: TopicPartition) -> int | None:
        committed = getattr(consumer, "committed", None)
        if committed is None:
            return None  # faststream's in-memory test broker
        try:
            offset = await committed(tp)
        except Exception as exc:  # unknown is no gap: never hold a batch back for it
            log.info("committed_offset_unknown", consumer=self._name, error=repr(exc))
            return None
        return int(offset) if offset is not None else None

    def _report(self, tp: TopicPartition, expected: int, offset: int) -> int:
        count = offset - expected
        metrics.OFFSET_RESETS.labels(self._name, tp.topic).inc()
        metrics.RECORDS_SKIPPED.labels(self._name, tp.topic).inc(count)
        log.error(
            "offset_reset_records_skipped",
            consumer=self._name,
            topic=tp.topic,
            partition=tp.partition,
            first_skipped=expected,
            last_skipped=offset - 1,
            count=count,
        )
        return count


class OffsetCommitter(ConsumerRebalanceListener):  # type: ignore[misc]
    """One per subscriber: holds the next offset to commit per partition, and finds
    skipped records (``gaps``)."""

    def __init__(self, name: str, interval_s: float) -> None:
        self.gaps = OffsetGaps(name)
        self._name = name
        self._interval_s = interval_s
        self._pending: dict[TopicPartition, int] = {}
        self._consumer: Any = None  # an AIOKafkaConsumer (or a test's stand-in)
        self._last = time.monotonic()
        self._lock = asyncio.Lock()
        self._timer: asyncio.Task[None] | None = None
        # The partitions this replica owns now (kept by the rebalance callbacks).
        self.owned: set[TopicPartition] = set()

    @property
    def pending(self) -> dict[TopicPartition, int]:
        return dict(self._pending)

    async def handled(self, consumer: Any, records: Sequence[_Record]) -> None:
        """The batch's transaction committed: its offsets may go (soon; never awaited
        here unless the interval is 0)."""
        if not callable(getattr(consumer, "assignment", None)):
            return  # faststream's in-memory test broker: nothing to commit
        self._consumer = consumer
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            if record.offset >= self._pending.get(tp, 0):
                self._pending[tp] = record.offset + 1
        if self._interval_s <= 0:
            await self.commit()
        elif self._timer is None or self._timer.done():
            self._timer = asyncio.create_task(self._commit_loop())

    async def _commit_loop(self) -> None:
        # Until nothing is pending: a failed commit put its offsets back, and batches
        # handled meanwhile added theirs.
        while self._pending and self._interval_s > 0:
            await asyncio.sleep(max(0.0, self._last + self._interval_s - time.monotonic()))
            await self.commit()

    async def commit(self) -> None:
        """Commit what is pending for the partitions this consumer owns (the others are
        dropped: their new owner starts from the last committed offset, and its inbox
        skips what was handled here). A failed commit is logged and its offsets are
        pending again (the loop tries again after the interval)."""
        async with self._lock:
            consumer = self._consumer
            if consumer is None or not self._pending:
                return
            owned = consumer.assignment()
            offsets = {tp: offset for tp, offset in self._pending.items() if tp in owned}
            self._pending = {}
            self._last = time.monotonic()
            if not offsets:
                return
            try:
                await consumer.commit(offsets)
            except Exception as exc:
                log.info("offset_commit_failed", consumer=self._name, error=repr(exc))
                for tp, offset in offsets.items():
                    if offset > self._pending.get(tp, -1):
                        self._pending[tp] = offset

    async def close(self) -> None:
        """The subscriber is about to stop: commit what is pending, and from now on each
        handled batch at once (its consumer is still open until the broker stops; after
        that, a commit fails and the records are fetched again after the restart)."""
        self._interval_s = 0.0
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
        await self.commit()

    def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        # Not committed here (a commit in the middle of a rebalance can wait on the
        # rebalance itself): the next owner fetches these records again and its inbox
        # skips them.
        revoked = list(revoked)
        for tp in revoked:
            self._pending.pop(tp, None)
        self.owned.difference_update(revoked)
        self.gaps.forget(revoked)
        forget_lag(self._name, revoked)

    def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        assigned = list(assigned)
        self.owned.update(assigned)
        self.gaps.forget(assigned)
