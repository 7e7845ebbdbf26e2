"""Kafka side of `orderflow dlq`: reading dead letters within fixed offset bounds, and
putting them back on their source topics in dead-lettering order."""

from __future__ import annotations

import base64
import heapq
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from orderflow_messaging import dead_letter as dl
from orderflow_messaging.consumer import REDRIVEN_HEADER as REDRIVEN_FROM
from orderflow_messaging.envelope import header_value
from orderflow_messaging.kafka import client_options

# A broker that stops answering must not hang an operator's shell.
_SCAN_TIMEOUT_S = 60.0
_KAFKA_TIMEOUT_MS = 10_000


@dataclass(frozen=True, slots=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    @property
    def coordinates(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"

    def header(self, name: str) -> str | None:
        value = header_value(self.headers, name)
        return None if value is None else value.decode("utf-8", "replace")

    def number(self, name: str) -> int | None:
        text = self.header(name)
        return int(text) if text and text.isdigit() else None

    @property
    def failed_at(self) -> datetime:
        try:
            failed = datetime.fromisoformat(self.header(dl.H_FAILED_AT) or "")
        except ValueError:  # no usable header: the time Kafka stored the dead letter
            return datetime.fromtimestamp(self.timestamp_ms / 1000, UTC)
        return failed if failed.tzinfo else failed.replace(tzinfo=UTC)

    def summary(self, now: datetime) -> dict[str, Any]:
        source = [self.header(dl.H_SOURCE_TOPIC), self.number(dl.H_SOURCE_PARTITION),
                  self.number(dl.H_SOURCE_OFFSET)]  # fmt: skip
        return {
            "dlq_topic": self.topic, "partition": self.partition, "offset": self.offset,
            "coordinates": self.coordinates, "source_topic": source[0],
            "source_partition": source[1], "source_offset": source[2],
            "reason": self.header(dl.H_REASON), "error": (self.header(dl.H_ERROR) or "")[:200],
            "consumer": self.header(dl.H_CONSUMER), "attempts": self.number(dl.H_ATTEMPTS),
            "failed_at": self.failed_at.isoformat(),
            "age_s": round((now - self.failed_at).total_seconds(), 1),
            "key": None if self.key is None else text_of(self.key)[0],
            REDRIVEN_FROM: self.header(REDRIVEN_FROM),
        }  # fmt: skip

    def redrive_headers(self) -> list[tuple[str, bytes]]:
        kept = [(n, v) for n, v in self.headers if not n.startswith("dlq.") and n != REDRIVEN_FROM]
        return [*kept, (REDRIVEN_FROM, self.coordinates.encode())]


def text_of(raw: bytes) -> tuple[str, str]:
    """Readable text when the bytes are UTF-8, else base64 (and which one it is)."""
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode(), "base64"


async def read(
    bootstrap: str, topic: str | None = None, at: tuple[int, int] | None = None
) -> list[DeadLetter]:
    """The records of every ``*.dlq`` topic (or of ``topic``; or the one record ``at``
    (partition, offset)) up to the end offsets taken at the start, so the scan ends even
    while services keep dead-lettering."""
    if topic and not topic.endswith(dl.DLQ_SUFFIX):
        topic = dl.dlq_topic(topic)  # operators think in source topics; take either name
    partitions = await _partitions(bootstrap, topic, None if at is None else at[0])
    if not partitions:
        return []
    # "earliest" also for the reset aiokafka starts on assign(): with "latest" it can
    # race our seek and skip every record.
    consumer = AIOKafkaConsumer(
        **client_options(bootstrap), group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest", isolation_level="read_committed",
        request_timeout_ms=_KAFKA_TIMEOUT_MS,
    )  # fmt: skip
    await consumer.start()
    try:
        consumer.assign(partitions)
        starts = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
        if at is not None:
            (tp,) = partitions
            if not starts[tp] <= at[1] < ends[tp]:
                return []
            consumer.seek(tp, at[1])
            starts[tp], ends[tp] = at[1], at[1] + 1
        ranges = {tp: (starts[tp], end) for tp, end in ends.items() if end > starts[tp]}
        found = await _drain(consumer, ranges)
    finally:
        await consumer.stop()
    return sorted(found, key=lambda d: (d.topic, d.partition, d.offset))


async def _partitions(bootstrap: str, topic: str | None, only: int | None) -> list[Any]:
    # The consumer only knows partitions of topics it subscribed to; the admin client
    # describes any topic.
    client = AIOKafkaAdminClient(**client_options(bootstrap), request_timeout_ms=_KAFKA_TIMEOUT_MS)
    await client.start()
    try:
        names = [t for t in await client.list_topics() if t.endswith(dl.DLQ_SUFFIX)]
        names = [t for t in names if topic in (None, t)]
        described = await client.describe_topics(names) if names else []
    finally:
        await client.close()
    return sorted(
        TopicPartition(d["topic"], p["partition"])
        for d in described
        for p in d["partitions"]
        if only in (None, p["partition"])
    )


async def _drain(
    consumer: AIOKafkaConsumer, ranges: dict[Any, tuple[int, int]]
) -> list[DeadLetter]:
    found: list[DeadLetter] = []
    pending = set(ranges)
    deadline = time.monotonic() + _SCAN_TIMEOUT_S
    while pending:
        if time.monotonic() > deadline:
            raise TimeoutError(f"reading the dead letters took over {_SCAN_TIMEOUT_S:.0f} s")
        for tp, batch in (await consumer.getmany(*pending, timeout_ms=500)).items():
            first, end = ranges[tp]
            for r in batch:
                if first <= r.offset < end:
                    headers = tuple((str(n), bytes(v or b"")) for n, v in r.headers or ())
                    found.append(DeadLetter(r.topic, r.partition, r.offset, r.timestamp,
                                            r.key, r.value, headers))  # fmt: skip
        for tp in list(pending):
            if await consumer.position(tp) >= ranges[tp][1]:
                pending.discard(tp)
    return found


def dead_lettering_order(records: Sequence[DeadLetter]) -> list[DeadLetter]:
    """Offset order within each DLQ partition, merged across partitions and topics by
    dlq.failed_at: a key parked in one consumer can have dead letters on several topics."""
    partitions: dict[tuple[str, int], list[DeadLetter]] = {}
    for r in sorted(records, key=lambda d: (d.topic, d.partition, d.offset)):
        partitions.setdefault((r.topic, r.partition), []).append(r)
    # merge() only ever advances each input in turn: offset order survives any clock skew.
    return list(heapq.merge(*partitions.values(), key=lambda d: d.failed_at))


async def redrive(bootstrap: str, records: Sequence[DeadLetter], done: list[str]) -> None:
    """Produce each record to its source topic, one after the other, in the given order;
    ``done`` says how far it got if it fails."""
    producer = AIOKafkaProducer(
        **client_options(bootstrap), acks="all", enable_idempotence=True,
        request_timeout_ms=_KAFKA_TIMEOUT_MS,
    )  # fmt: skip
    await producer.start()
    try:
        for r in records:
            await producer.send_and_wait(
                r.header(dl.H_SOURCE_TOPIC), r.value, r.key, headers=r.redrive_headers()
            )
            done.append(r.coordinates)
    finally:
        await producer.stop()
