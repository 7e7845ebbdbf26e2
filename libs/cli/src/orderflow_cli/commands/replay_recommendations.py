"""`orderflow replay projection bought-together`: rebuild the catalog's "bought
together" projection from checkout.events into a FRESH schema, with the catalog's own
fold (`catalog.application.recommendations.Rebuild`); --compare diffs it against the
live `catalog.bought_together`."""

from __future__ import annotations

from collections import Counter
from typing import Any

import typer
from rich.table import Table

from orderflow_cli.commands import replay_io as io
from orderflow_cli.commands.replay import (
    CATCH_UP_S,
    FROM_OFFSET_HELP,
    FROM_TIME_HELP,
    TO_TIME_HELP,
    Rebuilder,
    console,
    err,
    run_rebuild,
    window_of,
)
from orderflow_cli.commands.replay_io import Window

LIVE_SCHEMA = LIVE_GROUP = "catalog"
Pair = tuple[str, str]


def bought_together(
    from_offset: int | None = typer.Option(None, "--from-offset", min=0, help=FROM_OFFSET_HELP),
    from_time: str | None = typer.Option(None, "--from-time", help=FROM_TIME_HELP),
    to_time: str | None = typer.Option(None, "--to-time", help=TO_TIME_HELP),
    into: str | None = typer.Option(None, "--into", help="fresh schema (default replay_<time>)"),
    compare: bool = typer.Option(False, "--compare", help="diff against catalog.bought_together"),
    as_json: bool = typer.Option(False, "--json", help="one JSON object, no progress bar"),
) -> None:
    """Rebuild the catalog's "bought together" counts from checkout.events into a fresh
    schema; with --compare, exit 1 when they differ from the live projection."""
    window = window_of(from_offset, from_time, to_time)
    run_rebuild(
        Rebuilder("bought-together", "pairs", _rebuild, _print_difference),
        window, into, compare=compare, as_json=as_json,
    )  # fmt: skip


async def _rebuild(
    settings: dict[str, str], window: Window, schema: str, compare: bool, show: bool
) -> dict[str, Any]:
    from catalog.adapters.recommendations import write_fresh
    from catalog.application.recommendations import Rebuild
    from orderflow_contracts import topics

    rebuild = Rebuild()

    def feed(decoded: Any) -> None:
        rebuild.feed(decoded.envelope.message_id, decoded.message)

    bootstrap = settings["KAFKA_BOOTSTRAP_SERVERS"]
    async with io.reading(bootstrap, (topics.CHECKOUT_EVENTS,), window) as replayed:
        await replayed.fold("bought-together", show, feed, rebuild.outcomes)
        await write_fresh(settings["DATABASE_URL"], schema, rebuild.counts)
        result: dict[str, Any] = {
            "schema": schema,
            "window": window.scope(),
            "pairs": len(rebuild.counts),
            "records": io.records_of(rebuild.outcomes),
        }
        if compare:
            result["compare"] = await _compare(settings["DATABASE_URL"], replayed, schema)
        return result


async def _compare(admin_url: str, replayed: io.Reading, schema: str) -> dict[str, Any]:
    """Diff against the live table once the live consumer has read as far as the rebuild.
    Orders placed after the rebuild's end may rightly be counted live: the pairs of
    their SKUs are left out, and counted."""
    from catalog.adapters.recommendations import read_counts
    from orderflow_contracts import registry

    changed: set[str] = set()
    decoder = registry()

    async def note(record: Any) -> None:
        try:
            message = decoder.decode(record.value).message
        except Exception:  # undecodable: the live consumer counted nothing for it
            return
        changed.update(line.sku for line in getattr(message, "lines", ()))

    caught_up, live = await replayed.past_end(
        LIVE_GROUP, CATCH_UP_S, lambda: read_counts(admin_url, LIVE_SCHEMA), note
    )
    rebuilt = await read_counts(admin_url, schema)
    return _differences(live, rebuilt, changed) | {"live_caught_up": caught_up}


def _differences(live: Counter[Pair], rebuilt: Counter[Pair], changed: set[str]) -> dict[str, Any]:
    keep = {p for p in live.keys() | rebuilt.keys() if not (set(p) & changed)}
    differing = {
        f"{sku} -> {other}": {"live": live[(sku, other)], "rebuilt": rebuilt[(sku, other)]}
        for sku, other in sorted(keep)
        if live[(sku, other)] != rebuilt[(sku, other)]
    }
    return {
        "compared": len(keep),
        "skipped_changed_since": len(live.keys() | rebuilt.keys()) - len(keep),
        "differences": len(differing),
        "differing": differing,
    }


def _print_difference(found: dict[str, Any]) -> None:
    if not found:
        return
    if not found["live_caught_up"]:
        err.print(f"[yellow]the live consumer did not catch up within {CATCH_UP_S:.0f}s[/]")
    if not found["differences"]:
        console.print(f"[green]identical[/] to the live projection ({found['compared']} pairs)")
        return
    table = Table("pair", "live", "rebuilt", title=f"{found['differences']} difference(s)")
    for pair, counts in list(found["differing"].items())[:20]:
        table.add_row(pair, str(counts["live"]), str(counts["rebuilt"]))
    console.print(table)
