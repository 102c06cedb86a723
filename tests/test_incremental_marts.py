"""Models incremental by customer (macro incremental_customers, issue 12) against a real PostgreSQL and dbt.

A forward night recomputes only the customers whose input changed since the table was last built; the
result must equal a full refresh exactly. The hand-made fixture (tests/support) runs D1, D2, D3 and is
compared with a --full-refresh of D3 by EXCEPT ALL both ways, with two cases the incremental path must
not miss: an order re-exported under another customer (the old customer's days must go) and an event
of a past day exported late, on D3 (a new key whose day the previous nights already built). An event
exported before its own time cannot reach raw (ingest quarantines a timestamp after its export day:
contract.Table.activity_time), so the affected customers are those of the re-exported keys alone. The
whole-history values the nightly models now read from the incremental lifetime table (last activity time,
median purchase cycle) are checked against their former definition, a pass over every event / purchase
day; a backfill of an earlier date rebuilds and equals that date's full refresh.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.dbt_project import (
    D1,
    D2,
    D3,
    D3_ROWS,
    FIXTURE,
    SELECT,
    T0,
    _dbt,
    _insert,
    _load_raw,
    _rows,
    _set_csv,
    _table,
    create_enrichment,
)

from crm_scoring import warehouse

# Tables compared with a full refresh: (relation, rows of D3 only when per-date)
COMPARED = {
    "intermediate.int_activity__customer_days": None,
    "intermediate.int_activity__customer_lifetime": None,
    "intermediate.int_activity__customer_windows": None,
    "intermediate.int_churn__activity": None,
    "intermediate.int_customers__revenue": None,
    "intermediate.int_churn__purchase_cycle": None,
    "marts.churn_features": D3,
    "marts.customer_value": D3,
    "marts.customer_complaints": D3,
}
INCREMENTAL_BY_CUSTOMER = (
    "intermediate.int_activity__customer_days",
    "intermediate.int_activity__customer_lifetime",
)

EXTRA = {
    # an event of 2026-11-20 exported late, on D3: c6's day of 2026-11-20 appears on D3 only
    # c5 (no new input after D1, so carried forward by int_activity__customer_windows) has days that cross
    # window bounds on D2 and D3: a login leaves the 7-day window on D3 (age 6 -> 7), an app event leaves
    # the 30-day window for the prior ones on D2 (29 -> 30)
    "interactions": _table(
        "event_id customer_id event_ts event_type",
        (D3, "e-late", "c6", "2026-11-20T05:00:00Z", "page_view"),
        (D1, "e-w7", "c5", "2026-11-21T05:00:00Z", "login"),
        (D1, "e-w30", "c5", "2026-10-28T05:00:00Z", "page_view"),
    ),
    # o9 (c6, exported D1) re-exported on D3 under c4: c6's day of 2026-11-01 must disappear
    # c5's paid orders leave the 90-day window for the prior 90 days on D3 (age 89 -> 90) and the 365-day
    # one (364 -> 365); c9's only day leaves the windows' scope on D3: its row must go
    "orders": _table(
        "order_id customer_id order_ts status net_amount updated_at",
        (D3, "o9", "c4", "2026-11-01T10:00:00Z", "cancelled", 999, "2026-11-28T07:00:00Z"),
        (D1, "o-w90", "c5", "2026-08-30T10:00:00Z", "completed", 12.5, None),
        (D1, "o-w365", "c5", "2025-11-28T10:00:00Z", "completed", 7.25, None),
        (D1, "o-c9", "c9", "2025-11-28T10:00:00Z", "completed", 30, None),
    ),
    "customers": _table("customer_id registered_at status", (D1, "c9", T0, "active")),
}

# c5's windows on D2 and D3 (carried forward on both nights), from the fixture's days and EXTRA's
C5_WINDOWS = {
    D2: {"logins_7d": 1, "orders_90d": 2, "orders_prior_90d": 0, "orders_365d": 3, "app_events_30d": 0,
         "events_prior_60d": 1, "visit_days_30d": 1},
    D3: {"logins_7d": 0, "orders_90d": 1, "orders_prior_90d": 1, "orders_365d": 2, "app_events_30d": 0,
         "events_prior_60d": 1, "visit_days_30d": 1},
}  # fmt: skip
WINDOWS = "intermediate.int_activity__customer_windows"


def _assert_carried_windows(url: str, run_date: str, result) -> None:
    """The windows table was carried forward to `run_date` (the statement dbt ran, the mark), with c5's
    crossings and c9's exit."""
    (node,) = [r.node for r in result.result.results if r.node.name == WINDOWS.split(".")[1]]
    assert "deltas as (" in node.compiled_code, "the windows were recomputed, not carried forward"
    assert _mark(url, WINDOWS).startswith(f"as of {run_date} (macro customer_windows, model ")
    (c5,) = _rows(url, f"select * from {WINDOWS} where customer_id = 'c5'")
    assert {k: c5[k] for k in C5_WINDOWS[run_date]} == C5_WINDOWS[run_date], run_date
    c9 = _rows(url, f"select 1 from {WINDOWS} where customer_id = 'c9'")
    assert len(c9) == (1 if run_date == D2 else 0), run_date


