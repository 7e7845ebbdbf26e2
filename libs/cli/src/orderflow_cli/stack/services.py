"""The services as background OS processes, started after the infra: one each, or
``scale`` replicas of a service (``orderflow up --scale payment=3``).

Each gets the stack's connection settings through the environment: its own
``<SERVICE>_DATABASE_URL`` (its role, its schema), ``KAFKA_BOOTSTRAP_SERVERS`` and
``<SERVICE>_HTTP_PORT``. Anything else set in the caller's environment (for example
``ORDERS_STEP_TIMEOUT_S``) passes through. Replica ``n`` of a service listens on the
service's port + 100 * (n - 1), logs to ``<service>.<n>.log`` and identifies itself to
Kafka as ``<service>-<n>`` (``KAFKA_CLIENT_ID``), so the consumer group shows which
replica holds which partitions. The replicas of a service are one consumer group: a
replica beyond the partition count of its topics gets no partition and stands by.
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
from orderflow_messaging.settings import own_login

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
    name: str  # the service, or "<service>#<n>" for its replica n > 1
    state: str  # up | starting | down | crashed | not-installed
    address: str
    client_id: str = ""


def port(name: str, replica: int = 1) -> int:
    base = int(os.environ.get(f"{name.upper()}_HTTP_PORT", SERVICE_PORTS[name]))
    return base + 100 * (replica - 1)


def client_id(name: str, replica: int = 1) -> str:
    return f"{name}-{replica}"


def url(name: str, replica: int = 1) -> str:
    return f"http://127.0.0.1:{port(name, replica)}"


def installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def _pid_file(name: str, replica: int = 1) -> Path:
    directory = state_dir() / "services"
    directory.mkdir(exist_ok=True)
    return directory / (f"{name}.pid" if replica == 1 else f"{name}.{replica}.pid")


def _log_file(name: str, replica: int = 1) -> Path:
    return logs_dir() / (f"{name}.log" if replica == 1 else f"{name}.{replica}.log")


def replicas(name: str) -> list[int]:
    """The replicas of ``name`` that have a pid file (started, maybe since dead)."""
    found = [1] if _pid_file(name).exists() else []
    for path in (state_dir() / "services").glob(f"{name}.*.pid"):
        number = path.name.split(".")[1]
        if number.isdigit():
            found.append(int(number))
    return sorted(found)


def _http_ok(address: str, path: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(address + path, timeout=timeout) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


def start_all(
    settings: dict[str, str],
    *,
    scale: dict[str, int] | None = None,
    ready_timeout_s: float = 90.0,
) -> None:
    """Start every installed service (``scale[name]`` replicas of it; 1 by default) and
    stop the replicas beyond that count."""
    scale = scale or {}
    unknown = set(scale) - set(SERVICE_PORTS)
    if unknown:
        raise StackError(f"no such service to scale: {', '.join(sorted(unknown))}")
    started: list[tuple[str, int]] = []
    for name in (n for n in SERVICE_PORTS if installed(n)):
        wanted = scale.get(name, max(1, len(replicas(name))))
        for replica in range(1, wanted + 1):
            _start(name, settings, replica)
            started.append((name, replica))
        for extra in (r for r in replicas(name) if r > wanted):
            _stop(name, extra)
    deadline = time.monotonic() + ready_timeout_s
    for name, replica in started:
        while not _http_ok(url(name, replica), "/readyz"):
            if not process.alive(process.read_pid(_pid_file(name, replica))):
                tail = _log_file(name, replica).read_text(errors="replace")[-2500:]
                raise StackError(f"service {name} (replica {replica}) exited during start:\n{tail}")
            if time.monotonic() > deadline:
                raise StackError(f"service {name} not ready after {ready_timeout_s:.0f}s")
            time.sleep(0.3)


def _start(name: str, settings: dict[str, str], replica: int = 1) -> None:
    if process.alive(process.read_pid(_pid_file(name, replica))):
        return
    env = {
        **own_login({**os.environ, **settings}, name),
        f"{name.upper()}_DATABASE_URL": settings[f"{name.upper()}_DATABASE_URL"],
        f"{name.upper()}_HTTP_PORT": str(port(name, replica)),
        "KAFKA_CLIENT_ID": client_id(name, replica),
        "PYTHONUNBUFFERED": "1",
    }
    if name == "orders":
        # The saga console's actions check this bearer token; only orders has them.
        from orderflow_cli.admin import ensure_token

        env["ORDERS_ADMIN_TOKEN"] = ensure_token()
    process.spawn(
        [sys.executable, "-m", name],
        log_file=_log_file(name, replica),
        pid_file=_pid_file(name, replica),
        env=env,
    )


def _stop(name: str, replica: int) -> None:
    pid = process.read_pid(_pid_file(name, replica))
    if pid is not None and process.alive(pid):
        process.terminate(pid, grace_s=30.0)
    _pid_file(name, replica).unlink(missing_ok=True)


def stop_all() -> None:
    for name in reversed(list(SERVICE_PORTS)):
        for replica in sorted(set(replicas(name)) | {1}, reverse=True):
            _stop(name, replica)


def status_all() -> list[ServiceStatus]:
    rows = []
    for name in SERVICE_PORTS:
        for replica in replicas(name) or [1]:
            rows.append(_status(name, replica))
    return rows


def _status(name: str, replica: int) -> ServiceStatus:
    address = url(name, replica)
    pid = process.read_pid(_pid_file(name, replica))
    if not installed(name):
        state = "not-installed"
    elif pid is None:
        state = "down"
    elif not process.alive(pid):
        state = "crashed"
    else:
        state = "up" if _http_ok(address, "/healthz") else "starting"
    label = name if replica == 1 else f"{name}#{replica}"
    return ServiceStatus(label, state, address, client_id(name, replica))
