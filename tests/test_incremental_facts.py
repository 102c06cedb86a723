"""Incremental current-state facts (issue 3, "Incremental and correct") against a real PostgreSQL.

fct_orders, fct_interactions, int_complaints__tickets_latest and int_feedback__surveys_latest hold one
row per key in its latest version as of the run date (landing contract: exports are deltas, a later
version replaces an earlier one). A forward run merges only the new exports and leaves every other row
alone; a rerun or backfill (run date not after the table's high-water mark) rebuilds as of the run date,
and the next forward run catches up. Only the four facts and their staging views are built here, so the
test stays fast; the marts built on them are compared with a full refresh in test_marts_value.
"""

from __future__ import annotations

from pathlib import Path

from support.dbt_project import FIXTURE, _dbt, _insert, _load_raw, _rows, _table

from crm_scoring import warehouse

D1, D2, D3 = "2026-11-26", "2026-11-27", "2026-11-28"
FACTS = {
    "marts.fct_orders": "order_id",
    "marts.fct_interactions": "event_id",
    "intermediate.int_complaints__tickets_latest": "ticket_id",
    "intermediate.int_feedback__surveys_latest": "survey_id",
}
SELECT = [
    "--select",
    "+fct_orders",
    "+fct_interactions",
    "+int_complaints__tickets_latest",
    "+int_feedback__surveys_latest",
    "stg_crm__customers",
    "--indirect-selection",
    "cautious",
]

TICKET_COLS = (
    "ticket_id customer_id created_at ticket_type status first_response_at resolved_at closed_at updated_at"
)
# t7: open on D1, resolved on D2, closed on D3. o30: completed on D1, returned on D2. o31: re-exported on D2
# with an older updated_at (a stale version never replaces a newer one).
CHANGES = {
    "tickets": _table(
        TICKET_COLS,
        (D1, "t7", "c2", "2026-11-26T08:00:00Z", "complaint", "open", None, None, None, "2026-11-26T08:00Z"),
        (
            D2,
            "t7",
            "c2",
            "2026-11-26T08:00:00Z",
            "complaint",
            "resolved",
            "2026-11-26T09:00:00Z",
            "2026-11-27T10:00:00Z",
            None,
            "2026-11-27T10:00:00Z",
        ),
        (
            D3,
            "t7",
            "c2",
            "2026-11-26T08:00:00Z",
            "complaint",
            "closed",
            "2026-11-26T09:00:00Z",
            "2026-11-27T10:00:00Z",
            "2026-11-28T10:00:00Z",
            "2026-11-28T10:00:00Z",
        ),
    ),
    "orders": _table(
        "order_id customer_id order_ts status net_amount updated_at",
        (D1, "o30", "c3", "2026-11-25T10:00:00Z", "completed", 90, "2026-11-25T10:00:00Z"),
        (D2, "o30", "c3", "2026-11-25T10:00:00Z", "returned", 0, "2026-11-27T09:00:00Z"),
        (D1, "o31", "c3", "2026-11-24T10:00:00Z", "returned", 0, "2026-11-26T09:00:00Z"),
        (D2, "o31", "c3", "2026-11-24T10:00:00Z", "completed", 70, "2026-11-24T10:00:00Z"),
        (D3, "o32", "c4", "2026-11-28T10:00:00Z", "completed", 15, None),
    ),
    "interactions": _table(
        "event_id customer_id event_ts event_type", (D3, "e10", "c4", "2026-11-28T07:00:00Z", "login")
    ),
    # s7: sent on D1 unanswered, answered on D2 (a survey has no updated_at: the later export wins)
    "surveys": _table(
        "survey_id customer_id survey_type trigger_type sent_at responded_at score",
        (D1, "s7", "c2", "CSAT", "periodic", "2026-11-26T06:00:00Z", None, None),
        (D2, "s7", "c2", "CSAT", "periodic", "2026-11-26T06:00:00Z", "2026-11-27T08:00:00Z", 4),
    ),
}


def _one(url: str, table: str, key: str, value: str) -> list[dict]:
    return _rows(url, f"select * from {table} where {key} = %s", value)


def _xmin(url: str, table: str, key: str, value: str) -> str:
    """The inserting transaction of the row's current version: changes only when the row is rewritten."""
    return _rows(url, f"select xmin::text as x from {table} where {key} = %s", value)[0]["x"]


def _state(url: str) -> dict[str, list[dict]]:
    return {t: _rows(url, f"select * from {t} order by {k}") for t, k in FACTS.items()}


