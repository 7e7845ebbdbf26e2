"""The saga batch store: PostgreSQL through asyncpg (one statement per table per batch),
and an in-memory fake that passes the same contract tests."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from orderflow_messaging.db import Connection
from orderflow_messaging.jsontext import json_text
from orderflow_messaging.write_plan import WritePlan
from orders import metrics
from orders.adapters.batch_writes import Write, apply_writes, held_versions
from orders.adapters.repository import ConcurrencyConflict, saga_data, saga_of
from orders.adapters.saga_cache import SagaCache
from orders.application.ports import HistoryRow
from orders.application.saga_batch import SagaBook
from orders.saga.state import Saga

_READ = """
    SELECT order_id, status, step, attempt, deadline, reason, data, version FROM sagas
    WHERE order_id = ANY($1::text[])
"""
_LOAD = _READ + " ORDER BY order_id FOR UPDATE"
_INSERT = """
    INSERT INTO sagas (order_id, status, step, attempt, deadline, reason, customer_id,
                       total_minor, currency, data, version)
    SELECT u.order_id, u.status, u.step, u.attempt, u.deadline, u.reason, u.customer_id,
           u.total_minor, u.currency, u.data::jsonb, u.version
    FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::timestamptz[], $6::text[],
                $7::text[], $8::bigint[], $9::text[], $10::text[], $11::int[])
         AS u(order_id, status, step, attempt, deadline, reason, customer_id, total_minor,
              currency, data, version)
    ON CONFLICT (order_id) DO NOTHING
"""
_UPDATE = """
    UPDATE sagas s SET status = u.status, step = u.step, attempt = u.attempt,
                       deadline = u.deadline, reason = u.reason, data = u.data::jsonb,
                       version = u.version, updated_at = now()
    FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::timestamptz[], $6::text[],
                $7::text[], $8::int[], $9::int[])
         AS u(order_id, status, step, attempt, deadline, reason, data, version, expected)
    WHERE s.order_id = u.order_id AND s.version = u.expected
"""
# The sagas a batch read and left as they were, still at the version read (locked, so a
# change committed meanwhile is seen: write_plan.py).
_HOLD = """
    SELECT 1 FROM sagas s
    JOIN unnest($1::text[], $2::int[]) AS u(order_id, version)
      ON s.order_id = u.order_id AND s.version = u.version
    FOR SHARE OF s
"""
_HISTORY = """
    INSERT INTO saga_history (order_id, at, kind, message_type, message_id, from_status,
                              to_status, step, commands, note)
    SELECT u.order_id, u.at, u.kind, u.message_type, u.message_id, u.from_status,
           u.to_status, u.step, u.commands::jsonb, u.note
    FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::uuid[], $6::text[],
                $7::text[], $8::text[], $9::text[], $10::text[]) WITH ORDINALITY
         AS u(order_id, at, kind, message_type, message_id, from_status, to_status, step,
              commands, note, n)
    ORDER BY u.n
