"""What the catalog's routes share: the product as it is shown, the field types of
catalog input, and a 422 for rules the schema cannot state."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from catalog.domain.model import Product
from orderflow_service.http import NO_NUL

Slug = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
]
AttributeName = Annotated[
    str, StringConstraints(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")
]
AttributeValue = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NO_NUL)]
Family = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Z0-9][A-Z0-9-]*$")
]


class ComponentView(BaseModel):
    sku: str
    quantity: int


class ProductView(BaseModel):
    sku: str
    name: str
    price_minor: int
    currency: str
    active: bool
    description: str = ""
    category: str | None = None
    family: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)
    # Inventory's last announced level (null: none announced yet); in_stock: above zero.
    available: int | None = None
    in_stock: bool = False
    components: list[ComponentView] | None = None  # a bundle's (null: not a bundle)
    weight_g: int | None = None  # one unit's shipping weight (null: unknown)


def product_view(product: Product) -> ProductView:
    return ProductView(
        sku=product.sku,
        name=product.name,
        price_minor=product.price_minor,
        currency=product.currency,
        active=product.active,
        description=product.description,
        category=product.category,
        family=product.family,
        attributes=dict(product.attributes),
        available=product.available,
        in_stock=product.in_stock,
        components=[ComponentView(sku=sku, quantity=q) for sku, q in product.components] or None,
        weight_g=product.weight_g,
    )
