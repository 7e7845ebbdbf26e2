"""Database access for services: a SQLAlchemy engine (admin, reads, timers, HTTP) and,
for the consumer hot path, an asyncpg pool with the same connection settings.

The hot path runs a handful of set-based statements per consumer batch; SQLAlchemy's
per-statement work (compile-cache lookup, parameter and result processing) cost more CPU
than PostgreSQL itself there (docs/performance.md), so those statements go straight to
asyncpg, whose statement cache prepares each one once per connection.
"""

from __future__ import annotations

import json
import weakref
from dataclasses import dataclass, field

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from orderflow_messaging.jsontext import json_text

# A hot-path connection: a pooled asyncpg connection (or a bare one, in tests).
Connection = asyncpg.Connection | PoolConnectionProxy

# The asyncpg pool of each engine, created on first use inside the running loop.
_POOLS: weakref.WeakKeyDictionary[AsyncEngine, HotPool] = weakref.WeakKeyDictionary()


def async_url(url: str) -> str:
    """Accept ``postgresql://`` (as written in stack.env) and use the asyncpg driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def plain_url(url: str) -> str:
    """The libpq form asyncpg takes (no ``+driver``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_engine(
    url: str,
    *,
    search_path: str | None = None,
    pool_size: int = 5,
    application_name: str = "orderflow",
    command_timeout_s: float = 30.0,
) -> AsyncEngine:
    """An engine whose pool survives a database restart and never waits forever.

    ``pool_pre_ping`` drops connections a restart killed; the connect and command
    timeouts bound every wait so that a stuck database surfaces as an error. The
    engine's hot-path pool (``hot_pool``) gets the same settings.
    """
    server_settings = {"application_name": application_name}
    if search_path:
        server_settings["search_path"] = search_path
    engine = create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
        pool_timeout=30,
        connect_args={
            "server_settings": server_settings,
            "timeout": 10,
            "command_timeout": command_timeout_s,
        },
    )
    _POOLS[engine] = HotPool(
        dsn=plain_url(url),
        server_settings=dict(server_settings),
        max_size=2 * pool_size,
        command_timeout_s=command_timeout_s,
    )
    return engine


def rows_affected(status: str) -> int:
    """The row count of an asyncpg command status (``"INSERT 0 12"``, ``"UPDATE 3"``)."""
    return int(status.rsplit(" ", 1)[-1])


async def _init_connection(conn: asyncpg.Connection) -> None:
    """JSON and JSONB as Python data (asyncpg's default is text)."""
    for name in ("json", "jsonb"):
        await conn.set_type_codec(
            name, encoder=json_text, decoder=json.loads, schema="pg_catalog", format="text"
        )


async def _keep_session(conn: Connection) -> None:
    """asyncpg's default reset on release is a round trip per transaction (advisory
    unlock, CLOSE ALL, UNLISTEN *, RESET ALL). The hot path leaves no session state:
    the relay's listener removes itself, and the relay (the one user of a session
    setting) unlocks its session advisory locks and resets its setting before its
    connection goes back (or terminates the connection). asyncpg still rolls back an
    open transaction and drops client-side listeners before calling this."""
    del conn


@dataclass
class HotPool:
    """An asyncpg pool opened on first use (nothing does I/O at construction)."""

    dsn: str
    server_settings: dict[str, str]
    max_size: int
    command_timeout_s: float
    _pool: asyncpg.Pool | None = field(default=None, repr=False)

    async def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            # asyncpg awaits ``reset``; its stub types it as a plain function.
            self._pool = await asyncpg.create_pool(  # type: ignore[call-overload]
                self.dsn,
                min_size=1,
                max_size=self.max_size,
                server_settings=self.server_settings,
                command_timeout=self.command_timeout_s,
                timeout=10,
                init=_init_connection,
                reset=_keep_session,
                # Idle connections are closed, so one a restart killed does not linger.
                max_inactive_connection_lifetime=300,
            )
        return self._pool

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()


def hot_pool(engine: AsyncEngine) -> HotPool:
    """The asyncpg pool that goes with an engine made by ``create_engine``."""
    try:
        return _POOLS[engine]
    except KeyError:
        raise ValueError("engine was not made by orderflow_messaging.db.create_engine") from None


async def dispose(engine: AsyncEngine) -> None:
    """Close the engine's pool and its hot-path pool."""
    pooled = _POOLS.get(engine)
    if pooled is not None:
        await pooled.close()
    await engine.dispose()
