"""The pure parts of bench/soak.py: the steady-state verdict and its report."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[4]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))
soak = importlib.import_module("bench.soak")


def minute(
    n: int, rate: float = 80, cpu: float = 20.0, rows: int = 1000, **kw: Any
) -> dict[str, Any]:
    return {
        "phase": kw.get("phase", "steady"), "minute": n, "target_orders_per_s": rate,
        "completed_per_s": kw.get("done", rate), "p50_ms": 300, "p99_ms": 600,
        "cpu_ms_per_order": cpu, "lag_end": 0, "outbox_rows": rows, "inbox_rows": rows,
        "outbox_mb": 1.0, "inbox_mb": 1.0,
    }  # fmt: skip


def result(minutes: list[dict[str, Any]], outcomes: list[dict[str, Any]] | None = None) -> Any:
    return soak.verdict(
        {
            "at": "2026-12-06T00:00:00+00:00", "rate": 80, "burst_rate": 160,
            "retention_window_s": 150, "minutes": minutes, "drain_s": 12.0,
            "tables_after_drain": {},
            "outcomes": outcomes or [{"status": "COMPLETED", "orders": 5000, "by_deadline": 0}],
            "timeouts_fired": 0,
        }
    )  # fmt: skip


def growing_then_flat() -> list[dict[str, Any]]:
    rows = [400, 800, 1100, 1150, 1120, 1160, 1140, 1150, 1130, 1145]
    return [minute(n, rows=r) for n, r in enumerate(rows, start=1)]


def test_a_steady_run_with_bounded_tables_passes() -> None:
    done = result([*growing_then_flat(), minute(1, rate=160, phase="burst")])
    assert done["ok"], done["checks"]


def test_cpu_drifting_past_ten_percent_fails() -> None:
    minutes = growing_then_flat()
    minutes[-1]["cpu_ms_per_order"] = 22.5
    assert not result(minutes)["checks"]["cpu_steady"]


def test_tables_that_keep_growing_past_the_window_fail() -> None:
    minutes = [minute(n, rows=400 * n) for n in range(1, 11)]
    checks = result(minutes)["checks"]
    assert not checks["outbox_bounded"]
    assert not checks["inbox_bounded"]


def test_an_order_cancelled_by_a_deadline_fails() -> None:
    outcomes = [
        {"status": "COMPLETED", "orders": 4999, "by_deadline": 0},
        {"status": "CANCELLED", "orders": 1, "by_deadline": 1},
    ]
    checks = result(growing_then_flat(), outcomes)["checks"]
    assert not checks["no_order_lost_to_a_deadline"]
    assert not checks["every_order_completed"]


def test_the_report_has_every_minute_the_outcomes_and_the_checks(tmp_path: Path) -> None:
    done = result([*growing_then_flat(), minute(1, rate=160, phase="burst")])
    text = soak.markdown(done)
    assert "| steady | 10 | 80 | 80 |" in text
    assert "| burst | 1 | 160 |" in text
    assert "| COMPLETED | 5000 | 0 |" in text
    assert "| cpu_steady | ok |" in text
    paths = soak.write_results(done, tmp_path)
    assert [p.name for p in paths] == ["soak.json", "soak.md", "soak.png"]
    assert paths[2].stat().st_size > 0
