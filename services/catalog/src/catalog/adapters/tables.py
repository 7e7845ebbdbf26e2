"""Catalog tables (in the catalog schema; the service role's search_path)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR

metadata = MetaData()

categories = Table(
    "categories",
    metadata,
    Column("slug", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("parent", Text, ForeignKey("categories.slug"), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("parent IS NULL OR parent <> slug", name="category_not_own_parent"),
)

# What full-text search matches: the SKU, name and description, the attribute values,
# all parsed as English (stemmed), as the query is: a SKU typed in is found. Kept by
# PostgreSQL itself (a stored generated column), so no write path can forget it.
SEARCH_DOCUMENT = (
    "setweight(to_tsvector('english'::regconfig, sku), 'A') || "
    "setweight(to_tsvector('english'::regconfig, name), 'A') || "
    "setweight(to_tsvector('english'::regconfig, description), 'B') || "
    "setweight(jsonb_to_tsvector('english'::regconfig, attributes, '[\"string\"]'), 'C')"
)

products = Table(
    "products",
    metadata,
    Column("sku", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("price_minor", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("description", Text, nullable=False, server_default=""),
    Column("category", Text, ForeignKey("categories.slug"), nullable=True),
    Column("family", Text, nullable=True),
    Column("attributes", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("search", TSVECTOR, Computed(SEARCH_DOCUMENT, persisted=True)),
    CheckConstraint("price_minor >= 0", name="price_non_negative"),
    Index("products_search", "search", postgresql_using="gin"),
    Index("products_attributes", "attributes", postgresql_using="gin"),
    Index("products_category", "category"),
    Index("products_family", "family"),
)

# The availability projection: each SKU's latest level from inventory.stock (no foreign
# key: a level may arrive before its product is published).
stock_levels = Table(
    "stock_levels",
    metadata,
    Column("sku", Text, primary_key=True),
    Column("available", BigInteger, nullable=False),
    Column("revision", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
