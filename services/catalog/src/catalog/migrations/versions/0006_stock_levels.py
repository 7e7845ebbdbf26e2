"""Catalog: the availability projection (each SKU's latest level from inventory.stock).

Revision ID: 0006
Revises: 0005
"""

from alembic import op

from catalog.adapters.tables import stock_levels

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # checkfirst: a new schema already has it (0001 creates tables.py's metadata).
    stock_levels.create(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    stock_levels.drop(op.get_bind(), checkfirst=True)
