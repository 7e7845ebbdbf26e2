"""Inventory: return receipts (what each return brought back: restocked or written off).

Revision ID: 0006
Revises: 0005
"""

from alembic import op

from inventory.adapters.tables import return_receipts

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # checkfirst: a new schema has it already (0001 creates tables.py's metadata).
    return_receipts.create(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    return_receipts.drop(op.get_bind(), checkfirst=True)
