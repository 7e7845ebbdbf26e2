"""Messaging: the parked_keys table (per-key sequencing of dead letters).

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from orderflow_messaging.tables import create_messaging_tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Idempotent: creates only the messaging tables this schema does not have yet.
    create_messaging_tables(op.get_bind())


def downgrade() -> None:
    op.drop_table("parked_keys")
