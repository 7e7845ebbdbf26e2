"""Reading topic ranges for `orderflow replay`: partitions, offset/time windows, an
ordered read of a range, re-publishing, and a consumer group's progress.

A range ends at the end offsets read when it is computed, so a read always terminates
and never meets the records a replay itself re-published.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from orderflow_messaging.kafka import client_options

Spans = dict[Any, tuple[int, int]]  # TopicPartition -> [first offset, stop offset)
Handler = Callable[[Any], Awaitable[None]]
REPLAYED_HEADER = "replayed"
# A range whose records stop arriving this long before its end is an error, not a hang.
IDLE_S = 30.0
_IN_FLIGHT = 500
T = TypeVar("T")


class ReplayError(Exception):
    """The replay cannot go on (unknown topic or partition, silent broker)."""


@dataclass(frozen=True)
class Window:
    from_offset: int | None = None
    from_time: datetime | None = None
    to_time: datetime | None = None

    def scope(self) -> dict[str, Any]:
        return {
            "from_offset": self.from_offset,
            "from_time": self.from_time.isoformat() if self.from_time else None,
            "to_time": self.to_time.isoformat() if self.to_time else None,
        }


async def open_consumer(bootstrap: str) -> Any:
    from aiokafka import AIOKafkaConsumer

    # No group: a replay must neither move nor share a live consumer's offsets.
    consumer = AIOKafkaConsumer(
        **client_options(bootstrap),
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        client_id="orderflow-replay",
    )
    await consumer.start()
    return consumer


async def partitions(bootstrap: str, topics: Iterable[str], only: int | None = None) -> list[Any]:
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.structs import TopicPartition

    client = AIOKafkaAdminClient(**client_options(bootstrap))
    await client.start()
    try:
        # Check names first: describing an unknown topic makes a broker with
        # auto.create.topics.enable (the local one) create it.
        unknown = sorted(set(topics) - set(await client.list_topics()))
        if unknown:
            raise ReplayError(f"unknown topic(s): {', '.join(unknown)}")
        described = await client.describe_topics(list(topics))
    finally:
        await client.close()
    found = []
    for topic in described:
        ids = sorted(p["partition"] for p in topic.get("partitions", []))
        if topic.get("error_code") or not ids:
            raise ReplayError(f"unknown topic {topic['topic']!r}")
        if only is not None and only not in ids:
            raise ReplayError(f"{topic['topic']} has no partition {only}")
        found += [TopicPartition(topic["topic"], p) for p in ids if only in (None, p)]
    return found


async def spans(consumer: Any, parts: list[Any], window: Window) -> Spans:
    first = await consumer.beginning_offsets(parts)
    end = await consumer.end_offsets(parts)
    start = {tp: min(max(first[tp], window.from_offset or 0), end[tp]) for tp in parts}
    if window.from_time is not None:
        start = await _offsets_at(consumer, parts, window.from_time, end)
    stop = dict(end)
    if window.to_time is not None:
        stop = await _offsets_at(consumer, parts, window.to_time, end, after=True)
    return {tp: (min(start[tp], stop[tp]), stop[tp]) for tp in parts}


async def _offsets_at(
    consumer: Any, parts: list[Any], at: datetime, end: dict[Any, int], *, after: bool = False
) -> dict[Any, int]:
    """Per partition, the first offset stamped at (``after``: later than) ``at``."""
    ms = int(at.timestamp() * 1000) + (1 if after else 0)
    found = await consumer.offsets_for_times(dict.fromkeys(parts, ms))
    return {tp: found[tp].offset if found[tp] is not None else end[tp] for tp in parts}


@dataclass(frozen=True)
class Reading:
    """A window of topics read by a projection rebuild: folded once, then read on past
    its end to learn what the live projection may rightly have seen since."""

    bootstrap: str
    consumer: Any
    parts: list[Any]
    ranges: Spans

    async def fold(
        self, label: str, show: bool, feed: Callable[[Any], None], outcomes: Counter[str]
    ) -> None:
        """Feed every decodable message of the window (a `Decoded`) to ``feed``, in
        offset order per partition; count the undecodable ones in ``outcomes`` (the
        live consumer dead-letters them: a rebuild skips them alike)."""
        from orderflow_contracts import registry

        decoder = registry()
        with progress_bar(Console(stderr=True), label, size(self.ranges), show) as advance:

            async def each(record: Any) -> None:
                advance()
                try:
                    decoded = decoder.decode(record.value)
                except Exception:
                    outcomes["undecodable"] += 1
                    return
                feed(decoded)

            await read(self.consumer, self.ranges, each)

    async def past_end(
        self, group: str, wait_s: float, snapshot: Callable[[], Awaitable[T]], note: Handler
    ) -> tuple[bool, T]:
        """Wait (up to ``wait_s``) for the live ``group`` to read as far as the window,
        take its ``snapshot``, then hand ``note`` every record after the window's end up
        to offsets taken after the snapshot (so they cover it). Returns whether the group
        caught up, and the snapshot."""
        ends = {tp: stop for tp, (_, stop) in self.ranges.items()}
        caught_up = await group_reached(self.bootstrap, group, ends, wait_s)
        live = await snapshot()
        later = await self.consumer.end_offsets(self.parts)
        await read(self.consumer, {tp: (ends[tp], later[tp]) for tp in self.parts}, note)
        return caught_up, live


@asynccontextmanager
async def reading(bootstrap: str, topics: Iterable[str], window: Window) -> AsyncIterator[Reading]:
    """The ``window`` of ``topics``, through a consumer of no group, stopped on exit."""
    consumer = await open_consumer(bootstrap)
    try:
        parts = await partitions(bootstrap, topics)
        yield Reading(bootstrap, consumer, parts, await spans(consumer, parts, window))
    finally:
        await consumer.stop()


def records_of(outcomes: Counter[str]) -> dict[str, int]:
    """A rebuild's record counts, as its result reports them."""
    return {
        "read": outcomes.total(),
        "applied": outcomes["applied"],
        "ignored": outcomes["ignored"],
        "duplicates": outcomes["duplicate"],
        "undecodable": outcomes["undecodable"],
    }


