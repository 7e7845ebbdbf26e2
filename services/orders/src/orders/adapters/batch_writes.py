"""The writes of a store's book, as statements in a transaction block or as parts of an
optimistic batch's write plan: one shape for the saga and the return stores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from orderflow_messaging.db import Connection, rows_affected
from orderflow_messaging.write_plan import WritePlan
from orders.adapters.repository import ConcurrencyConflict


@dataclass(frozen=True)
class Write:
    """One statement over column arrays (``args``, the first one a row per element);
    ``expect``: how many rows it must affect, else ``conflict`` (None: any)."""

    sql: str
    args: list[list[object]]
    expect: int | None = None
    conflict: str = ""


async def apply_writes(conn: Connection, plan: WritePlan | None, writes: Sequence[Write]) -> None:
    """With a plan, every write becomes a part of it, also an empty one (one statement
    text, prepared once); else each write with rows is a statement, checked here."""
    for write in writes:
        if plan is not None:
            plan.add(write.sql, *write.args, expect=write.expect)
            continue
        if not write.args[0]:
            continue
        status = await conn.execute(write.sql, *write.args)
        if write.expect is not None and rows_affected(status) != write.expect:
            raise ConcurrencyConflict(write.conflict)
