"""Where the real broker and database for a test run come from.

In order: KAFKA_BOOTSTRAP_SERVERS + DATABASE_URL from the environment; the running local
stack (.orderflow/stack.env, started by `orderflow up` / `make test`); testcontainers
when a Docker engine is reachable. Otherwise the tests fail: they never fall back to a
mock and never skip.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from orderflow_messaging.settings import adopt_login


class NoStackError(RuntimeError):
    pass


@dataclass(frozen=True)
class StackEndpoints:
    kafka_bootstrap: str
    database_url: str  # an admin (superuser) URL: tests create and drop schemas
    source: str


def _read_env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def _find_stack_env() -> Path | None:
    home = os.environ.get("ORDERFLOW_HOME")
    candidates = [Path(home)] if home else []
    candidates += [p / ".orderflow" for p in [Path.cwd(), *Path.cwd().parents]]
    for directory in candidates:
        if (directory / "stack.env").exists():
            return directory / "stack.env"
    return None


@contextmanager
def stack_endpoints() -> Iterator[StackEndpoints]:
    kafka, database = os.environ.get("KAFKA_BOOTSTRAP_SERVERS"), os.environ.get("DATABASE_URL")
    if kafka and database:
        yield StackEndpoints(kafka, database, "environment")
        return
    env_file = _find_stack_env()
    if env_file is not None:
        values = _read_env_file(env_file)
        adopt_login(values)  # the tests' clients log in as the stack's operator
        yield StackEndpoints(
            values["KAFKA_BOOTSTRAP_SERVERS"], values["DATABASE_URL"], str(env_file)
        )
        return
    if shutil.which("docker") and _docker_reachable():
        with _containers() as endpoints:
            yield endpoints
        return
    raise NoStackError(
        "no Kafka/PostgreSQL for the integration tests: run `make test` (it starts the "
        "local stack), `orderflow up`, or set KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL"
    )


def _docker_reachable() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env().ping()
        return True
    except Exception:
        return False


@contextmanager
def _containers() -> Iterator[StackEndpoints]:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer

    with ExitStack() as stack:
        kafka = stack.enter_context(KafkaContainer("confluentinc/cp-kafka:7.9.0").with_kraft())
        pg = stack.enter_context(PostgresContainer("postgres:17", driver=None))
        yield StackEndpoints(
            kafka.get_bootstrap_server(), pg.get_connection_url(), "testcontainers"
        )
