"""The writes of a store's book, as statements in a transaction block or as parts of an
optimistic batch's write plan: one shape for the saga and the return stores."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from orderflow_messaging.db import Connection, rows_affected
from orderflow_messaging.write_plan import WritePlan
from orders.adapters.repository import ConcurrencyConflict


@dataclass(frozen=True)
class Write:
    """One statement over column arrays (``args``, the first one a row per element);
    ``expect``: how many rows it must affect, else ``conflict`` (None: any). ``hold``:
    the statement is a ``SELECT ... FOR SHARE`` of rows read and not written, which must
    find ``expect`` rows (``WritePlan.hold``)."""

    sql: str
    args: list[list[object]]
    expect: int | None = None
    conflict: str = ""
    hold: bool = False


def held_versions(
    loaded: Mapping[str, int], changed: Collection[str]
) -> tuple[list[list[object]], int]:
    """A hold's arguments (ids, versions) and expected count: the rows a book read and
    left unchanged."""
    held = sorted(key for key in loaded if key not in changed)
    return [list(held), [loaded[key] for key in held]], len(held)


async def apply_writes(conn: Connection, plan: WritePlan | None, writes: Sequence[Write]) -> None:
    """With a plan, every write becomes a part of it, also an empty one (one statement
    text, prepared once); else each write with rows is a statement, checked here."""
    for write in writes:
        if plan is not None and write.hold:
            plan.hold(write.sql, *write.args, expect=write.expect or 0)
        elif plan is not None:
            plan.add(write.sql, *write.args, expect=write.expect)
        elif write.args[0]:
            await _run(conn, write)


async def _run(conn: Connection, write: Write) -> None:
    if write.hold:
        found = len(await conn.fetch(write.sql, *write.args))
    else:
        found = rows_affected(await conn.execute(write.sql, *write.args))
    if write.expect is not None and found != write.expect:
        raise ConcurrencyConflict(write.conflict)
