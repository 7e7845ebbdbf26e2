"""Checkout: its copy of the catalog's price lists, rules and customers' price groups,
and of inventory's stock levels.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

from checkout.adapters.tables import customer_price_groups, price_lists, price_rules, stock_levels

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TABLES = (price_lists, price_rules, customer_price_groups, stock_levels)


def upgrade() -> None:
    # checkfirst: a new schema already has them (0001 creates tables.py's metadata).
    for table in _TABLES:
        table.create(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    for table in reversed(_TABLES):
        table.drop(op.get_bind(), checkfirst=True)
