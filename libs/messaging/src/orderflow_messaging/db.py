"""Async SQLAlchemy engines for services, with the settings reliable messaging relies on."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def async_url(url: str) -> str:
    """Accept ``postgresql://`` (as written in stack.env) and use the asyncpg driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


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
    timeouts bound every wait so that a stuck database surfaces as an error.
    """
    server_settings = {"application_name": application_name}
    if search_path:
        server_settings["search_path"] = search_path
    return create_async_engine(
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
