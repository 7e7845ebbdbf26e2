"""Shipping: return labels (one per return: issued, refused or cancelled).

Revision ID: 0008
Revises: 0007
"""

from alembic import op

from shipping.adapters.tables import return_labels

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # checkfirst: a new schema has it already (0001 creates tables.py's metadata).
    return_labels.create(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    return_labels.drop(op.get_bind(), checkfirst=True)
