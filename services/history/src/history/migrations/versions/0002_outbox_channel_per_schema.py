"""Messaging: the outbox wake-up NOTIFY on a channel of this schema's own.

With one channel for every service, each service's relay was woken for every commit of
every other service (orderflow_messaging.tables.outbox_channel).

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from orderflow_messaging.tables import create_messaging_tables, install_shared_channel_notify

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Idempotent: (re)creates the wake-up trigger with the per-schema channel.
    create_messaging_tables(op.get_bind())


def downgrade() -> None:
    install_shared_channel_notify(op.get_bind())
