"""Saga rows (one per order, with a version column) and their history."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = MetaData()

sagas = Table(
    "sagas",
    metadata,
    Column("order_id", Text, primary_key=True),
    Column("status", Text, nullable=False),
    Column("step", Text, nullable=True),
    Column("attempt", Integer, nullable=False),
    Column("deadline", DateTime(timezone=True), nullable=True),
    Column("reason", Text, nullable=True),
    Column("customer_id", Text, nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    # order data, facts and pending compensations (see adapters/repository.py)
    Column("data", JSONB, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index(
        "sagas_due",
        "deadline",
        postgresql_where=text("status IN ('RUNNING', 'COMPENSATING')"),
    ),
    Index("sagas_status", "status", "updated_at"),
)

saga_history = Table(
    "saga_history",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("order_id", Text, nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    # started | reply | timeout | cancel | admin (an operator intervention)
    Column("kind", Text, nullable=False),
    Column("message_type", Text, nullable=True),
    Column("message_id", UUID(as_uuid=True), nullable=True),
    Column("from_status", Text, nullable=True),
    Column("to_status", Text, nullable=False),
    Column("step", Text, nullable=True),
    Column("commands", JSONB, nullable=False),
    Column("note", Text, nullable=False),
)

# Returns (RMA), one row per return with a version column, and their history.
returns = Table(
    "returns",
    metadata,
    Column("return_id", Text, primary_key=True),
    Column("order_id", Text, nullable=False, index=True),
    Column("customer_id", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("deadline", DateTime(timezone=True), nullable=True),
    Column("outcome", Text, nullable=True),
    Column("refund_minor", BigInteger, nullable=False, server_default="0"),
    # lines, received lines, address, carrier, reason, tracking (adapters/return_store.py)
    Column("data", JSONB, nullable=False),
    # What the request asked (a retry under its key must ask the same).
    Column("fingerprint", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index(
        "returns_due",
        "deadline",
        postgresql_where=text(
            "status IN ('approved', 'label_issued', 'received', 'refunded', 'cancelling')"
        ),
    ),
)

return_history = Table(
    "return_history",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("return_id", Text, nullable=False, index=True),
    Column("order_id", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    # requested | reply | received | cancel | timeout
    Column("kind", Text, nullable=False),
    Column("message_type", Text, nullable=True),
    Column("from_status", Text, nullable=True),
    Column("to_status", Text, nullable=False),
    Column("commands", JSONB, nullable=False),
    Column("note", Text, nullable=False),
)