def _diff(url: str, left: str, right: str, where: str) -> list[list[dict]]:
    """Rows of `left` not in `right` and of `right` not in `left` (EXCEPT ALL), both empty when equal."""
    return [
        _rows(url, f"select * from {a} {where} except all select * from {b} {where}")
        for a, b in ((left, right), (right, left))
    ]


# The former definitions of the two whole-history values int_customers__revenue (and int_churn__activity at
# the run date) read from int_activity__customer_lifetime: every event, every purchase day up to {run_end}.
# (the events of int_customers__activity_events, not built by this selection)
FORMER_LAST_ACTIVITY = """
    select customer_id, max(activity_ts) as last_activity_at
    from (
        select customer_id, order_ts as activity_ts from marts.fct_orders
        union all
        select customer_id, event_ts from marts.fct_interactions where event_type <> 'login_failed'
        union all
        select customer_id, created_at from intermediate.int_complaints__tickets_latest
        where customer_id is not null
        union all
        select customer_id, responded_at from intermediate.int_feedback__surveys_latest
        where responded_at is not null
    ) as e
    where activity_ts < {run_end}
    group by customer_id
"""
FORMER_PURCHASE_CYCLE = """
    select customer_id, percentile_cont(0.5) within group (order by gap) as median_purchase_cycle_days
    from (
        select
            customer_id,
            purchase_date - lag(purchase_date) over (partition by customer_id order by purchase_date) as gap
        from (
            select distinct customer_id, (order_ts at time zone 'UTC')::date as purchase_date
            from marts.fct_orders
            where order_status <> 'cancelled' and order_ts < {run_end}
        ) as d
    ) as g
    where gap is not null
    group by customer_id
"""


def _assert_former_definitions(url: str, run_date: str) -> None:
    """The lifetime table's last activity time and purchase cycle equal a pass over the whole history, and
    int_customers__revenue / int_churn__activity carry them (customers with a value on both sides)."""
    run_end = f"(date '{run_date}' + 1)::timestamp at time zone 'UTC'"
    lifetime = "intermediate.int_activity__customer_lifetime"
    former = FORMER_LAST_ACTIVITY.format(run_end=run_end)
    assert _diff_queries(url, f"select customer_id, last_activity_at from {lifetime}", former) == [[], []]
    cycles = FORMER_PURCHASE_CYCLE.format(run_end=run_end)
    ours = f"""select customer_id, median_purchase_cycle_days from {lifetime}
               where median_purchase_cycle_days is not null"""
    assert _diff_queries(url, ours, cycles) == [[], []]
    assert len(_rows(url, cycles)) >= 2  # customers with two purchase days or more: the test can fail
    revenue = """select customer_id, last_activity_at, median_purchase_cycle_days
                 from intermediate.int_customers__revenue where last_activity_at is not null"""
    expected = f"""select a.customer_id, a.last_activity_at, c.median_purchase_cycle_days::numeric(10, 1)
                   from ({former}) as a left join ({cycles}) as c using (customer_id)
                   join staging.stg_crm__customers as s using (customer_id)
                   where s.registered_at < {run_end}"""
    assert _diff_queries(url, revenue, expected) == [[], []]
    churn = f"""select customer_id, median_cycle_days from intermediate.int_churn__activity
                where as_of_date = '{run_date}' and median_cycle_days is not null"""
    assert _diff_queries(url, churn, cycles) == [[], []]


