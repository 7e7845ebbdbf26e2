"""The payment batch store: PostgreSQL through asyncpg (one statement per table per
batch, plus one per round for the pending keys), and an in-memory fake that passes the
same contract tests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from orderflow_messaging.db import Connection, HotPool
from orderflow_messaging.jsontext import json_text
from payment.adapters.idempotency import KeyedRequest, KeyState, StoredKey
from payment.adapters.repository import ORDER_LOCK
from payment.application.book import PaymentBook
from payment.domain.model import Call, Payment, PaymentStatus

# The same lock as PaymentRepository.lock_order (the timer's), taken for every order of
# the batch in the order given (sorted), so that batches never deadlock each other.
_LOCK = """
    SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || $2::text || u.o, 0))
    FROM unnest($1::text[]) WITH ORDINALITY AS u(o, n)
    ORDER BY u.n
"""
_PAYMENTS = """
    SELECT order_id, status, amount_minor, currency, token, authorization_id,
           captured_minor, refunded_minor, reason
    FROM payments WHERE order_id = ANY($1::text[])
"""
# The commands' own keys, and every open authorization of the batch's orders.
_KEYS = """
    SELECT key, operation, order_id, fingerprint, state, reply_type, reply_payload
    FROM idempotency_keys
    WHERE key = ANY($1::text[])
       OR (order_id = ANY($2::text[]) AND operation = 'authorize' AND state = 'pending')
    ORDER BY created_at, key
"""
_PENDING = """
    INSERT INTO idempotency_keys (key, operation, order_id, fingerprint, state)
    SELECT u.k, u.op, u.o, u.f, 'pending'
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(k, op, o, f)
    ON CONFLICT (key) DO NOTHING
"""
_SAVE_PAYMENTS = """
    INSERT INTO payments (order_id, status, amount_minor, currency, token, authorization_id,
                          captured_minor, refunded_minor, reason, updated_at)
    SELECT u.o, u.s, u.a, u.c, u.t, u.auth, u.cap, u.ref, u.r, $10::timestamptz
    FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[],
                $7::bigint[], $8::bigint[], $9::text[]) AS u(o, s, a, c, t, auth, cap, ref, r)
    ON CONFLICT (order_id) DO UPDATE SET
        status = EXCLUDED.status, amount_minor = EXCLUDED.amount_minor,
        currency = EXCLUDED.currency, token = EXCLUDED.token,
        authorization_id = EXCLUDED.authorization_id,
        captured_minor = EXCLUDED.captured_minor, refunded_minor = EXCLUDED.refunded_minor,
        reason = EXCLUDED.reason, updated_at = EXCLUDED.updated_at
"""
_SAVE_DONE = """
    INSERT INTO idempotency_keys (key, operation, order_id, fingerprint, state, reply_type,
                                  reply_payload, updated_at)
    SELECT u.k, u.op, u.o, u.f, 'done', u.t, u.p::jsonb, now()
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
         AS u(k, op, o, f, t, p)
    ON CONFLICT (key) DO UPDATE SET state = 'done', reply_type = EXCLUDED.reply_type,
        reply_payload = EXCLUDED.reply_payload, updated_at = EXCLUDED.updated_at
