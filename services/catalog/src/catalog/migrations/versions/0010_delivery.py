"""Catalog: delivery methods, and each product's shipping weight.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

from catalog.adapters.tables import delivery_methods

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A new schema already has them (0001 creates tables.py's metadata).
    delivery_methods.create(op.get_bind(), checkfirst=True)
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("products")}
    if "weight_g" not in columns:
        op.add_column("products", sa.Column("weight_g", sa.Integer, nullable=True))


def downgrade() -> None:
    op.drop_column("products", "weight_g")
    delivery_methods.drop(op.get_bind(), checkfirst=True)
