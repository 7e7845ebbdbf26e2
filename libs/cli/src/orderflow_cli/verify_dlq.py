"""The broker side of `orderflow verify`: dead-letter accounting (invariant 8) and the
hygiene of what travels on the topics (invariant 9).

One pass reads every record of every topic (dead-letter topics included) from its first
offset to the end offset taken when the pass starts, with no consumer group, so it never
moves or joins a live consumer's offsets, always ends, and is shared by both checks.
What it keeps is small: a digest of each record and the headers of each dead letter.

Dead-letter accounting, in this order, so that nothing in flight looks lost:
1. the broker: how many records each service's consumer group has committed per topic;
2. the inboxes, which only grow and are written before an offset is committed: every
   consumed record left a row (processed, ignored, dead-lettered) or a duplicate count;
3. the topics, up to end offsets taken after 2: a row dead-lettered at 2 whose outbox had
   nothing left to publish has its dead letter below those offsets.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NamedTuple

import asyncpg

from orderflow_cli.verify import Check, consumer_groups, hygiene_problems, schemas_with
from orderflow_messaging import dead_letter as dl
from orderflow_messaging.consumer import REDRIVEN_HEADER
from orderflow_messaging.envelope import HEADER_MESSAGE_ID
from orderflow_messaging.errors import ReasonCode
from orderflow_messaging.kafka import client_options

# An upper bound on one pass over the topics (they are small in tests and demos): a
# broker that stops answering, or a cluster far too big to scan, is a violation, not a
# hang. A long-lived stack holds more: `orderflow verify --scan-seconds` raises it.
SCAN_BUDGET_S = 30.0
_KAFKA_TIMEOUT_MS = 10_000
# Each kind of violation is listed up to this many times, then counted.
_MAX_LISTED = 20
_REASONS = frozenset(r.value for r in ReasonCode)
# A card number is a run of 13+ digits, maybe grouped by spaces. Bytes without such a
# run (nearly every record: ids and timestamps have short runs) skip the card regex,
# which costs tens of microseconds per KiB; this test runs at C speed.
_MIN_CARD_DIGITS = 13
_DIGITS_AS_ZERO = bytes(
    0x30 if 0x30 <= b <= 0x39 else 0x20 if b == 0x20 else 0x78 for b in range(256)
)


def _may_hold_card(blob: bytes) -> bool:
    # Dropping every space over-approximates "digits grouped by single spaces": fine
    # for a filter, which may only err towards the exact check.
    runs = blob.translate(_DIGITS_AS_ZERO).replace(b" ", b"")
    return b"0" * _MIN_CARD_DIGITS in runs


class Coordinates(NamedTuple):
    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}/{self.partition}@{self.offset}"


class DeadLetterRef(NamedTuple):
    """A dead letter as the inbox knows it: which consumer gave up on which record."""

    consumer: str
    source: Coordinates


@dataclass(frozen=True, slots=True)
class DeadLetterEntry:
    """What verify keeps of one dead-letter record: where it is, its dlq.* headers and a
    digest of its key and value (the bytes themselves are not kept)."""

    at: Coordinates
    headers: dict[str, str]
    digest: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def source(self) -> Coordinates | None:
        topic = self.header(dl.H_SOURCE_TOPIC)
        partition, offset = self.header(dl.H_SOURCE_PARTITION), self.header(dl.H_SOURCE_OFFSET)
        if not topic or not _is_count(partition) or not _is_count(offset):
            return None
        return Coordinates(topic, int(partition or 0), int(offset or 0))

    @property
    def ref(self) -> DeadLetterRef | None:
        consumer, source = self.header(dl.H_CONSUMER), self.source
        return DeadLetterRef(consumer, source) if consumer and source else None


def _message_id(headers: Sequence[tuple[str, bytes]], value: bytes | None) -> str | None:
    """The id the consumer's inbox keys the record by: the envelope's message_id (its
    header, or the body of a producer that sets no headers); None for poison."""
    ids = [raw for name, raw in headers if name == HEADER_MESSAGE_ID]
    if ids:
        return ids[-1].decode("utf-8", "replace")
    try:
        found = json.loads(value or b"").get("message_id")
    except (ValueError, AttributeError):
        return None
    return str(found) if isinstance(found, str) else None


def _is_count(text: str | None) -> bool:
    return text is not None and text.isascii() and text.isdigit()


def record_digest(key: bytes | None, value: bytes | None) -> bytes:
    """Equal for equal (key, value), and tells a missing value from an empty one."""
    h = hashlib.blake2b(digest_size=16)
    for part in (key, value):
        h.update(b"-" if part is None else b"+%d:" % len(part) + part)
    return h.digest()


def blob_problems(blob: bytes, canaries: Sequence[str]) -> list[str]:
    """Card numbers and canary values in raw record bytes (any encoding: undecodable
    bytes are replaced, which cannot make or break a digit or an ASCII canary)."""
    if not _may_hold_card(blob) and not any(c.encode() in blob for c in canaries if c):
        return []
    return hygiene_problems(blob.decode("utf-8", "replace"), canaries)


@dataclass
class TopicScan:
    """Everything one pass over the topics learns; ``add`` takes one record."""

    canaries: Sequence[str] = ()
    digests: dict[Coordinates, bytes] = field(default_factory=dict)
    dead_letters: list[DeadLetterEntry] = field(default_factory=list)
    # Per topic, the records a DLQ redrive put back (they carry the redriven_from header):
    # a consumer handles such a record under the inbox row of its dead letter.
    redriven: Counter[str] = field(default_factory=Counter)
    hygiene: list[str] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)
    records: int = 0
    # Per source record (not DLQs): its message_id header, None when it has none (poison).
    message_ids: dict[Coordinates, str | None] = field(default_factory=dict)

    def add(
        self,
        at: Coordinates,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes | None]],
    ) -> None:
        self.records += 1
        pairs = [(str(name), bytes(raw or b"")) for name, raw in headers]
        self._check_hygiene(at, key, value, pairs)
        digest = record_digest(key, value)
        if at.topic.endswith(dl.DLQ_SUFFIX):
            texts = {n: v.decode("utf-8", "replace") for n, v in pairs if n.startswith("dlq.")}
            self.dead_letters.append(DeadLetterEntry(at, texts, digest))
            return
        self.digests[at] = digest
        self.message_ids[at] = _message_id(pairs, value)
        if any(name == REDRIVEN_HEADER for name, _ in pairs):
            self.redriven[at.topic] += 1

    def _check_hygiene(
        self,
        at: Coordinates,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]],
    ) -> None:
        parts = [("key", key or b""), ("value", value or b"")]
        parts += [(f"header {name}", raw) for name, raw in headers]
        # One look at the whole record first (a NUL breaks any digit run across parts):
        # a clean record, nearly all of them, costs one call instead of one per part.
        if not blob_problems(b"\x00".join(blob for _, blob in parts), self.canaries):
            return
        for part, blob in parts:
            self.hygiene += [f"{at} {part}: {p}" for p in blob_problems(blob, self.canaries)]


# ---- dead-letter accounting: pure parts ------------------------------------------------
def dead_letter_problems(scan: TopicScan) -> list[str]:
    """Every dead letter names a known reason, its consumer and its source record on the
    topic it is the DLQ of, and carries that record's key and value unchanged."""
    problems: list[str] = []
    for entry in scan.dead_letters:
        problems += [f"dead letter {entry.at}: {p}" for p in _entry_problems(entry, scan.digests)]
    return problems