def _diff_queries(url: str, left: str, right: str) -> list[list[dict]]:
    return [_rows(url, f"({a}) except all ({b})") for a, b in ((left, right), (right, left))]


def _mark(url: str, table: str) -> str | None:
    with warehouse.connect(url) as conn:
        return conn.execute("select obj_description(%s::regclass, 'pg_class')", (table,)).fetchone()[0]


def _assert_equal_to_full_refresh(
    project: Path,
    url: str,
    schema: str,
    run_date: str,
    compared: dict[str, str | None] = COMPARED,
    select: list[str] = SELECT,
) -> None:
    """Copy every compared table (the incremental result) into `schema`, rebuild the models (`select`) with
    a --full-refresh of `run_date`, and require each copy to equal its rebuild, EXCEPT ALL both ways
    (per-date tables: the rows of `run_date`, which must exist)."""
    with warehouse.connect(url) as conn:
        conn.execute(f"create schema {schema}")
        for table in compared:
            conn.execute(f"create table {schema}.{table.split('.')[1]} as select * from {table}")
    _dbt(project, "run", *select, "--full-refresh", run_date=run_date)
    for table, per_date in compared.items():
        where = f"where run_date = '{run_date}'" if per_date else ""
        copy = f"{schema}.{table.split('.')[1]}"
        assert _rows(url, f"select 1 from {copy} {where} limit 1"), table
        assert _diff(url, copy, table, where) == [[], []], table


