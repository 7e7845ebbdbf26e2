"""A consumer batch's writes as ONE statement: the optimistic batch.

A batch in a transaction block costs a round trip per statement: BEGIN, inbox claim,
load ... FOR UPDATE, each write, the outbox insert, COMMIT (eight for the coordinator).
Under load every round trip is also a wait for a core, on both sides. The optimistic
batch does the same work in two: the load, without locks and outside a transaction
block; then every write of the batch (inbox claim, the handler's tables, outbox) as the
parts of one statement, which PostgreSQL runs, and commits, atomically.

Nothing was locked between the two, so each part states what it must find: the inbox
claim inserts every message of the batch (none was seen before), an update finds each
row at the version it was loaded with, an insert of a new row meets no row of that key;
and no key of the batch is parked. When any expectation fails (a duplicate delivery, a
concurrent change by a timer or an operator, a parked key) the statement raises and is
rolled back whole, nothing of it is visible, and the consumer runs the batch again in a
transaction block with its rows locked (``WriteConflict``). Rare by construction: a
partition has one consumer, and a key's messages come in order.

The parts are data-modifying CTEs, so they share one snapshot and do not see each
other's rows: a part may not depend on another's effect (the handlers write each table
once per batch, from the state they loaded and folded in memory).

A row the batch read and decided from but does not write is held (``hold``): a
``SELECT ... FOR SHARE`` part that must find it still at the version read. Without it a
change committed between the load and the plan (a timer's, an operator's) would go
unseen by a message the stale state told the handler to ignore.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg

from orderflow_messaging.db import Connection

_PARAMETER = re.compile(r"\$(\d+)")


class WriteConflict(Exception):
    """An expectation of the batch's statement failed: nothing was written; run the
    batch again with its rows locked."""


@dataclass(frozen=True, slots=True)
class _Part:
    sql: str
    args: tuple[object, ...]
    expect: int | None
    returning: bool = True


@dataclass
class WritePlan:
    """The writes of one batch, run as one statement by ``execute``."""

    _parts: list[_Part] = field(default_factory=list)
    _guards: list[_Part] = field(default_factory=list)
    _committed: list[Callable[[], None]] = field(default_factory=list)
    _abandoned: list[Callable[[], None]] = field(default_factory=list)

    def add(self, sql: str, *args: object, expect: int | None = None) -> None:
        """A data-modifying statement (``INSERT``/``UPDATE``/``DELETE`` without
        ``RETURNING``) with its own ``$1..$n``. With ``expect``, it must affect exactly
        that many rows, or the whole plan is rolled back (``WriteConflict``)."""
        self._parts.append(_Part(sql.strip(), args, expect))

    def hold(self, sql: str, *args: object, expect: int) -> None:
        """A ``SELECT ... FOR SHARE`` (own ``$1..$n``) of rows the batch read and does not
        write, each at the version read: it must find exactly ``expect`` rows, or the
        whole plan is rolled back. The lock makes a concurrent change either visible to
        the check (PostgreSQL re-reads a row changed meanwhile) or wait for the commit."""
        self._parts.append(_Part(sql.strip(), args, expect, returning=False))

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the plan's statement has committed (not on a conflict
        or any failure): e.g. to keep what the batch wrote in a cache."""
        self._committed.append(callback)

    def if_abandoned(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` if the plan will not commit: its statement failed (a conflict
        or any error), or the consumer dropped it unrun (``abandon``). E.g. to forget
        what a cache was told ahead of the commit."""
        self._abandoned.append(callback)

    def abandon(self) -> None:
        """The plan will not run (or did not commit): the ``if_abandoned`` callbacks, once."""
        callbacks, self._abandoned, self._committed = self._abandoned, [], []
        for callback in callbacks:
            callback()

    def require(self, condition: str, *args: object) -> None:
        """A boolean SQL expression (own ``$1..$n``) that must hold for the plan to
        commit, evaluated in the statement's snapshot."""
        self._guards.append(_Part(condition.strip(), args, None))

    def __len__(self) -> int:
        return len(self._parts)

    def statement(self) -> tuple[str, list[object]]:
        """The statement text and its arguments. The text depends only on the parts'
        texts and order, so asyncpg prepares it once per connection."""
        args: list[object] = []
        ctes: list[str] = []
        checks: list[str] = []
        for n, part in enumerate(self._parts):
            sql = _renumber(part.sql, len(args))
            args.extend(part.args)
            if part.expect is None:
                ctes.append(f"w{n} AS ({sql})")
                continue
            ctes.append(f"w{n} AS ({sql} RETURNING 1)" if part.returning else f"w{n} AS ({sql})")
            args.append(part.expect)
            checks.append(f"(SELECT count(*) FROM w{n}) = ${len(args)}::bigint")  # noqa: S608
        for guard in self._guards:
            checks.append(f"({_renumber(guard.sql, len(args))})")
            args.extend(guard.args)
        condition = " AND ".join(checks) or "true"
        # A division by zero when an expectation fails: the statement, and with it every
        # part, is rolled back. (The CASE depends on the parts' results, so PostgreSQL
        # cannot fold it at planning; a constant error expression would be.)
        body = f"SELECT 1 / (CASE WHEN {condition} THEN 1 ELSE 0 END)"
        if not ctes:
            return body, args
        return "WITH " + ",\n".join(ctes) + "\n" + body, args

    async def execute(self, conn: Connection) -> None:
        """Run the plan as one statement (its own transaction, when ``conn`` is not in a
        transaction block); ``WriteConflict`` when an expectation failed."""
        sql, args = self.statement()
        try:
            await conn.fetchval(sql, *args)
        except asyncpg.DivisionByZeroError as exc:
            self.abandon()
            raise WriteConflict("a row of the batch changed since it was loaded") from exc
        except BaseException:
            self.abandon()
            raise
        committed, self._committed, self._abandoned = self._committed, [], []
        for callback in committed:
            callback()


def _renumber(sql: str, offset: int) -> str:
    if not offset:
        return sql
    return _PARAMETER.sub(lambda m: f"${int(m.group(1)) + offset}", sql)
