"""The real Apache Kafka broker (KRaft, one node) run from its Maven Central jars."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from orderflow_cli.paths import logs_dir, repo_root, state_dir
from orderflow_cli.stack import kafka_access, process
from orderflow_messaging.kafka import connection_options


class StackError(RuntimeError):
    """The local stack could not be brought to the requested state."""


@dataclass(frozen=True)
class KafkaConfig:
    port: int = int(os.environ.get("ORDERFLOW_KAFKA_PORT", "9092"))
    controller_port: int = int(os.environ.get("ORDERFLOW_KAFKA_CONTROLLER_PORT", "9093"))
    partitions: int = int(os.environ.get("ORDERFLOW_KAFKA_PARTITIONS", "4"))
    heap: str = os.environ.get("ORDERFLOW_KAFKA_HEAP", "512m")
    # Kafka's defaults: 7 days, segments rolled weekly, checked every 5 minutes.
    retention_ms: int = int(os.environ.get("ORDERFLOW_KAFKA_RETENTION_MS", "604800000"))
    segment_ms: int = int(os.environ.get("ORDERFLOW_KAFKA_SEGMENT_MS", "604800000"))
    retention_check_ms: int = int(os.environ.get("ORDERFLOW_KAFKA_RETENTION_CHECK_MS", "300000"))
    ready_timeout_s: float = 90.0

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"


def _home() -> Path:
    return state_dir() / "kafka"


def _pid_file() -> Path:
    return _home() / "kafka.pid"


def ensure_jars() -> Path:
    """Fetch the broker classpath once with Maven; reuse it while the pom is unchanged."""
    pom = repo_root() / "deploy" / "kafka" / "pom.xml"
    libs = _home() / "libs"
    stamp = libs / ".pom.sha256"
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return libs
    if shutil.which("mvn") is None or shutil.which("java") is None:
        raise StackError("Kafka needs Java 17+ and Maven on PATH (apt-get install maven)")
    if libs.exists():
        shutil.rmtree(libs)
    libs.mkdir(parents=True)
    cmd = [
        "mvn", "-B", "-q", "-ntp", "-f", str(pom),
        "dependency:copy-dependencies", "-DincludeScope=runtime",
        f"-DoutputDirectory={libs}",
    ]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise StackError(f"maven could not fetch the Kafka jars:\n{result.stdout}{result.stderr}")
    stamp.write_text(digest)
    return libs


def credentials() -> dict[str, str]:
    """Each principal's password on this broker (made on first use)."""
    return kafka_access.load_or_create_credentials(_home())


def _render_config(config: KafkaConfig, admin_password: str) -> Path:
    data_dir = _home() / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    template = (repo_root() / "deploy" / "kafka" / "server.properties.template").read_text()
    rendered = template.format(
        port=config.port,
        controller_port=config.controller_port,
        log_dirs=data_dir,
        partitions=config.partitions,
        retention_ms=config.retention_ms,
        segment_ms=config.segment_ms,
        retention_check_ms=config.retention_check_ms,
        admin_password=admin_password,
    )
    path = _home() / "server.properties"
    path.write_text(rendered)
    path.chmod(0o600)  # it holds the admin password
    return path


def _java(libs: Path, *args: str, heap: str = "256m") -> list[str]:
    log4j = repo_root() / "deploy" / "kafka" / "log4j2.xml"
    return [
        "java", f"-Xms{heap}", f"-Xmx{heap}", "-XX:+UseG1GC",
        f"-Dlog4j2.configurationFile={log4j}", f"-Dkafka.logs.dir={logs_dir() / 'kafka'}",
        "-cp", f"{libs}/*", *args,
    ]  # fmt: skip


def _format_storage(libs: Path, properties: Path, passwords: dict[str, str]) -> None:
    if (_home() / "data" / "meta.properties").exists():
        stamp = _home() / "data" / ".scram"
        missing = set(kafka_access.PRINCIPALS) - set(
            stamp.read_text().split() if stamp.exists() else ()
        )
        if missing:
            raise StackError(
                f"the broker data in {_home() / 'data'} was formatted without a login for "
                f"{', '.join(sorted(missing))} (SASL/SCRAM credentials are written when the "
                "storage is formatted). Remove that directory (its topics are lost) and run "
                "`orderflow up` again."
            )
        return
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    # "--cluster-id=<id>", not "-t <id>": an id may start with "-", which argparse would
    # take for an option (1 start in 64).
    cmd = _java(
        libs, "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}",
        "-c", str(properties), "--standalone", *kafka_access.scram_arguments(passwords),
    )  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise StackError(f"kafka storage format failed:\n{result.stdout}{result.stderr}")
    (_home() / "data" / ".scram").write_text(" ".join(kafka_access.PRINCIPALS))


def is_running() -> bool:
    return process.alive(process.read_pid(_pid_file()))


def start(config: KafkaConfig) -> None:
    if is_running():
        return
    if process.port_open("127.0.0.1", config.port):
        raise StackError(f"port {config.port} is taken by another process")
    libs = ensure_jars()
    passwords = credentials()
    properties = _render_config(config, passwords[kafka_access.ADMIN])
    _format_storage(libs, properties, passwords)
    (logs_dir() / "kafka").mkdir(exist_ok=True)
    cmd = _java(libs, "kafka.Kafka", str(properties), heap=config.heap)
    process.spawn(cmd, log_file=logs_dir() / "kafka.out", pid_file=_pid_file())
    wait_ready(config)


def wait_ready(config: KafkaConfig) -> None:
    """Ready means a metadata request from the Python client succeeds."""
    deadline = time.monotonic() + config.ready_timeout_s
    while time.monotonic() < deadline:
        if not is_running():
            tail = (logs_dir() / "kafka.out").read_text(errors="replace")[-3000:]
            raise StackError(f"the Kafka broker exited during start:\n{tail}")
        if process.port_open("127.0.0.1", config.port) and asyncio.run(_metadata_ok(config)):
            return
        time.sleep(0.5)
    raise StackError(f"Kafka not ready after {config.ready_timeout_s:.0f}s (see .orderflow/logs)")


async def _metadata_ok(config: KafkaConfig) -> bool:
    admin_login = kafka_access.login(
        config.bootstrap, kafka_access.ADMIN, credentials()[kafka_access.ADMIN]
    )
    admin = AIOKafkaAdminClient(**connection_options(admin_login), request_timeout_ms=5000)
    try:
        await asyncio.wait_for(admin.start(), 10)
        await asyncio.wait_for(admin.describe_cluster(), 10)
        return True
    except Exception:
        return False
    finally:
        await admin.close()


def stop() -> None:
    pid = process.read_pid(_pid_file())
    if pid is not None and process.alive(pid):
        process.terminate(pid, grace_s=30.0)
    _pid_file().unlink(missing_ok=True)


def status(config: KafkaConfig) -> str:
    """'up', 'down' (never started or stopped) or 'crashed' (pid file but no process)."""
    pid = process.read_pid(_pid_file())
    if pid is None:
        return "down"
    if not process.alive(pid):
        return "crashed"
    return "up" if process.port_open("127.0.0.1", config.port) else "starting"
