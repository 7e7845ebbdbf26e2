"""Orders: returns (RMA) and their history.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

from orders.adapters.tables import return_history, returns

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # checkfirst: a new schema has them already (0001 creates tables.py's metadata).
    bind = op.get_bind()
    returns.create(bind, checkfirst=True)
    return_history.create(bind, checkfirst=True)


def downgrade() -> None:
    bind = op.get_bind()
    return_history.drop(bind, checkfirst=True)
    returns.drop(bind, checkfirst=True)
