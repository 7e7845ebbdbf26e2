"""pytest plugin: real-infrastructure fixtures for every orderflow test suite.

Integration tests are marked ``integration``. With ORDERFLOW_REQUIRE_STACK=1 (what
`make test` sets) a skipped integration test fails the run: a green run must mean the
broker and database tests really executed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy.ext.asyncio import AsyncEngine

from orderflow_messaging.db import create_engine, dispose
from orderflow_messaging.kafka import client_options
from orderflow_messaging.tables import create_messaging_tables
from orderflow_service.migrations import upgrade
from orderflow_testing.stack import StackEndpoints, stack_endpoints


@pytest.fixture(scope="session")
def stack() -> Iterator[StackEndpoints]:
    with stack_endpoints() as endpoints:
        yield endpoints


@pytest.fixture(scope="session")
def kafka_bootstrap(stack: StackEndpoints) -> str:
    return stack.kafka_bootstrap


@pytest.fixture(scope="session")
def admin_database_url(stack: StackEndpoints) -> str:
    return stack.database_url


TopicFactory = Callable[..., Any]


@pytest.fixture
async def new_topic(kafka_bootstrap: str) -> AsyncIterator[TopicFactory]:
    """Create fresh, uniquely named topics (and their .dlq) for one test."""
    admin = AIOKafkaAdminClient(**client_options(kafka_bootstrap), request_timeout_ms=15000)
    await admin.start()
    created: list[str] = []

    async def create(prefix: str = "t", partitions: int = 3, with_dlq: bool = True) -> str:
        name = f"test.{prefix}.{uuid.uuid4().hex[:10]}"
        names = [name, f"{name}.dlq"] if with_dlq else [name]
        await admin.create_topics(
            [NewTopic(n, num_partitions=partitions, replication_factor=1) for n in names]
        )
        created.extend(names)
        return name

    try:
        yield create
    finally:
        if created:
            # Cleanup is best effort: the names are unique anyway.
            with contextlib.suppress(Exception):
                await admin.delete_topics(created)
        await admin.close()


@dataclass(frozen=True)
class SchemaDatabase:
    engine: AsyncEngine
    schema: str
    url: str


@pytest.fixture
async def messaging_db(admin_database_url: str) -> AsyncIterator[SchemaDatabase]:
    """A fresh schema holding the messaging tables, and an engine on it; dropped afterwards."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_database_url, pool_size=1)
    async with admin.begin() as conn:
        await conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine = create_engine(admin_database_url, search_path=schema, pool_size=8)
    async with engine.begin() as conn:
        await conn.run_sync(create_messaging_tables)
    try:
        yield SchemaDatabase(engine, schema, admin_database_url)
    finally:
        await dispose(engine)
        async with admin.begin() as conn:
            await conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        await admin.dispose()


MigratedSchema = Callable[[Path], Awaitable[SchemaDatabase]]


@pytest.fixture
async def migrated_schema(admin_database_url: str) -> AsyncIterator[MigratedSchema]:
    """Factory: a fresh schema upgraded with a service's Alembic migrations."""
    made: list[SchemaDatabase] = []

    async def make(migrations: Path) -> SchemaDatabase:
        schema = f"test_{uuid.uuid4().hex[:12]}"
        admin = create_engine(admin_database_url, pool_size=1)
        async with admin.begin() as conn:
            await conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        await admin.dispose()
        await asyncio.to_thread(upgrade, admin_database_url, migrations, search_path=schema)
        engine = create_engine(admin_database_url, search_path=schema, pool_size=20)
        made.append(SchemaDatabase(engine, schema, admin_database_url))
        return made[-1]

    yield make
    admin = create_engine(admin_database_url, pool_size=1)
    for db in made:
        await dispose(db.engine)
        async with admin.begin() as conn:
            await conn.exec_driver_sql(f"DROP SCHEMA {db.schema} CASCADE")
    await admin.dispose()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    del config
    for item in items:
        # Tests under integration/ or e2e/ need the real broker and database.
        if {"integration", "e2e"} & set(str(item.path).split(os.sep)):
            item.add_marker(pytest.mark.integration)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if (
        os.environ.get("ORDERFLOW_REQUIRE_STACK") == "1"
        and report.skipped
        and item.get_closest_marker("integration") is not None
    ):
        report.outcome = "failed"
        report.longrepr = f"integration test skipped under ORDERFLOW_REQUIRE_STACK=1: {call}"
