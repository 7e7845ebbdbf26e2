"""Messaging: the outbox keeps a record's headers packed in ``header_bytes``.

They were JSON of base64 strings (``headers``, JSONB): ~3x the Python to write and
read, a JSONB parse per row, ~40% more bytes. Rows written before keep theirs; the relay
reads both. A relay of the earlier release cannot read the new rows: it fails its pass
and gives its slots up, and a relay of this release takes them over.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

from orderflow_messaging.tables import create_messaging_tables, restore_json_headers

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables(op.get_bind())


def downgrade() -> None:
    restore_json_headers(op.get_bind())
