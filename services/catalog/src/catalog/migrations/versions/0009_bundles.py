"""Catalog: bundles (a product's components and its discount on them).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A new schema already has them (0001 creates tables.py's metadata).
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("products")}
    if "components" not in columns:
        op.add_column("products", sa.Column("components", JSONB, nullable=True))
    if "bundle_discount_bp" not in columns:
        op.add_column("products", sa.Column("bundle_discount_bp", sa.Integer, nullable=True))


def downgrade() -> None:
    op.drop_column("products", "bundle_discount_bp")
    op.drop_column("products", "components")
