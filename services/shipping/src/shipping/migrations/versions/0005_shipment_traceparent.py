"""Shipping: the trace of the command that opened a shipment.

The timers emit a shipment's later events (created late by a slow carrier, dispatched,
delivered); with the opening command's ``traceparent`` kept on the row they continue
the order's trace instead of starting a trace each.

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
    op.execute("ALTER TABLE shipments ADD COLUMN IF NOT EXISTS traceparent text")


def downgrade() -> None:
    op.execute("ALTER TABLE shipments DROP COLUMN IF EXISTS traceparent")
