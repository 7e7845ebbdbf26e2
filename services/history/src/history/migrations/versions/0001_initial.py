"""History: messaging tables, order_history.

Revision ID: 0001
Revises:
"""

from alembic import op

from history.adapters.tables import metadata
from orderflow_messaging.tables import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    create_messaging_tables(bind)
    metadata.create_all(bind)


def downgrade() -> None:
    bind = op.get_bind()
    metadata.drop_all(bind)
    drop_messaging_tables(bind)