def test_incremental_nights_equal_a_full_refresh_except_all(project: Path, dbt_env: str) -> None:
    url = dbt_env
    _load_raw(url, FIXTURE)
    with warehouse.connect(url) as conn:
        _insert(conn, D3_ROWS)
        _insert(conn, EXTRA)
    create_enrichment(url)
    _dbt(project, "seed", run_date=D1)
    _dbt(project, "run", *SELECT, run_date=D1)
    _assert_carried_windows(url, D2, _dbt(project, "run", *SELECT, run_date=D2))
    days = "intermediate.int_activity__customer_days"
    assert _mark(url, days).startswith(f"as of {D2} (macro incremental_customers, model ")
    late = _rows(url, f"select * from {days} where customer_id = 'c6' and activity_date = '2026-11-20'")
    assert late == []  # not exported before D3

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
    night = _dbt(project, "run", *SELECT, run_date=D3)
    assert _mark(url, days).startswith(f"as of {D3} (macro incremental_customers, model ")
    _assert_carried_windows(url, D3, night)
    assert versions(days, "c5") == before[days, "c5"], "c5's days were recomputed"
    assert versions(lifetime, "c5") == before[lifetime, "c5"], "c5's lifetime was recomputed"
    assert versions(days, "c4")["2026-10-15"] == before[days, "c4"]["2026-10-15"]
    assert "2026-11-01" not in before[days, "c4"] and "2026-11-01" in versions(days, "c4")
    assert not set(versions(lifetime, "c4").values()) & set(before[lifetime, "c4"].values())
    assert not set(versions(lifetime, "c6").values()) & set(before[lifetime, "c6"].values())
    # the affected customers were recomputed: the late event's day is there, o9 moved from c6 to c4
    c6 = {
        r["activity_date"].isoformat(): r
        for r in _rows(url, f"select * from {days} where customer_id = 'c6'")
    }
    assert c6["2026-11-20"]["app_events"] == 1 and "2026-11-01" not in c6
    c4 = _rows(url, f"select * from {days} where customer_id = 'c4' and activity_date = '2026-11-01'")
    assert [r["orders_placed"] for r in c4] == [1]

    _assert_former_definitions(url, D3)
    _assert_equal_to_full_refresh(project, url, "incremental_copy", D3)

    # a rerun of D3 (mark = run date) rebuilds as of D3: every row rewritten, still equal
    before = {t: versions(t, "c5") for t in (days, lifetime)}
    _dbt(project, "run", *SELECT, run_date=D3)
    for table in INCREMENTAL_BY_CUSTOMER:
        assert not set(versions(table, "c5").values()) & set(before[table].values()), table
        assert _diff(url, f"incremental_copy.{table.split('.')[1]}", table, "") == [[], []], table

    # with the loads audited as ingest leaves them (ops.load_audit), the tables' marks carry their digest, and
    # a rerun of D3 over the same loads (an Airflow retry, `crm run` of the date again with the same files)
    # moves forward from D3 to D3 over an empty delta: no row rewritten, the windows carried, still equal.
    # Another file for D3 (a re-ingest with other rows) rebuilds, as before.
    facts = ("marts.fct_orders", "intermediate.int_complaints__tickets_latest")

    def audit(files: dict[str, str]) -> None:
        with warehouse.connect(url) as conn:
            for day, sha in files.items():
                conn.execute("delete from ops.load_audit where export_date = %s", (day,))
                conn.execute(
                    "insert into ops.load_audit (export_date, table_name, source_file, status, rows_read,"
                    " rows_loaded, sha256) values (%s, 'orders', %s, 'loaded', 1, 1, %s)",
                    (day, f"{day}/orders.csv", sha),
                )

    def written() -> dict[str, set[str]]:
        tables = {t: versions(t, "c5") for t in INCREMENTAL_BY_CUSTOMER}
        return {t: set(v.values()) for t, v in tables.items()} | {
            t: {r["xmin"] for r in _rows(url, f"select xmin::text from {t}")} for t in facts
        }

    audit({D1: "a1", D2: "a2", D3: "a3"})
    _dbt(project, "run", *SELECT, run_date=D3)  # marks without loads: rebuilt, now marked with them
    for table in (*INCREMENTAL_BY_CUSTOMER, WINDOWS, *facts):
        assert f"as of {D3} (" in _mark(url, table) and " loads " in _mark(url, table), table
    before = written()
    rerun = _dbt(project, "run", *SELECT, run_date=D3)
    assert written() == before, "a same-date rerun over the same loads rewrote rows"
    (node,) = [r.node for r in rerun.result.results if r.node.name == WINDOWS.split(".")[1]]
    assert "deltas as (" in node.compiled_code, "the windows were recomputed on a same-date rerun"
    for table in (*INCREMENTAL_BY_CUSTOMER, WINDOWS):
        assert _diff(url, f"incremental_copy.{table.split('.')[1]}", table, "") == [[], []], table
    audit({D3: "another file"})
    _dbt(project, "run", *SELECT, run_date=D3)
    after = written()
    for table in before:
        assert not after[table] & before[table], f"{table}: not rebuilt after a re-ingest of D3"
    for table in INCREMENTAL_BY_CUSTOMER:
        assert _diff(url, f"incremental_copy.{table.split('.')[1]}", table, "") == [[], []], table
    # a forward night reads only the exports after the mark: an earlier date loaded again with other files
    # since the mark (here D1, after the tables were built as of D2) rebuilds instead; unchanged loads move
    # forward (the control)
    _dbt(project, "run", *SELECT, run_date=D2)
    _assert_carried_windows(url, D3, _dbt(project, "run", *SELECT, run_date=D3))
    _dbt(project, "run", *SELECT, run_date=D2)
    audit({D1: "D1 loaded again"})
    before = written()
    night = _dbt(project, "run", *SELECT, run_date=D3)
    (node,) = [r.node for r in night.result.results if r.node.name == WINDOWS.split(".")[1]]
    assert "deltas as (" not in node.compiled_code, "carried forward over a re-ingested earlier date"
    after = written()
    for table in before:
        assert not after[table] & before[table], f"{table}: not rebuilt after a re-ingest of D1"
    for table in INCREMENTAL_BY_CUSTOMER:
        assert _diff(url, f"incremental_copy.{table.split('.')[1]}", table, "") == [[], []], table
    with warehouse.connect(url) as conn:
        conn.execute("delete from ops.load_audit")

    # a table built by another version of the model (here: before last_activity_at, with the mark of that
    # release, no fingerprint) is rebuilt on a forward night, not extended: equal to the full refresh of D3
    with warehouse.connect(url) as conn:
        conn.execute(f"alter table {days} drop column last_activity_at")
        conn.execute(f"comment on table {days} is 'as of {D2} (macro incremental_customers)'")
    _dbt(project, "run", *SELECT, run_date=D3)
    assert _mark(url, days).startswith(f"as of {D3} (macro incremental_customers, model ")
    assert _diff(url, "incremental_copy.int_activity__customer_days", days, "") == [[], []]

    # a backfill of an earlier date (mark D3 > D2) rebuilds as of D2: equal to D2's full refresh
    _dbt(project, "run", *SELECT, run_date=D2)
    assert _mark(url, days).startswith(f"as of {D2} (macro incremental_customers, model ")
    _assert_former_definitions(url, D2)
    _assert_equal_to_full_refresh(project, url, "backfill_copy", D2)


