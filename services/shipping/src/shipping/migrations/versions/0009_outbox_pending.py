"""Messaging: pending outbox rows in their own narrow table; the outbox is never updated.

The relay used to mark each published row (``published_at``): a non-HOT update, a new copy
of the whole row. Now a trigger adds each new outbox row's id to ``outbox_pending`` and
the relay deletes it once the broker acknowledged the row. Rows still pending move over.

Revision ID: 0009
Revises: 0008
"""

from alembic import op

from orderflow_messaging.tables import create_messaging_tables, restore_published_at

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables(op.get_bind())


def downgrade() -> None:
    restore_published_at(op.get_bind())
