"""`make soak`: the system under load for a while, through the Kafka door.

An unrecorded warm-up, then ``--minutes`` one-minute steps at ``--rate`` (80% of the max
sustained rate by default), then ``--burst-seconds`` at twice that rate, then a drain
until no consumer lags and no outbox row waits. Per minute it records throughput, p50
and p99 (submitted -> completed), CPU per order across every process, and the rows and
bytes of every outbox and inbox (housekeeping must keep them bounded: the Makefile runs
the soak on a stack of its own whose topics keep records 2 minutes and whose inbox
window is 150 s). At the end: every order's final status, how many were cancelled or
failed compensation because a deadline fired, and how many timeouts fired at all.

Writes bench/results/soak.{json,md,png}. The steps follow each other without a drain;
between two, the generator waits (at most 10 s) for the step's orders to complete.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from rich.console import Console

from bench.door import Door
from bench.load import Step, run_step
from bench.run import drain, open_context
from orderflow_cli.stack import read_env
from orderflow_messaging.housekeeping import RetentionSettings

RESULTS = Path(__file__).parent / "results"
console = Console()
# Steady-state checks (issue #12): the last steady minute against the first.
TOLERANCE = 0.10
_TABLES = """
    SELECT relname AS table, sum(n_live_tup)::bigint AS rows,
           sum(pg_total_relation_size(relid))::bigint AS bytes
    FROM pg_stat_user_tables WHERE relname IN ('outbox', 'inbox') GROUP BY relname
"""
_OUTCOMES = """
    SELECT status, count(*) AS orders,
           count(*) FILTER (WHERE reason LIKE '%timed out%') AS by_deadline
    FROM orders.sagas WHERE created_at >= $1 GROUP BY status ORDER BY status