# late_arriving_customers (macros/incremental_snapshot.sql): references to customers x1..x5, who have no
# customer record in FIXTURE, on D1..D3.
LATE = "marts.late_arriving_customers"
LATE_SELECT = ["--select", "+late_arriving_customers"]
D4 = "2026-11-29"  # no export: the forward night only ages the waiting rows
LATE_ROWS = {
    "customers": _table(
        "customer_id registered_at status",
        (D3, "x1", T0, "active"),  # x1's record comes on D3: its rows go
        (D2, "x5", T0, "active"),  # arrives with its first reference: never late
    ),
    "orders": _table(
        "order_id customer_id order_ts status net_amount updated_at",
        (D1, "oL1", "x1", "2026-11-20T10:00:00Z", "completed", 10, "2026-11-20T10:00:00Z"),
        # a later version of a waiting row: its export date is the full computation's first_exported_on
        (D2, "oL1", "x1", "2026-11-20T10:00:00Z", "returned", 0, "2026-11-27T08:00:00Z"),
        (D2, "oL2", "x1", "2026-11-27T09:00:00Z", "completed", 20, None),
    ),
    "surveys": _table(
        "survey_id customer_id survey_type sent_at",
        (D1, "sL", "x2", "NPS", "2026-11-20T00:00:00Z"),
        (D2, "sL", "c1", "NPS", "2026-11-20T00:00:00Z"),  # re-exported under a known customer: x2's row goes
    ),
    "contacts": _table(
        "contact_id customer_id contact_ts channel purpose",
        (D1, "ctL", "x2", "2026-11-20T00:00:00Z", "sms", "retention"),
    ),
    "consents": _table(
        "customer_id purpose channel status status_ts", (D1, "x3", "service", "any", "granted", T0)
    ),
    "interactions": _table(
        "event_id customer_id event_ts event_type", (D3, "eL", "x3", "2026-11-28T01:00:00Z", "login")
    ),
    "compensations": _table(
        "compensation_id customer_id round_no compensation_type amount issued_at",
        (D3, "kL", "x4", 1, "voucher", 5, "2026-11-28T08:00:00Z"),
    ),
    "crisis_affected_customers": _table("crisis_event_id customer_id", (D1, "cr1", "x4")),
    "tickets": _table(
        "ticket_id customer_id created_at ticket_type status",
        (D2, "tL", "x5", "2026-11-27T06:00:00Z", "inquiry", "open"),
    ),
}
# (source_table, customer_id, rows_waiting, first_exported_on, days_waiting) per run date
LATE_EXPECTED = {
    D1: [
        ("consents", "x3", 1, D1, 0),
        ("contacts", "x2", 1, D1, 0),
        ("crisis_affected_customers", "x4", 1, D1, 0),
        ("orders", "x1", 1, D1, 0),
        ("surveys", "x2", 1, D1, 0),
    ],
    D2: [
        ("consents", "x3", 1, D1, 1),
        ("contacts", "x2", 1, D1, 1),
        ("crisis_affected_customers", "x4", 1, D1, 1),
        ("orders", "x1", 2, D2, 0),
    ],
    D3: [
        ("compensations", "x4", 1, D3, 0),
        ("consents", "x3", 1, D1, 2),
        ("contacts", "x2", 1, D1, 2),
        ("crisis_affected_customers", "x4", 1, D1, 2),
        ("interactions", "x3", 1, D3, 0),
    ],
}


def _load_fixture(project: Path, url: str, extra: dict[str, list[tuple[str, dict]]]) -> None:
    """The shared FIXTURE plus a test's own rows in raw, and the seeds loaded."""
    _load_raw(url, FIXTURE)
    with warehouse.connect(url) as conn:
        _insert(conn, extra)
    _dbt(project, "seed", run_date=D1)


def _late(url: str, run_date: str) -> list[tuple]:
    rows = _rows(
        url,
        f"""select source_table, customer_id, rows_waiting, first_exported_on::text, days_waiting
            from {LATE} where run_date = %s order by 1, 2""",
        run_date,
    )
    return [tuple(r.values()) for r in rows]


