"""The benchmark's picture, both modes (Kafka door, HTTP) side by side.

Left: achieved throughput against submitted->completed latency, one point per load step
(labelled with its target rate), p50 and p99 on a log scale, the 1 s line that decides
"sustained". Middle: offered vs completed, with each mode's best sustained rate. Right:
CPU milliseconds per completed order (services + Kafka + PostgreSQL) per step. Written
with matplotlib's Agg backend (no display needed) next to latest.json as latest.png.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # after use("Agg"): the backend is chosen first

COLOURS = {"kafka": "tab:blue", "http": "tab:orange"}


def write_plot(result: dict[str, Any], path: Path) -> Path:
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(17, 5), dpi=110)
    top = 1.0
    for mode, rows in result["steps"].items():
        colour = COLOURS.get(mode, "grey")
        steps = [s for s in rows if s.get("p50_ms") is not None]
        x = [s["achieved_orders_per_s"] for s in steps]
        for key, style in (("p50_ms", "o--"), ("p99_ms", "^-")):
            left.plot(x, [s[key] for s in steps], style, color=colour,
                      label=f"{mode} {key[:3]}")  # fmt: skip
        for s in steps:
            left.annotate(
                f"{s['target_orders_per_s']:.0f}/s",
                (s["achieved_orders_per_s"], s["p99_ms"]),
                textcoords="offset points", xytext=(4, 6), fontsize=7, color=colour,
            )  # fmt: skip
        targets = [s["target_orders_per_s"] for s in rows]
        middle.plot(targets, [s["achieved_orders_per_s"] for s in rows], "o-", color=colour,
                    label=f"{mode} achieved")  # fmt: skip
        top = max([top, *targets])
        best = (result.get("max_sustained_orders_per_s") or {}).get(mode) or 0
        if best:
            middle.axhline(best, color=colour, linestyle="--", linewidth=1,
                           label=f"{mode} max sustained {best}/s")  # fmt: skip
        cpu = [s for s in rows if s.get("cpu_ms_per_order") is not None]
        right.plot([s["target_orders_per_s"] for s in cpu],
                   [s["cpu_ms_per_order"] for s in cpu], "o-", color=colour,
                   label=mode)  # fmt: skip
    left.axhline(1000, color="grey", linestyle=":", linewidth=1, label="1 s (sustained limit)")
    left.axhline(500, color="tab:red", linestyle=":", linewidth=1, label="500 ms (p99 target)")
    left.set_yscale("log")
    left.set_xlabel("completed orders/s (achieved)")
    left.set_ylabel("submitted -> completed latency, ms")
    left.set_title("throughput vs latency (one point per step)")
    left.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=7)

    middle.plot([0, top], [0, top], color="grey", linestyle=":", linewidth=1, label="target")
    middle.set_xlabel("offered orders/s (target)")
    middle.set_ylabel("completed orders/s")
    middle.set_title("offered vs completed")
    middle.grid(True, alpha=0.3)
    middle.legend(fontsize=7)

    right.set_xlabel("offered orders/s (target)")
    right.set_ylabel("CPU ms per completed order")
    right.set_ylim(bottom=0)
    right.set_title("CPU per order (services + Kafka + PostgreSQL)")
    right.grid(True, alpha=0.3)
    right.legend(fontsize=7)

    burst = result.get("burst")
    burst_text = (
        f"; burst {burst['n']} via Kafka: {burst['orders_per_s']} orders/s" if burst else ""
    )
    fig.suptitle(
        f"orderflow benchmark {str(result.get('when', ''))[:19]} - "
        f"{result.get('machine', {}).get('cpus', '?')} cores; ceilings: Kafka "
        f"{result.get('ceiling_kafka_msgs_per_s')} msgs/s, PostgreSQL "
        f"{result.get('ceiling_pg_txn_per_s')} txn/s{burst_text}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
