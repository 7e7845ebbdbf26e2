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
    Integer,
    MetaData,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR

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
    # A bundle's components ([{"sku": ..., "quantity": ...}]; null: not a bundle) and,
    # when it is priced from them, the discount in basis points.
    Column("components", JSONB, nullable=True),
    Column("bundle_discount_bp", Integer, nullable=True),
    # One unit's shipping weight in grams (null: unknown); delivery rates are by weight.
    Column("weight_g", Integer, nullable=True),
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

# What can be sold of each product now, from ``stock_levels`` (a view, migration 0012; in
# its own MetaData, so that nothing creates it as a table): a SKU's announced level; a
# bundle's, the complete bundles its components' levels make (the fewest over its
# components of level // quantity per bundle); None until every SKU it needs has a level.
views = MetaData()
product_availability = Table(
    "product_availability",
    views,
    Column("sku", Text, primary_key=True),
    Column("available", BigInteger, nullable=True),
)

# Prices beyond the base price (docs/catalog.md#prices): lists, rules and customers' price
# groups, each row the whole current state with a revision that grows with every change
# (announced on catalog.events for checkout's copy).
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
    # {"SKU": [[min_quantity, unit_price_minor], ...]}
    Column("prices", JSONB, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("revision", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(
        "(kind = 'default' AND customer_id IS NULL AND grp IS NULL)"
        " OR (kind = 'group' AND grp IS NOT NULL AND customer_id IS NULL)"
        " OR (kind = 'contract' AND customer_id IS NOT NULL AND grp IS NULL)",
        name="price_list_kind",
    ),
    Index("price_lists_customer", "customer_id"),
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
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

customer_price_groups = Table(
    "customer_price_groups",
    metadata,
    Column("customer_id", Text, primary_key=True),
    Column("groups", ARRAY(Text), nullable=False),
    Column("revision", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

promotions = Table(
    "promotions",
    metadata,
    Column("promotion_id", Text, primary_key=True),
    Column("code", Text, nullable=True, unique=True),
    # What the manager declared: PromotionChanged's fields but the scope (``skus`` here
    # are the declared ones), the revision and ``active``.
    Column("definition", JSONB, nullable=False),
    # The SKUs the declaration covers now (null: every product), as announced.
    Column("scope", ARRAY(Text), nullable=True),
    Column("active", Boolean, nullable=False),
    Column("revision", BigInteger, nullable=False),
    # Reserved redemptions (= rows of ``redemptions`` with status 'reserved'; verify).
    Column("redeemed", BigInteger, nullable=False, server_default="0"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("redeemed >= 0", name="promotion_redeemed_not_negative"),
)

redemptions = Table(
    "redemptions",
    metadata,
    Column("order_id", Text, primary_key=True),
    Column("promotion_id", Text, primary_key=True),
    # Null: a tombstone (released before a redemption was reserved).
    Column("customer_id", Text, nullable=True),
    Column("status", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("status IN ('reserved', 'released')", name="redemption_status"),
    Index("redemptions_customer", "promotion_id", "customer_id", "status"),
)

# Delivery methods (docs/catalog.md#delivery-options): each row the whole current state
# with a revision that grows with every change, announced as DeliveryMethodChanged.
delivery_methods = Table(
    "delivery_methods",
    metadata,
    Column("method_id", Text, primary_key=True),
    # orderflow_pricing's DeliveryMethod.to_json() but the id: name, kind, carrier,
    # currency, zones with their weight bands, free_over_minor, pickup_points.
    Column("definition", JSONB, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("revision", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# "Bought together" (docs/catalog.md#recommendations): a projection of checkout.events,
# how many orders had ``other`` in one basket with ``sku`` (both directions stored),
# rebuilt from the topic by `orderflow replay projection bought-together`.
bought_together = Table(
    "bought_together",
    metadata,
    Column("sku", Text, primary_key=True),
    Column("other", Text, primary_key=True),
    Column("orders", BigInteger, nullable=False),
    CheckConstraint("orders > 0", name="bought_together_counted"),
)
