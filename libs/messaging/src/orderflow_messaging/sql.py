"""Statements SQLAlchemy cannot cache, written so that it can.

SQLAlchemy 2.0 never caches a PostgreSQL ``insert(...).on_conflict_do_nothing()`` (its
dialect ``Insert`` sets ``inherit_cache = False``), so every execution compiles it again:
about a millisecond of CPU, once per message on the hot path (docs/performance.md).
A ``text()`` statement with typed bind parameters is cached like any other.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from sqlalchemy import Table, bindparam, text
from sqlalchemy.sql.elements import TextClause


def insert_or_ignore(table: Table, columns: Iterable[str], conflict: Iterable[str]) -> TextClause:
    """``INSERT INTO table (columns) VALUES (...) ON CONFLICT (conflict) DO NOTHING``;
    execute it with a dict of exactly ``columns``. Each parameter carries its column's
    type (JSONB, timestamps, bytes are bound as the table declares them). Unlike
    ``insert()``, it applies no Python-side column ``default=``: the columns left out
    get the database's defaults."""
    return _insert_or_ignore(table, tuple(columns), tuple(conflict))


@lru_cache(maxsize=256)
def _insert_or_ignore(
    table: Table, columns: tuple[str, ...], conflict: tuple[str, ...]
) -> TextClause:
    names = ", ".join(f'"{c}"' for c in columns)
    values = ", ".join(f":{c}" for c in columns)
    keys = ", ".join(f'"{c}"' for c in conflict)
    statement = text(
        f"INSERT INTO {table.name} ({names}) VALUES ({values}) "  # noqa: S608 - names from the Table
        f"ON CONFLICT ({keys}) DO NOTHING"
    )
    return statement.bindparams(*(bindparam(c, type_=table.c[c].type) for c in columns))
