"""schemas/: one file per registered type and version, equal to what the models generate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from orderflow_contracts import registry
from orderflow_contracts.generated import render
from orderflow_contracts.schema_export import (
    TYPE_KEY,
    VERSION_KEY,
    cli,
    owner,
    schema_files,
    schema_path,
)
from orderflow_messaging.registry import Message

REPO = Path(__file__).resolve().parents[4]


def test_every_registered_message_has_its_schema_file() -> None:
    models = registry().models()
    assert len(models) >= 30
    for model in models:
        path = REPO / schema_path(model)
        assert path.is_file(), f"{path} is missing: run the schema_export writer"
        data = json.loads(path.read_text(encoding="utf-8"))
        assert (data[TYPE_KEY], data[VERSION_KEY]) == (model.TYPE, model.VERSION)
        assert data["title"] == model.TYPE


def test_file_is_named_after_owner_type_and_version() -> None:
    from orderflow_contracts.checkout import OrderPlaced

    assert schema_path(OrderPlaced) == f"schemas/checkout/OrderPlaced.v{OrderPlaced.VERSION}.json"


def test_a_model_outside_the_contracts_has_no_owner() -> None:
    class Stray(Message):
        TYPE = "Stray"

    with pytest.raises(ValueError, match="not in a module of orderflow_contracts"):
        owner(Stray)


def test_output_is_deterministic_sorted_and_ends_with_a_newline() -> None:
    first, second = schema_files(), schema_files()
    assert first == second
    for text in first.values():
        assert text.endswith("}\n")
        assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


def test_check_passes_on_the_repository(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["check", "--root", str(REPO)]) == 0, capsys.readouterr().out


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "schemas", tmp_path / "schemas")
    return tmp_path


def test_check_lists_every_differing_missing_and_extra_file(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    placed = copy / "schemas/checkout/OrderPlaced.v1.json"
    placed.write_text(placed.read_text().replace('"maxItems": 100', '"maxItems": 99'))
    (copy / "schemas/payment/PaymentVoided.v1.json").unlink()
    (copy / "schemas/payment/PaymentSettled.v1.json").write_text(render({}))
    # Examples are not schemas: they must not count as extra files here.
    assert (copy / "schemas/examples/payment/PaymentVoided.v1.json").is_file()

    assert cli(["check", "--root", str(copy)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "schemas/checkout/OrderPlaced.v1.json: differs from the models",
        "schemas/payment/PaymentVoided.v1.json: missing",
        "schemas/payment/PaymentSettled.v1.json: extra (nothing generates it; "
        "`write --prune` deletes it)",
    ]


def test_write_restores_and_keeps_stale_files_unless_pruning(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (copy / "schemas/payment/PaymentVoided.v1.json").unlink()
    stale = copy / "schemas/payment/PaymentSettled.v1.json"
    stale.write_text(render({}))

    assert cli(["write", "--root", str(copy)]) == 0
    assert (copy / "schemas/payment/PaymentVoided.v1.json").is_file()
    assert stale.is_file()
    assert "kept stale schemas/payment/PaymentSettled.v1.json" in capsys.readouterr().out

    assert cli(["write", "--root", str(copy), "--prune"]) == 0
    assert not stale.exists()
    assert (copy / "schemas/examples/payment/PaymentVoided.v1.json").is_file()
    assert cli(["check", "--root", str(copy)]) == 0


def test_write_into_an_empty_root_then_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["write", "--root", str(tmp_path)]) == 0
    assert cli(["check", "--root", str(tmp_path)]) == 0
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.json")) == sorted(
        schema_files()
    )
