"""Which failures are the infrastructure's (retry the batch later, never dead-letter)
rather than the message's."""

from __future__ import annotations

from typing import Any

import asyncpg
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

# Postgres SQLSTATEs that mean "try the same transaction again".
_RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03", "57P01", "57P02", "57P03", "53300"}


class InfrastructureUnavailable(Exception):
    """The database (or broker) failed underneath a handler; rewind and try later."""


def is_infrastructure(exc: BaseException) -> bool:
    """Faults of the database or network, not of this message."""
    if isinstance(exc, InfrastructureUnavailable | ConnectionError | TimeoutError):
        return True
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    # The hot path's own driver (asyncpg), unwrapped: a lost connection, a pool that
    # cannot connect, or a retryable SQLSTATE.
    if isinstance(exc, asyncpg.InterfaceError | asyncpg.PostgresConnectionError | OSError):
        return True
    if isinstance(exc, asyncpg.PostgresError):
        return exc.sqlstate in _RETRYABLE_SQLSTATES
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        return sqlstate(exc) in _RETRYABLE_SQLSTATES
    return False


# Of those, the ones that say "no database to talk to" (as opposed to a conflict with
# another transaction, which the same work may well win when tried again at once).
_CONFLICT_SQLSTATES = {"40001", "40P01", "55P03"}


def unreachable(exc: BaseException) -> bool:
    """The database or network cannot be reached (lost connection, refused, shutting
    down): trying more work on it right now only waits for the same timeout again."""
    if not is_infrastructure(exc):
        return False
    if isinstance(exc, asyncpg.PostgresError) and not isinstance(
        exc, asyncpg.PostgresConnectionError
    ):
        return exc.sqlstate not in _CONFLICT_SQLSTATES
    if isinstance(exc, DBAPIError) and not exc.connection_invalidated:
        return sqlstate(exc) not in _CONFLICT_SQLSTATES
    return True


def sqlstate(exc: DBAPIError) -> str | None:
    orig: Any = exc.orig
    for attr in ("sqlstate", "pgcode"):
        value = getattr(orig, attr, None)
        if isinstance(value, str):
            return value
    return None
