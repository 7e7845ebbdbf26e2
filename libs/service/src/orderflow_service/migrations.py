"""Alembic, run programmatically at service start (and by tests on a fresh schema).

A Postgres advisory lock serialises concurrent upgrades, so replicas of one service can
start together.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

from orderflow_messaging.db import create_engine

_MIGRATION_LOCK = 0x4F464D  # "OFM"


def upgrade(database_url: str, script_location: Path, *, search_path: str | None = None) -> None:
    """Upgrade to head (sync: Alembic's API; call via ``asyncio.to_thread`` from async code)."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["database_url"] = database_url
    config.attributes["search_path"] = search_path
    command.upgrade(config, "head")


def run_env(context: Any, target_metadata: MetaData | None = None) -> None:
    """The body of every service's ``migrations/env.py``."""
    config = context.config
    url: str = config.attributes["database_url"]
    search_path: str | None = config.attributes.get("search_path")

    def migrate(connection: Connection) -> None:
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_engine(url, search_path=search_path, pool_size=1)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(migrate)
        finally:
            await engine.dispose()

    asyncio.run(run())
