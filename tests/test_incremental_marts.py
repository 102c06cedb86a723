"""Models incremental by customer (macro incremental_customers, issue 12) against a real PostgreSQL and dbt.

A forward night recomputes only the customers whose input changed since the table was last built; the
result must equal a full refresh exactly. The hand-made fixture (tests/support) runs D1, D2, D3 and is
compared with a --full-refresh of D3 by EXCEPT ALL both ways, with two cases the incremental path must
not miss: an order re-exported under another customer (the old customer's days must go) and an event
exported early with a timestamp after the previous run (it comes into view on D3 only).
"""

from __future__ import annotations

from pathlib import Path

from support.dbt_project import (
    D1,
    D2,
    D3,
    D3_ROWS,
    FIXTURE,
    SELECT,
    _dbt,
    _insert,
    _load_raw,
    _rows,
    _table,
    create_enrichment,
)

from crm_scoring import warehouse

# Tables compared with a full refresh: (relation, rows of D3 only when per-date)
COMPARED = {
    "intermediate.int_activity__customer_days": None,
    "intermediate.int_activity__customer_lifetime": None,
    "intermediate.int_churn__activity": None,
    "marts.churn_features": D3,
    "marts.customer_value": D3,
    "marts.customer_complaints": D3,
}
INCREMENTAL_BY_CUSTOMER = (
    "intermediate.int_activity__customer_days",
    "intermediate.int_activity__customer_lifetime",
)

EXTRA = {
    # exported on D1 with a D3 timestamp: invisible on D1 and D2, in view on D3 (the time cut)
    "interactions": _table(
        "event_id customer_id event_ts event_type", (D1, "e-early", "c6", "2026-11-28T05:00:00Z", "page_view")
    ),
    # o9 (c6, exported D1) re-exported on D3 under c4: c6's day of 2026-11-01 must disappear
    "orders": _table(
        "order_id customer_id order_ts status net_amount updated_at",
        (D3, "o9", "c4", "2026-11-01T10:00:00Z", "cancelled", 999, "2026-11-28T07:00:00Z"),
    ),
}


def _diff(url: str, left: str, right: str, where: str) -> list[list[dict]]:
    """Rows of `left` not in `right` and of `right` not in `left` (EXCEPT ALL), both empty when equal."""
    return [
        _rows(url, f"select * from {a} {where} except all select * from {b} {where}")
        for a, b in ((left, right), (right, left))
    ]


def _mark(url: str, table: str) -> str | None:
    with warehouse.connect(url) as conn:
        return conn.execute("select obj_description(%s::regclass, 'pg_class')", (table,)).fetchone()[0]


def test_incremental_nights_equal_a_full_refresh_except_all(project: Path, dbt_env: str) -> None:
    url = dbt_env
    _load_raw(url, FIXTURE)
    with warehouse.connect(url) as conn:
        _insert(conn, D3_ROWS)
        _insert(conn, EXTRA)
    create_enrichment(url)
    _dbt(project, "seed", run_date=D1)
    for run_date in (D1, D2):
        _dbt(project, "run", *SELECT, run_date=run_date)
    days = "intermediate.int_activity__customer_days"
    assert _mark(url, days) == f"as of {D2} (macro incremental_customers)"
    early = _rows(url, f"select * from {days} where customer_id = 'c6' and activity_date = %s", D3)
    assert early == []  # not in view before D3

    # c5 has no new input on D3: a forward night must leave its rows alone, not rewrite them (a rewritten
    # row has a new xmin). The days table recomputes only the affected customer-days: c4's day of o5 stays,
    # its day of o9 (moved from c6) is new; the lifetime table recomputes the affected customers whole.
    lifetime = "intermediate.int_activity__customer_lifetime"

    def versions(table: str, customer: str) -> dict[str, str]:
        return {
            str(r.get("activity_date")): r["xmin"]
            for r in _rows(url, f"select *, xmin::text from {table} where customer_id = %s", customer)
        }

    before = {(t, c): versions(t, c) for t in (days, lifetime) for c in ("c5", "c6", "c4")}
    assert all(before.values())
    _dbt(project, "run", *SELECT, run_date=D3)
    assert _mark(url, days) == f"as of {D3} (macro incremental_customers)"
    assert versions(days, "c5") == before[days, "c5"], "c5's days were recomputed"
    assert versions(lifetime, "c5") == before[lifetime, "c5"], "c5's lifetime was recomputed"
    assert versions(days, "c4")["2026-10-15"] == before[days, "c4"]["2026-10-15"]
    assert "2026-11-01" not in before[days, "c4"] and "2026-11-01" in versions(days, "c4")
    assert not set(versions(lifetime, "c4").values()) & set(before[lifetime, "c4"].values())
    assert not set(versions(lifetime, "c6").values()) & set(before[lifetime, "c6"].values())
    # the affected customers were recomputed: the early event is in view, o9 moved from c6 to c4
    c6 = {
        r["activity_date"].isoformat(): r
        for r in _rows(url, f"select * from {days} where customer_id = 'c6'")
    }
    assert c6[D3]["app_events"] == 1 and "2026-11-01" not in c6
    c4 = _rows(url, f"select * from {days} where customer_id = 'c4' and activity_date = '2026-11-01'")
    assert [r["orders_placed"] for r in c4] == [1]

    with warehouse.connect(url) as conn:
        conn.execute("create schema incremental_copy")
        for table in COMPARED:
            conn.execute(f"create table incremental_copy.{table.split('.')[1]} as select * from {table}")
    _dbt(project, "run", *SELECT, "--full-refresh", run_date=D3)
    for table, run_date in COMPARED.items():
        where = f"where run_date = '{run_date}'" if run_date else ""
        copy = f"incremental_copy.{table.split('.')[1]}"
        assert _rows(url, f"select 1 from {copy} {where} limit 1"), table
        assert _diff(url, copy, table, where) == [[], []], table

    # a rerun of D3 (mark = run date) rebuilds as of D3: every row rewritten, still equal
    before = {t: versions(t, "c5") for t in (days, lifetime)}
    _dbt(project, "run", *SELECT, run_date=D3)
    for table in INCREMENTAL_BY_CUSTOMER:
        assert not set(versions(table, "c5").values()) & set(before[table].values()), table
        assert _diff(url, f"incremental_copy.{table.split('.')[1]}", table, "") == [[], []], table
