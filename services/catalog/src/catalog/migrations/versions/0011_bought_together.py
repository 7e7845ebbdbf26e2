"""Catalog: the "bought together" projection.

Revision ID: 0011
Revises: 0010
"""

from alembic import op

from catalog.adapters.tables import bought_together

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # checkfirst: a new schema already has it (0001 creates tables.py's metadata).
    bought_together.create(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    bought_together.drop(op.get_bind(), checkfirst=True)