def _late_run(project: Path, run_date: str) -> bool:
    """Build late_arriving_customers and its parents as of `run_date`; whether the model took the forward
    path (its compiled SQL)."""
    result = _dbt(project, "run", *LATE_SELECT, run_date=run_date)
    (node,) = [r.node for r in result.result.results if r.node.name == "late_arriving_customers"]
    return "arrived as (" in node.compiled_code


def test_late_arriving_customers_follow_the_delta(project: Path, dbt_env: str) -> None:
    """late_arriving_customers from the previous snapshot plus the references exported since: D2, D3 and D4
    forward nights give the rows of a full computation (a customer arriving late disappears, a re-export
    moves a reference or its first export date), equal a --full-refresh by EXCEPT ALL both ways; a rerun,
    a backfill and a base snapshot that lost its rows take the full path and give the same rows."""
    url = dbt_env
    _load_fixture(project, url, LATE_ROWS)
    for run_date, forward in ((D1, False), (D2, True), (D3, True)):
        assert _late_run(project, run_date) is forward, run_date
        assert _late(url, run_date) == LATE_EXPECTED[run_date], run_date
    assert _late(url, D1) == LATE_EXPECTED[D1]  # earlier snapshots kept
    assert _mark(url, LATE).startswith(f"as of {D3} (macro incremental_snapshot, model ")
    assert _mark(url, LATE).endswith(", 5 rows)")
    compared = {LATE: D3}
    _assert_equal_to_full_refresh(project, url, "late_copy", D3, compared, LATE_SELECT)

    # a rerun of D3 (mark = run date) computes it whole: the same rows
    assert not _late_run(project, D2)  # rebuilds D2 (backfill), mark D2
    assert _late(url, D2) == LATE_EXPECTED[D2]
    assert _late_run(project, D3)  # forward from D2 again
    assert not _late_run(project, D3)  # rerun
    assert _diff(url, "late_copy.late_arriving_customers", LATE, f"where run_date = '{D3}'") == [[], []]

    # D4, no export: forward, the waiting rows one day older; equal D4's full refresh
    assert _late_run(project, D4)
    aged = [(t, c, n, first, days + 1) for t, c, n, first, days in LATE_EXPECTED[D3]]
    assert _late(url, D4) == aged
    _assert_equal_to_full_refresh(project, url, "late_d4", D4, {LATE: D4}, LATE_SELECT)

    # a base snapshot that lost rows (the retention dropped its month, a manual delete) is no base: the
    # next night computes everything
    _dbt(project, "run", *LATE_SELECT, run_date=D3)
    with warehouse.connect(url) as conn:
        conn.execute(f"delete from {LATE} where run_date = %s and source_table = 'consents'", (D3,))
    assert not _late_run(project, D4)
    assert _late(url, D4) == aged


