"""The benchmark's picture: achieved throughput against placed->completed latency.

One point per load step (labelled with its target rate): p50 and p99 on a log scale,
the 1 s line that decides "sustained", and the best sustained rate. Written with
matplotlib's Agg backend (no display needed) next to latest.json as latest.png.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # after use("Agg"): the backend is chosen first


def write_plot(result: dict[str, Any], path: Path) -> Path:
    steps = [s for s in result["steps"] if s.get("p50_ms") is not None]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5), dpi=110)
    x = [s["achieved_orders_per_s"] for s in steps]
    for key, style, label in (("p50_ms", "o-", "p50"), ("p95_ms", "s--", "p95"),
                              ("p99_ms", "^-", "p99")):  # fmt: skip
        left.plot(x, [s[key] for s in steps], style, label=label)
    for s in steps:
        left.annotate(
            f"{s['target_orders_per_s']:.0f}/s",
            (s["achieved_orders_per_s"], s["p99_ms"]),
            textcoords="offset points", xytext=(4, 6), fontsize=8,
        )  # fmt: skip
    left.axhline(1000, color="grey", linestyle=":", linewidth=1, label="1 s (sustained limit)")
    left.axhline(500, color="tab:red", linestyle=":", linewidth=1, label="500 ms (p99 target)")
    left.set_yscale("log")
    left.set_xlabel("completed orders/s (achieved)")
    left.set_ylabel("placed -> completed latency, ms")
    left.set_title("throughput vs latency (one point per step)")
    left.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=8)

    targets = [s["target_orders_per_s"] for s in result["steps"]]
    achieved = [s["achieved_orders_per_s"] for s in result["steps"]]
    right.plot(targets, achieved, "o-", label="achieved")
    top = max([*targets, 1.0])
    right.plot([0, top], [0, top], color="grey", linestyle=":", linewidth=1, label="target")
    best = result.get("max_sustained_orders_per_s") or 0
    if best:
        right.axhline(best, color="tab:green", linestyle="--", linewidth=1,
                      label=f"max sustained {best}/s")  # fmt: skip
    right.set_xlabel("offered orders/s (target)")
    right.set_ylabel("completed orders/s")
    right.set_title("offered vs completed")
    right.grid(True, alpha=0.3)
    right.legend(fontsize=8)

    fig.suptitle(
        f"orderflow benchmark {str(result.get('when', ''))[:19]} - "
        f"{result.get('machine', {}).get('cpus', '?')} cores; ceilings: Kafka "
        f"{result.get('ceiling_kafka_msgs_per_s')} msgs/s, PostgreSQL "
        f"{result.get('ceiling_pg_txn_per_s')} txn/s",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
