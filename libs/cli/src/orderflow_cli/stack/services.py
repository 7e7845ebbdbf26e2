"""The six services as background OS processes (one each), started after the infra.

Each gets the stack's connection settings through the environment: its own
``<SERVICE>_DATABASE_URL`` (its role, its schema), ``KAFKA_BOOTSTRAP_SERVERS`` and
``<SERVICE>_HTTP_PORT``. Anything else set in the caller's environment (for example
``ORDERS_STEP_TIMEOUT_S``) passes through.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from orderflow_cli.paths import logs_dir, state_dir
from orderflow_cli.stack import process
from orderflow_cli.stack.kafka import StackError

# Start order: producers of reference data first, the coordinator before its clients.
SERVICE_PORTS: dict[str, int] = {
    "catalog": 8001,
    "inventory": 8004,
    "payment": 8005,
    "shipping": 8006,
    "orders": 8003,
    "history": 8007,
    "checkout": 8002,
}


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    state: str  # up | starting | down | crashed | not-installed
    address: str


def port(name: str) -> int:
    return int(os.environ.get(f"{name.upper()}_HTTP_PORT", SERVICE_PORTS[name]))


def url(name: str) -> str:
    return f"http://127.0.0.1:{port(name)}"


def installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def _pid_file(name: str) -> Path:
    directory = state_dir() / "services"
    directory.mkdir(exist_ok=True)
    return directory / f"{name}.pid"


def _http_ok(address: str, path: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(address + path, timeout=timeout) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


def start_all(settings: dict[str, str], *, ready_timeout_s: float = 90.0) -> None:
    names = [n for n in SERVICE_PORTS if installed(n)]
    for name in names:
        _start(name, settings)
    deadline = time.monotonic() + ready_timeout_s
    for name in names:
        while not _http_ok(url(name), "/readyz"):
            if not process.alive(process.read_pid(_pid_file(name))):
                tail = (logs_dir() / f"{name}.log").read_text(errors="replace")[-2500:]
                raise StackError(f"service {name} exited during start:\n{tail}")
            if time.monotonic() > deadline:
                raise StackError(f"service {name} not ready after {ready_timeout_s:.0f}s")
            time.sleep(0.3)


def _start(name: str, settings: dict[str, str]) -> None:
    if process.alive(process.read_pid(_pid_file(name))):
        return
    env = {
        **os.environ,
        **settings,
        f"{name.upper()}_DATABASE_URL": settings[f"{name.upper()}_DATABASE_URL"],
        f"{name.upper()}_HTTP_PORT": str(port(name)),
        "PYTHONUNBUFFERED": "1",
    }
    if name == "orders":
        # The saga console's actions check this bearer token; only orders has them.
        from orderflow_cli.admin import ensure_token

        env["ORDERS_ADMIN_TOKEN"] = ensure_token()
    process.spawn(
        [sys.executable, "-m", name],
        log_file=logs_dir() / f"{name}.log",
        pid_file=_pid_file(name),
        env=env,
    )


def stop_all() -> None:
    for name in reversed(list(SERVICE_PORTS)):
        pid = process.read_pid(_pid_file(name))
        if pid is not None and process.alive(pid):
            process.terminate(pid, grace_s=30.0)
        _pid_file(name).unlink(missing_ok=True)


def status_all() -> list[ServiceStatus]:
    rows = []
    for name in SERVICE_PORTS:
        address = url(name)
        pid = process.read_pid(_pid_file(name))
        if not installed(name):
            state = "not-installed"
        elif pid is None:
            state = "down"
        elif not process.alive(pid):
            state = "crashed"
        else:
            state = "up" if _http_ok(address, "/healthz") else "starting"
        rows.append(ServiceStatus(name, state, address))
    return rows
