"""History: the delivery an order chose and its price (OrderPlaced v4).

Rows of orders the projection saw before keep a null delivery; a rebuild
(`orderflow replay projection order-history`) fills it from the topics.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # IF NOT EXISTS: a new schema already has it (0001 creates tables.py's metadata).
    op.execute("ALTER TABLE order_history ADD COLUMN IF NOT EXISTS delivery jsonb")


def downgrade() -> None:
    op.execute("ALTER TABLE order_history DROP COLUMN IF EXISTS delivery")
