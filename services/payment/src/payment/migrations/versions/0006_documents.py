"""Payment: invoices and credit notes (documents) and their gapless number counters.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

from payment.adapters.tables import document_counters, documents

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # checkfirst: a new schema has them already (0001 creates tables.py's metadata).
    bind = op.get_bind()
    documents.create(bind, checkfirst=True)
    document_counters.create(bind, checkfirst=True)


def downgrade() -> None:
    bind = op.get_bind()
    document_counters.drop(bind, checkfirst=True)
    documents.drop(bind, checkfirst=True)
