"""`orderflow bench`: the benchmark of bench/run.py (what `make bench` runs), from the CLI.

Starts the stack and the services when they are not up (and stops only what it started),
measures the outbox relay's latency at idle, the machine's ceilings (Kafka, PostgreSQL),
then drives open-loop load at rising rates through the upstream Kafka door
(orders.inbound) and checkout's HTTP API (``--mode``), and ends with a burst of
``--burst`` orders at once through the door. Writes bench/results/latest.json, latest.md
and latest.png (or into ``--out``). ``--quick`` is the smaller run of `make bench-quick`.
The benchmark code lives in the repository's bench/ (not in this package): this command
needs a checkout, and runs it with this interpreter.
"""

from __future__ import annotations

import subprocess
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from orderflow_cli import stack
from orderflow_cli.paths import repo_root

console = Console()
err = Console(stderr=True)


class Mode(StrEnum):
    kafka = "kafka"
    http = "http"
    both = "both"


# Keep in step with the Makefile's bench and bench-quick targets.
FULL: dict[str, Any] = {
    "rates": "50,100,200,300,400,600,800,1000,1200,1500",
    "http_rates": "25,50,100,200,300,400,600,800,1000,1200",
    "seconds": 20.0,
    "kafka_messages": 50_000,
    "burst": 5000,
    "burst_timeout": 300.0,
}
QUICK: dict[str, Any] = {
    "rates": "50,200",
    "http_rates": "25,50",
    "seconds": 10.0,
    "kafka_messages": 20_000,
    "burst": 500,
    "burst_timeout": 60.0,
}
OUTBOX_ROWS = {"full": 200, "quick": 100}


def run_args(
    quick: bool = False,
    mode: Mode = Mode.both,
    rates: str | None = None,
    http_rates: str | None = None,
    seconds: float | None = None,
    kafka_messages: int | None = None,
    burst: int | None = None,
    out: Path | None = None,
) -> list[str]:
    """The arguments of ``python -m bench.run``: the preset, with what was given instead.
    ``--rates`` alone sets the rates of every mode run."""
    preset = QUICK if quick else FULL
    args = [
        "-m", "bench.run",
        "--mode", mode.value,
        "--rates", rates or preset["rates"],
        "--http-rates", http_rates or rates or preset["http_rates"],
        "--seconds", str(seconds or preset["seconds"]),
        "--kafka-messages", str(kafka_messages or preset["kafka_messages"]),
        "--burst", str(preset["burst"] if burst is None else burst),
        "--burst-timeout", str(preset["burst_timeout"]),
    ]  # fmt: skip
    if out is not None:
        args += ["--out", str(out.resolve())]
    return args


def bench(
    quick: Annotated[bool, typer.Option("--quick", help="the smaller run (bench-quick)")] = False,
    mode: Annotated[
        Mode, typer.Option(help="load through the Kafka door, checkout's HTTP API, or both")
    ] = Mode.both,
    rates: Annotated[
        str | None, typer.Option(help="orders/s per step, e.g. 50,100,200 (every mode)")
    ] = None,
    http_rates: Annotated[
        str | None, typer.Option(help="orders/s per HTTP step (default: --rates or preset)")
    ] = None,
    seconds: Annotated[float | None, typer.Option(min=1.0, help="seconds per step")] = None,
    kafka_messages: Annotated[int | None, typer.Option(min=1000)] = None,
    burst: Annotated[
        int | None, typer.Option(min=0, help="orders at once through the Kafka door (0: none)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="results directory")] = None,
    outbox_latency: Annotated[
        bool, typer.Option(help="measure the relay's commit-to-publish latency first")
    ] = True,
) -> None:
    """Benchmark the whole system: ceilings, load at rising rates, a burst (bench/results/)."""
    root = repo_root()
    if not (root / "bench" / "run.py").exists():
        err.print(f"[bold red]no bench/ in {root}:[/] run from an orderflow checkout")
        raise typer.Exit(2)
    started = not stack.healthy(stack.status(), infra_only=True)
    try:
        stack.up()
    except stack.StackError as exc:
        err.print(f"[bold red]orderflow up failed:[/] {exc}")
        raise typer.Exit(1) from exc
    try:
        if outbox_latency:
            rows = OUTBOX_ROWS["quick" if quick else "full"]
            _run(root, "bench/outbox_latency.py", "--rows", str(rows))
        _run(
            root,
            *run_args(quick, mode, rates, http_rates, seconds, kafka_messages, burst, out),
        )
    finally:
        if started:
            console.print("stopping the stack this command started...")
            stack.down()


def _run(root: Path, *args: str) -> None:
    result = subprocess.run([sys.executable, *args], cwd=root, check=False)
    if result.returncode != 0:
        err.print(f"[bold red]benchmark step failed[/] ({' '.join(args[:2])}): {result.returncode}")
        raise typer.Exit(result.returncode)
