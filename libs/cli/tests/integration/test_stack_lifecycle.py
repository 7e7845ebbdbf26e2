"""`orderflow up/status/down` on a second, private stack (own ports, own state dir)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from orderflow_testing.chaos_env import Ports

ORDERFLOW = str(Path(sys.executable).with_name("orderflow"))


@pytest.fixture
def private_stack(tmp_path: Path) -> dict[str, str]:
    # 50 above a chaos cluster's ports (which make test runs next, and which a developer
    # may run alongside), below the ephemeral range.
    ports = Ports()
    env = {
        **os.environ,
        "ORDERFLOW_HOME": str(tmp_path / "state"),
        "ORDERFLOW_KAFKA_PORT": str(ports.kafka + 50),
        "ORDERFLOW_KAFKA_CONTROLLER_PORT": str(ports.controller + 50),
        "ORDERFLOW_PG_PORT": str(ports.postgres + 50),
    }
    yield env
    subprocess.run([ORDERFLOW, "down"], env=env, capture_output=True, timeout=120, check=False)


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ORDERFLOW, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def components(env: dict[str, str]) -> dict[str, str]:
    """Kafka and PostgreSQL (the services are not started by `up --infra-only`)."""
    result = cli(env, "status", "--json")
    rows = json.loads(result.stdout)["components"]
    return {c["name"]: c["state"] for c in rows if c["name"] in ("kafka", "postgres")}


def processes_of(state_dir: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if state_dir in cmdline:
            found.append(proc)
    return found


def test_up_status_crash_and_down(private_stack: dict[str, str]) -> None:
    env = private_stack
    state = env["ORDERFLOW_HOME"]
    assert cli(env, "status", "--quiet", "--infra-only").returncode == 1

    started = time.monotonic()
    first = cli(env, "up", "--infra-only")
    assert first.returncode == 0, first.stderr + first.stdout
    assert time.monotonic() - started < 120
    assert components(env) == {"kafka": "up", "postgres": "up"}
    stack_env = (Path(state) / "stack.env").read_text()
    assert f"KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:{env['ORDERFLOW_KAFKA_PORT']}" in stack_env
    assert "DATABASE_URL=postgresql://" in stack_env
    assert "INVENTORY_DATABASE_URL=postgresql://orderflow_inventory:" in stack_env

    again = cli(env, "up", "--infra-only")
    assert again.returncode == 0
    assert "Kafka" not in again.stderr

    kafka_pid = int((Path(state) / "kafka" / "kafka.pid").read_text())
    os.kill(kafka_pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while psutil.pid_exists(kafka_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert components(env)["kafka"] == "crashed"
    assert cli(env, "status", "--infra-only").returncode == 1

    down = cli(env, "down")
    assert down.returncode == 0, down.stderr
    assert components(env) == {"kafka": "down", "postgres": "down"}
    assert processes_of(state) == []
    assert not (Path(state) / "stack.env").exists()
