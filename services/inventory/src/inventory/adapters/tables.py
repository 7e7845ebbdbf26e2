"""Inventory tables (in the inventory schema; the service role's search_path)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    MetaData,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

stock_items = Table(
    "stock_items",
    metadata,
    Column("sku", Text, primary_key=True),
    Column("initial", BigInteger, nullable=False),
    Column("available", BigInteger, nullable=False),
    Column("reserved", BigInteger, nullable=False, server_default="0"),
    Column("committed", BigInteger, nullable=False, server_default="0"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Counts the row's writes; its announced levels carry it (0: never announced).
    Column("revision", BigInteger, nullable=False, server_default="0"),
    # The last line of defence against overselling, whatever the code does.
    CheckConstraint(
        "available >= 0 AND reserved >= 0 AND committed >= 0", name="stock_non_negative"
    ),
)

reservations = Table(
    "reservations",
    metadata,
    Column("order_id", Text, primary_key=True),
    Column("status", Text, nullable=False),
    Column("lines", JSONB, nullable=False),
    Column("reason", Text, nullable=True),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# One row per return whose goods came back (RestockReturn): what was restocked or
# written off, so a resend restocks nothing twice and an order never takes back more than
# it committed.
return_receipts = Table(
    "return_receipts",
    metadata,
    Column("return_id", Text, primary_key=True),
    Column("order_id", Text, nullable=False, index=True),
    # [[sku, quantity, "restock" | "write_off"], ...]
    Column("lines", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
