"""Shipping: a parcel's tracking steps, when the next is due, and the statuses past
dispatch (out for delivery, delivery exception, returned).

Shipments under way at the upgrade get their next step due at once (their timings were
not stored); their tracking list starts with the steps taken from then on.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

# As tables.py has them at this revision (a later change makes a migration of its own).
STATUS_KNOWN = (
    "status IN ('requested', 'created', 'dispatched', 'out_for_delivery', 'delivered',"
    " 'delivery_exception', 'returned', 'cancelled', 'failed')"
)
MOVING = "status IN ('created', 'dispatched', 'out_for_delivery', 'delivery_exception')"

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # IF NOT EXISTS: a new schema already has them (0001 creates tables.py's metadata).
    op.execute(
        "ALTER TABLE shipments ADD COLUMN IF NOT EXISTS tracking jsonb NOT NULL DEFAULT '[]'"
    )
    op.execute("ALTER TABLE shipments ADD COLUMN IF NOT EXISTS next_step_at timestamptz")
    op.execute(
        "UPDATE shipments SET next_step_at = coalesce(dispatched_at, created_at)"
        " WHERE next_step_at IS NULL AND status IN ('created', 'dispatched')"
    )
    op.execute("ALTER TABLE shipments DROP CONSTRAINT IF EXISTS shipments_status_known")
    op.execute(
        f"ALTER TABLE shipments ADD CONSTRAINT shipments_status_known CHECK ({STATUS_KNOWN})"
    )
    op.execute("DROP INDEX IF EXISTS shipments_in_transit")
    op.execute(
        f"CREATE INDEX IF NOT EXISTS shipments_due ON shipments (next_step_at) WHERE {MOVING}"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS shipments_due")
    op.execute("ALTER TABLE shipments DROP CONSTRAINT IF EXISTS shipments_status_known")
    op.execute(
        "ALTER TABLE shipments ADD CONSTRAINT shipments_status_known CHECK (status IN"
        " ('requested', 'created', 'dispatched', 'delivered', 'cancelled', 'failed')) NOT VALID"
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS shipments_in_transit ON shipments (status, updated_at)"
        " WHERE status IN ('created', 'dispatched')"
    )
    op.execute("ALTER TABLE shipments DROP COLUMN IF EXISTS next_step_at")
    op.execute("ALTER TABLE shipments DROP COLUMN IF EXISTS tracking")