def size(ranges: Spans) -> int:
    return sum(stop - start for start, stop in ranges.values())


async def read(consumer: Any, ranges: Spans, handle: Handler) -> None:
    """Hand every record in ``ranges`` to ``handle``, each partition in offset order."""
    todo = {tp: stop for tp, (start, stop) in ranges.items() if start < stop}
    if not todo:
        return
    consumer.assign(list(todo))
    for tp in todo:
        consumer.seek(tp, ranges[tp][0])
    heard = time.monotonic()
    while todo:
        batches = await consumer.getmany(*todo, timeout_ms=500, max_records=1000)
        if batches:
            heard = time.monotonic()
        elif time.monotonic() - heard > IDLE_S:
            raise ReplayError(f"no records for {IDLE_S:.0f}s before the end of {sorted(todo)}")
        for tp, records in batches.items():
            for record in records:
                if record.offset < todo.get(tp, -1):
                    await handle(record)
        for tp in list(todo):
            # The position, not the last record: offsets can have gaps (transaction markers).
            if await consumer.position(tp) >= todo[tp]:
                del todo[tp]


async def republish(
    consumer: Any, bootstrap: str, ranges: Spans, advance: Callable[[], None], *, send: bool
) -> Counter[int]:
    """Send each message in ``ranges`` again to its own topic and partition: same key,
    value and headers, plus ``replayed=true``; count only when ``send`` is False.

    A message appears several times in a range that holds an earlier replay's copies;
    it is sent once (its consumers see every copy alike, as a duplicate), so repeated
    replays do not double the topic. Returns the messages per partition."""
    from orderflow_messaging.envelope import HEADER_MESSAGE_ID, header_value
    from orderflow_messaging.kafka import start_producer, stop_producer
    from orderflow_messaging.settings import KafkaSettings

    settings = KafkaSettings(bootstrap_servers=bootstrap)
    producer = await start_producer(settings) if send else None  # acks=all, idempotent
    counted: Counter[int] = Counter()
    seen: set[bytes] = set()
    pending: list[Any] = []

    async def one(record: Any) -> None:
        advance()
        message_id = header_value(record.headers, HEADER_MESSAGE_ID)
        if message_id is not None:
            if message_id in seen:
                return
            seen.add(message_id)
        counted[record.partition] += 1
        if producer is None:
            return
        headers = [(k, v) for k, v in record.headers if k != REPLAYED_HEADER]
        headers.append((REPLAYED_HEADER, b"true"))
        pending.append(
            await producer.send(
                record.topic, value=record.value, key=record.key,
                headers=headers, partition=record.partition,
            )
        )  # fmt: skip
        if len(pending) >= _IN_FLIGHT:
            await asyncio.gather(*pending)
            pending.clear()

    try:
        await read(consumer, ranges, one)
        await asyncio.gather(*pending)
    finally:
        if producer is not None:
            await stop_producer(producer, settings)
    return counted


async def group_reached(
    bootstrap: str, group: str, targets: dict[Any, int], timeout_s: float
) -> bool:
    """Wait until ``group`` has committed at least ``targets``; False on timeout."""
    from aiokafka.admin import AIOKafkaAdminClient

    client = AIOKafkaAdminClient(**client_options(bootstrap))
    await client.start()
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            done = await client.list_consumer_group_offsets(group)
            if all(n == 0 or (tp in done and done[tp].offset >= n) for tp, n in targets.items()):
                return True
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.5)
    finally:
        await client.close()


@contextmanager
def progress_bar(
    console: Console, label: str, total: int, show: bool
) -> Iterator[Callable[[], None]]:
    """A rich progress bar (records read / total); ``advance()`` counts one record."""
    if not show:
        yield lambda: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(label, total=total)
        yield lambda: progress.advance(task)