def _entry_problems(entry: DeadLetterEntry, digests: dict[Coordinates, bytes]) -> list[str]:
    problems = []
    reason = entry.header(dl.H_REASON)
    if reason not in _REASONS:
        problems.append(f"reason {reason!r} is not a reason code" if reason else "no reason")
    if not entry.header(dl.H_CONSUMER):
        problems.append("does not name its consumer")
    source = entry.source
    if source is None:
        return [*problems, "no source topic/partition/offset"]
    if dl.dlq_topic(source.topic) != entry.at.topic:
        problems.append(f"its source {source} is not a record of the topic it is the DLQ of")
    original = digests.get(source)
    # A source record gone from the topic (retention) cannot be compared.
    if original is not None and original != entry.digest:
        problems.append(f"key or value differ from the source record {source}")
    return problems


def missing_dead_letters(dead: Iterable[DeadLetterRef], scan: TopicScan) -> list[str]:
    """Inbox rows marked dead_lettered whose dead letter is not on the DLQ topic."""
    found = {entry.ref for entry in scan.dead_letters}
    return [
        f"{ref.consumer} dead-lettered {ref.source}, but {dl.dlq_topic(ref.source.topic)} "
        f"has no dead letter of it"
        for ref in sorted(dead)
        if ref not in found
    ]


