"""What tracing costs the whole system (`make bench-tracing`), measured on twin stacks.

This machine's noise (other tenants' load) moves a single burst's throughput by +-15%
from one run to the next, more than the effect to be shown; runs taken one after the
other cannot tell a 5% cost from none. So the two arms run *at the same time*: two
private stacks side by side (`.orderflow-twin-a` and `-b`, each its own Kafka,
PostgreSQL and services, on ports 22xxx and 23xxx), the same load offered to both at
once (`bench.run`: a warm-up, a step at ``--rate``, then a burst of ``--burst`` orders
through the Kafka door), one stack traced and the other not. Whatever the machine does
meanwhile falls on both. The arms swap stacks every round, so a difference between the
stacks themselves cancels in the geometric mean of the rounds' on/off ratios.

"On" is what a deployment runs: OTLP/HTTP export (to `bench.otlp_sink`, started here,
outside the stacks, as a collector would be) at the default sample ratio (0.01, or
``--ratio``). Writes every round and the mean ratios to bench/results/tracing_ab.json.

    python -m bench.tracing_ab --rounds 6 --burst 2000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from orderflow_contracts.catalogue import SERVICES

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SINK_PORT = 4318
TWINS = {"a": 22000, "b": 23000}  # port bases, below the ephemeral range
TRACING_VARIABLES = ("TRACING_EXPORTER", "TRACING_SAMPLE_RATIO", "OTEL_EXPORTER_OTLP_ENDPOINT")
_RESTART = """
from bench.tracing_ab import restart
restart()
"""


def arm_env(tracing: bool, ratio: float) -> dict[str, str]:
    if not tracing:
        return {"TRACING_EXPORTER": "none"}
    return {
        "TRACING_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{SINK_PORT}",
        "TRACING_SAMPLE_RATIO": str(ratio),
    }


def twin_env(name: str) -> dict[str, str]:
    """The environment that points `orderflow` and `bench.run` at twin ``name``."""
    base = TWINS[name]
    env = {k: v for k, v in os.environ.items() if k not in TRACING_VARIABLES}
    env |= {
        "ORDERFLOW_HOME": str(ROOT / f".orderflow-twin-{name}"),
        "ORDERFLOW_KAFKA_PORT": str(base + 92),
        "ORDERFLOW_KAFKA_CONTROLLER_PORT": str(base + 93),
        "ORDERFLOW_PG_PORT": str(base + 432),
    }
    for slot, service in enumerate(sorted(SERVICES)):
        env[f"{service.upper()}_HTTP_PORT"] = str(base + 1 + slot)
    return env


def restart() -> None:
    """Restart the services of the stack this process's environment names, with the
    tracing settings it holds (run in a child process per twin)."""
    from orderflow_cli.stack import read_env, services

    settings = read_env()
    services.stop_all()
    services.start_all(settings)


def _orderflow(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [str(ROOT / ".venv/bin/orderflow"), *args], env=env, cwd=ROOT, check=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip


def one_round(
    arms: dict[str, bool], ratio: float, args: argparse.Namespace, out: Path
) -> dict[str, Any]:
    """Restart each twin with its arm's settings, then the same load on both at once."""
    for name, tracing in arms.items():
        env = twin_env(name) | arm_env(tracing, ratio)
        subprocess.run([sys.executable, "-c", _RESTART], env=env, cwd=ROOT, check=True)
    runs = {}
    for name in arms:
        (out / name).mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable, "-m", "bench.run", "--mode", "kafka", "--no-ceilings",
            "--rates", f"{args.rate:g}", "--seconds", f"{args.seconds:g}",
            "--burst", str(args.burst), "--burst-timeout", "300", "--warm-up", "15",
            "--out", str(out / name),
        ]  # fmt: skip
        log = (out / name / "run.log").open("w")
        runs[name] = subprocess.Popen(cmd, env=twin_env(name), cwd=ROOT, stdout=log, stderr=log)
    for name, run in runs.items():
        if run.wait() != 0:
            raise SystemExit(f"bench.run on twin {name} failed: {out / name / 'run.log'}")
    row: dict[str, Any] = {}
    for name, tracing in arms.items():
        result = json.loads((out / name / "latest.json").read_text())
        [step] = result["steps"]["kafka"]
        burst = result["burst"]
        row["on" if tracing else "off"] = {
            "twin": name,
            "burst_orders_per_s": burst["orders_per_s"],
            "burst_cpu_ms_per_order": burst["cpu_ms_per_order"],
            "burst_cpu_ms_by_process": burst["cpu_ms_per_order_by_process"],
            "step_achieved_per_s": step["achieved_orders_per_s"],
            "step_cpu_ms_per_order": step["cpu_ms_per_order"],
        }
    return row


def ratios(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    each = [row["on"][key] / row["off"][key] for row in rows]
    return {"per_round": [round(r, 3) for r in each],
            "geometric_mean": round(statistics.geometric_mean(each), 4)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6, help="rounds (arms swap each round)")
    parser.add_argument("--burst", type=int, default=2000, help="orders per twin per burst")
    parser.add_argument("--rate", type=float, default=80.0, help="the step's rate per twin")
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--ratio", type=float, default=0.01, help="TRACING_SAMPLE_RATIO when on")
    parser.add_argument("--keep", action="store_true", help="leave the twin stacks up")
    args = parser.parse_args()
    for name in TWINS:
        _orderflow(twin_env(name), "up")
    sink = subprocess.Popen([sys.executable, "-m", "bench.otlp_sink", "--port", str(SINK_PORT)])
    rows: list[dict[str, Any]] = []
    runs_dir = Path(tempfile.mkdtemp(prefix="tracing-twins-"))
    try:
        for round_no in range(args.rounds):
            arms = {"a": round_no % 2 == 0, "b": round_no % 2 == 1}
            row = one_round(arms, args.ratio, args, runs_dir / str(round_no))
            rows.append(row | {"round": round_no})
            print(json.dumps({arm: {k: v for k, v in row[arm].items() if "by_process" not in k}
                              for arm in ("off", "on")}), flush=True)  # fmt: skip
    finally:
        sink.terminate()
        sink.wait(30)
        if not args.keep:
            for name in TWINS:
                _orderflow(twin_env(name), "down")
    report = {
        "ratio": args.ratio, "burst": args.burst, "rate": args.rate, "seconds": args.seconds,
        "on_over_off": {key: ratios(rows, key) for key in (
            "burst_orders_per_s", "burst_cpu_ms_per_order", "step_cpu_ms_per_order")},
        "rounds": rows,
    }  # fmt: skip
    loss = 1 - report["on_over_off"]["burst_orders_per_s"]["geometric_mean"]
    report["burst_throughput_loss"] = round(loss, 4)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "tracing_ab.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "rounds"}, indent=2))


if __name__ == "__main__":
    main()
