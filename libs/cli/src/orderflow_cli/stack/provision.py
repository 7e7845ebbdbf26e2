"""One schema and one login role per service; each role owns only its own schema.

A service connects as ``orderflow_<service>`` whose ``search_path`` is its schema, so
unqualified table names land there and another service's tables are out of reach
(no USAGE on foreign schemas). No application role is a superuser.
"""

from __future__ import annotations

import importlib.resources
import json
import secrets
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

import asyncpg

from orderflow_cli.paths import state_dir
from orderflow_contracts.catalogue import SERVICES as CATALOGUE_SERVICES

# One role and schema per service of the topic catalogue (the single list of services).
SERVICES = CATALOGUE_SERVICES


def role_name(service: str) -> str:
    return f"orderflow_{service}"


def _passwords_file() -> Path:
    return state_dir() / "postgres" / "roles.json"


def role_passwords() -> dict[str, str]:
    path = _passwords_file()
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    changed = False
    for service in SERVICES:
        if service not in stored:
            stored[service] = secrets.token_urlsafe(18)
            changed = True
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(stored, indent=2))
        path.chmod(0o600)
    return stored


async def ensure_database(admin_url: str, database: str) -> None:
    conn = await asyncpg.connect(admin_url.rsplit("/", 1)[0] + "/postgres", timeout=10)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()


async def provision(admin_url: str, passwords: dict[str, str]) -> None:
    conn = await asyncpg.connect(admin_url, timeout=10)
    try:
        await conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        for service in SERVICES:
            await _provision_service(conn, service, passwords[service])
    finally:
        await conn.close()


async def _provision_service(conn: asyncpg.Connection, service: str, password: str) -> None:
    role = role_name(service)
    exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
    verb = "ALTER" if exists else "CREATE"
    # Identifiers come from the fixed SERVICES list; the password is a literal we quote.
    quoted = password.replace("'", "''")
    await conn.execute(
        f"{verb} ROLE {role} LOGIN PASSWORD '{quoted}' "
        "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
    )
    await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {service} AUTHORIZATION {role}")
    await conn.execute(f"ALTER SCHEMA {service} OWNER TO {role}")
    await conn.execute(f"REVOKE ALL ON SCHEMA {service} FROM PUBLIC")
    await conn.execute(f"ALTER ROLE {role} SET search_path = {service}")


# A deployment's migration job: the passwords come from its secrets, one per service.
PASSWORD_ENV = "ORDERFLOW_DB_PASSWORD_{}"  # noqa: S105 - a variable name, not a password


def passwords_from_env(environ: Mapping[str, str]) -> dict[str, str]:
    """Every service's role password from ``ORDERFLOW_DB_PASSWORD_<SERVICE>``; raises
    ``ValueError`` naming the missing variables."""
    names = {service: PASSWORD_ENV.format(service.upper()) for service in SERVICES}
    missing = [name for name in names.values() if not environ.get(name)]
    if missing:
        raise ValueError(f"no password for: {', '.join(missing)}")
    return {service: environ[name] for service, name in names.items()}


def service_url(admin_url: str, service: str, password: str) -> str:
    """The URL a service connects with: its own role on the admin URL's server/database."""
    credentials_and_host, database = admin_url.rsplit("/", 1)
    host = credentials_and_host.split("@", 1)[1]
    return f"postgresql://{role_name(service)}:{quote(password, safe='')}@{host}/{database}"


def migrate_all(admin_url: str, passwords: Mapping[str, str]) -> None:
    """Run every service's migrations as its own role (each owns its schema)."""
    from orderflow_service.migrations import upgrade

    for service in SERVICES:
        migrations = Path(str(importlib.resources.files(service) / "migrations"))
        upgrade(service_url(admin_url, service, passwords[service]), migrations)
