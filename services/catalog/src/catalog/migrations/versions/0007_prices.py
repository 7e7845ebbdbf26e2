"""Catalog: price lists, price rules and customers' price groups.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

from catalog.adapters.tables import customer_price_groups, price_lists, price_rules

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_TABLES = (price_lists, price_rules, customer_price_groups)


def upgrade() -> None:
    # checkfirst: a new schema already has them (0001 creates tables.py's metadata).
    for table in _TABLES:
        table.create(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    for table in reversed(_TABLES):
        table.drop(op.get_bind(), checkfirst=True)
