"""The projection in a schema other than the live one: a rebuild writes a fresh schema
with this service's own table definition; a comparison reads any schema."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy.exc import DBAPIError

from history.adapters.repository import OrderHistoryRepository
from history.adapters.tables import metadata
from history.domain.projection import OrderHistory
from orderflow_messaging.db import create_engine

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class SchemaUnavailable(Exception):
    """The schema name is not plain, or the schema already exists."""


def check_name(schema: str) -> None:
    # The name is spliced into DDL: only plain identifiers.
    if not _NAME.match(schema):
        raise SchemaUnavailable(f"{schema!r} is not a plain lower-case schema name")


async def write_fresh(admin_url: str, schema: str, rows: Iterable[OrderHistory]) -> int:
    """Create ``schema`` (it must not exist: a rebuild never overwrites) with the
    order_history table, and insert ``rows``; all or nothing."""
    check_name(schema)
    engine = create_engine(admin_url, search_path=schema, pool_size=1)
    try:
        async with engine.begin() as conn:
            try:
                await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
            except DBAPIError as exc:
                raise SchemaUnavailable(f"cannot create schema {schema!r}: {exc.orig}") from exc
            await conn.run_sync(metadata.create_all)
            return await OrderHistoryRepository(conn).add_all(rows)
    finally:
        await engine.dispose()


async def read_all(database_url: str, schema: str) -> list[OrderHistory]:
    engine = create_engine(database_url, search_path=schema, pool_size=1)
    try:
        async with engine.connect() as conn:
            return await OrderHistoryRepository(conn).all()
    finally:
        await engine.dispose()
