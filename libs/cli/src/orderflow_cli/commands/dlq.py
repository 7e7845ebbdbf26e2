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
import json
from collections import Counter
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import typer
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.table import Table

from orderflow_cli import admin
from orderflow_cli.commands.dlq_io import (
    DeadLetter,
    dead_lettering_order,
    read,
    redrive,
    text_of,
)
from orderflow_cli.stack_env import settings_or_exit
from orderflow_messaging import dead_letter as dl

dlq_app = typer.Typer(no_args_is_help=True, help="Dead letters: list, show, redrive (audited).")
console = Console()
err = Console(stderr=True)

ACTION = "dlq.redrive"
_T = TypeVar("_T")

Json = Annotated[bool, typer.Option("--json", help="machine-readable output")]
Topic = Annotated[str | None, typer.Option(help="one DLQ topic (or its source topic)")]
Reason = Annotated[str | None, typer.Option(help="only this dlq.reason (PERMANENT_FAILURE...)")]


def _run(work: Coroutine[Any, Any, _T]) -> _T:
    try:
        return asyncio.run(work)
    except (KafkaError, OSError, TimeoutError) as exc:
        err.print(f"[bold red]Kafka did not answer:[/] {exc!r}")
        raise typer.Exit(1) from exc


def _find(
    topic: str | None, reason: str | None = None, older_than: float | None = None
) -> list[DeadLetter]:
    now = datetime.now(UTC)
    return [
        r
        for r in _run(read(settings_or_exit()["KAFKA_BOOTSTRAP_SERVERS"], topic))
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
    bootstrap = settings_or_exit()["KAFKA_BOOTSTRAP_SERVERS"]
    found = _run(read(bootstrap, dlq_topic, at=(partition, offset)))
    if not found:
        err.print(f"[bold red]no record at[/] {dlq_topic}:{partition}:{offset}")
        raise typer.Exit(1)
    record = found[0]
    headers = [dict(zip(("name", "value", "encoding"), (n, *text_of(v)), strict=True))
               for n, v in record.headers]  # fmt: skip
    payload: Any = None
    encoding = "none"
    if record.value is not None:
        try:
            payload, encoding = json.loads(record.value), "json"
        except ValueError:  # also bytes that are not UTF-8: shown verbatim, as base64
            payload, encoding = base64.b64encode(record.value).decode(), "base64"
    key_encoding = None if record.key is None else text_of(record.key)[1]
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
    settings = settings_or_exit()
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