def delivery_gaps(
    delivered: dict[tuple[str, str], int],
    accounted: dict[tuple[str, str], int],
    redriven: Counter[str],
) -> list[str]:
    """Per (consumer group, topic): records consumed (committed) = inbox rows (processed,
    ignored, dead-lettered) + duplicates counted. A redriven record is handled under its
    dead letter's row, so up to ``redriven[topic]`` records may have no row of their own.
    More rows than records is no violation: rows commit before their offsets do."""
    problems = []
    for (group, topic), consumed in sorted(delivered.items()):
        rows = accounted.get((group, topic), 0)
        lost = consumed - rows - redriven.get(topic, 0)
        if lost > 0:
            problems.append(
                f"{group} consumed {consumed} records of {topic}; its inbox accounts for "
                f"{rows} (processed + ignored + dead-lettered + duplicates): {lost} unaccounted"
            )
    return problems


def unhandled_records(
    committed: dict[tuple[str, str, int], int],
    message_ids: dict[Coordinates, str | None],
    handled_ids: dict[str, set[str]],
    handled_at: dict[str, set[Coordinates]],
) -> list[str]:
    """Record by record, per consumer group: every record below the group's committed
    offset has an inbox row of that consumer, by message id (a duplicate copy or a
    redrive shares its original's) or by coordinates (poison has no id). A count per
    topic could let a redelivery elsewhere hide a lost record; this cannot."""
    below: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for (group, topic, partition), offset in committed.items():
        below.setdefault((topic, partition), []).append((group, offset))
    problems = []
    for at, message_id in sorted(message_ids.items()):
        for group, offset in below.get((at.topic, at.partition), ()):
            if at.offset >= offset or at in handled_at.get(group, set()):
                continue
            if message_id is None or message_id not in handled_ids.get(group, set()):
                problems.append(f"{group} committed past {at}, which its inbox never handled")
    return problems


def capped(problems: list[str], limit: int = _MAX_LISTED) -> list[str]:
    if len(problems) <= limit:
        return problems
    return [*problems[:limit], f"... and {len(problems) - limit} more"]


