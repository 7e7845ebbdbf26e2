"""Checkout: its copy of the catalog's delivery methods, each item's shipping weight, and
the delivery of each order.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from checkout.adapters.tables import delivery_methods

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _columns(table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    # checkfirst: a new schema already has them (0001 creates tables.py's metadata).
    delivery_methods.create(op.get_bind(), checkfirst=True)
    if "weight_g" not in _columns("catalog_items"):
        op.add_column("catalog_items", sa.Column("weight_g", sa.Integer, nullable=True))
    if "delivery" not in _columns("orders"):
        op.add_column("orders", sa.Column("delivery", JSONB, nullable=True))


def downgrade() -> None:
    op.drop_column("orders", "delivery")
    op.drop_column("catalog_items", "weight_g")
    delivery_methods.drop(op.get_bind(), checkfirst=True)
