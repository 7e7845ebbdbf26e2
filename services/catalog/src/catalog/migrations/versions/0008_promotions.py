"""Catalog: promotions and their redemptions.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

from catalog.adapters.tables import promotions, redemptions

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_TABLES = (promotions, redemptions)


def upgrade() -> None:
    # checkfirst: a new schema already has them (0001 creates tables.py's metadata).
    for table in _TABLES:
        table.create(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    for table in reversed(_TABLES):
        table.drop(op.get_bind(), checkfirst=True)
