"""`orderflow replay`: read topics again, by offset or time range.

- `replay projection order-history` rebuilds the history read model into a FRESH schema
  with the history service's own code (`history.application.rebuild`: the same `fact_of`
  and `apply` as its live consumer); --compare diffs it against the live table.
- `replay topic TOPIC` re-publishes records of TOPIC into TOPIC (same partition, key,
  value and headers, plus `replayed=true`) so its live consumers see them again; their
  inboxes make that a no-op for effects. A dry run unless --apply (admin credential).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import DBAPIError

from orderflow_cli import admin
from orderflow_cli.commands import replay_io as io
from orderflow_cli.commands.replay_io import ReplayError, Window
from orderflow_cli.stack_env import settings_or_exit

replay_app = typer.Typer(
    no_args_is_help=True,
    help="Read topics again, by offset or time: rebuild a projection into a fresh schema, "
    "or re-publish a topic's records to its live consumers.",
)
projection_app = typer.Typer(no_args_is_help=True, help="Rebuild a projection into a fresh schema.")
replay_app.add_typer(projection_app, name="projection")
console = Console()
err = Console(stderr=True)

LIVE_SCHEMA = LIVE_GROUP = "history"
# How long --compare waits for the live consumer to read as far as the rebuild did.
CATCH_UP_S = 60.0

FROM_OFFSET_HELP = "start at this offset (in every partition)"
FROM_TIME_HELP = "start at this time (ISO 8601; no zone = UTC)"
TO_TIME_HELP = "stop after this time (ISO 8601; no zone = UTC)"


@projection_app.command("order-history")
def order_history(
    from_offset: int | None = typer.Option(None, "--from-offset", min=0, help=FROM_OFFSET_HELP),
    from_time: str | None = typer.Option(None, "--from-time", help=FROM_TIME_HELP),
    to_time: str | None = typer.Option(None, "--to-time", help=TO_TIME_HELP),
    into: str | None = typer.Option(None, "--into", help="fresh schema (default replay_<time>)"),
    compare: bool = typer.Option(False, "--compare", help="diff against history.order_history"),
    as_json: bool = typer.Option(False, "--json", help="one JSON object, no progress bar"),
) -> None:
    """Rebuild the order history from checkout/orders/shipping events into a fresh schema;
    with --compare, exit 1 when it differs from the live projection."""
    window = window_of(from_offset, from_time, to_time)
    run_rebuild(
        Rebuilder("order-history", "orders", _rebuild, _print_difference),
        window, into, compare=compare, as_json=as_json,
    )  # fmt: skip


# (settings, window, schema, compare, show) -> the result: {"schema", "records", <counted>,
# "compare": {"differences", ...} when compared}
RebuildFn = Callable[[dict[str, str], Window, str, bool, bool], Coroutine[Any, Any, dict[str, Any]]]


@dataclass(frozen=True)
class Rebuilder:
    """A projection's rebuild: its name, what its result counts, how it is rebuilt and
    how its differences are printed."""

    projection: str
    counted: str  # the result's key of what was rebuilt (orders, pairs)
    rebuild: RebuildFn
    print_difference: Callable[[dict[str, Any]], None]


def run_rebuild(
    rebuilder: Rebuilder, window: Window, into: str | None, *, compare: bool, as_json: bool
) -> None:
    """Rebuild into a fresh schema (``into`` or replay_<time>), audit it, print it; exit 1
    when it failed or differs from the live projection."""
    from history.adapters.snapshot import SchemaUnavailable, check_name

    schema = into or f"replay_{datetime.now(UTC):%Y%m%d_%H%M%S}"
    try:
        check_name(schema)
    except SchemaUnavailable as exc:
        raise typer.BadParameter(f"--into: {exc}") from None
    settings = settings_or_exit()
    scope = {"projection": rebuilder.projection, "into": schema, "compare": compare}
    scope |= window.scope()
    try:
        result = asyncio.run(rebuilder.rebuild(settings, window, schema, compare, not as_json))
    except (ReplayError, SchemaUnavailable, DBAPIError, OSError) as exc:
        audit(settings, "replay.projection", scope, f"failed: {exc}")
        err.print(f"[bold red]replay failed:[/] {exc}")
        raise typer.Exit(1) from exc
    found: dict[str, Any] = result.get("compare") or {}
    counted = rebuilder.counted
    outcome = f"rebuilt {result[counted]} {counted} into {schema}"
    if compare:
        outcome += f"; {found['differences']} difference(s) from the live projection"
    audit(settings, "replay.projection", scope, outcome)
    if as_json:
        print(json.dumps(result, default=str))
    else:
        console.print(f"{outcome}; records: {json.dumps(result['records'])}")
        rebuilder.print_difference(found)
    if found.get("differences"):
        raise typer.Exit(1)


async def _rebuild(
    settings: dict[str, str], window: Window, schema: str, compare: bool, show: bool
) -> dict[str, Any]:
    from history.adapters.snapshot import write_fresh
    from history.application.facts import TOPICS
    from history.application.rebuild import Rebuild

    rebuild = Rebuild()

    def feed(decoded: Any) -> None:
        envelope = decoded.envelope
        rebuild.feed(envelope.message_id, decoded.message, envelope.occurred_at)

    async with io.reading(settings["KAFKA_BOOTSTRAP_SERVERS"], TOPICS, window) as replayed:
        await replayed.fold("order-history", show, feed, rebuild.counts)
        await write_fresh(settings["DATABASE_URL"], schema, rebuild.rows.values())
        result: dict[str, Any] = {
            "schema": schema,
            "window": window.scope(),
            "orders": len(rebuild.rows),
            "records": io.records_of(rebuild.counts),
        }
        if compare:
            result["compare"] = await _compare(settings["DATABASE_URL"], replayed, schema)
        return result


async def _compare(admin_url: str, replayed: io.Reading, schema: str) -> dict[str, Any]:
    """Diff against the live table once the live consumer has read as far as the rebuild.
    Orders with records after the rebuild's end may rightly differ (the live table has
    seen those records), so they are left out, and counted."""
    from history.adapters.snapshot import read_all
    from history.domain.compare import compare

    changed: set[str] = set()

    async def note(record: Any) -> None:
        changed.add((record.key or b"").decode("utf-8", "replace"))

    caught_up, live = await replayed.past_end(
        LIVE_GROUP, CATCH_UP_S, lambda: read_all(admin_url, LIVE_SCHEMA), note
    )
    diff = compare(live, await read_all(admin_url, schema), frozenset(changed))
    return {
        "live_caught_up": caught_up,
        "compared": diff.compared,
        "skipped_changed_since": len(changed),
        "differences": diff.count,
        "missing": diff.missing,
        "extra": diff.extra,
        "differing": {
            order_id: {col: {"live": a, "rebuilt": b} for col, (a, b) in cols.items()}
            for order_id, cols in diff.differing.items()
        },
    }


def _print_difference(found: dict[str, Any]) -> None:
    if not found:
        return
    if not found["live_caught_up"]:
        err.print(f"[yellow]the live consumer did not catch up within {CATCH_UP_S:.0f}s[/]")
    if not found["differences"]:
        console.print(f"[green]identical[/] to the live projection ({found['compared']} orders)")
        return
    table = Table("order", "difference", title=f"{found['differences']} difference(s)")
    for order_id in found["missing"][:20]:
        table.add_row(order_id, "missing from the rebuild")
    for order_id in found["extra"][:20]:
        table.add_row(order_id, "only in the rebuild")
    for order_id, cols in list(found["differing"].items())[:20]:
        text = "; ".join(f"{c}: live {v['live']}, rebuilt {v['rebuilt']}" for c, v in cols.items())
        table.add_row(order_id, text)
    console.print(table)


@replay_app.command("topic")
def topic(
    name: str = typer.Argument(..., metavar="TOPIC"),
    from_offset: int | None = typer.Option(None, "--from-offset", min=0, help=FROM_OFFSET_HELP),
    from_time: str | None = typer.Option(None, "--from-time", help=FROM_TIME_HELP),
    to_time: str | None = typer.Option(None, "--to-time", help=TO_TIME_HELP),
    partition: int | None = typer.Option(None, "--partition", min=0, help="only this partition"),
    apply: bool = typer.Option(False, "--apply", help="re-publish (default: a dry run)"),
    admin_token: str | None = typer.Option(
        None, "--admin-token", envvar="ORDERFLOW_ADMIN_TOKEN", help="the admin credential"
    ),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Re-publish the selected records of TOPIC into TOPIC, for its live consumers."""
    window = window_of(from_offset, from_time, to_time)
    settings = settings_or_exit()
    scope: dict[str, Any] = {"topic": name, "partition": partition, **window.scope()}
    who = None
    if apply:
        try:
            who = admin.require_admin(admin_token)
        except admin.AdminError as exc:
            audit(settings, "replay.topic", scope, f"refused: {exc}", token=admin_token)
            err.print(f"[bold red]refused:[/] {exc}")
            raise typer.Exit(2) from exc
    bootstrap = settings["KAFKA_BOOTSTRAP_SERVERS"]
    try:
        counts = asyncio.run(_replay_topic(bootstrap, name, window, partition, apply, as_json))
    except (ReplayError, OSError) as exc:
        audit(settings, "replay.topic", scope, f"failed: {exc}", dry_run=not apply)
        err.print(f"[bold red]replay failed:[/] {exc}")
        raise typer.Exit(1) from exc
    total = sum(c["messages"] for c in counts.values())
    outcome = f"republished {total} messages" if apply else f"dry run: {total} messages"
    scope["partitions"] = counts
    audit(settings, "replay.topic", scope, outcome, dry_run=not apply, token=admin_token, who=who)
    if as_json:
        print(json.dumps({"topic": name, "dry_run": not apply, "messages": total,
                          "partitions": counts}))  # fmt: skip
        return
    title = f"{name}: {outcome}"
    table = Table("partition", "from offset", "to offset", "records", "messages", title=title)
    for part, c in counts.items():
        row = (part, c["from"], c["to"], c["records"], c["messages"])
        table.add_row(*map(str, row))
    console.print(table)
    if not apply:
        console.print("nothing was published: add --apply (needs the admin credential)")


