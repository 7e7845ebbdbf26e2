"""Bundles in the saga: a bundle's line is reserved and shipped as its components, all
in the one reservation (inventory grants all of it or none), each SKU once."""

from __future__ import annotations

from dataclasses import replace

from orders.saga.commands import command_for
from orders.saga.state import OrderLine, Step
from orders.saga.transitions import start

from .saga_builders import OID, ORDER, POLICY, T0

KIT = OrderLine("KIT", 2, 5000, components=(("TEE-BLK-M", 1), ("MUG-ENAMEL", 2)))
WITH_BUNDLE = replace(ORDER, lines=(*ORDER.lines, KIT))


def test_a_bundle_is_reserved_as_its_components_with_each_sku_once() -> None:
    ((_, reserve),) = start(OID, WITH_BUNDLE, T0, POLICY).commands
    assert reserve.model_dump()["lines"] == [
        {"sku": "TEE-BLK-M", "quantity": 2 + 2},  # the order's own tees and the kits'
        {"sku": "MUG-ENAMEL", "quantity": 4},
    ]


def test_a_bundle_ships_as_its_components() -> None:
    saga = start(OID, WITH_BUNDLE, T0, POLICY).saga
    _, shipment = command_for(saga, Step.CREATE_SHIPMENT)
    assert {line["sku"] for line in shipment.model_dump()["lines"]} == {"TEE-BLK-M", "MUG-ENAMEL"}
