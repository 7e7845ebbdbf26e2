"""The benchmark's verdicts and summaries (no I/O): which steps are sustained or
overloaded, the headline figures of latest.json per mode, and latest.md."""

from __future__ import annotations

import platform
from typing import Any

from bench.hops import table as hop_table

Row = dict[str, Any]

MODES = ("kafka", "http")
TITLES = {
    "kafka": "Kafka door (SubmitOrder v2 on orders.inbound)",
    "http": "HTTP (POST /orders on checkout)",
}
# p99_ms_at_200_kafka and p99_ms_at_300_http are headline figures: when a mode's rates
# span its headline rate, a step at that rate is added.
HEADLINE_RATE = {"kafka": 200.0, "http": 300.0}
# One successful order publishes 15 messages through the outboxes: OrderPlaced, five
# commands and their five replies, OrderConfirmed, OrderCompleted, and later the
# shipment's Dispatched and Delivered (13 of them before COMPLETED). Through the Kafka
# door add the SubmitOrder and its OrderSubmissionAccepted.
MESSAGES_PER_ORDER = {"kafka": 17, "http": 15}
# ...and costs 20 transactions of the consumer shape (inbox + state + outbox) if nothing
# were batched: checkout's insert (HTTP request or inbound consumer) plus 19 inbox rows
# (orders 8, history 6, inventory 2, payment 2, shipping 1); payment adds its
# pending-key and gateway-ledger transactions.
TXN_PER_ORDER = 20


def _growing(row: Row) -> bool:
    return bool(row["lag_end"] > row["lag_start"] + row["target_orders_per_s"])


def overloaded(row: Row) -> bool:
    """The system fell behind the offered rate (not merely slow)."""
    behind = row["achieved_orders_per_s"] < 0.8 * row["target_orders_per_s"]
    return _growing(row) or behind or row["completed"] < 0.95 * max(1, row["placed"])


def sustained(row: Row) -> bool:
    return (
        row["p99_ms"] is not None
        and row["p99_ms"] < 1000
        and not _growing(row)
        and row["completed"] >= 0.95 * max(1, row["placed"])
    )


def trailing_overloaded(rows: list[Row]) -> int:
    """How many of the last steps in a row were overloaded (the higher rates of a mode
    are skipped after ``--stop-after`` of them)."""
    count = 0
    for row in reversed(rows):
        if not overloaded(row):
            break
        count += 1
    return count


def with_headline_rate(rates: list[float], mode: str) -> list[float]:
    """The rates, plus the mode's headline rate when they span it."""
    headline = HEADLINE_RATE[mode]
    if headline in rates or not rates or max(rates) < headline or min(rates) > headline:
        return rates
    return sorted([*rates, headline])


def best_step(rows: list[Row]) -> Row | None:
    """The sustained step with the most completions per second."""
    good = [r for r in rows if r.get("sustained")]
    return max(good, key=lambda r: r["achieved_orders_per_s"], default=None)


def _ratio(used: float, ceiling: float) -> float | None:
    return round(used / ceiling, 3) if ceiling else None


def _at_headline(rows: list[Row], mode: str) -> Row | None:
    return next((r for r in rows if r["target_orders_per_s"] == HEADLINE_RATE[mode]), None)


def summarize(
    steps: dict[str, list[Row]],
    kafka: dict[str, Any],
    pg: dict[str, Any],
    burst: dict[str, Any] | None,
    when: str,
) -> dict[str, Any]:
    """latest.json: per-mode headline figures (None for a mode that did not run)."""
    best = {m: best_step(steps[m]) if m in steps else None for m in MODES}
    rate = {m: (b["achieved_orders_per_s"] if b else 0) if m in steps else None
            for m, b in best.items()}  # fmt: skip
    result: dict[str, Any] = {
        "when": when,
        "machine": {"cpus": pg["cores"], "python": platform.python_version()},
        "modes": [m for m in MODES if m in steps],
        "max_sustained_orders_per_s": rate,
        "cpu_ms_per_order_at_max_sustained": {
            m: b["cpu_ms_per_order"] if b else None for m, b in best.items()
        },
    }
    for mode in MODES:
        at = _at_headline(steps.get(mode, []), mode)
        result[f"p99_ms_at_{HEADLINE_RATE[mode]:.0f}_{mode}"] = at["p99_ms"] if at else None
    result |= {
        "ceiling_kafka_msgs_per_s": kafka["msgs_per_s"],
        "ceiling_kafka": kafka,
        "ceiling_pg_txn_per_s": pg["txn_per_s"],
        "messages_per_order": MESSAGES_PER_ORDER,
        "transactions_per_order": TXN_PER_ORDER,
        "ratio_to_kafka_ceiling": {
            m: _ratio((r or 0) * MESSAGES_PER_ORDER[m], kafka["msgs_per_s"])
            for m, r in rate.items()
        },
        "ratio_to_pg_ceiling": {
            m: _ratio((r or 0) * TXN_PER_ORDER, pg["txn_per_s"]) for m, r in rate.items()
        },
        "burst": burst,
        "steps": {m: steps[m] for m in MODES if m in steps},
    }
    return result


def _process_table(rows: list[Row], first: str) -> list[str]:
    """CPU ms per order of each process, one row per step (or the burst)."""
    names = sorted({n for r in rows for n in r.get("cpu_ms_per_order_by_process", {})})
    lines = [
        f"| {first} | " + " | ".join(names) + " | total |",
        "|---" * (len(names) + 2) + "|",
    ]
    for r in rows:
        cells = [str(r["cpu_ms_per_order_by_process"].get(n, "")) for n in names]
        label = r.get("label") or f"{r['target_orders_per_s']:.0f}"
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {r['cpu_ms_per_order']} |")
    return lines


