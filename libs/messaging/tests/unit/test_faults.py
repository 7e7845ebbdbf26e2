"""Which infrastructure faults mean "no database to talk to" (fail fast) and which are
conflicts worth trying again at once."""

from __future__ import annotations

import asyncpg

from orderflow_messaging.faults import is_infrastructure, unreachable


def _pg(cls: type[asyncpg.PostgresError]) -> asyncpg.PostgresError:
    return cls.new({"M": "x", "C": cls.sqlstate})  # type: ignore[no-any-return]


def test_lost_or_refused_connections_are_unreachable() -> None:
    for exc in (
        ConnectionRefusedError(),
        TimeoutError(),
        asyncpg.ConnectionDoesNotExistError("closed"),
        _pg(asyncpg.AdminShutdownError),
        _pg(asyncpg.CannotConnectNowError),
    ):
        assert is_infrastructure(exc)
        assert unreachable(exc), exc


def test_conflicts_are_infrastructure_but_reachable() -> None:
    for exc in (_pg(asyncpg.SerializationError), _pg(asyncpg.DeadlockDetectedError)):
        assert is_infrastructure(exc)
        assert not unreachable(exc), exc


def test_a_bug_is_neither() -> None:
    assert not unreachable(ValueError("bad input"))
    assert not unreachable(_pg(asyncpg.UniqueViolationError))
