"""`orderflow provision`, the deployments' migration job: on a database of its own it
creates every service's schema and runs its migrations as that service's role, twice
without harm; without every password it refuses and names what is missing."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from orderflow_cli.stack import provision

ORDERFLOW = Path(sys.executable).parent / "orderflow"  # the installed console script


def run_job(admin_url: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ORDERFLOW), "provision", "--database-url", admin_url],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


async def test_the_job_provisions_and_migrates_a_fresh_database(admin_database_url: str) -> None:
    database = f"orderflow_job_{uuid.uuid4().hex[:8]}"
    url = make_url(admin_database_url).set(drivername="postgresql", database=database)
    admin_url = url.render_as_string(hide_password=False)
    # The roles are the server's, shared with the running stack: keep their passwords.
    passwords = provision.role_passwords()
    env = {provision.PASSWORD_ENV.format(s.upper()): p for s, p in passwords.items()}
    try:
        for _ in range(2):
            done = run_job(admin_url, env)
            assert done.returncode == 0, done.stdout + done.stderr
        conn = await asyncpg.connect(admin_url)
        try:
            for service in provision.SERVICES:
                # service names come from the fixed list
                head = await conn.fetchval(f"SELECT version_num FROM {service}.alembic_version")  # noqa: S608
                assert head, service
                owner = await conn.fetchval(
                    "SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = $1", service
                )
                assert owner == provision.role_name(service)
        finally:
            await conn.close()
    finally:
        postgres = await asyncpg.connect(admin_database_url.rsplit("/", 1)[0] + "/postgres")
        try:
            await postgres.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await postgres.close()


def test_the_job_names_the_missing_passwords(admin_database_url: str) -> None:
    done = run_job(admin_database_url, {provision.PASSWORD_ENV.format("PAYMENT"): "x"})
    assert done.returncode == 2
    assert "ORDERFLOW_DB_PASSWORD_ORDERS" in done.stdout + done.stderr
