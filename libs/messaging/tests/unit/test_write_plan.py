"""The write plan's statement: parts as CTEs, parameters renumbered, expectations last."""

from __future__ import annotations

from orderflow_messaging.write_plan import WritePlan


def test_parts_are_renumbered_and_expectations_checked_after_them() -> None:
    plan = WritePlan()
    plan.add("INSERT INTO t SELECT unnest($1::int[])", [1, 2], expect=2)
    plan.add("UPDATE u SET x = $1 WHERE y = $2", "x", "y")
    plan.require("NOT EXISTS (SELECT 1 FROM p WHERE k = ANY($1::text[]))", ["k"])
    sql, args = plan.statement()
    assert sql == (
        "WITH w0 AS (INSERT INTO t SELECT unnest($1::int[]) RETURNING 1),\n"
        "w1 AS (UPDATE u SET x = $3 WHERE y = $4)\n"
        "SELECT 1 / (CASE WHEN (SELECT count(*) FROM w0) = $2::bigint AND "
        "(NOT EXISTS (SELECT 1 FROM p WHERE k = ANY($5::text[]))) THEN 1 ELSE 0 END)"
    )
    assert args == [[1, 2], 2, "x", "y", ["k"]]
    assert len(plan) == 2


def test_parameters_past_nine_are_renumbered_whole() -> None:
    plan = WritePlan()
    plan.add("SELECT " + ", ".join(f"${n}" for n in range(1, 12)), *range(11))
    plan.add("UPDATE v SET a = $1, b = $11", *range(11))
    sql, args = plan.statement()
    assert "UPDATE v SET a = $12, b = $22" in sql
    assert len(args) == 22


def test_a_plan_of_guards_only_is_a_select() -> None:
    plan = WritePlan()
    plan.require("$1::bool", True)
    assert plan.statement() == ("SELECT 1 / (CASE WHEN ($1::bool) THEN 1 ELSE 0 END)", [True])


def test_a_held_part_is_a_locking_select_counted_like_a_write() -> None:
    plan = WritePlan()
    plan.hold("SELECT 1 FROM t WHERE k = ANY($1::text[]) FOR SHARE", ["k"], expect=1)
    sql, args = plan.statement()
    assert sql == (
        "WITH w0 AS (SELECT 1 FROM t WHERE k = ANY($1::text[]) FOR SHARE)\n"
        "SELECT 1 / (CASE WHEN (SELECT count(*) FROM w0) = $2::bigint THEN 1 ELSE 0 END)"
    )
    assert args == [["k"], 1]


def test_an_abandoned_plan_calls_back_once_and_never_commits() -> None:
    plan = WritePlan()
    called: list[str] = []
    plan.after_commit(lambda: called.append("committed"))
    plan.if_abandoned(lambda: called.append("abandoned"))
    plan.abandon()
    plan.abandon()
    assert called == ["abandoned"]