"""


def _payment(row: asyncpg.Record) -> Payment:
    return Payment(
        order_id=row["order_id"],
        status=PaymentStatus(row["status"]),
        amount_minor=row["amount_minor"],
        currency=row["currency"],
        token=row["token"],
        authorization_id=row["authorization_id"],
        captured_minor=row["captured_minor"],
        refunded_minor=row["refunded_minor"],
        reason=row["reason"],
    )


def _stored(row: asyncpg.Record) -> StoredKey:
    request = KeyedRequest(row["key"], Call(row["operation"]), row["order_id"], row["fingerprint"])
    return StoredKey(request, KeyState(row["state"]), row["reply_type"], row["reply_payload"])


def _columns(requests: Sequence[KeyedRequest]) -> tuple[list[str], ...]:
    return (
        [r.key for r in requests],
        [r.operation.value for r in requests],
        [r.order_id for r in requests],
        [r.fingerprint for r in requests],
    )


class PgPaymentStore:
    """``conn``: the batch's transaction; ``pool``: where the pending keys are committed
    (a connection of their own, never the batch's)."""

    def __init__(self, conn: Connection, pool: HotPool) -> None:
        self._conn = conn
        self._pool = pool

    async def load_for_update(self, order_ids: Sequence[str], keys: Sequence[str]) -> PaymentBook:
        await self._conn.execute(_LOCK, list(order_ids), ORDER_LOCK)
        payment_rows = await self._conn.fetch(_PAYMENTS, list(order_ids))
        key_rows = await self._conn.fetch(_KEYS, list(keys), list(order_ids))
        payments = {row["order_id"]: _payment(row) for row in payment_rows}
        return PaymentBook(payments, {row["key"]: _stored(row) for row in key_rows})

    async def commit_pending(self, requests: Sequence[KeyedRequest]) -> None:
        if not requests:
            return
        pool = await self._pool.pool()
        async with pool.acquire() as conn:
            # Outside a transaction block: the statement commits on its own.
            await conn.execute(_PENDING, *_columns(requests))

    async def save(self, book: PaymentBook, now: datetime) -> None:
        changed = [book.payments[o] for o in sorted(book.changed)]
        if changed:
            await self._conn.execute(
                _SAVE_PAYMENTS,
                [p.order_id for p in changed],
                [p.status.value for p in changed],
                [p.amount_minor for p in changed],
                [p.currency for p in changed],
                [p.token for p in changed],
                [p.authorization_id for p in changed],
                [p.captured_minor for p in changed],
                [p.refunded_minor for p in changed],
                [p.reason for p in changed],
                now,
            )
        done = [book.keys[k] for k in sorted(book.done)]
        if done:
            await self._conn.execute(
                _SAVE_DONE,
                *_columns([s.request for s in done]),
                [s.reply_type for s in done],
                # As JSON text: asyncpg would take a list of dicts for a jsonb[] array.
                [json_text(s.reply_payload) for s in done],
            )


@dataclass
class MemoryPaymentStore:
    """The fake: the same contract, held in dicts. ``keys`` keep their insertion order
    (oldest first); ``pending_commits`` is every ``commit_pending`` call, in order."""

    payments: dict[str, Payment] = field(default_factory=dict)
    keys: dict[str, StoredKey] = field(default_factory=dict)
    pending_commits: list[list[KeyedRequest]] = field(default_factory=list)
    saves: int = 0

    async def load_for_update(self, order_ids: Sequence[str], keys: Sequence[str]) -> PaymentBook:
        orders, wanted = set(order_ids), set(keys)
        payments = {o: self.payments[o] for o in order_ids if o in self.payments}
        stored = {
            key: value
            for key, value in self.keys.items()
            if key in wanted or (value.request.order_id in orders and _open(value))
        }
        return PaymentBook(payments, stored)

    async def commit_pending(self, requests: Sequence[KeyedRequest]) -> None:
        if not requests:
            return
        self.pending_commits.append(list(requests))
        for request in requests:
            self.keys.setdefault(request.key, StoredKey(request, KeyState.PENDING, None, None))

    async def save(self, book: PaymentBook, now: datetime) -> None:
        del now
        self.saves += 1
        for order_id in book.changed:
            self.payments[order_id] = book.payments[order_id]
        for key in book.done:
            self.keys[key] = _copy(book.keys[key])


def _open(stored: StoredKey) -> bool:
    return stored.state is KeyState.PENDING and stored.request.operation is Call.AUTHORIZE


def _copy(stored: StoredKey) -> StoredKey:
    payload: dict[str, Any] | None = None
    if stored.reply_payload is not None:
        payload = json.loads(json.dumps(stored.reply_payload))
    return StoredKey(stored.request, stored.state, stored.reply_type, payload)
