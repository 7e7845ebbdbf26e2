"""`orderflow dlq`: look at dead letters and send them back where they came from.

``list`` and ``show`` only read (no consumer group, nothing committed). ``redrive``
produces the original key, value and headers (minus ``dlq.*``, plus ``redriven_from=<dlq
topic>:<partition>:<offset>``) to the source topic in dead-lettering order; a dry run
unless ``--apply``, it needs the admin credential and is audited either way.

Redriving twice needs no bookkeeping here: the first copy that comes back reclaims the
message id the consumer's inbox holds as ``dead_lettered``; later copies count as
duplicates. So a redriven message that fails again is not dead-lettered again: it counts
as a duplicate and its first dead letter stays its record. Records without a readable
message id (malformed bytes) are known by their coordinates: a redrive dead-letters them
again.
"""

from __future__ import annotations

import asyncio
import base64
import heapq
import json
import time
from collections import Counter
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import typer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.table import Table

from orderflow_cli import admin, stack
from orderflow_messaging import dead_letter as dl
from orderflow_messaging.consumer import REDRIVEN_HEADER as REDRIVEN_FROM
from orderflow_messaging.envelope import header_value

dlq_app = typer.Typer(no_args_is_help=True, help="Dead letters: list, show, redrive (audited).")
console = Console()
err = Console(stderr=True)

ACTION = "dlq.redrive"
# A broker that stops answering must not hang an operator's shell.
_SCAN_TIMEOUT_S = 60.0
_KAFKA_TIMEOUT_MS = 10_000
_T = TypeVar("_T")

Json = Annotated[bool, typer.Option("--json", help="machine-readable output")]
Topic = Annotated[str | None, typer.Option(help="one DLQ topic (or its source topic)")]
Reason = Annotated[str | None, typer.Option(help="only this dlq.reason (PERMANENT_FAILURE...)")]


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
            "key": None if self.key is None else _text(self.key)[0],
            REDRIVEN_FROM: self.header(REDRIVEN_FROM),
        }  # fmt: skip

    def redrive_headers(self) -> list[tuple[str, bytes]]:
        kept = [(n, v) for n, v in self.headers if not n.startswith("dlq.") and n != REDRIVEN_FROM]
        return [*kept, (REDRIVEN_FROM, self.coordinates.encode())]


def _text(raw: bytes) -> tuple[str, str]:
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
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
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
    client = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=_KAFKA_TIMEOUT_MS)
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
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
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


def _run(work: Coroutine[Any, Any, _T]) -> _T:
    try:
        return asyncio.run(work)
    except (KafkaError, OSError, TimeoutError) as exc:
        err.print(f"[bold red]Kafka did not answer:[/] {exc!r}")
        raise typer.Exit(1) from exc


def _settings() -> dict[str, str]:
    settings = stack.read_env()
    if not settings:
        err.print("[bold red]the stack is not up:[/] run `orderflow up` first")
        raise typer.Exit(1)
    return settings


def _find(
    topic: str | None, reason: str | None = None, older_than: float | None = None
) -> list[DeadLetter]:
    now = datetime.now(UTC)
    return [
        r
        for r in _run(read(_settings()["KAFKA_BOOTSTRAP_SERVERS"], topic))
        if (reason is None or (r.header(dl.H_REASON) or "").upper() == reason.upper())
        and (older_than is None or (now - r.failed_at).total_seconds() >= older_than)
    ]


@dlq_app.command("list")
def list_command(
    topic: Topic = None,
    reason: Reason = None,
    older_than: Annotated[
        float | None, typer.Option(min=0, help="only dead-lettered at least SECONDS ago")
    ] = None,
    as_json: Json = False,
) -> None:
    """List the dead letters of every *.dlq topic (or one), in offset order."""
    now = datetime.now(UTC)
    records = _find(topic, reason, older_than)
    if as_json:
        print(json.dumps([r.summary(now) for r in records]))
        return
    _print_records(records, now, title=f"{len(records)} dead letter(s)")
    table = Table("dlq topic", "reason", "records", title="counts")
    counts = Counter((r.topic, r.header(dl.H_REASON) or "?") for r in records)
    for (name, why), n in sorted(counts.items()):
        table.add_row(name, why, str(n))
    console.print(table)


def _print_records(records: Sequence[DeadLetter], now: datetime, title: str) -> None:
    table = Table(title=title, show_lines=True)
    # The coordinates are what an operator copies into commands: never wrapped; the rest
    # shares one wrapping column so that the table still reads in an 80-column terminal.
    for name in ("dlq record", "reason", "age"):
        table.add_column(name, no_wrap=True)
    table.add_column("key, source, failed at (UTC), tries, error")
    for r in records:
        s = r.summary(now)
        source = f"{s['source_topic']}:{s['source_partition']}:{s['source_offset']}"
        when = s["failed_at"][:19].replace("T", " ")
        details = f"{s['key']}\n{source} at {when}, {s['attempts']} tries\n{s['error'][:120]}"
        table.add_row(r.coordinates, s["reason"], _ago(s["age_s"]), details)
    console.print(table)


