"""Checkout: its copy of the catalog's promotions, and the discounts of each order.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from checkout.adapters.tables import promotions

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # checkfirst: a new schema already has them (0001 creates tables.py's metadata).
    promotions.create(op.get_bind(), checkfirst=True)
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("orders")}
    if "discounts" not in columns:
        op.add_column(
            "orders",
            sa.Column("discounts", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        )


def downgrade() -> None:
    op.drop_column("orders", "discounts")
    promotions.drop(op.get_bind(), checkfirst=True)
