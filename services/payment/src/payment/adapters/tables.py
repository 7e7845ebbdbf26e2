"""Payment tables (in the payment schema; the service role's search_path).

``gateway_ledger`` belongs to the simulated gateway, not to the service: only
``adapters/gateway.py`` writes it, in its own transactions, as an external processor would.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Identity,
    Index,
    MetaData,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

payments = Table(
    "payments",
    metadata,
    Column("order_id", Text, primary_key=True),
    Column("status", Text, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", Text, nullable=True),
    # The processor's token only: card data never reaches this service.
    Column("token", Text, nullable=True),
    Column("authorization_id", Text, nullable=True),
    Column("captured_minor", BigInteger, nullable=False, server_default="0"),
    Column("refunded_minor", BigInteger, nullable=False, server_default="0"),
    Column("reason", Text, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(
        "status IN ('authorization_pending', 'authorized', 'declined', 'captured', "
        "'voided', 'refunded')",
        name="payments_status_known",
    ),
    # The last line of defence against giving back more than was taken.
    CheckConstraint(
        "amount_minor >= 0 AND captured_minor >= 0 AND refunded_minor >= 0 "
        "AND captured_minor <= amount_minor AND refunded_minor <= captured_minor",
        name="payments_money_consistent",
    ),
    Index(
        "payments_authorization_pending",
        "updated_at",
        postgresql_where=text("status = 'authorization_pending'"),
    ),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", Text, primary_key=True),
    Column("operation", Text, nullable=False),
    Column("order_id", Text, nullable=False),
    Column("fingerprint", Text, nullable=False),
    # pending: committed before the gateway call, outcome unknown; done: reply stored.
    Column("state", Text, nullable=False),
    Column("reply_type", Text, nullable=True),
    Column("reply_payload", JSONB, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("state IN ('pending', 'done')", name="idempotency_keys_state_known"),
    CheckConstraint(
        "(state = 'done') = (reply_type IS NOT NULL)", name="idempotency_keys_done_has_reply"
    ),
    Index(
        "idempotency_keys_open", "order_id", "operation", postgresql_where=text("state = 'pending'")
    ),
)

gateway_ledger = Table(
    "gateway_ledger",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("key", Text, nullable=False, unique=True),
    Column("order_id", Text, nullable=False, index=True),
    Column("kind", Text, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", Text, nullable=True),
    Column("result", Text, nullable=False),
    Column("authorization_id", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint(
        "kind IN ('authorize', 'capture', 'void', 'refund')", name="gateway_ledger_kind_known"
    ),
    CheckConstraint("amount_minor >= 0", name="gateway_ledger_amount_non_negative"),
    # Captures, voids and refunds find their authorization by id (migration 0003).
    Index(
        "gateway_ledger_authorizations",
        "authorization_id",
        postgresql_where=text("kind = 'authorize'"),
    ),
    # A processor captures an authorization once, whatever its callers do.
    Index(
        "gateway_ledger_one_capture",
        "authorization_id",
        unique=True,
        postgresql_where=text("kind = 'capture' AND result = 'approved'"),
    ),
)
