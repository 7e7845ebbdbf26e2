"""The compatibility checker stays quiet about compatible changes: an optional field
added, constraints loosened, types widened, cosmetic keys edited."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from orderflow_contracts.compat import breaking_changes
from orderflow_contracts.schema_export import schemas


def changes(old: type[BaseModel], new: type[BaseModel]) -> list[str]:
    return breaking_changes(old.model_json_schema(), new.model_json_schema())


class Line(BaseModel):
    sku: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Z0-9-]+$")]
    quantity: Annotated[int, Field(gt=0, le=10_000)]


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid")
    city: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    postcode: Annotated[str, StringConstraints(min_length=1, max_length=20)]


class Order(BaseModel):
    order_id: str
    lines: list[Line]
    shipping_address: Address
    note: str | None = None


def test_identical_schemas_are_compatible() -> None:
    assert changes(Order, Order) == []


def test_every_checked_in_contract_is_compatible_with_itself() -> None:
    for path, contract in schemas().items():
        assert breaking_changes(contract, contract) == [], path


def test_adding_an_optional_field_is_compatible() -> None:
    class OrderV2(Order):
        gift_wrap: bool = False
        coupon: str | None = None

    assert changes(Order, OrderV2) == []


def test_loosened_constraints_are_compatible() -> None:
    class LineV2(BaseModel):
        sku: Annotated[str, StringConstraints(max_length=128, pattern=r"^[A-Z0-9-]+$")]
        quantity: Annotated[int, Field(ge=0, le=100_000)]

    class AddressV2(BaseModel):
        model_config = ConfigDict(extra="allow")
        city: str
        postcode: str

    class OrderV2(BaseModel):
        order_id: str
        lines: list[LineV2]
        shipping_address: AddressV2
        note: str | None = None

    assert changes(Order, OrderV2) == []


def test_widening_is_compatible() -> None:
    class Old(BaseModel):
        status: Literal["placed"]
        count: int
        label: str

    class New(BaseModel):
        status: Literal["placed", "paid"]
        count: float
        label: str | None

    assert changes(Old, New) == []


def test_equivalent_integer_bounds_are_compatible() -> None:
    old = _object(quantity={"type": "integer", "exclusiveMinimum": 0})
    new = _object(quantity={"type": "integer", "minimum": 1})
    assert breaking_changes(old, new) == []


def test_titles_descriptions_and_defaults_do_not_matter() -> None:
    old = _object(note={"type": "string", "title": "Note", "default": ""})
    new = _object(note={"type": "string", "title": "Remark", "description": "free text"})
    assert breaking_changes(old, new) == []


def _object(**properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": sorted(properties)}
