"""The ``idempotency_keys`` table: the saga's key of each command, and the reply it got.

A key is first written ``pending`` in a transaction of its own, committed before the
gateway is called (``batch_store.PgPaymentStore.commit_pending``, a whole round's keys in
one statement), so that whatever happens to the handler's transaction afterwards there
is a durable trace that the gateway may have acted under that key. The handler's
transaction then turns it ``done`` together with the reply.

This module holds the key's model and what the timer (SQLAlchemy) needs. Its write is
plain SQL (``text``): SQLAlchemy 2.0 never caches the compiled form of a PostgreSQL
``insert().on_conflict_*()`` (its dialect ``Insert`` sets ``inherit_cache = False``), so
the construct costs a full compilation, about a millisecond of CPU, on every call.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from payment.adapters.tables import idempotency_keys
from payment.domain.model import Call


class KeyState(StrEnum):
    PENDING = "pending"
    DONE = "done"


@dataclass(frozen=True)
class KeyedRequest:
    """One command as the saga sent it, reduced to what identifies it."""

    key: str
    operation: Call
    order_id: str
    fingerprint: str


@dataclass(frozen=True)
class StoredKey:
    request: KeyedRequest
    state: KeyState
    reply_type: str | None
    reply_payload: dict[str, Any] | None


_RECORD_DONE = text(
    """
    INSERT INTO idempotency_keys (key, operation, order_id, fingerprint, state, reply_type,
                                  reply_payload, updated_at)
    VALUES (:key, :operation, :order_id, :fingerprint, 'done', :reply_type, :reply_payload,
            now())
    ON CONFLICT (key) DO UPDATE SET state = 'done', reply_type = EXCLUDED.reply_type,
        reply_payload = EXCLUDED.reply_payload, updated_at = EXCLUDED.updated_at
    """
).bindparams(bindparam("reply_payload", type_=JSONB))


def _params(request: KeyedRequest) -> dict[str, Any]:
    return {
        "key": request.key,
        "operation": request.operation.value,
        "order_id": request.order_id,
        "fingerprint": request.fingerprint,
    }


def _request(row: Any) -> KeyedRequest:
    return KeyedRequest(row.key, Call(row.operation), row.order_id, row.fingerprint)


class IdempotencyKeyRepository:
    """Reads and completes keys inside the timer's transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def open_request(self, order_id: str, operation: Call) -> KeyedRequest | None:
        """The oldest request of this kind whose gateway call has no stored outcome."""
        query = (
            select(idempotency_keys)
            .where(
                idempotency_keys.c.order_id == order_id,
                idempotency_keys.c.operation == operation.value,
                idempotency_keys.c.state == KeyState.PENDING.value,
            )
            .order_by(idempotency_keys.c.created_at, idempotency_keys.c.key)
            .limit(1)
        )
        row = (await self._conn.execute(query)).first()
        return _request(row) if row else None

    async def record_done(
        self, request: KeyedRequest, reply_type: str, reply_payload: dict[str, Any]
    ) -> None:
        params = _params(request) | {"reply_type": reply_type, "reply_payload": reply_payload}
        await self._conn.execute(_RECORD_DONE, params)
