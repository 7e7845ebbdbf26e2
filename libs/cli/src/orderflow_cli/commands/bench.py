"""`orderflow bench`: the benchmark of bench/run.py (what `make bench` runs), from the CLI.

Starts the stack and the services when they are not up (and stops only what it started),
measures the outbox relay's latency at idle, the machine's ceilings (Kafka, PostgreSQL),
then drives open-loop load at rising rates. Writes bench/results/latest.json, latest.md
and latest.png (or into ``--out``). ``--quick`` is the smaller run of `make bench-quick`.
The benchmark code lives in the repository's bench/ (not in this package): this command
needs a checkout, and runs it with this interpreter.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from orderflow_cli import stack
from orderflow_cli.paths import repo_root

console = Console()
err = Console(stderr=True)

FULL = {"rates": "5,10,20,50,100,200,400,800,1200", "seconds": 20.0, "kafka_messages": 50_000}
QUICK = {"rates": "10,25,50", "seconds": 10.0, "kafka_messages": 20_000}
OUTBOX_ROWS = {"full": 200, "quick": 100}


def bench(
    quick: Annotated[bool, typer.Option("--quick", help="the smaller run (bench-quick)")] = False,
    rates: Annotated[str | None, typer.Option(help="orders/s per step, e.g. 50,100,300")] = None,
    seconds: Annotated[float | None, typer.Option(min=1.0, help="seconds per step")] = None,
    kafka_messages: Annotated[int | None, typer.Option(min=1000)] = None,
    out: Annotated[Path | None, typer.Option(help="results directory")] = None,
    outbox_latency: Annotated[
        bool, typer.Option(help="measure the relay's commit-to-publish latency first")
    ] = True,
) -> None:
    """Benchmark the whole system: ceilings, then load at rising rates (bench/results/)."""
    root = repo_root()
    if not (root / "bench" / "run.py").exists():
        err.print(f"[bold red]no bench/ in {root}:[/] run from an orderflow checkout")
        raise typer.Exit(2)
    preset = QUICK if quick else FULL
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
        args = [
            "-m", "bench.run",
            "--rates", rates or str(preset["rates"]),
            "--seconds", str(seconds or preset["seconds"]),
            "--kafka-messages", str(kafka_messages or preset["kafka_messages"]),
        ]  # fmt: skip
        if out is not None:
            args += ["--out", str(out.resolve())]
        _run(root, *args)
    finally:
        if started:
            console.print("stopping the stack this command started...")
            stack.down()


def _run(root: Path, *args: str) -> None:
    result = subprocess.run([sys.executable, *args], cwd=root, check=False)
    if result.returncode != 0:
        err.print(f"[bold red]benchmark step failed[/] ({' '.join(args[:2])}): {result.returncode}")
        raise typer.Exit(result.returncode)
