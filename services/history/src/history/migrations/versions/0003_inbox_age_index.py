"""Messaging: an index on the inbox's handled_at, for housekeeping.

Housekeeping prunes inbox rows oldest first once past their retention window
(orderflow_messaging.housekeeping); without the index each pass would scan the table.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from orderflow_messaging.tables import create_messaging_tables, drop_inbox_age_index

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables(op.get_bind())


def downgrade() -> None:
    drop_inbox_age_index(op.get_bind())
