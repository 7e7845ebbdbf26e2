"""Catalog: categories, and what products are searched and compared by (description,
category, family, attributes, a full-text document with its index).

Revision ID: 0005
Revises: 0004
"""

from alembic import op

from catalog.adapters.tables import SEARCH_DOCUMENT, categories

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# IF NOT EXISTS throughout: a new schema already has all of it (0001 creates tables.py's
# metadata).
_COLUMNS = (
    "description text NOT NULL DEFAULT ''",
    "category text REFERENCES categories (slug)",
    "family text",
    "attributes jsonb NOT NULL DEFAULT '{}'::jsonb",
    f"search tsvector GENERATED ALWAYS AS ({SEARCH_DOCUMENT}) STORED",
)
_INDEXES = (
    "products_search ON products USING gin (search)",
    "products_attributes ON products USING gin (attributes)",
    "products_category ON products (category)",
    "products_family ON products (family)",
)


def upgrade() -> None:
    categories.create(op.get_bind(), checkfirst=True)
    for column in _COLUMNS:
        op.execute(f"ALTER TABLE products ADD COLUMN IF NOT EXISTS {column}")
    for index in _INDEXES:
        op.execute(f"CREATE INDEX IF NOT EXISTS {index}")


def downgrade() -> None:
    for index in _INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {index.split()[0]}")
    for column in reversed(_COLUMNS):
        op.execute(f"ALTER TABLE products DROP COLUMN IF EXISTS {column.split()[0]}")
    categories.drop(op.get_bind(), checkfirst=True)
