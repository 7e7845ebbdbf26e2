"""Checkout tables (in the checkout schema; the service role's search_path)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

metadata = MetaData()

# Checkout's own copy of the catalog, fed by catalog.events: pricing an order never
# calls the catalog service, so checkout takes orders while catalog is down.
catalog_items = Table(
    "catalog_items",
    metadata,
    Column("sku", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("price_minor", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    # A bundle's components ([[sku, quantity], ...]; null: not a bundle).
    Column("components", JSONB, nullable=True),
    # One unit's shipping weight in grams (null: unknown, weighs nothing).
    Column("weight_g", Integer, nullable=True),
    # When catalog made the change (the event's occurred_at), not when it arrived: an
    # older event replayed later must not overwrite a newer price.
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("order_id", UUID(as_uuid=True), primary_key=True),
    Column("idempotency_key", Text, nullable=False),
    Column("request_fingerprint", Text, nullable=False),
    Column("customer_id", Text, nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("lines", JSONB, nullable=False),
    Column("status", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # The promotions applied: [{promotion_id, code, amount_minor, limited}, ...].
    Column("discounts", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    # The delivery chosen and its price (null: none chosen): OrderDelivery as JSON.
    Column("delivery", JSONB, nullable=True),
    # What makes concurrent retries of one request place a single order.
    UniqueConstraint("idempotency_key", name="orders_idempotency_key"),
)

# Checkout's copy of the catalog's price data (catalog.events) and of inventory's stock
# levels (inventory.stock, what stock-bound price rules read): an order is priced by
# orderflow_pricing.resolve from these, as the catalog's GET /prices quotes from its own.
# Each row is the latest state the owner announced; ``revision`` only grows.
price_lists = Table(
    "price_lists",
    metadata,
    Column("list_id", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("customer_id", Text, nullable=True),
    Column("grp", Text, nullable=True),
    Column("valid_from", DateTime(timezone=True), nullable=True),
    Column("valid_until", DateTime(timezone=True), nullable=True),
    Column("prices", JSONB, nullable=False),  # {"SKU": [[min_quantity, unit_price_minor]]}
    Column("active", Boolean, nullable=False),
    Column("revision", BigInteger, nullable=False),
)

price_rules = Table(
    "price_rules",
    metadata,
    Column("rule_id", Text, primary_key=True),
    Column("basis_points", Integer, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("skus", ARRAY(Text), nullable=True),
    Column("valid_from", DateTime(timezone=True), nullable=True),
    Column("valid_until", DateTime(timezone=True), nullable=True),
    Column("stock_at_most", BigInteger, nullable=True),
    Column("stock_at_least", BigInteger, nullable=True),
    Column("floor_minor", BigInteger, nullable=False),
    Column("cap_minor", BigInteger, nullable=True),
    Column("active", Boolean, nullable=False),
    Column("revision", BigInteger, nullable=False),
)

customer_price_groups = Table(
    "customer_price_groups",
    metadata,
    Column("customer_id", Text, primary_key=True),
    Column("groups", ARRAY(Text), nullable=False),
    Column("revision", BigInteger, nullable=False),
)

stock_levels = Table(
    "stock_levels",
    metadata,
    Column("sku", Text, primary_key=True),
    Column("available", BigInteger, nullable=False),
    Column("revision", BigInteger, nullable=False),
)

# The catalog's promotions as announced (PromotionChanged's payload), newest revision.
promotions = Table(
    "promotions",
    metadata,
    Column("promotion_id", Text, primary_key=True),
    Column("definition", JSONB, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("revision", BigInteger, nullable=False),
)

# The catalog's delivery methods as announced (DeliveryMethodChanged's payload), newest
# revision.
delivery_methods = Table(
    "delivery_methods",
    metadata,
    Column("method_id", Text, primary_key=True),
    Column("definition", JSONB, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("revision", BigInteger, nullable=False),
)
