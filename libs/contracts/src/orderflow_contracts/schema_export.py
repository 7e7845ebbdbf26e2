"""JSON Schema of every message type and version, as checked-in files.

``schemas/<owner>/<Type>.v<N>.json``, where the owner is the contracts module that
defines the model. The files are what CI diffs and what ``compat`` compares against an
older commit, so they are generated only from the pydantic models, never edited.

    python -m orderflow_contracts.schema_export write [--root DIR] [--prune]
    python -m orderflow_contracts.schema_export check [--root DIR]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from orderflow_contracts import all_messages
from orderflow_contracts.generated import Files, json_files, main, render
from orderflow_messaging.registry import Message

SCHEMA_DIR = "schemas"
EXAMPLES_DIR = "schemas/examples"
TYPE_KEY = "x-orderflow-type"
VERSION_KEY = "x-orderflow-version"


def owner(model: type[Message]) -> str:
    """The contracts module that defines a model (catalog, checkout, ...): the owner is
    whoever edits that module, so a new module is a new owner without a list to update."""
    package, _, name = model.__module__.partition(".")
    if package != "orderflow_contracts" or not name or "." in name:
        raise ValueError(
            f"{model.TYPE} v{model.VERSION} is defined in {model.__module__}, "
            "not in a module of orderflow_contracts"
        )
    return name


def relative_name(model: type[Message]) -> str:
    """``<owner>/<Type>.v<N>.json``: the same under schemas/ and schemas/examples/."""
    return f"{owner(model)}/{model.TYPE}.v{model.VERSION}.json"


def schema_path(model: type[Message]) -> str:
    return f"{SCHEMA_DIR}/{relative_name(model)}"


def schema_of(model: type[Message]) -> dict[str, Any]:
    """Validation mode: the schema a consumer applies to what it receives.

    The title is the wire type, not the Python class name: renaming ``OrderPlaced`` to
    ``OrderPlacedV1`` when v2 arrives must leave the published v1 file untouched."""
    schema = model.model_json_schema(mode="validation")
    schema["title"] = model.TYPE
    schema[TYPE_KEY] = model.TYPE
    schema[VERSION_KEY] = model.VERSION
    return schema


def schemas() -> dict[str, dict[str, Any]]:
    """Repository-relative path -> schema, for every registered type and version."""
    return {schema_path(model): schema_of(model) for model in all_messages()}


def schema_files() -> Files:
    return {path: render(schema) for path, schema in schemas().items()}


def schema_files_on_disk(root: Path) -> list[str]:
    return json_files(root, SCHEMA_DIR, exclude=Path(EXAMPLES_DIR).name)


def cli(argv: Sequence[str] | None = None) -> int:
    return main(
        "python -m orderflow_contracts.schema_export", argv, schema_files, schema_files_on_disk
    )


if __name__ == "__main__":
    raise SystemExit(cli())