def _ago(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= 2 * size:
            return f"{seconds // size:.0f}{unit}"
    return f"{seconds:.0f}s"


@dlq_app.command()
def show(dlq_topic: str, partition: int, offset: int, as_json: Json = False) -> None:
    """One dead letter: every header (base64 when not UTF-8) and the payload."""
    bootstrap = _settings()["KAFKA_BOOTSTRAP_SERVERS"]
    found = _run(read(bootstrap, dlq_topic, at=(partition, offset)))
    if not found:
        err.print(f"[bold red]no record at[/] {dlq_topic}:{partition}:{offset}")
        raise typer.Exit(1)
    record = found[0]
    headers = [dict(zip(("name", "value", "encoding"), (n, *_text(v)), strict=True))
               for n, v in record.headers]  # fmt: skip
    payload: Any = None
    encoding = "none"
    if record.value is not None:
        try:
            payload, encoding = json.loads(record.value), "json"
        except ValueError:  # also bytes that are not UTF-8: shown verbatim, as base64
            payload, encoding = base64.b64encode(record.value).decode(), "base64"
    key_encoding = None if record.key is None else _text(record.key)[1]
    detail = record.summary(datetime.now(UTC)) | {
        "key_encoding": key_encoding, "headers": headers,
        "payload": payload, "payload_encoding": encoding,
    }  # fmt: skip
    if as_json:
        print(json.dumps(detail))
    else:  # the same document, indented and coloured
        console.print_json(json.dumps(detail))


@dlq_app.command("redrive")
def redrive_command(
    one: Annotated[
        str | None, typer.Option(metavar="DLQ_TOPIC:PARTITION:OFFSET", help="this record only")
    ] = None,
    topic: Topic = None,
    reason: Reason = None,
    everything: Annotated[bool, typer.Option("--all", help="every dead letter")] = False,
    apply: Annotated[bool, typer.Option("--apply", help="produce them (default: dry run)")] = False,
    admin_token: Annotated[
        str | None, typer.Option(envvar="ORDERFLOW_ADMIN_TOKEN", help="the admin credential")
    ] = None,
    as_json: Json = False,
) -> None:
    """Send dead letters back to their source topic: a dry run unless --apply; audited."""
    settings = _settings()
    selectors = {"one": one, "topic": topic, "reason": reason, "all": everything}

    def audit(outcome: str, records: Sequence[str]) -> None:
        scope = {"selectors": selectors, "count": len(records), "records": list(records)}
        asyncio.run(
            admin.record(settings["DATABASE_URL"], action=ACTION, scope=scope,
                         dry_run=not apply, outcome=outcome, token=admin_token)
        )  # fmt: skip

    try:
        admin.require_admin(admin_token)
    except admin.AdminError as exc:
        audit("refused", [])
        err.print(f"[bold red]refused:[/] {exc}")
        raise typer.Exit(2) from exc
    parts = (one or "").rsplit(":", 2)
    at = (parts[0], (int(parts[1]), int(parts[2]))) if _coordinates(parts) else None
    filtered = topic is not None or reason is not None or everything
    if (one is not None and (at is None or filtered)) or (one is None and not filtered):
        audit("invalid", [])
        err.print("choose --one DLQ_TOPIC:PARTITION:OFFSET, or --topic / --reason / --all")
        raise typer.Exit(2)
    bootstrap = settings["KAFKA_BOOTSTRAP_SERVERS"]
    found = _run(read(bootstrap, at[0], at[1])) if at else _find(topic, reason)
    # Without its source topic a record has nowhere to go back to (not written by us).
    chosen = dead_lettering_order([r for r in found if r.header(dl.H_SOURCE_TOPIC)])
    if one is not None and not chosen:
        audit("not_found", [])
        err.print(f"[bold red]no dead letter at[/] {one}")
        raise typer.Exit(1)
    done: list[str] = []
    if apply:
        try:
            _run(redrive(bootstrap, chosen, done))
        except typer.Exit:
            audit("failed", done)
            err.print(f"redriven before the failure: {done}")
            raise
    audit("ok", [r.coordinates for r in chosen])
    now = datetime.now(UTC)
    if as_json:
        records = [r.summary(now) for r in chosen]
        print(json.dumps({"dry_run": not apply, "count": len(chosen), "records": records}))
        return
    verb = "redriven" if apply else "would redrive (dry run: add --apply)"
    _print_records(chosen, now, title=f"{verb}: {len(chosen)} record(s)")


def _coordinates(parts: list[str]) -> bool:
    return len(parts) == 3 and bool(parts[0]) and parts[1].isdigit() and parts[2].isdigit()
