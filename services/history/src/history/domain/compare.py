"""Two versions of the projection side by side (a rebuild against the live table)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from history.domain.projection import OrderHistory


@dataclass
class Difference:
    missing: list[str] = field(default_factory=list)  # live only
    extra: list[str] = field(default_factory=list)  # rebuilt only
    # order id -> column -> (live value, rebuilt value)
    differing: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)
    compared: int = 0

    @property
    def count(self) -> int:
        return len(self.missing) + len(self.extra) + len(self.differing)


def compare(
    live: Iterable[OrderHistory],
    rebuilt: Iterable[OrderHistory],
    skip: frozenset[str] = frozenset(),
) -> Difference:
    """Rows missing from, extra in, or differing in the rebuild; orders in ``skip`` are
    left out (they changed after the rebuild's snapshot, so they may rightly differ)."""
    old = {row.order_id: row for row in live if row.order_id not in skip}
    new = {row.order_id: row for row in rebuilt if row.order_id not in skip}
    result = Difference(
        missing=sorted(old.keys() - new.keys()),
        extra=sorted(new.keys() - old.keys()),
        compared=len(old.keys() & new.keys()),
    )
    for order_id in sorted(old.keys() & new.keys()):
        columns = {
            f.name: (getattr(old[order_id], f.name), getattr(new[order_id], f.name))
            for f in fields(OrderHistory)
            if getattr(old[order_id], f.name) != getattr(new[order_id], f.name)
        }
        if columns:
            result.differing[order_id] = columns
    return result
