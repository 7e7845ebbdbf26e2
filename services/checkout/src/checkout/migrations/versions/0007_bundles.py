"""Checkout: bundles in the catalog copy (each item's components).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A new schema already has it (0001 creates tables.py's metadata).
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("catalog_items")}
    if "components" not in columns:
        op.add_column("catalog_items", sa.Column("components", JSONB, nullable=True))


def downgrade() -> None:
    op.drop_column("catalog_items", "components")
