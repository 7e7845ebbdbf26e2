"""One schema and one login role per service; each role owns only its own schema.

A service connects as ``orderflow_<service>`` whose ``search_path`` is its schema, so
unqualified table names land there and another service's tables are out of reach
(no USAGE on foreign schemas). No application role is a superuser.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

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
