"""Shipping: the delivery method of a shipment (the carrier column then also holds the
carrier a shipment was requested with, before it is booked).

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # IF NOT EXISTS: a new schema already has it (0001 creates tables.py's metadata).
    op.execute("ALTER TABLE shipments ADD COLUMN IF NOT EXISTS method_id text")


def downgrade() -> None:
    op.execute("ALTER TABLE shipments DROP COLUMN IF EXISTS method_id")
