"""Everything a payment command reads, in one round trip: the command's own idempotency
key (if stored), the order's payment (if any) and the order's open authorization (the
oldest pending authorize key), read after the per-order lock is held."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from payment.adapters.idempotency import KeyedRequest, KeyState, StoredKey
from payment.adapters.repository import payment_from_row
from payment.domain.model import Call, Payment

_LOAD = text(
    """
    SELECT k.operation AS k_operation, k.order_id AS k_order_id,
           k.fingerprint AS k_fingerprint, k.state AS k_state,
           k.reply_type AS k_reply_type, k.reply_payload AS k_reply_payload,
           p.order_id, p.status, p.amount_minor, p.currency, p.token, p.authorization_id,
           p.captured_minor, p.refunded_minor, p.reason,
           o.key AS o_key, o.operation AS o_operation, o.fingerprint AS o_fingerprint
    FROM (VALUES (1)) AS one (x)
    LEFT JOIN idempotency_keys k ON k.key = :key
    LEFT JOIN payments p ON p.order_id = :order_id
    LEFT JOIN LATERAL (
        SELECT key, operation, fingerprint FROM idempotency_keys
        WHERE order_id = :order_id AND operation = :open_operation AND state = 'pending'
        ORDER BY created_at, key
        LIMIT 1
    ) o ON true
    """
)


@dataclass(frozen=True)
class CommandState:
    stored: StoredKey | None
    payment: Payment | None
    # The order's open authorization: its gateway call has no stored outcome yet.
    in_flight: KeyedRequest | None


async def load_command_state(conn: AsyncConnection, request: KeyedRequest) -> CommandState:
    params = {
        "key": request.key,
        "order_id": request.order_id,
        "open_operation": Call.AUTHORIZE.value,
    }
    row: Any = (await conn.execute(_LOAD, params)).one()
    stored = None
    if row.k_operation is not None:
        stored = StoredKey(
            KeyedRequest(request.key, Call(row.k_operation), row.k_order_id, row.k_fingerprint),
            KeyState(row.k_state),
            row.k_reply_type,
            row.k_reply_payload,
        )
    payment = payment_from_row(row) if row.order_id is not None else None
    in_flight = None
    if row.o_key is not None:
        in_flight = KeyedRequest(
            row.o_key, Call(row.o_operation), request.order_id, row.o_fingerprint
        )
    return CommandState(stored, payment, in_flight)
