"""The compatibility checker: each kind of breaking change is reported, naming its field.
(Changes that must not be reported: test_compat_compatible.py.)"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from orderflow_contracts.compat import breaking_changes


def schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema(mode="validation")


def changes(old: type[BaseModel], new: type[BaseModel]) -> list[str]:
    return breaking_changes(schema(old), schema(new))


# -- a realistic nested contract: lines[] and shipping_address live in $defs ------------


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


def test_removed_field_is_named() -> None:
    class OrderV2(BaseModel):
        order_id: str
        lines: list[Line]
        shipping_address: Address

    assert changes(Order, OrderV2) == ["field 'note' removed"]


def test_removed_nested_field_is_named_by_path() -> None:
    class LineV2(BaseModel):
        quantity: Annotated[int, Field(gt=0, le=10_000)]

    class OrderV2(BaseModel):
        order_id: str
        lines: list[LineV2]
        shipping_address: Address
        note: str | None = None

    assert changes(Order, OrderV2) == ["field 'lines[].sku' removed"]


def test_rename_is_reported_as_removed_and_added() -> None:
    class OrderV2(BaseModel):
        id: str
        lines: list[Line]
        shipping_address: Address
        note: str | None = None

    assert changes(Order, OrderV2) == [
        "field 'order_id' removed",
        "field 'id' added as required (a new required field)",
    ]


def test_rename_of_an_optional_field_is_reported_as_removed_and_added() -> None:
    class OrderV2(BaseModel):
        order_id: str
        lines: list[Line]
        shipping_address: Address
        remark: str | None = None

    assert changes(Order, OrderV2) == [
        "field 'note' removed",
        "field 'remark' added while 'note' was removed",
    ]


def test_type_change_inside_array_items_of_a_ref() -> None:
    class LineV2(BaseModel):
        sku: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Z0-9-]+$")]
        quantity: str

    class OrderV2(BaseModel):
        order_id: str
        lines: list[LineV2]
        shipping_address: Address
        note: str | None = None

    assert changes(Order, OrderV2) == ["field 'lines[].quantity' type changed integer -> string"]


def test_ref_target_resolving_to_a_different_type() -> None:
    class OrderV2(BaseModel):
        order_id: str
        lines: list[Line]
        shipping_address: str
        note: str | None = None

    assert changes(Order, OrderV2) == ["field 'shipping_address' type changed object -> string"]


def test_nullable_to_non_nullable() -> None:
    class OrderV2(BaseModel):
        order_id: str
        lines: list[Line]
        shipping_address: Address
        note: str = ""

    assert changes(Order, OrderV2) == ["field 'note' type changed string | null -> string"]


def test_new_required_field() -> None:
    class OrderV2(Order):
        currency: str

    assert changes(Order, OrderV2) == ["field 'currency' added as required (a new required field)"]


def test_optional_field_becoming_required() -> None:
    class OrderV2(BaseModel):
        order_id: str
        lines: list[Line]
        shipping_address: Address
        note: str | None

    assert changes(Order, OrderV2) == ["field 'note' became required"]


def test_narrowed_literal_enum() -> None:
    class Old(BaseModel):
        status: Literal["placed", "paid", "shipped"]

    class New(BaseModel):
        status: Literal["placed", "shipped"]

    assert changes(Old, New) == ["field 'status' enum narrowed: removed \"paid\""]


def test_narrowed_enum_class_in_defs() -> None:
    class OldCarrier(StrEnum):
        SIMPOST = "SimPost"
        FASTPARCEL = "FastParcel"

    class NewCarrier(StrEnum):
        SIMPOST = "SimPost"

    class Old(BaseModel):
        carrier: OldCarrier

    class New(BaseModel):
        carrier: NewCarrier

    assert changes(Old, New) == ["field 'carrier' enum narrowed: removed \"FastParcel\""]


def test_free_string_becoming_an_enum() -> None:
    class Old(BaseModel):
        status: str

    class New(BaseModel):
        status: Literal["placed"]

    assert changes(Old, New) == ["field 'status' now restricted to \"placed\""]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ({"maxLength": 20}, {"maxLength": 10}, "maxLength lowered 20 -> 10"),
        ({"maxLength": 20}, {"maxLength": 20, "minLength": 3}, "minLength raised none -> 3"),
        ({"minLength": 1}, {"minLength": 4}, "minLength raised 1 -> 4"),
        ({"pattern": "^[0-9]+$"}, {"pattern": "^[0-9]{4}$"}, "pattern changed"),
        ({}, {"pattern": "^[0-9]+$"}, "pattern changed None -> '^[0-9]+$'"),
        ({}, {"format": "date"}, "format changed None -> 'date'"),
    ],
)
def test_tightened_string_constraint(
    old: dict[str, Any], new: dict[str, Any], expected: str
) -> None:
    found = breaking_changes(_with_postcode(old), _with_postcode(new))
    assert len(found) == 1
    assert found[0].startswith(f"field 'shipping_address.postcode' {expected}")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ({"maximum": 10000}, {"maximum": 500}, "maximum lowered <= 10000 -> <= 500"),
        ({"minimum": 0}, {"minimum": 1}, "minimum raised >= 0 -> >= 1"),
        ({"minimum": 0}, {"exclusiveMinimum": 0.5}, "minimum raised >= 0 -> > 0.5"),
        ({}, {"maximum": 99}, "maximum lowered none -> <= 99"),
        ({"maxItems": 100}, {"maxItems": 10}, "maxItems lowered 100 -> 10"),
        ({"multipleOf": 1}, {"multipleOf": 5}, "multipleOf changed 1 -> 5"),
    ],
)
def test_tightened_numeric_constraint(
    old: dict[str, Any], new: dict[str, Any], expected: str
) -> None:
    number = {"type": "number"}
    found = breaking_changes(_object(amount={**number, **old}), _object(amount={**number, **new}))
    assert found == [f"field 'amount' {expected}"]


def test_tightened_constraint_from_pydantic_models() -> None:
    class LineV2(BaseModel):
        sku: Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Z0-9-]+$")]
        quantity: Annotated[int, Field(gt=0, le=100)]

    class OrderV2(BaseModel):
        order_id: str
        lines: list[LineV2]
        shipping_address: Address
        note: str | None = None

    assert changes(Order, OrderV2) == [
        "field 'lines[].sku' maxLength lowered 64 -> 32",
        "field 'lines[].quantity' maximum lowered <= 10000 -> <= 100",
    ]


def test_follows_optional_anyof_into_a_ref() -> None:
    class AddressV2(BaseModel):
        model_config = ConfigDict(extra="forbid")
        city: Annotated[str, StringConstraints(min_length=1, max_length=100)]
        postcode: Annotated[str, StringConstraints(min_length=1, max_length=8)]

    class Old(BaseModel):
        billing_address: Address | None = None

    class New(BaseModel):
        billing_address: AddressV2 | None = None

    assert changes(Old, New) == ["field 'billing_address.postcode' maxLength lowered 20 -> 8"]


def test_additional_properties_becoming_false() -> None:
    class Old(BaseModel):
        model_config = ConfigDict(extra="allow")
        order_id: str

    class New(BaseModel):
        model_config = ConfigDict(extra="forbid")
        order_id: str

    assert changes(Old, New) == ["field '<root>' additionalProperties became false"]


def test_nested_additional_properties_becoming_false() -> None:
    old = _object(address=_object(city={"type": "string"}))
    new = _object(address={**_object(city={"type": "string"}), "additionalProperties": False})
    assert breaking_changes(old, new) == ["field 'address' additionalProperties became false"]


def test_map_values_narrowed() -> None:
    class Old(BaseModel):
        stock: dict[str, int | None]

    class New(BaseModel):
        stock: dict[str, int]

    assert changes(Old, New) == ["field 'stock{}' type changed integer | null -> integer"]


def test_recursive_models_terminate() -> None:
    class Node(BaseModel):
        name: str
        parent: Node | None = None
        children: list[Node] = []

    class NodeV2(BaseModel):
        name: int
        parent: NodeV2 | None = None
        children: list[NodeV2] = []

    assert changes(Node, NodeV2) == ["field 'name' type changed string -> integer"]


def _object(**properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": sorted(properties)}


def _with_postcode(extra: dict[str, Any]) -> dict[str, Any]:
    """A pydantic-shaped schema: the address sits in $defs, behind a $ref."""
    address = _object(postcode={"type": "string", **extra})
    return {
        "$defs": {"Address": address},
        **_object(shipping_address={"$ref": "#/$defs/Address"}),
    }
