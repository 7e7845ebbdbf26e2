"""Backward compatibility of two JSON Schemas of the same message type and version.

A type keeps its version only while old and new code can exchange it, so a change is
breaking when a message valid under the old schema may be rejected by the new one, or a
field an old consumer reads is gone:

- a field removed (a rename shows as removed + added);
- a type narrowed, also through ``$ref`` and ``anyOf`` (e.g. nullable -> non-nullable);
- a new required field, or an optional field becoming required;
- an enum or const losing a value, or a free value becoming an enum;
- a constraint tightened (maxLength/maximum/maxItems lowered, minLength/minimum/minItems
  raised, a bound added, pattern/format/multipleOf changed, uniqueItems added);
- additionalProperties becoming false, or its schema narrowing.

Adding an optional field or loosening a constraint is compatible. Fields are named by
JSON path: ``lines[].sku`` (array items), ``shipping_address.postcode``, ``prices{}``
(values of a map), ``<root>`` (the message itself).

The command line (``python -m orderflow_contracts.compat --against REF``) lives in
``orderflow_contracts.compat_cli``; ``__main__`` below forwards to it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Schema = Mapping[str, Any]

ROOT_LABEL = "<root>"
# Keys whose rise (lower bounds) or fall (upper bounds) rejects values accepted before.
_MIN_KEYS = ("minLength", "minItems", "minProperties")
_MAX_KEYS = ("maxLength", "maxItems", "maxProperties")
# Keys we cannot compare for subsumption (regular expressions, formats): any change counts.
_EXACT_KEYS = ("pattern", "format", "multipleOf")
# A type that an old type is still valid under (JSON Schema integers are numbers).
_WIDER = {"integer": "number"}


def breaking_changes(old: Schema, new: Schema) -> list[str]:
    """Every breaking change from ``old`` to ``new``, each naming its field."""
    diff = _Diff(old, new)
    diff.compare("", old, new)
    return diff.found


@dataclass
class _Diff:
    old_root: Schema
    new_root: Schema
    found: list[str] = field(default_factory=list)
    # (old $ref, new $ref) pairs being compared: recursive models would loop otherwise.
    _seen: set[tuple[str, str]] = field(default_factory=set)

    def report(self, path: str, text: str) -> None:
        self.found.append(f"field '{path or ROOT_LABEL}' {text}")

    def compare(self, path: str, old: Schema, new: Schema) -> None:
        old_branches = _branches(self.old_root, old)
        new_branches = _branches(self.new_root, new)
        old_types = set().union(*(_types(b) for _, b in old_branches))
        new_types = set().union(*(_types(b) for _, b in new_branches))
        if any(not _covered(t, new_types) for t in old_types):
            self.report(path, f"type changed {_fmt_types(old_types)} -> {_fmt_types(new_types)}")
        for old_ref, old_branch in old_branches:
            match = _counterpart(old_branch, new_branches)
            if match is None:
                continue
            refs = (old_ref, match[0])
            if refs in self._seen:
                continue
            if refs != ("", ""):
                self._seen.add(refs)
            try:
                self._compare_branch(path, old_branch, match[1])
            finally:
                self._seen.discard(refs)

    def _compare_branch(self, path: str, old: Schema, new: Schema) -> None:
        self._compare_values(path, old, new)
        self._compare_constraints(path, old, new)
        if "object" in _types(old) & _types(new):
            self._compare_object(path, old, new)
        if "array" in _types(old) & _types(new):
            self.compare(f"{path}[]", old.get("items", {}), new.get("items", {}))

    def _compare_values(self, path: str, old: Schema, new: Schema) -> None:
        old_values, new_values = _allowed(old), _allowed(new)
        if new_values is None:
            return
        if old_values is None:
            self.report(path, f"now restricted to {_fmt_values(new_values)}")
            return
        # Compared as JSON text: in Python True == 1, in JSON they are different values.
        kept = {json.dumps(v, sort_keys=True) for v in new_values}
        lost = [v for v in old_values if json.dumps(v, sort_keys=True) not in kept]
        if lost:
            self.report(path, f"enum narrowed: removed {_fmt_values(lost)}")

    def _compare_constraints(self, path: str, old: Schema, new: Schema) -> None:
        for key in _MIN_KEYS:
            if key in new and (key not in old or new[key] > old[key]):
                self.report(path, f"{key} raised {old.get(key, 'none')} -> {new[key]}")
        for key in _MAX_KEYS:
            if key in new and (key not in old or new[key] < old[key]):
                self.report(path, f"{key} lowered {old.get(key, 'none')} -> {new[key]}")
        for key in _EXACT_KEYS:
            if key in new and old.get(key) != new[key]:
                self.report(path, f"{key} changed {old.get(key)!r} -> {new[key]!r}")
        if new.get("uniqueItems") is True and old.get("uniqueItems") is not True:
            self.report(path, "uniqueItems added")
        integer = _types(new) == {"integer"}
        for kind, tighter in (("minimum", _higher), ("maximum", _lower)):
            old_bound, new_bound = _bound(old, kind, integer), _bound(new, kind, integer)
            if new_bound is not None and (old_bound is None or tighter(new_bound, old_bound)):
                verb = "raised" if kind == "minimum" else "lowered"
                old_text = "none" if old_bound is None else _fmt_bound(kind, old_bound)
                self.report(path, f"{kind} {verb} {old_text} -> {_fmt_bound(kind, new_bound)}")

    def _compare_object(self, path: str, old: Schema, new: Schema) -> None:
        old_props: Schema = old.get("properties", {})
        new_props: Schema = new.get("properties", {})
        old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
        removed = [name for name in old_props if name not in new_props]
        for name in old_props:
            child = f"{path}.{name}" if path else name
            if name in removed:
                self.report(child, "removed")
                continue
            if name in new_required and name not in old_required:
                self.report(child, "became required")
            self.compare(child, old_props[name], new_props[name])
        for name in new_props:
            if name in old_props:
                continue
            child = f"{path}.{name}" if path else name
            if name in new_required:
                self.report(child, "added as required (a new required field)")
            elif removed:
                verb = "was" if len(removed) == 1 else "were"
                self.report(child, f"added while {', '.join(map(repr, removed))} {verb} removed")
        self._compare_additional(path, old, new)

    def _compare_additional(self, path: str, old: Schema, new: Schema) -> None:
        old_extra = old.get("additionalProperties", True)
        new_extra = new.get("additionalProperties", True)
        if new_extra is False:
            if old_extra is not False:
                self.report(path, "additionalProperties became false")
            return
        # From "nothing extra" to a value schema only loosens; from "anything" it narrows.
        if isinstance(new_extra, Mapping) and old_extra is not False:
            old_values = old_extra if isinstance(old_extra, Mapping) else {}
            self.compare(f"{path}{{}}", old_values, new_extra)


def _resolve(root: Schema, node: Schema) -> Schema:
    """The node with its ``$ref`` chain and ``allOf`` merged in; sibling keys win."""
    merged: dict[str, Any] = {}
    ref = node.get("$ref")
    if isinstance(ref, str):
        merged.update(_resolve(root, _pointer(root, ref)))
    for part in node.get("allOf", ()):
        merged.update(_resolve(root, part))
    merged.update({k: v for k, v in node.items() if k not in ("$ref", "allOf")})
    return merged


def _pointer(root: Schema, ref: str) -> Schema:
    if not ref.startswith("#"):
        raise ValueError(f"only local $ref is supported, not {ref!r}")
    target: Any = root
    for token in ref[1:].split("/")[1:]:
        target = target[token.replace("~1", "/").replace("~0", "~")]
    if not isinstance(target, Mapping):
        raise ValueError(f"$ref {ref!r} does not point at a schema")
    return target


# A branch and the $ref it was reached through ("" if none), for cycle detection.
Branch = tuple[str, Schema]


def _branches(root: Schema, node: Schema, via: str = "") -> list[Branch]:
    """The alternatives a value may match: ``anyOf``/``oneOf`` flattened, refs resolved."""
    resolved = _resolve(root, node)
    ref = str(node.get("$ref", via))
    options = resolved.get("anyOf") or resolved.get("oneOf")
    if not options:
        return [(ref, resolved)]
    return [branch for option in options for branch in _branches(root, option, ref)]


def _types(schema: Schema) -> set[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return set(declared)
    values = _allowed(schema)
    if values is not None:
        return {_json_type(v) for v in values}
    if "properties" in schema or "additionalProperties" in schema:
        return {"object"}
    if "items" in schema:
        return {"array"}
    return {"any"}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    for python_type, name in ((int, "integer"), (float, "number"), (str, "string")):
        if isinstance(value, python_type):
            return name
    return "array" if isinstance(value, list) else "object"


def _covered(old_type: str, new_types: set[str]) -> bool:
    return "any" in new_types or old_type in new_types or _WIDER.get(old_type) in new_types


def _counterpart(old: Schema, candidates: list[Branch]) -> Branch | None:
    """The new branch to compare an old one with: same type, preferably same title."""
    kinds = _types(old)
    same_type = [c for c in candidates if any(_covered(t, _types(c[1])) for t in kinds)]
    titled = [c for c in same_type if c[1].get("title") == old.get("title")]
    for group in (titled, same_type):
        if len(group) == 1:
            return group[0]
    return titled[0] if titled else None


def _allowed(schema: Schema) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    values = schema.get("enum")
    return list(values) if isinstance(values, list) else None


# A bound is (value, exclusive); for integers an exclusive bound becomes the inclusive
# neighbour, so that "> 0" and ">= 1" compare equal instead of looking tightened.
Bound = tuple[float, bool]


def _bound(schema: Schema, kind: str, integer: bool) -> Bound | None:
    exclusive_key = "exclusiveMinimum" if kind == "minimum" else "exclusiveMaximum"
    step = 1 if kind == "minimum" else -1
    found: list[Bound] = []
    if isinstance(schema.get(kind), int | float):
        found.append((schema[kind], False))
    if isinstance(schema.get(exclusive_key), int | float):
        value = schema[exclusive_key]
        exact = integer and float(value).is_integer()
        found.append((value + step, False) if exact else (value, True))
    if not found:
        return None
    pick = max if kind == "minimum" else min
    return pick(found, key=lambda b: (b[0], b[1] if kind == "minimum" else not b[1]))


def _higher(new: Bound, old: Bound) -> bool:
    return new[0] > old[0] or (new[0] == old[0] and new[1] and not old[1])


def _lower(new: Bound, old: Bound) -> bool:
    return new[0] < old[0] or (new[0] == old[0] and new[1] and not old[1])


def _fmt_bound(kind: str, bound: Bound) -> str:
    symbol = (">" if kind == "minimum" else "<") + ("" if bound[1] else "=")
    value = bound[0]
    return f"{symbol} {int(value) if float(value).is_integer() else value}"


def _fmt_types(types: set[str]) -> str:
    # null last, so "integer | null -> integer" reads as losing nullability.
    return " | ".join(sorted(types, key=lambda t: (t == "null", t)))


def _fmt_values(values: list[Any]) -> str:
    return ", ".join(json.dumps(v, sort_keys=True) for v in values)


if __name__ == "__main__":
    from orderflow_contracts.compat_cli import cli

    raise SystemExit(cli())
