"""Explicit row <-> domain mapping for payments, and the per-order lock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from payment.adapters.tables import payments
from payment.domain.model import Payment, PaymentStatus

# The per-order lock's key is the schema, this prefix and the order id (batch_store takes
# the same lock for a whole batch).
ORDER_LOCK = ":payment:"
_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || :k, 0))")
# Plain SQL: SQLAlchemy 2.0 recompiles a PostgreSQL insert().on_conflict_*() on every call.
_SAVE = text(
    """
    INSERT INTO payments (order_id, status, amount_minor, currency, token, authorization_id,
                          captured_minor, refunded_minor, reason, updated_at)
    VALUES (:order_id, :status, :amount_minor, :currency, :token, :authorization_id,
            :captured_minor, :refunded_minor, :reason, :updated_at)
    ON CONFLICT (order_id) DO UPDATE SET
        status = EXCLUDED.status, amount_minor = EXCLUDED.amount_minor,
        currency = EXCLUDED.currency, token = EXCLUDED.token,
        authorization_id = EXCLUDED.authorization_id,
        captured_minor = EXCLUDED.captured_minor, refunded_minor = EXCLUDED.refunded_minor,
        reason = EXCLUDED.reason, updated_at = EXCLUDED.updated_at
    """
)


def payment_from_row(row: Any) -> Payment:
    return Payment(
        order_id=row.order_id,
        status=PaymentStatus(row.status),
        amount_minor=row.amount_minor,
        currency=row.currency,
        token=row.token,
        authorization_id=row.authorization_id,
        captured_minor=row.captured_minor,
        refunded_minor=row.refunded_minor,
        reason=row.reason,
    )


class PaymentRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def lock_order(self, order_id: str) -> None:
        """Serialise every command of one order until the transaction ends.

        A row lock cannot do it: before the first authorization there is no row. The
        schema is part of the lock key so that test schemas side by side never contend.
        """
        await self._conn.execute(_LOCK, {"k": f"{ORDER_LOCK}{order_id}"})

    async def get(self, order_id: str) -> Payment | None:
        query = select(payments).where(payments.c.order_id == order_id)
        row = (await self._conn.execute(query)).first()
        return payment_from_row(row) if row else None

    async def save(self, payment: Payment, now: datetime) -> None:
        values = {
            "order_id": payment.order_id,
            "status": payment.status.value,
            "amount_minor": payment.amount_minor,
            "currency": payment.currency,
            "token": payment.token,
            "authorization_id": payment.authorization_id,
            "captured_minor": payment.captured_minor,
            "refunded_minor": payment.refunded_minor,
            "reason": payment.reason,
            "updated_at": now,
        }
        await self._conn.execute(_SAVE, values)

    async def authorization_pending(self, limit: int) -> list[str]:
        """Orders whose authorization the gateway has not answered yet, oldest first."""
        query = (
            select(payments.c.order_id)
            .where(payments.c.status == PaymentStatus.AUTHORIZATION_PENDING.value)
            .order_by(payments.c.updated_at)
            .limit(limit)
        )
        return [row.order_id for row in await self._conn.execute(query)]