def test_facts_are_incremental_and_rewind(pristine_project: Path, dbt_env: str) -> None:
    url, project = dbt_env, pristine_project
    _load_raw(url, FIXTURE)
    with warehouse.connect(url) as conn:
        _insert(conn, CHANGES)

    _dbt(project, "build", *SELECT, run_date=D1)  # first build, with the facts' data tests
    tickets, orders = "intermediate.int_complaints__tickets_latest", "marts.fct_orders"
    assert [r["ticket_status"] for r in _one(url, tickets, "ticket_id", "t7")] == ["open"]
    assert [r["ticket_status"] for r in _one(url, tickets, "ticket_id", "t3")] == ["open"]  # 11-25 export
    assert [r["order_status"] for r in _one(url, orders, "order_id", "o30")] == ["completed"]
    surveys = "intermediate.int_feedback__surveys_latest"
    assert [r["score"] for r in _one(url, surveys, "survey_id", "s7")] == [None]
    untouched = {t: (k, _rows(url, f"select min({k}) as v from {t}")[0]["v"]) for t, k in FACTS.items()}
    untouched[tickets] = ("ticket_id", "t4")  # t7 / t3 change on D2, t4 does not
    before = {t: _xmin(url, t, k, v) for t, (k, v) in untouched.items()}
    o30_before = _xmin(url, orders, "order_id", "o30")

    # --- forward run: only D2's versions are merged; the re-exported rows replace their earlier version
    _dbt(project, "run", *SELECT, run_date=D2)
    t7 = _one(url, tickets, "ticket_id", "t7")
    assert [(r["ticket_status"], r["exported_on"].isoformat()) for r in t7] == [("resolved", D2)]
    assert [r["ticket_status"] for r in _one(url, tickets, "ticket_id", "t3")] == ["resolved"]
    o30 = _one(url, orders, "order_id", "o30")
    assert [(r["order_status"], float(r["net_amount"])) for r in o30] == [("returned", 0)]
    o31 = _one(url, orders, "order_id", "o31")  # the stale D2 re-export loses to the newer D1 version
    assert [(r["order_status"], r["exported_on"].isoformat()) for r in o31] == [("returned", D1)]
    assert [r["order_id"] for r in _one(url, orders, "order_id", "o11")] == ["o11"]  # new in D2
    s7 = _one(url, surveys, "survey_id", "s7")
    assert [(r["score"], r["exported_on"].isoformat()) for r in s7] == [(4, D2)]
    assert {t: _xmin(url, t, k, v) for t, (k, v) in untouched.items()} == before, "forward run rewrote rows"
    assert _xmin(url, orders, "order_id", "o30") != o30_before
    for table, key in FACTS.items():
        assert _rows(url, f"select {key} from {table} group by 1 having count(*) > 1") == [], table

    # --- rewind: a rerun of D1 shows D1's state again, with nothing exported after D1 anywhere
    _dbt(project, "run", *SELECT, run_date=D1)
    assert [r["ticket_status"] for r in _one(url, tickets, "ticket_id", "t7")] == ["open"]
    assert [r["order_status"] for r in _one(url, orders, "order_id", "o30")] == ["completed"]
    assert [r["score"] for r in _one(url, surveys, "survey_id", "s7")] == [None]
    assert _one(url, orders, "order_id", "o11") == []
    for table in FACTS:
        later = _rows(url, f"select count(*) as n from {table} where exported_on > %s", D1)
        assert later == [{"n": 0}], table

    # --- forward to D2 again, then D2 re-ingested without o30's return and rerun: the rerun rebuilds, so
    # o30 is back to its D1 version; then D3 catches up from the high-water mark = a full refresh at D3
    _dbt(project, "run", *SELECT, run_date=D2)
    assert [r["order_status"] for r in _one(url, orders, "order_id", "o30")] == ["returned"]
    with warehouse.connect(url) as conn:
        conn.execute("delete from raw.orders where _export_date = %s and order_id = 'o30'", (D2,))
    _dbt(project, "run", *SELECT, run_date=D2)
    assert [r["order_status"] for r in _one(url, orders, "order_id", "o30")] == ["completed"]
    assert [r["ticket_status"] for r in _one(url, tickets, "ticket_id", "t7")] == ["resolved"]
    _dbt(project, "run", *SELECT, run_date=D3)
    assert [r["ticket_status"] for r in _one(url, tickets, "ticket_id", "t7")] == ["closed"]
    assert {r["order_id"] for r in _rows(url, "select order_id from marts.fct_orders")} >= {"o11", "o32"}
    incremental = _state(url)
    _dbt(project, "run", *SELECT, "--full-refresh", run_date=D3)
    assert _state(url) == incremental

    # --- a stored table whose columns no longer match staging asks for a rebuild instead of merging
    with warehouse.connect(url) as conn:
        conn.execute("alter table marts.fct_interactions add column stray integer")
    result = _dbt(project, "run", "--select", "fct_interactions", run_date="2026-11-29", expect_success=False)
    assert not result.success
    assert "--full-refresh" in " ".join(str(r.message) for r in result.result.results)