def test_late_arriving_customers_forward_after_an_erasure(
    project: Path, dbt_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A DSR erasure between two nights rewrites the customer id to its ANON- token in raw, the facts and
    late_arriving_customers alike: the forward night that follows still equals a --full-refresh, and the
    erased late customer's rows carry the token, not the id."""
    from crm_scoring.privacy.erasure import ANON_PREFIX, ErasureRequest, erase
    from crm_scoring.privacy.pseudonym import KEY_ENV

    monkeypatch.setenv(KEY_ENV, "late-arriving-test-key")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    url = dbt_env
    _load_fixture(project, url, LATE_ROWS)
    for run_date in (D1, D2):
        _late_run(project, run_date)
    # x3 waits (consents since D1, an interaction exported on D3); c5 is a known customer
    erase([ErasureRequest("x3"), ErasureRequest("c5")], url)
    assert _late_run(project, D3)
    rows = _late(url, D3)
    assert not [r for r in rows if r[1] == "x3"]
    erased = [(t, n, first, days) for t, c, n, first, days in rows if c.startswith(ANON_PREFIX)]
    assert erased == [("consents", 1, D1, 2), ("interactions", 1, D3, 0)]
    _assert_equal_to_full_refresh(project, url, "late_erasure", D3, {LATE: D3}, LATE_SELECT)


# int_lists__consent (incremental by customer over raw consents and contacts): c2 withdraws e-mail
# marketing on D2, c6 withdraws service ('any': do-not-contact) on D3; contact ctA (c3's sms opt-out,
# D1) is re-exported on D3 under c5 as delivered: c3's withdrawal must go although c3 has no row tonight.
CONSENT = "intermediate.int_lists__consent"
CONSENT_SELECT = ["--select", "+int_lists__consent"]
CONSENT_ROWS = {
    "consents": _table(
        "customer_id purpose channel status status_ts",
        (D2, "c2", "marketing", "email", "withdrawn", "2026-11-27T08:00:00Z"),
        (D3, "c6", "service", "any", "withdrawn", "2026-11-28T08:00:00Z"),
    ),
    "contacts": _table(
        "contact_id customer_id contact_ts channel purpose outcome",
        (D1, "ctA", "c3", "2026-11-26T09:00:00Z", "sms", "retention", "opted_out"),
        (D2, "ctB", "c4", "2026-11-27T09:00:00Z", "email", "retention", "opted_out"),
        (D3, "ctA", "c5", "2026-11-26T09:00:00Z", "sms", "retention", "delivered"),
    ),
}


def test_consent_is_incremental_by_customer_and_equals_a_full_refresh(project: Path, dbt_env: str) -> None:
    """A forward night recomputes only the customers with a consent or contact exported since the last
    build (their rows rewritten, everyone else's untouched) and equals a --full-refresh by EXCEPT ALL; a
    contact re-exported under another customer recomputes the old customer too (key index on
    raw.contacts); a changed channel_matrix rebuilds (the seed's digest in the mark)."""
    url = dbt_env
    _load_fixture(project, url, CONSENT_ROWS)
    for run_date in (D1, D2):
        _dbt(project, "run", *CONSENT_SELECT, run_date=run_date)
    assert _mark(url, CONSENT).startswith(f"as of {D2} (macro incremental_customers, model ")
    assert " seeds " in _mark(url, CONSENT)

    def marketing(customer: str, channel: str) -> tuple:
        (row,) = _rows(
            url,
            f"select is_granted, is_do_not_contact from {CONSENT}"
            " where customer_id = %s and purpose = 'marketing' and channel = %s",
            customer,
            channel,
        )
        return row["is_granted"], row["is_do_not_contact"]

    def versions() -> dict[str, set[str]]:
        rows = _rows(url, f"select customer_id, xmin::text as v from {CONSENT}")
        out: dict[str, set[str]] = {}
        for r in rows:
            out.setdefault(r["customer_id"], set()).add(r["v"])
        return out

    assert marketing("c3", "sms") == (False, False) and marketing("c3", "email") == (True, False)
    assert marketing("c2", "email") == (False, False) and marketing("c4", "email") == (False, False)
    before = versions()
    _dbt(project, "run", *CONSENT_SELECT, run_date=D3)
    after = versions()
    for customer in ("c1", "c2", "c4", "c7"):  # nothing exported on D3
        assert after[customer] == before[customer], customer
    for customer in ("c3", "c5", "c6"):  # c3: its contact moved to c5
        assert not after[customer] & before[customer], customer
    assert marketing("c3", "sms") == (True, False)
    assert marketing("c6", "email") == (False, True)
    _assert_equal_to_full_refresh(project, url, "consent_copy", D3, {CONSENT: None}, CONSENT_SELECT)

    # a forward night with no export touches nobody, and gives back a unique index the table lacks (a
    # warehouse built when the model was a plain table); after a change of channel_matrix it rebuilds
    unique = f"""select indexname from pg_indexes where schemaname || '.' || tablename = '{CONSENT}'
                 and indexdef like 'CREATE UNIQUE INDEX %%(customer_id, purpose, channel)'"""
    with warehouse.connect(url) as conn:
        for (name,) in conn.execute(unique.replace("%%", "%")).fetchall():
            conn.execute(f'drop index intermediate."{name}"')
    assert not _rows(url, unique)
    before = versions()
    _dbt(project, "run", *CONSENT_SELECT, run_date="2026-11-29")
    assert versions() == before
    assert len(_rows(url, unique)) == 1
    _set_csv(project / "seeds" / "policy" / "channel_matrix.csv", "segment", "churn_risk", team="test_desk")
    _dbt(project, "seed", run_date=D3)
    _dbt(project, "run", *CONSENT_SELECT, run_date="2026-11-30")
    assert not versions()["c1"] & before["c1"]
    assert _diff(url, "consent_copy.int_lists__consent", CONSENT, "") == [[], []]
