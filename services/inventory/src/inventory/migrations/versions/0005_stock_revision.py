"""Inventory: a revision per stock row, carried by the levels announced on
inventory.stock. Existing rows start at 0 (never announced): the level backfill task
announces them once.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # IF NOT EXISTS: a new schema already has it (0001 creates tables.py's metadata).
    op.execute(
        "ALTER TABLE stock_items ADD COLUMN IF NOT EXISTS revision bigint NOT NULL DEFAULT 0"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE stock_items DROP COLUMN IF EXISTS revision")