# ---- reading the broker ------------------------------------------------------------------
class KafkaView:
    """One verify run's reads from the broker. The topic scan happens once, on first use,
    and the checks that need it share it."""

    def __init__(
        self,
        bootstrap: str | None,
        canaries: Sequence[str] = (),
        scan_budget_s: float = SCAN_BUDGET_S,
    ) -> None:
        self.bootstrap = bootstrap
        self.canaries = list(canaries)
        self.scan_budget_s = scan_budget_s
        self._scan: TopicScan | None = None
        # (group, topic, partition) -> committed offset, as `delivered` read it.
        self.committed: dict[tuple[str, str, int], int] = {}

    @property
    def _address(self) -> str:
        assert self.bootstrap is not None  # the checks return early without one
        return self.bootstrap

    async def delivered(self) -> dict[tuple[str, str], int]:
        """(group, topic) -> records the group has committed (from the first offset)."""
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(
            **client_options(self._address), request_timeout_ms=_KAFKA_TIMEOUT_MS
        )
        await asyncio.wait_for(admin.start(), _KAFKA_TIMEOUT_MS / 1000)
        committed: dict[tuple[str, Any], int] = {}
        try:
            for group, topics in sorted(consumer_groups().items()):
                offsets = await admin.list_consumer_group_offsets(group)
                committed |= {
                    (group, tp): meta.offset
                    for tp, meta in offsets.items()
                    if tp.topic in topics and meta.offset > 0
                }
        finally:
            await admin.close()
        self.committed = {(g, tp.topic, tp.partition): o for (g, tp), o in committed.items()}
        starts = await self._offsets({tp for _, tp in committed}, end=False)
        counts: Counter[tuple[str, str]] = Counter()
        for (group, tp), offset in committed.items():
            counts[(group, tp.topic)] += max(0, offset - starts.get(tp, 0))
        return dict(counts)

    async def _offsets(self, parts: set[Any], *, end: bool) -> dict[Any, int]:
        if not parts:
            return {}
        consumer = self._consumer()
        await asyncio.wait_for(consumer.start(), _KAFKA_TIMEOUT_MS / 1000)
        try:
            fetch = consumer.end_offsets if end else consumer.beginning_offsets
            found: dict[Any, int] = await fetch(sorted(parts))
            return found
        finally:
            await consumer.stop()

    def _consumer(self) -> Any:
        from aiokafka import AIOKafkaConsumer

        # No group: reading must neither move nor share a live consumer's offsets.
        # "earliest" also for the reset on assign(), which could race a seek otherwise.
        return AIOKafkaConsumer(
            **client_options(self._address), group_id=None, enable_auto_commit=False,
            auto_offset_reset="earliest", isolation_level="read_committed",
            request_timeout_ms=_KAFKA_TIMEOUT_MS, max_partition_fetch_bytes=4 * 1024 * 1024,
        )  # fmt: skip

    async def scan(self) -> TopicScan:
        if self._scan is None:
            self._scan = TopicScan(canaries=self.canaries)
            await self._read_all(self._scan)
        return self._scan

    async def _read_all(self, scan: TopicScan) -> None:
        parts = await self._partitions()
        if not parts:
            return
        consumer = self._consumer()
        await asyncio.wait_for(consumer.start(), _KAFKA_TIMEOUT_MS / 1000)
        try:
            consumer.assign(parts)
            starts = await consumer.beginning_offsets(parts)
            ends = await consumer.end_offsets(parts)
            pending = {tp: ends[tp] for tp in parts if ends[tp] > starts[tp]}
            for tp in pending:
                consumer.seek(tp, starts[tp])
            await _drain(consumer, pending, scan, self.scan_budget_s)
        finally:
            await consumer.stop()

    async def _partitions(self) -> list[Any]:
        from aiokafka.admin import AIOKafkaAdminClient
        from aiokafka.structs import TopicPartition

        admin = AIOKafkaAdminClient(
            **client_options(self._address), request_timeout_ms=_KAFKA_TIMEOUT_MS
        )
        await asyncio.wait_for(admin.start(), _KAFKA_TIMEOUT_MS / 1000)
        try:
            # Internal topics (__consumer_offsets, ...) carry no application data.
            names = [t for t in await admin.list_topics() if not t.startswith("__")]
            described = await admin.describe_topics(names) if names else []
        finally:
            await admin.close()
        return sorted(
            TopicPartition(d["topic"], p["partition"]) for d in described for p in d["partitions"]
        )


async def _drain(consumer: Any, pending: dict[Any, int], scan: TopicScan, budget_s: float) -> None:
    """Hand every record below each partition's end offset to ``scan``, for at most
    ``budget_s`` seconds."""
    deadline = time.monotonic() + budget_s
    while pending and time.monotonic() < deadline:
        batches = await consumer.getmany(*pending, timeout_ms=500, max_records=5000)
        for tp, records in batches.items():
            for r in records:
                if r.offset < pending.get(tp, -1):
                    scan.add(Coordinates(r.topic, r.partition, r.offset), r.key, r.value,
                             r.headers or ())  # fmt: skip
        for tp in list(pending):
            # The position, not the last record: offsets can have gaps (transaction markers).
            if await consumer.position(tp) >= pending[tp]:
                del pending[tp]
    if pending:
        names = ", ".join(f"{tp.topic}/{tp.partition}" for tp in sorted(pending)[:10])
        scan.unfinished.append(
            f"topics not read to the end within {budget_s:g} s ({len(pending)} "
            f"partitions, e.g. {names}): dead letters and hygiene unchecked there "
            "(a larger --scan-seconds reads further)"
        )


