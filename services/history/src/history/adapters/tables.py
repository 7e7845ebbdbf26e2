"""History tables (in the history schema; the service role's search_path)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

order_history = Table(
    "order_history",
    metadata,
    Column("order_id", Text, primary_key=True),
    # The order's own data is null until its OrderPlaced has been seen.
    Column("customer_id", Text, nullable=True),
    Column("placed_at", DateTime(timezone=True), nullable=True),
    Column("total_minor", BigInteger, nullable=True),
    Column("currency", Text, nullable=True),
    # none_as_null: None is SQL NULL, as the consumer's own statements write it (not the
    # JSON null SQLAlchemy writes by default), so a rebuilt row equals the live one.
    Column("lines", JSONB(none_as_null=True), nullable=True),
    # The delivery chosen and its price (null: none chosen, or placed before v4).
    Column("delivery", JSONB(none_as_null=True), nullable=True),
    Column("status", Text, nullable=False),
    Column("reason", Text, nullable=True),
    Column("status_at", DateTime(timezone=True), nullable=True),
    Column("fulfilment", Text, nullable=False),
    # occurred_at of the newest event applied (event time, not processing time), so a
    # rebuild from the topics reproduces it exactly.
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("events_applied", Integer, nullable=False),
    CheckConstraint(
        "status IN ('placed', 'confirmed', 'completed', 'rejected', 'cancelled', "
        "'compensation_failed')",
        name="order_history_status",
    ),
    CheckConstraint(
        "fulfilment IN ('none', 'dispatched', 'delivered')", name="order_history_fulfilment"
    ),
    Index("order_history_customer", "customer_id", "placed_at"),
)
