"""schemas/examples/: a golden envelope per type and version that today's code decodes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from orderflow_contracts import registry
from orderflow_contracts.example_payloads import payloads
from orderflow_contracts.examples import cli, examples
from orderflow_contracts.samples import SAMPLE_CATALOG
from orderflow_contracts.schema_export import EXAMPLES_DIR, relative_name
from orderflow_messaging.envelope import Envelope

REPO = Path(__file__).resolve().parents[4]
EXAMPLE_FILES = sorted((REPO / EXAMPLES_DIR).glob("*/*.json"))


def test_every_registered_message_has_an_example() -> None:
    for model in registry().models():
        path = REPO / EXAMPLES_DIR / relative_name(model)
        assert path.is_file(), f"{path} is missing: add a body to example_payloads.payloads()"


def test_no_type_and_version_is_built_twice() -> None:
    built = [(m.TYPE, m.VERSION) for m in payloads()]
    assert len(built) == len(set(built))
    assert len(examples()) == len(built)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden_example_decodes_to_its_type_and_version(path: Path) -> None:
    reg = registry()
    decoded = reg.decode(path.read_bytes())
    type_, version = path.name.removesuffix(".json").rsplit(".v", 1)
    assert (decoded.envelope.type, decoded.envelope.version) == (type_, int(version))
    assert type_ == decoded.message.TYPE
    # decode() upcasts to the newest version; the payload must also be valid as sent.
    assert reg.model(type_, int(version)).model_validate(decoded.envelope.payload)
    assert path.parent.name == path.relative_to(REPO / EXAMPLES_DIR).parts[0]


def test_examples_exist_on_disk() -> None:
    assert len(EXAMPLE_FILES) == len(registry().models())


def test_causation_ids_point_at_other_examples() -> None:
    envelopes = [Envelope.model_validate(data) for data in examples().values()]
    ids = {e.message_id for e in envelopes}
    assert len(ids) == len(envelopes)
    for envelope in envelopes:
        assert envelope.causation_id is None or envelope.causation_id in ids, envelope.type
        assert envelope.occurred_at.tzinfo is not None


def test_values_are_realistic() -> None:
    known = {p.sku for p in SAMPLE_CATALOG}
    for data in examples().values():
        payload = data["payload"]
        for sku in _values(payload, "sku"):
            assert sku in known, sku
        for currency in _values(payload, "currency"):
            assert currency == "EUR"
        for token in _values(payload, "payment_token"):
            assert token == "tok_ok"
        for order_id in _values(payload, "order_id"):
            assert UUID(order_id).version == 4


def test_check_passes_on_the_repository(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["check", "--root", str(REPO)]) == 0, capsys.readouterr().out


def test_check_fails_on_an_edited_example(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(REPO / "schemas", tmp_path / "schemas")
    edited = tmp_path / EXAMPLES_DIR / "payment/PaymentCaptured.v1.json"
    data = json.loads(edited.read_text())
    data["payload"]["amount_minor"] += 1
    edited.write_text(json.dumps(data))
    assert cli(["check", "--root", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "schemas/examples/payment/PaymentCaptured.v1.json: differs from the models"
    ]


def _values(data: Any, key: str) -> list[Any]:
    """Every value stored under ``key`` anywhere in nested JSON data."""
    if isinstance(data, dict):
        own = [data[key]] if key in data else []
        return own + [v for value in data.values() for v in _values(value, key)]
    if isinstance(data, list):
        return [v for item in data for v in _values(item, key)]
    return []
