"""The local stack: Kafka + PostgreSQL (and later the services), started in the background.

``up`` is idempotent, ``down`` leaves no process behind, ``status`` tells a crash apart
from a stop. While up, ``.orderflow/stack.env`` holds the connection settings.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from orderflow_cli.paths import state_dir
from orderflow_cli.stack import kafka, kafka_access, postgres, provision, services
from orderflow_cli.stack.assignments import assignments, compact
from orderflow_cli.stack.kafka import KafkaConfig, StackError
from orderflow_cli.stack.postgres import PostgresConfig
from orderflow_messaging.settings import adopt_login, login_env

__all__ = ["ComponentStatus", "StackError", "down", "stack_env_path", "status", "up"]


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    state: str  # up | down | crashed | starting | external
    address: str
    partitions: str = ""  # a service replica's partitions, when asked for


def stack_env_path() -> Path:
    return state_dir() / "stack.env"


def _external_file() -> Path:
    return state_dir() / "external.json"


def up(
    *,
    kafka_bootstrap: str | None = None,
    database_url: str | None = None,
    with_services: bool = True,
    scale: dict[str, int] | None = None,
) -> dict[str, str]:
    """Start what is not running, provision roles, write stack.env, then (unless
    ``with_services`` is False) start every installed service; return the settings."""
    external = {"kafka": kafka_bootstrap, "database_url": database_url}
    _external_file().write_text(json.dumps(external))
    kconf, pconf = KafkaConfig(), PostgresConfig()
    if kafka_bootstrap is None:
        kafka.start(kconf)
    if database_url is None:
        postgres.start(pconf)
        database_url = pconf.url(postgres.SUPERUSER, postgres.superuser_password())
    settings = _provision(database_url, kafka_bootstrap or kconf.bootstrap)
    if kafka_bootstrap is None:  # an external broker's logins are its operator's business
        settings |= _kafka_logins(kconf)
    from orderflow_cli.admin import ensure_token

    ensure_token()
    _write_env(settings)
    if with_services:
        services.start_all(settings, scale=scale)
    return settings


def _provision(admin_url: str, bootstrap: str) -> dict[str, str]:
    passwords = provision.role_passwords()
    base, database = admin_url.rsplit("/", 1)
    database = database.split("?", 1)[0] or postgres.DATABASE
    asyncio.run(provision.ensure_database(admin_url, database))
    asyncio.run(provision.provision(admin_url, passwords))
    host = base.split("@", 1)[1]
    settings = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "DATABASE_URL": admin_url}
    for service in provision.SERVICES:
        role = provision.role_name(service)
        url = f"postgresql://{role}:{passwords[service]}@{host}/{database}"
        settings[f"{service.upper()}_DATABASE_URL"] = url
    return settings


def _kafka_logins(config: KafkaConfig) -> dict[str, str]:
    """Apply the ACLs; the settings of the tools' login (operator) and each
    service's password (``<SERVICE>_KAFKA_PASSWORD``, see ``settings.own_login``)."""
    passwords = kafka.credentials()
    asyncio.run(kafka_access.apply_acls(config.bootstrap, passwords[kafka_access.ADMIN]))
    logins = login_env(kafka_access.OPERATOR, passwords[kafka_access.OPERATOR])
    for principal in (kafka_access.UPSTREAM, *provision.SERVICES):
        logins[f"{principal.upper()}_KAFKA_PASSWORD"] = passwords[principal]
    return logins


def _write_env(settings: dict[str, str]) -> None:
    path = stack_env_path()
    path.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
    path.chmod(0o600)


def read_env() -> dict[str, str]:
    """The stack's settings. This process's Kafka clients log in as the operator from
    now on (unless ``KAFKA_SASL_*`` is already set): every caller is a tool."""
    path = stack_env_path()
    if not path.exists():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    settings = {key: value for key, value in pairs}
    adopt_login(settings)
    return settings


def down() -> None:
    """Stop what this stack started (services first); remove stack.env."""
    services.stop_all()
    kafka.stop()
    postgres.stop()
    stack_env_path().unlink(missing_ok=True)


def status(*, partitions: bool = False) -> list[ComponentStatus]:
    """Every component; with ``partitions``, each service replica's partitions as its
    consumer groups show them (empty: it holds none and stands by)."""
    external = _read_external()
    kconf, pconf = KafkaConfig(), PostgresConfig()
    rows = []
    if external.get("kafka"):
        rows.append(ComponentStatus("kafka", "external", str(external["kafka"])))
    else:
        rows.append(ComponentStatus("kafka", kafka.status(kconf), kconf.bootstrap))
    if external.get("database_url"):
        rows.append(ComponentStatus("postgres", "external", "(DATABASE_URL)"))
    else:
        rows.append(ComponentStatus("postgres", postgres.status(pconf), f"127.0.0.1:{pconf.port}"))
    held = _assignments(rows[0]) if partitions else {}
    rows.extend(
        ComponentStatus(
            svc.name, svc.state, svc.address,
            _partitions_of(svc, held) if partitions and svc.state == "up" else "",
        )
        for svc in services.status_all()
        if svc.state != "not-installed"
    )  # fmt: skip
    return rows


def _partitions_of(svc: services.ServiceStatus, held: dict[str, list[str]]) -> str:
    if not held:
        return ""  # the broker did not answer
    if svc.client_id not in held:
        return "-"  # no consumer (catalog), or not in its group yet
    return compact(held[svc.client_id]) or "none (stands by)"


def _assignments(kafka_row: ComponentStatus) -> dict[str, list[str]]:
    if kafka_row.state not in ("up", "external"):
        return {}
    from orderflow_cli.verify import consumer_groups

    try:
        return asyncio.run(assignments(kafka_row.address, consumer_groups()))
    except Exception:  # status must answer while the broker is busy or away
        return {}


def healthy(rows: list[ComponentStatus], *, infra_only: bool = False) -> bool:
    """Infra up (and, unless ``infra_only``, every service that was started)."""
    infra = {"kafka", "postgres"}
    considered = [r for r in rows if r.name in infra or (not infra_only and r.state != "down")]
    ok = all(row.state in ("up", "external") for row in considered)
    return ok and stack_env_path().exists()


def _read_external() -> dict[str, str | None]:
    path = _external_file()
    if not path.exists() or not stack_env_path().exists():
        return {}
    data: dict[str, str | None] = json.loads(path.read_text())
    return data


def as_dicts(rows: list[ComponentStatus]) -> list[dict[str, str]]:
    return [asdict(row) for row in rows]
