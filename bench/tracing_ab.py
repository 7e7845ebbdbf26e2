"""What tracing costs the whole system (`make bench-tracing`): the benchmark's burst (and
a sustained step) run alternately with tracing off and on, on the same stack, the
services restarted between runs with the tracing settings of the arm.

"On" is what a deployment runs: OTLP/HTTP export (to `bench.otlp_sink`, started here,
outside the stack, as a collector would be) at the default sample ratio (0.01, or
``--ratio``). The arms run in ABBA order (off, on, on, off, ...), so a drift of the
machine or of the growing database over the run falls on both arms alike; each run is
`bench.run` with ``--no-ceilings`` (a burst of ``--burst`` orders through the Kafka door,
after a step at ``--rate``). Reports, per arm, the median and every run's throughput and
CPU per order (bench/results/tracing_ab.json).

    python -m bench.tracing_ab --rounds 2 --burst 3000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from orderflow_cli.stack import read_env, services

RESULTS = Path(__file__).parent / "results"
SINK_PORT = 4318


def arm_env(tracing: bool, ratio: float) -> dict[str, str]:
    if not tracing:
        return {"TRACING_EXPORTER": "none"}
    return {
        "TRACING_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{SINK_PORT}",
        "TRACING_SAMPLE_RATIO": str(ratio),
    }


def restart_services(settings: dict[str, str], env: dict[str, str]) -> None:
    services.stop_all()
    os.environ.update(env)
    services.start_all(settings)


def one_run(rate: float, seconds: float, burst: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as out:
        cmd = [
            sys.executable, "-m", "bench.run", "--mode", "kafka", "--no-ceilings",
            "--rates", f"{rate:g}", "--seconds", f"{seconds:g}", "--burst", str(burst),
            "--burst-timeout", "300", "--warm-up", "15", "--out", out,
        ]  # fmt: skip
        subprocess.run(cmd, check=True, cwd=Path(__file__).parent.parent)
        result: dict[str, Any] = json.loads((Path(out) / "latest.json").read_text())
    [step] = result["steps"]["kafka"]
    burst_row = result["burst"]
    return {
        "burst_orders_per_s": burst_row["orders_per_s"],
        "burst_cpu_ms_per_order": burst_row["cpu_ms_per_order"],
        "burst_cpu_ms_by_process": burst_row["cpu_ms_per_order_by_process"],
        "step_achieved_per_s": step["achieved_orders_per_s"],
        "step_cpu_ms_per_order": step["cpu_ms_per_order"],
        "step_p99_ms": step["p99_ms"],
    }


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = [k for k, v in runs[0].items() if isinstance(v, int | float) and k != "round"]
    return {k: round(statistics.median(r[k] for r in runs), 2) for k in keys}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="ABBA rounds (4 runs each)")
    parser.add_argument("--burst", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--ratio", type=float, default=0.01, help="TRACING_SAMPLE_RATIO when on")
    args = parser.parse_args()
    settings = read_env()
    if not settings:
        raise SystemExit("the stack is not up: `orderflow up` first")
    sink = subprocess.Popen([sys.executable, "-m", "bench.otlp_sink", "--port", str(SINK_PORT)])
    runs: list[dict[str, Any]] = []
    try:
        for round_no in range(args.rounds):
            for tracing in (False, True, True, False):
                restart_services(settings, arm_env(tracing, args.ratio))
                time.sleep(5)  # consumers joined, relays idle
                row = one_run(args.rate, args.seconds, args.burst)
                row |= {"arm": "on" if tracing else "off", "round": round_no}
                runs.append(row)
                print(json.dumps(row), flush=True)
    finally:
        sink.terminate()
        sink.wait(30)
        restart_services(settings, arm_env(False, args.ratio))
    off = summary([r for r in runs if r["arm"] == "off"])
    on = summary([r for r in runs if r["arm"] == "on"])
    loss = 1 - on["burst_orders_per_s"] / off["burst_orders_per_s"]
    report = {"ratio": args.ratio, "burst": args.burst, "rate": args.rate, "off": off, "on": on,
              "burst_throughput_loss": round(loss, 4), "runs": runs}  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "tracing_ab.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