async def _replay_topic(
    bootstrap: str, name: str, window: Window, partition: int | None, apply: bool, quiet: bool
) -> dict[int, dict[str, int]]:
    consumer = await io.open_consumer(bootstrap)
    try:
        parts = await io.partitions(bootstrap, [name], partition)
        ranges = await io.spans(consumer, parts, window)
        label = f"re-publishing {name}" if apply else f"reading {name}"
        with io.progress_bar(err, label, io.size(ranges), not quiet) as advance:
            sent = await io.republish(consumer, bootstrap, ranges, advance, send=apply)
        counts = {
            tp.partition: {"from": a, "to": b, "records": b - a, "messages": sent[tp.partition]}
            for tp, (a, b) in ranges.items()
        }
        return dict(sorted(counts.items()))
    finally:
        await consumer.stop()


def window_of(from_offset: int | None, from_time: str | None, to_time: str | None) -> Window:
    if from_offset is not None and from_time is not None:
        raise typer.BadParameter("give --from-offset or --from-time, not both")
    return Window(from_offset, _instant(from_time), _instant(to_time))


def _instant(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"not an ISO 8601 time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def audit(
    settings: dict[str, str],
    action: str,
    scope: dict[str, Any],
    outcome: str,
    *,
    dry_run: bool = False,
    token: str | None = None,
    who: str | None = None,
) -> None:
    record = admin.record(
        settings["DATABASE_URL"], action=action, scope=scope, dry_run=dry_run,
        outcome=outcome, token=token, who=who,
    )  # fmt: skip
    asyncio.run(record)
