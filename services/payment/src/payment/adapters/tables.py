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
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
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

# Invoices and credit notes (domain/invoices.py), issued in the transaction that records
# their capture or refund. ``number`` is "<series>-<year>-<seq>"; each (series, year)
# counts from 1 without gaps (document_counters hands numbers out in that transaction).
documents = Table(
    "documents",
    metadata,
    Column("number", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("series", Text, nullable=False),
    Column("year", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("order_id", Text, nullable=False),
    Column("customer_id", Text, nullable=False),
    Column("country", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    # [{sku, quantity, unit_price_minor, discount_minor}], [{rate_bp, gross, net, tax}]
    Column("lines", JSONB, nullable=False),
    Column("taxes", JSONB, nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    # The capture's or refund's idempotency key: one document per money movement.
    Column("source_key", Text, nullable=False, unique=True),
    Column("corrects", Text, nullable=True),  # a credit note's invoice number
    UniqueConstraint("series", "year", "seq", name="documents_numbered_once"),
    CheckConstraint("kind IN ('invoice', 'credit_note')", name="documents_kind_known"),
    CheckConstraint("seq > 0", name="documents_seq_positive"),
    # One invoice per order (a credit note per refund).
    Index(
        "documents_one_invoice", "order_id", unique=True, postgresql_where=text("kind = 'invoice'")
    ),
    Index("documents_by_customer", "customer_id", "issued_at"),
    Index("documents_by_order", "order_id"),
)

document_counters = Table(
    "document_counters",
    metadata,
    Column("series", Text, nullable=False),
    Column("year", Integer, nullable=False),
    Column("last", Integer, nullable=False),
    PrimaryKeyConstraint("series", "year"),
)
