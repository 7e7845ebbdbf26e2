"""Catalog: a bundle's availability from its components' levels (the product_availability
view every product read joins).

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# A bundle has no level of its own (inventory holds its components): it can be sold as
# many times as its scarcest component allows. A product with a component whose level
# is not announced yet has none either (NULL, as a SKU without a level). A product that
# is not a bundle has SQL NULL or JSON null in ``components`` (what SQLAlchemy writes for
# None), hence the test of its type.
_VIEW = """
CREATE VIEW product_availability AS
SELECT p.sku,
       CASE WHEN jsonb_typeof(p.components) = 'array' THEN b.available ELSE l.available END
           AS available
FROM products p
LEFT JOIN stock_levels l ON l.sku = p.sku
LEFT JOIN LATERAL (
    SELECT CASE WHEN count(cl.available) = count(*)
                THEN min(cl.available / greatest((c.value ->> 'quantity')::bigint, 1))
           END AS available
    FROM jsonb_array_elements(
        CASE WHEN jsonb_typeof(p.components) = 'array' THEN p.components ELSE '[]' END
    ) AS c
    LEFT JOIN stock_levels cl ON cl.sku = c.value ->> 'sku'
) b ON true
"""


def upgrade() -> None:
    op.execute(_VIEW)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS product_availability")