"""
_TIMEOUTS = "SELECT count(*) FROM orders.saga_history WHERE kind = 'timeout' AND at >= $1"


async def tables(db: asyncpg.Connection) -> dict[str, dict[str, int]]:
    """Live rows and bytes (indexes and TOAST included) of the outboxes and inboxes,
    summed over the services."""
    return {r["table"]: {"rows": r["rows"], "bytes": r["bytes"]} for r in await db.fetch(_TABLES)}


async def _minute(step: Step, ctx: dict[str, Any], phase: str, index: int) -> dict[str, Any]:
    door: Door = ctx["door"]
    await run_step(step, ctx, door.prepare(int(step.rate * step.seconds), step.rate))
    row = step.row()
    sizes = await tables(ctx["db"])
    minute = {
        "phase": phase,
        "minute": index,
        "target_orders_per_s": step.rate,
        "completed_per_s": row["achieved_orders_per_s"],
        "p50_ms": row["p50_ms"],
        "p99_ms": row["p99_ms"],
        "cpu_ms_per_order": row["cpu_ms_per_order"],
        "lag_end": row["lag_end"],
        "outbox_rows": sizes.get("outbox", {}).get("rows"),
        "inbox_rows": sizes.get("inbox", {}).get("rows"),
        "outbox_mb": round(sizes.get("outbox", {}).get("bytes", 0) / 2**20, 1),
        "inbox_mb": round(sizes.get("inbox", {}).get("bytes", 0) / 2**20, 1),
    }
    console.print(
        f"  {phase} {index:>2}: {minute['completed_per_s']}/s, p99 {minute['p99_ms']} ms, "
        f"cpu {minute['cpu_ms_per_order']} ms/order, outbox {minute['outbox_rows']} rows "
        f"({minute['outbox_mb']} MB), inbox {minute['inbox_rows']} ({minute['inbox_mb']} MB)"
    )
    return minute


async def soak(rate: float, minutes: int, burst_s: float, warm_up_s: float) -> dict[str, Any]:
    env = read_env()
    started = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    async with AsyncExitStack() as resources:
        ctx = await open_context(resources, env)
        door: Door = ctx["door"]
        db: asyncpg.Connection = ctx["db"]
        console.print(f"[bold]soak[/]: warm-up {warm_up_s:.0f} s at {rate:.0f}/s (unrecorded)")
        await run_step(Step(rate, warm_up_s, mode="kafka"), ctx, door.prepare(
            int(rate * warm_up_s), rate))  # fmt: skip
        console.print(f"[bold]soak[/]: {minutes} minutes at {rate:.0f}/s")
        for m in range(1, minutes + 1):
            rows.append(await _minute(Step(rate, 60.0, mode="kafka"), ctx, "steady", m))
        console.print(f"[bold]burst[/]: {burst_s:.0f} s at {2 * rate:.0f}/s")
        rows.append(await _minute(Step(2 * rate, burst_s, mode="kafka"), ctx, "burst", 1))
        drain_s = await drain(ctx, timeout_s=900)
        after = await tables(db)
        outcomes = [dict(r) for r in await db.fetch(_OUTCOMES, started)]
        timeouts = int(await db.fetchval(_TIMEOUTS, started))
    return verdict(
        {
            "at": started.isoformat(),
            "rate": rate,
            "burst_rate": 2 * rate,
            "retention_window_s": RetentionSettings().messages_s,
            "minutes": rows,
            "drain_s": drain_s,
            "tables_after_drain": after,
            "outcomes": outcomes,
            "timeouts_fired": timeouts,
        }
    )


def _within(first: float | None, last: float | None) -> bool:
    return bool(first and last) and abs(last - first) / first <= TOLERANCE  # type: ignore[operator]


def _flat(rows: list[int]) -> bool:
    return bool(rows) and max(rows) <= (1 + TOLERANCE) * rows[0]


def verdict(result: dict[str, Any]) -> dict[str, Any]:
    """The checks of issue #12's "Done when" that the soak itself can answer."""
    steady = [m for m in result["minutes"] if m["phase"] == "steady"]
    first, last = steady[0], steady[-1]
    # The tables stop growing once the window has passed: from the first minute after
    # it, no later minute holds more than 10% over that minute's rows.
    settled_at = int(result["retention_window_s"] // 60) + 2
    settled = [m for m in steady if m["minute"] >= settled_at]
    bounded = {table: _flat([m[f"{table}_rows"] for m in settled]) for table in ("outbox", "inbox")}
    by_deadline = sum(o["by_deadline"] for o in result["outcomes"])
    not_completed = sum(o["orders"] for o in result["outcomes"] if o["status"] != "COMPLETED")
    result["checks"] = {
        "throughput_steady": _within(first["completed_per_s"], last["completed_per_s"]),
        "cpu_steady": _within(first["cpu_ms_per_order"], last["cpu_ms_per_order"]),
        "outbox_bounded": bounded["outbox"],
        "inbox_bounded": bounded["inbox"],
        "no_order_lost_to_a_deadline": by_deadline == 0,
        "every_order_completed": not_completed == 0,
    }
    result["ok"] = all(result["checks"].values())
    return result


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# orderflow soak ({result['at']})",
        "",
        f"{len([m for m in result['minutes'] if m['phase'] == 'steady'])} minutes at "
        f"{result['rate']:.0f} orders/s through the Kafka door, then "
        f"{result['burst_rate']:.0f}/s, then a drain ({result['drain_s']} s). Inbox window "
        f"{result['retention_window_s']:.0f} s (topics keep records 120 s).",
        "",
        "| phase | minute | target/s | completed/s | p50 ms | p99 ms | CPU ms/order "
        "| outbox rows | outbox MB | inbox rows | inbox MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in result["minutes"]:
        lines.append(
            f"| {m['phase']} | {m['minute']} | {m['target_orders_per_s']:.0f} | "
            f"{m['completed_per_s']} | {m['p50_ms']} | {m['p99_ms']} | "
            f"{m['cpu_ms_per_order']} | {m['outbox_rows']} | {m['outbox_mb']} | "
            f"{m['inbox_rows']} | {m['inbox_mb']} |"
        )
    lines += ["", "Final status of every order placed during the soak:", ""]
    lines += ["| status | orders | of them because a deadline fired |", "|---|---|---|"]
    lines += [f"| {o['status']} | {o['orders']} | {o['by_deadline']} |" for o in result["outcomes"]]
    lines += ["", f"Step timeouts fired during the soak: {result['timeouts_fired']}.", ""]
    lines += ["| check | result |", "|---|---|"]
    lines += [f"| {k} | {'ok' if v else 'FAILED'} |" for k, v in result["checks"].items()]
    lines += ["", "![soak](soak.png)", ""]
    return "\n".join(lines)


def write_plot(result: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = result["minutes"]
    x = list(range(1, len(minutes) + 1))
    labels = [f"{'B' if m['phase'] == 'burst' else m['minute']}" for m in minutes]
    fig, axes = plt.subplots(1, 4, figsize=(20, 4.5), dpi=100)
    series = (
        ("completed/s", [m["completed_per_s"] for m in minutes]),
        ("p99 ms (log)", [m["p99_ms"] for m in minutes]),
        ("CPU ms per order", [m["cpu_ms_per_order"] for m in minutes]),
    )
    for axis, (title, values) in zip(axes, series, strict=False):
        axis.plot(x, values, "o-")
        axis.set_title(title)
    axes[1].set_yscale("log")
    axes[3].plot(x, [m["outbox_rows"] for m in minutes], "o-", label="outbox rows")
    axes[3].plot(x, [m["inbox_rows"] for m in minutes], "s-", label="inbox rows")
    axes[3].set_title("live rows (all services)")
    axes[3].legend()
    for axis in axes:
        axis.set_xticks(x, labels)
        axis.set_xlabel("minute (B: burst)")
        axis.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_results(result: dict[str, Any], out: Path = RESULTS) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "soak.json", out / "soak.md"]
    paths[0].write_text(json.dumps(result, indent=2, default=str) + "\n")
    paths[1].write_text(markdown(result))
    paths.append(write_plot(result, out / "soak.png"))
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=float(os.environ.get("SOAK_RATE", 80)))
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--burst-seconds", type=float, default=60.0)
    parser.add_argument("--warm-up", type=float, default=90.0, help="seconds, unrecorded")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    result = asyncio.run(soak(args.rate, args.minutes, args.burst_seconds, args.warm_up))
    for path in write_results(result, args.out):
        console.print(f"wrote {path}")
    console.print(result["checks"])
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