def _mode_section(result: dict[str, Any], mode: str) -> list[str]:
    rows = result["steps"][mode]
    lines = [
        f"## {TITLES[mode]}",
        "",
        "| target/s | completed/s | placed | refused | deferred (503) | p50 ms | p95 ms "
        "| p99 ms | lag start -> end | outbox backlog | CPU ms/order | load (1 min) "
        "| sustained |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['target_orders_per_s']:.0f} | {r['achieved_orders_per_s']} | {r['placed']} | "
            f"{r['refused']} | {r.get('deferred', 0)} | {r['p50_ms']} | {r['p95_ms']} | "
            f"{r['p99_ms']} | "
            f"{r['lag_start']} -> {r['lag_end']} | {r['outbox_backlog_end']} | "
            f"{r.get('cpu_ms_per_order')} | {r.get('loadavg_1m')} | "
            f"{'yes' if r.get('sustained') else 'no'} |"
        )
    if mode == "kafka":
        lags = [r.get("generator_lag_ms") for r in rows]
        lines += ["", f"Load generator behind schedule (max ms per step): {lags}"]
    lines += ["", "CPU ms per completed order, per process:", ""]
    lines += _process_table([r for r in rows if r.get("completed")], "target/s")
    shown = _hop_step(rows, mode)
    if shown is not None:
        lines += [
            "",
            f"Where the time goes at {shown['target_orders_per_s']:.0f}/s (bench/hops.py):",
            "",
            hop_table(shown["hops"]),
        ]
        door = shown.get("submit_to_checkout_ms") or {}
        lines += [
            "",
            f"Before the first hop, submitted -> checkout's placing transaction: p50 "
            f"{door.get('p50')} ms, p99 {door.get('p99')} ms.",
        ]
    return [*lines, ""]


def _burst_section(burst: dict[str, Any]) -> list[str]:
    lines = [
        "## Burst (Kafka door)",
        "",
        f"{burst['n']} submissions at once on orders.inbound (sent and acknowledged in "
        f"{burst['produce_s']} s): every order terminal after **{burst['seconds']} s**, "
        f"**{burst['orders_per_s']} orders/s**, **{burst['cpu_ms_per_order']} ms CPU per "
        f"order** (services + Kafka + PostgreSQL). Completed {burst['completed']}, other "
        f"terminal {burst['other_terminal']}, rejected at the door "
        f"{burst['rejected_at_door']}, unfinished {burst['unfinished']}"
        f"{' (timed out)' if burst['timed_out'] else ''}; submitted -> terminal p50 "
        f"{burst['p50_ms']} ms, p99 {burst['p99_ms']} ms.",
        "",
    ]
    if burst.get("cpu_ms_per_order_by_process"):
        lines += _process_table([{**burst, "label": str(burst["n"])}], "orders")
    return [*lines, ""]


def markdown(result: dict[str, Any], plot: str | None = "latest.png") -> str:
    best, cpu = result["max_sustained_orders_per_s"], result["cpu_ms_per_order_at_max_sustained"]
    per_order = result["messages_per_order"]
    modes = result["modes"]
    lines = [f"# orderflow benchmark ({result['when']})", ""]
    if modes:
        lines += [
            "- max sustained (p99 < 1 s, lag not growing, >= 95% completed): "
            + ", ".join(f"{m} **{best[m]} orders/s**" for m in modes),
            "- p99 at the headline rates: "
            + ", ".join(
                f"{m} at {HEADLINE_RATE[m]:.0f}/s: "
                f"{result[f'p99_ms_at_{HEADLINE_RATE[m]:.0f}_{m}']} ms"
                for m in modes
            ),
            "- CPU ms per order at the max sustained rate (services + Kafka + PostgreSQL): "
            + ", ".join(f"{m} {cpu[m]}" for m in modes),
        ]
    burst = result.get("burst")
    if burst:
        lines.append(
            f"- burst: {burst['n']} orders at once through the Kafka door, all terminal in "
            f"{burst['seconds']} s: **{burst['orders_per_s']} orders/s**, "
            f"{burst['cpu_ms_per_order']} ms CPU per order"
        )
    kafka, pg = result["ceiling_kafka_msgs_per_s"], result["ceiling_pg_txn_per_s"]
    kafka_orders = ", ".join(
        f"~{kafka // per_order[m]} orders/s at {per_order[m]} messages per {m} order" for m in modes
    )
    lines += [
        f"- ceilings: Kafka {kafka} msgs/s ({kafka_orders}), PostgreSQL {pg} txn/s "
        f"(~{pg // result['transactions_per_order']} orders/s at "
        f"{result['transactions_per_order']} unbatched transactions per order)",
        "- share of the ceilings used at the max sustained rate: "
        + ", ".join(
            f"{m} Kafka {result['ratio_to_kafka_ceiling'][m]}, PostgreSQL "
            f"{result['ratio_to_pg_ceiling'][m]}"
            for m in modes
        ),
        "",
    ]
    for mode in modes:
        lines += _mode_section(result, mode)
    if burst:
        lines += _burst_section(burst)
    if plot:
        lines += [f"![throughput vs latency]({plot})", ""]
    return "\n".join(lines)


def _hop_step(rows: list[Row], mode: str) -> Row | None:
    """The step at the headline rate, else the fastest sustained one, else the last one."""
    with_hops = [s for s in rows if s.get("hops")]
    for s in with_hops:
        if s["target_orders_per_s"] == HEADLINE_RATE[mode]:
            return s
    good = [s for s in with_hops if s.get("sustained")]
    return good[-1] if good else (with_hops[-1] if with_hops else None)
