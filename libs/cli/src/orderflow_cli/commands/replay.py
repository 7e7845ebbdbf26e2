"""`orderflow replay`: read topics again, by offset or time range.

- `replay projection order-history` rebuilds the history read model from its topics into
  a FRESH schema with the history service's own projection code (`history.domain`), and
  with --compare diffs it against the live table. It never writes to a live schema.
- `replay topic TOPIC` re-publishes records of TOPIC into TOPIC (same partition, key,
  value and headers, plus `replayed=true`), so its live consumers see them again; their
  inboxes make that a no-op for effects. A dry run unless --apply (admin credential).

Every range ends at the end offsets read at the start, so a replay always terminates
(and never re-reads what it re-published itself).
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from orderflow_cli import admin, stack
from orderflow_cli.commands.replay_io import (
    ReplayError,
    Window,
    open_consumer,
    progress_bar,
    read,
    republish,
    spans_of,
)

replay_app = typer.Typer(
    no_args_is_help=True, help="Rebuild a projection, or re-publish a topic's records."
)
projection_app = typer.Typer(no_args_is_help=True, help="Rebuild a projection into a fresh schema.")
replay_app.add_typer(projection_app, name="projection")
console = Console()
err = Console(stderr=True)

_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

FROM_OFFSET = typer.Option(None, "--from-offset", min=0, help="start at this offset (each partition)")
FROM_TIME = typer.Option(None, "--from-time", help="start at this time (ISO 8601; naive = UTC)")
TO_TIME = typer.Option(None, "--to-time", help="stop after this time (ISO 8601; naive = UTC)")
AS_JSON = typer.Option(False, "--json", help="one JSON object, no progress bar")


def _settings() -> dict[str, str]:
    settings = stack.read_env()
    if not settings:
        err.print("[bold red]the stack is not up:[/] run `orderflow up` first")
        raise typer.Exit(1)
    return settings


def _window(from_offset: int | None, from_time: str | None, to_time: str | None) -> Window:
    if from_offset is not None and from_time is not None:
        raise typer.BadParameter("give --from-offset or --from-time, not both")
    return Window(from_offset, _instant(from_time, "--from-time"), _instant(to_time, "--to-time"))


def _instant(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{option}: not an ISO 8601 time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@projection_app.command("order-history")
def order_history(
    from_offset: int | None = FROM_OFFSET,
    from_time: str | None = FROM_TIME,
    to_time: str | None = TO_TIME,
    into: str | None = typer.Option(None, "--into", help="fresh schema (default replay_<time>)"),
    compare: bool = typer.Option(False, "--compare", help="diff against history.order_history"),
    as_json: bool = AS_JSON,
) -> None:
    """Rebuild the order history from checkout/orders/shipping events into a fresh schema;
    with --compare, exit 1 when it differs from the live projection."""
    from orderflow_cli.commands import replay_history

    window = _window(from_offset, from_time, to_time)
    schema = into or f"replay_{datetime.now(UTC):%Y%m%d_%H%M%S}"
    if not _SCHEMA.match(schema):
        raise typer.BadParameter(f"--into: {schema!r} is not a plain lower-case schema name")
    settings = _settings()
    scope = {"projection": "order-history", "into": schema, **window.describe()}
    try:
        result = asyncio.run(
            replay_history.rebuild(settings, window, schema, compare, show_progress=not as_json)
        )
    except (ReplayError, OSError) as exc:
        _audit(settings, "replay.projection", scope, False, f"failed: {exc}", None)
        err.print(f"[bold red]replay failed:[/] {exc}")
        raise typer.Exit(1) from exc
    differences = result.get("compare", {}).get("differences", 0) if compare else 0
    outcome = f"rebuilt {result['orders']} orders into {schema}"
    if compare:
        outcome += f"; {differences} difference(s) with the live projection"
    _audit(settings, "replay.projection", {**scope, "compare": compare}, False, outcome, None)
    if as_json:
        print(json.dumps(result, default=str))
    else:
        _print_projection(result)
    if differences:
        raise typer.Exit(1)


def _print_projection(result: dict[str, Any]) -> None:
    counts = result["records"]
    console.print(
        f"rebuilt [bold]{result['orders']}[/] orders into schema [bold]{result['schema']}[/] "
        f"from {counts['read']} records ({counts['applied']} applied, {counts['ignored']} "
        f"ignored, {counts['duplicates']} duplicates, {counts['undecodable']} undecodable)"
    )
    found = result.get("compare")
    if not found:
        return
    if not found["differences"]:
        console.print(f"[green]identical[/] to the live projection ({found['compared']} orders)")
        return
    table = Table("order", "difference", title="rebuilt vs live history.order_history")
    for order_id in found["missing"][:20]:
        table.add_row(order_id, "missing from the rebuild")
    for order_id in found["extra"][:20]:
        table.add_row(order_id, "only in the rebuild")
    for order_id, columns in list(found["differing"].items())[:20]:
        table.add_row(order_id, ", ".join(f"{c}: {v['live']} -> {v['rebuilt']}" for c, v in columns.items()))
    console.print(table)
    console.print(f"[bold red]{found['differences']} difference(s)[/]")


@replay_app.command("topic")
def topic(
    name: str = typer.Argument(..., metavar="TOPIC"),
    from_offset: int | None = FROM_OFFSET,
    from_time: str | None = FROM_TIME,
    to_time: str | None = TO_TIME,
    partition: int | None = typer.Option(None, "--partition", min=0, help="only this partition"),
    apply: bool = typer.Option(False, "--apply", help="re-publish (default: a dry run)"),
    admin_token: str | None = typer.Option(
        None, "--admin-token", envvar="ORDERFLOW_ADMIN_TOKEN", help="the admin credential"
    ),
    as_json: bool = AS_JSON,
) -> None:
    """Re-publish the selected records of TOPIC into TOPIC for its live consumers."""
    window = _window(from_offset, from_time, to_time)
    settings = _settings()
    scope: dict[str, Any] = {"topic": name, "partition": partition, **window.describe()}
    if apply:
        try:
            who = admin.require_admin(admin_token)
        except admin.AdminError as exc:
            _audit(settings, "replay.topic", scope, False, f"refused: {exc}", admin_token)
            err.print(f"[bold red]refused:[/] {exc}")
            raise typer.Exit(2) from exc
    try:
        counts = asyncio.run(
            _replay_topic(settings["KAFKA_BOOTSTRAP_SERVERS"], name, window, partition, apply)
        )
    except ReplayError as exc:
        _audit(settings, "replay.topic", scope, not apply, f"failed: {exc}", admin_token)
        err.print(f"[bold red]replay failed:[/] {exc}")
        raise typer.Exit(1) from exc
    total = sum(c["records"] for c in counts.values())
    outcome = f"republished {total} records" if apply else f"dry run: {total} records"
    scope["partitions"] = counts
    _audit(settings, "replay.topic", scope, not apply, outcome, admin_token, who if apply else None)
    if as_json:
        print(json.dumps({"topic": name, "dry_run": not apply, "records": total, "partitions": counts}))
        return
    table = Table("partition", "from offset", "to offset", "records", title=f"{name}: {outcome}")
    for part, count in counts.items():
        table.add_row(str(part), str(count["from"]), str(count["to"]), str(count["records"]))
    console.print(table)
    if not apply:
        console.print("dry run: nothing was published; add --apply (with the admin credential)")


async def _replay_topic(
    bootstrap: str, name: str, window: Window, partition: int | None, apply: bool
) -> dict[int, dict[str, int]]:
    consumer = await open_consumer(bootstrap)
    try:
        spans = await spans_of(consumer, bootstrap, [name], window, partition)
        counts = {tp.partition: {"from": a, "to": b, "records": b - a} for tp, (a, b) in spans.items()}
        if apply:
            total = sum(b - a for a, b in spans.values())
            with progress_bar(f"re-publishing {name}", total, show=True) as advance:
                sent = await republish(consumer, bootstrap, spans, advance)
            for part, n in sent.items():
                counts[part]["records"] = n
        return dict(sorted(counts.items()))
    finally:
        await consumer.stop()


def _audit(
    settings: dict[str, str],
    action: str,
    scope: dict[str, Any],
    dry_run: bool,
    outcome: str,
    token: str | None,
    who: str | None = None,
) -> None:
    asyncio.run(
        admin.record(
            settings["DATABASE_URL"],
            action=action,
            scope=scope,
            dry_run=dry_run,
            outcome=outcome,
            token=token,
            who=who,
        )
    )
