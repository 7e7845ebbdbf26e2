"""The summary of a burst series (bench/burst_series.sh): each run's CPU ms per order and
orders/s, then per commit the medians and the median CPU per order of each process.

    .venv/bin/python -m bench.burst_summary WORKDIR/out
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any


def runs(out: Path) -> list[tuple[int, str, dict[str, Any]]]:
    found = []
    for path in out.glob("*-*/latest.json"):
        match = re.fullmatch(r"(\d+)-(.+)", path.parent.name)
        if match:
            burst = json.loads(path.read_text()).get("burst") or {}
            found.append((int(match.group(1)), match.group(2), burst))
    return sorted(found, key=lambda run: run[0])


def main(out: Path) -> None:
    by_commit: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for n, commit, burst in runs(out):
        print(n, commit, burst.get("cpu_ms_per_order"), burst.get("orders_per_s"))
        by_commit[commit].append(burst)
    for commit, bursts in by_commit.items():
        cpu = [b["cpu_ms_per_order"] for b in bursts if b.get("cpu_ms_per_order")]
        rate = [b["orders_per_s"] for b in bursts if b.get("orders_per_s")]
        processes: dict[str, list[float]] = defaultdict(list)
        for b in bursts:
            for name, value in (b.get("cpu_ms_per_order_by_process") or {}).items():
                processes[name].append(value)
        print(
            f"{commit}: {len(cpu)} runs, median {statistics.median(cpu)} ms per order at "
            f"{statistics.median(rate)} orders/s"
        )
        print("   ", {k: round(statistics.median(v), 2) for k, v in sorted(processes.items())})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
