"""Payment: index the gateway's authorizations by authorization id.

A capture, void or refund looks its authorization up by id (``Ledger.authorization``);
without this index that is a sequential scan of the whole ledger, so every capture got
slower as the ledger grew (10 ms at 40k rows on the benchmark machine).

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # IF NOT EXISTS: a new schema already has it (0001 creates tables.py's metadata).
    op.execute(
        "CREATE INDEX IF NOT EXISTS gateway_ledger_authorizations "
        "ON gateway_ledger (authorization_id) WHERE kind = 'authorize'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS gateway_ledger_authorizations")