# ---- the checks ----------------------------------------------------------------------------
@dataclass
class InboxSnapshot:
    accounted: dict[tuple[str, str], int]
    dead: list[DeadLetterRef]
    handled_ids: dict[str, set[str]] = field(default_factory=dict)
    handled_at: dict[str, set[Coordinates]] = field(default_factory=dict)


async def inbox_snapshot(conn: asyncpg.Connection) -> InboxSnapshot:
    """Per (consumer, topic): rows + duplicates; and the dead-lettered rows whose dead
    letter must be on its DLQ by now (their service's outbox has none left to publish)."""
    accounted: dict[tuple[str, str], int] = {}
    dead: list[DeadLetterRef] = []
    snapshot = InboxSnapshot(accounted, dead)
    for schema in await schemas_with(conn, "inbox"):
        for r in await conn.fetch(
            f'SELECT consumer, message_id::text AS id, topic, partition, "offset" '  # noqa: S608
            f"FROM {schema}.inbox"
        ):
            snapshot.handled_ids.setdefault(r["consumer"], set()).add(r["id"])
            snapshot.handled_at.setdefault(r["consumer"], set()).add(
                Coordinates(r["topic"], r["partition"], r["offset"])
            )
        for r in await conn.fetch(
            f"SELECT consumer, topic, count(*) + coalesce(sum(duplicates), 0) AS n "  # noqa: S608
            f"FROM {schema}.inbox GROUP BY consumer, topic"
        ):
            accounted[(r["consumer"], r["topic"])] = int(r["n"])
        rows = await conn.fetch(
            f'SELECT consumer, topic, partition, "offset" FROM {schema}.inbox '  # noqa: S608
            f"WHERE status = 'dead_lettered'"
        )
        # Read after the rows: a dead letter committed with its row is published by now
        # unless the outbox still holds it.
        if rows and not await _dead_letters_pending(conn, schema):
            dead += [
                DeadLetterRef(r["consumer"], Coordinates(r["topic"], r["partition"], r["offset"]))
                for r in rows
            ]
    return snapshot


async def _dead_letters_pending(conn: asyncpg.Connection, schema: str) -> bool:
    if await conn.fetchval("SELECT to_regclass($1)", f"{schema}.outbox") is None:
        return False
    return bool(
        await conn.fetchval(
            f"SELECT EXISTS (SELECT 1 FROM {schema}.outbox_pending p "  # noqa: S608
            f"JOIN {schema}.outbox o ON o.id = p.id WHERE right(o.topic, 4) = $1)",
            dl.DLQ_SUFFIX,
        )
    )


async def dlq_accounting(conn: asyncpg.Connection, kafka: KafkaView) -> list[str]:
    """Invariant 8: every consumed record is accounted for by its consumer's inbox; every
    dead letter is well-formed and carries its record; every dead-lettered row has one."""
    if not kafka.bootstrap:
        return ["no KAFKA_BOOTSTRAP_SERVERS in stack.env"]
    delivered = await kafka.delivered()  # first: see the module docstring for the order
    inbox = await inbox_snapshot(conn)
    scan = await kafka.scan()
    unhandled = unhandled_records(
        kafka.committed, scan.message_ids, inbox.handled_ids, inbox.handled_at
    )
    return (
        scan.unfinished
        + capped(dead_letter_problems(scan))
        + capped(missing_dead_letters(inbox.dead, scan))
        + delivery_gaps(delivered, inbox.accounted, scan.redriven)
        + capped(unhandled)
    )


async def topic_hygiene(conn: asyncpg.Connection, kafka: KafkaView) -> list[str]:
    """Invariant 9 on the broker: no card number and no canary value in any key, value or
    header of any topic, the dead-letter topics included."""
    del conn
    if not kafka.bootstrap:
        return ["no KAFKA_BOOTSTRAP_SERVERS in stack.env"]
    scan = await kafka.scan()
    return scan.unfinished + capped(scan.hygiene)


def kafka_checks(kafka: KafkaView) -> dict[str, Check]:
    """The checks above, bound to one run's view of the broker."""
    return {
        "dlq_accounting": partial(dlq_accounting, kafka=kafka),
        "topic_hygiene": partial(topic_hygiene, kafka=kafka),
    }