"""


def _common(sagas: list[Saga]) -> list[list[object]]:
    return [
        [s.order_id for s in sagas],
        [s.status.value for s in sagas],
        [s.step.value if s.step else None for s in sagas],
        [s.attempt for s in sagas],
        [s.deadline for s in sagas],
        [s.reason for s in sagas],
    ]


class PgSagaStore:
    """In a transaction block (``plan`` None): the load locks, each write is a
    statement. For an optimistic batch: the load does not lock, and the writes are
    parts of ``plan``, each expecting what it must find (no saga started meanwhile,
    each saga read still at the version read). An optimistic batch takes sagas from
    ``cache`` when it has them and presumes ``starting`` ones new (its insert expects
    to meet no row): a batch of cached and new sagas makes no load at all."""

    def __init__(
        self, conn: Connection, plan: WritePlan | None = None, cache: SagaCache | None = None
    ) -> None:
        self._conn = conn
        self._plan = plan
        self._cache = cache

    async def load_for_update(
        self, order_ids: Sequence[str], starting: Collection[str] = ()
    ) -> SagaBook:
        if self._plan is None:
            if self._cache is not None:
                self._cache.forget(order_ids)  # the batch failed planned: trust the table
            return _book(await self._conn.fetch(_LOAD, list(order_ids)))
        sagas: dict[str, Saga] = {}
        missing: list[str] = []
        for order_id in order_ids:
            cached = self._cache.get(order_id) if self._cache is not None else None
            if cached is not None:
                sagas[order_id] = cached
            elif order_id not in starting:
                missing.append(order_id)
        if self._cache is not None:
            metrics.observe_saga_cache(hits=len(sagas), misses=len(missing))
        if missing:
            sagas.update(_book(await self._conn.fetch(_READ, missing)).sagas)
        return SagaBook(sagas)

    async def save(self, book: SagaBook) -> None:
        created = [book.sagas[o] for o in sorted(book.created)]
        changed = [book.sagas[o] for o in sorted(book.changed)]
        await apply_writes(self._conn, self._plan, (
            Write(_INSERT, _insert_args(created), len(created),
                  "a saga of this batch was started concurrently"),
            Write(_UPDATE, _update_args(book, changed), len(changed),
                  "a saga of this batch changed since it was loaded"),
            Write(_HOLD, *held_versions(book.loaded_versions, book.changed),
                  "a saga this batch read changed since it was loaded", hold=True),
            Write(_HISTORY, _history_args(book.history)),
        ))  # fmt: skip
        if self._plan is not None and self._cache is not None:
            # Kept now, before the commit: a pipelined consumer folds its next batch
            # while this one's statement runs, on top of what this one decided. Should
            # the plan not commit, the entries go (and so does any plan built on them).
            cache, sagas = self._cache, list(book.sagas.values())
            cache.keep(sagas)
            self._plan.if_abandoned(lambda: cache.forget(s.order_id for s in sagas))


def _book(rows: Sequence[Any]) -> SagaBook:
    return SagaBook({row["order_id"]: saga_of(row) for row in rows})


def _insert_args(sagas: list[Saga]) -> list[list[object]]:
    return [
        *_common(sagas),
        [s.order.customer_id for s in sagas],
        [s.order.total_minor for s in sagas],
        [s.order.currency for s in sagas],
        [json_text(saga_data(s)) for s in sagas],
        [s.version for s in sagas],
    ]


def _update_args(book: SagaBook, sagas: list[Saga]) -> list[list[object]]:
    return [
        *_common(sagas),
        [json_text(saga_data(s)) for s in sagas],
        [s.version for s in sagas],
        [book.loaded_versions[s.order_id] for s in sagas],
    ]


def _history_args(rows: list[HistoryRow]) -> list[list[object]]:
    return [
        [r.order_id for r in rows],
        [r.at for r in rows],
        [r.kind for r in rows],
        [r.message_type for r in rows],
        [r.message_id for r in rows],
        [r.from_status for r in rows],
        [r.to_status for r in rows],
        [r.step for r in rows],
        [json_text(r.commands) for r in rows],
        [r.note for r in rows],
    ]


@dataclass
class MemorySagaStore:
    """The fake: the same contract, held in a dict and a list."""

    sagas: dict[str, Saga] = field(default_factory=dict)
    history: list[HistoryRow] = field(default_factory=list)

    async def load_for_update(
        self, order_ids: Sequence[str], starting: Collection[str] = ()
    ) -> SagaBook:
        return SagaBook({o: self.sagas[o] for o in order_ids if o in self.sagas})

    async def save(self, book: SagaBook) -> None:
        if any(o in self.sagas for o in book.created):
            raise ConcurrencyConflict("a saga of this batch was started concurrently")
        for order_id, version in book.loaded_versions.items():
            current = self.sagas.get(order_id)
            if current is None or current.version != version:
                raise ConcurrencyConflict("a saga of this batch changed since it was loaded")
        for order_id in book.created | book.changed:
            self.sagas[order_id] = book.sagas[order_id]
        self.history.extend(book.history)
