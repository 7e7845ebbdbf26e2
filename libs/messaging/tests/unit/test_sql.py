from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, Table, Text
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB

from orderflow_messaging.sql import insert_or_ignore

_table = Table(
    "things",
    MetaData(),
    Column("id", Text, primary_key=True),
    Column("offset", Integer),
    Column("data", JSONB),
)


def test_statement_names_every_column_and_the_conflict_target() -> None:
    statement = insert_or_ignore(_table, ["id", "offset", "data"], ["id"])
    sql = str(statement.compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]
    assert 'INSERT INTO things ("id", "offset", "data")' in sql
    assert 'ON CONFLICT ("id") DO NOTHING' in sql


def test_parameters_carry_the_column_types_and_the_statement_is_cacheable() -> None:
    statement = insert_or_ignore(_table, ["id", "data"], ["id"])
    types = {name: type(p.type) for name, p in statement._bindparams.items()}
    assert types == {"id": Text, "data": JSONB}
    assert statement._generate_cache_key() is not None
    assert insert_or_ignore(_table, ("id", "data"), ("id",)) is statement
