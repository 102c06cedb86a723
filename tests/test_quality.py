"""Great Expectations checkpoints over raw tables and candidate lists, on a real PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from crm_scoring import contract
from crm_scoring.quality import ValidationFailed, validate_lists, validate_raw
from crm_scoring.quality.suites import SuiteError, build_gx_suite, load_suite, load_suites

D = date(2026, 11, 26)
PREV = D - timedelta(days=1)
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

RETENTION_DDL = """
create table lists_build.retention_list (
    run_date date not null, customer_id text, rule_code text, action_code text, channel text,
    priority_rank integer, churn_probability double precision, value_tier text,
    expected_value_at_risk numeric(18,2), model_version text, policy_version text,
    rule_codes text, trigger_detail text, crisis_event_id text, team text, due_by date, tone text,
    reason_codes text, churn_band text, lifecycle_stage text, clv_estimate numeric(18,2),
    holdout_flag boolean, holdout_share numeric(6,4), contact_status text, consent_purpose text,
    consent_status_ts timestamptz, mlflow_run_id text, style text, expertise text, wording_level text,
    script_hint text, reasons text, value_basis text
)"""
COMPENSATION_DDL = """
create table lists_build.compensation_list (
    run_date date not null, customer_id text, rule_code text, trigger_type text, ticket_id text,
    crisis_event_id text, round_no integer, package_code text, amount numeric(18,2), points bigint,
    due_by date, model_version text, policy_version text,
    ledger_key text, content text, benefit_days integer, currency text, trigger_date date,
    expected_arrival_date date, usage_conditions_code text, script_template text, notify_channel text,
    requires_approval boolean, status text, red_flag boolean, red_flag_due_at timestamptz,
    value_tier text, mlflow_run_id text, amount_cap numeric(18,2), trigger_text text, reasons text,
    reason_codes text, value_basis text
)"""


def insert(url: str, table: str, rows: list[dict[str, Any]], export_date: date | None = None) -> None:
    """Insert test rows; raw rows get their export metadata."""
    if export_date is not None:
        rows = [
            {**r, "_export_date": export_date, "_source_file": f"{table}.csv", "_line_no": i + 2}
            for i, r in enumerate(rows)
        ]
    cols = list(rows[0])
    sql = f"insert into {table} ({', '.join(cols)}) values ({', '.join(['%s'] * len(cols))})"
    with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
        cur.executemany(sql, [[r.get(c) for c in cols] for r in rows])


def execute(url: str, *statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for stmt in statements:
            conn.execute(stmt)


@pytest.fixture
def raw_db(fresh_db: str) -> str:
    """A database with every contract table in schema raw."""
    execute(fresh_db, "create schema raw", *(contract.raw_table_ddl(t) for t in contract.TABLES.values()))
    return fresh_db


@pytest.fixture
def lists_db(fresh_db: str) -> str:
    execute(fresh_db, "create schema lists_build", RETENTION_DDL, COMPENSATION_DDL)
    return fresh_db


def good_raw(url: str, export_date: date) -> None:
    """A small, valid export: every check passes on it."""
    insert(
        url,
        "raw.customers",
        [
            {"customer_id": "C1", "registered_at": T0, "status": "active", "email": "a@example.com"},
            {"customer_id": "C2", "registered_at": T0, "status": "closed"},
        ],
        export_date,
    )
    insert(
        url,
        "raw.orders",
        [
            {"order_id": "O1", "customer_id": "C1", "order_ts": T0, "status": "completed", "net_amount": 10},
            {"order_id": "O2", "customer_id": "C2", "order_ts": T0, "status": "returned", "net_amount": 0},
        ],
        export_date,
    )
    insert(
        url,
        "raw.tickets",
        [
            {
                "ticket_id": "T1",
                "customer_id": "C1",
                "created_at": T0,
                "ticket_type": "complaint",
                "status": "resolved",
                "priority": "P1",
                "first_response_at": T0 + timedelta(hours=1),
                "resolved_at": T0 + timedelta(hours=5),
            },
            {"ticket_id": "T2", "created_at": T0, "ticket_type": "inquiry", "status": "open"},
        ],
        export_date,
    )
    insert(
        url,
        "raw.surveys",
        [
            {
                "survey_id": "S1",
                "customer_id": "C1",
                "survey_type": "CSAT",
                "trigger_type": "post_ticket",
                "sent_at": T0,
                "responded_at": T0 + timedelta(hours=2),
                "score": 4,
            },
            {
                "survey_id": "S2",
                "customer_id": "C2",
                "survey_type": "NPS",
                "trigger_type": "periodic",
                "sent_at": T0,
                "score": 0,
            },
        ],
        export_date,
    )
    insert(
        url,
        "raw.crisis_events",
        [
            {
                "crisis_event_id": "E1",
                "crisis_type": "service_outage",
                "scope_level": "regional",
                "opinion_level": "medium",
                "started_at": T0,
                "resolved_at": T0 + timedelta(days=1),
            },
        ],
        export_date,
    )
    affected = [{"crisis_event_id": "E1", "customer_id": "C1"}]
    insert(url, "raw.crisis_affected_customers", affected, export_date)


def retention_row(customer_id: str = "C1", rule_code: str = "RL-01", **kw: Any) -> dict[str, Any]:
    row = {
        "run_date": D,
        "customer_id": customer_id,
        "rule_code": rule_code,
        "action_code": "call",
        "channel": "phone",
        "priority_rank": 1,
        "churn_probability": 0.8,
        "value_tier": "high",
        "expected_value_at_risk": 120,
        "model_version": "3",
        "policy_version": "v1",
        "team": "vip_desk",
        "holdout_flag": False,
        "holdout_share": 0.1,
        "contact_status": "ready",
        "consent_purpose": "service",
        "consent_status_ts": T0,
        "reasons": "no activity for 95 days",
        "value_basis": "revenue_365d",
    }
    return {**row, **kw}


def compensation_row(customer_id: str = "C1", **kw: Any) -> dict[str, Any]:
    row = {
        "run_date": D,
        "customer_id": customer_id,
        "rule_code": "CP-01",
        "trigger_type": "ticket",
        "ticket_id": "T1",
        "crisis_event_id": None,
        "round_no": 1,
        "package_code": "voucher_s",
        "amount": 20,
        "points": None,
        "due_by": D + timedelta(days=2),
        "expected_arrival_date": D + timedelta(days=2),
        "model_version": None,
        "policy_version": "v1",
        "ledger_key": "ticket:T1:1",
        "content": "voucher",
        "usage_conditions_code": "VOUCHER_TERMS",
        "script_template": "COMPLAINT_APOLOGY_SOLUTION_OFFER",
        "amount_cap": None,
        "trigger_text": "complaint T1 resolved on 2026-11-26",
        "reasons": "complaint T1 resolved on 2026-11-26",
        "value_basis": "revenue_365d",
    }
    return {**row, **kw}


# --- suite files (no database) ---------------------------------------------------------------


def test_suite_files_are_valid_and_match_the_contract() -> None:
    raw = load_suites("raw")
    assert {s.table for s in raw} <= set(contract.TABLES)
    assert {s.table for s in raw} >= {"customers", "orders", "tickets", "surveys", "crisis_events"}
    for spec in raw:
        table = contract.TABLES[spec.table]
        assert spec.name == f"raw.{spec.table}" and spec.date_column == "_export_date"
        for exp in spec.expectations:
            kwargs = exp["kwargs"]
            for key in ("column", "column_A", "column_B"):
                if key in kwargs:
                    assert kwargs[key] in table.column_names, (spec.name, kwargs[key])
            if exp["type"] == "expect_column_values_to_be_in_set":
                assert tuple(kwargs["value_set"]) == table.column(kwargs["column"]).allowed, spec.name
        has_volume = any(
            e["type"] == "expect_table_row_count_to_be_between" and e["meta"]["severity"] == "critical"
            for e in spec.expectations
        )
        assert has_volume == table.required_file, spec.name
    lists = load_suites("lists")
    assert {s.table for s in lists} == {"retention_list", "compensation_list"}
    for spec in raw + lists:
        build_gx_suite(spec)  # every type and kwarg is accepted by GX


def test_suite_without_severity_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    path.write_text(
        json.dumps(
            {
                "name": "raw.orders",
                "meta": {"table": "orders", "date_column": "_export_date"},
                "expectations": [
                    {
                        "type": "expect_column_values_to_not_be_null",
                        "kwargs": {"column": "order_id"},
                        "meta": {"rule": "DQ-10"},
                    }
                ],
            }
        )
    )
    with pytest.raises(SuiteError, match="severity"):
        load_suite(path)


# --- raw ---------------------------------------------------------------------------------------


def test_good_raw_export_passes_and_writes_both_reports(raw_db: str, tmp_path: Path) -> None:
    good_raw(raw_db, D)
    report = validate_raw(raw_db, D, tmp_path)
    assert report.success and not report.critical_failures and not report.warnings
    assert report.report_path == tmp_path / "raw_2026-11-26.md"
    assert report.json_path == tmp_path / "raw_2026-11-26.json"
    md = report.report_path.read_text()
    assert "PASSED" in md and "| raw.orders | expect_column_values_to_be_unique | order_id |" in md
    data = json.loads(report.json_path.read_text())
    assert data["success"] is True and data["date"] == "2026-11-26"
    assert len(data["outcomes"]) == len(report.outcomes) > 30
    assert data["checkpoint_result"]["validation_results"]
    by_suite = {o.suite for o in report.outcomes}
    assert {"raw.customers", "raw.orders", "raw.tickets", "raw.surveys", "raw.crisis_events"} <= by_suite


def test_critical_raw_violations_fail_with_a_precise_message(raw_db: str, tmp_path: Path) -> None:
    good_raw(raw_db, D)
    insert(
        raw_db,
        "raw.orders",
        [
            {"order_id": "O1", "customer_id": "C2", "order_ts": T0, "status": "completed", "net_amount": 5},
            {"order_id": "O9", "customer_id": "C2", "order_ts": T0, "status": "completed", "net_amount": -3},
        ],
        D,
    )
    with pytest.raises(ValidationFailed) as info:
        validate_raw(raw_db, D, tmp_path)
    message = str(info.value)
    assert "raw.orders.order_id expect_column_values_to_be_unique [DQ-10]" in message
    assert "raw.orders.net_amount expect_column_values_to_be_between [DQ-10]" in message
    assert "-3" in message and "'O1'" in message  # observed values
    assert str(tmp_path / "raw_2026-11-26.md") in message
    report = info.value.report
    assert not report.success and len(report.critical_failures) == 2
    assert report.report_path.exists() and report.json_path.exists()
    assert "FAILED" in report.report_path.read_text()


def test_warning_only_violations_pass_with_warnings(raw_db: str, tmp_path: Path) -> None:
    good_raw(raw_db, D)
    insert(
        raw_db,
        "raw.tickets",
        [
            {
                "ticket_id": "T3",
                "created_at": T0,
                "ticket_type": "complaint",
                "status": "open",
                "first_response_at": T0 - timedelta(hours=1),
            },  # answered before it was created (DQ-02)
        ],
        D,
    )
    insert(
        raw_db,
        "raw.surveys",
        [
            {
                "survey_id": "S3",
                "customer_id": "C1",
                "survey_type": "CSAT",
                "trigger_type": "periodic",
                "sent_at": T0,
                "score": 7,
            },  # CSAT is 1-5 (DQ-09)
        ],
        D,
    )
    report = validate_raw(raw_db, D, tmp_path)
    assert report.success and not report.critical_failures
    warned = {(o.table, o.column, o.rule) for o in report.warnings}
    assert ("raw.tickets", "first_response_at, created_at", "DQ-02") in warned
    assert ("raw.surveys", "score", "DQ-09") in warned
    assert "**NO**" in report.report_path.read_text()


def test_rows_of_other_export_dates_are_ignored(raw_db: str, tmp_path: Path) -> None:
    good_raw(raw_db, D)
    good_raw(raw_db, PREV)
    insert(
        raw_db,
        "raw.orders",
        [
            {"order_id": "O1", "customer_id": "C1", "order_ts": T0, "status": "completed", "net_amount": -1},
        ],
        PREV,
    )
    insert(
        raw_db,
        "raw.crisis_events",
        [
            {
                "crisis_event_id": "E2",
                "crisis_type": "logistics",
                "scope_level": "local",
                "opinion_level": "light",
                "started_at": T0,
                "resolved_at": T0 - timedelta(days=1),
            },
        ],
        PREV,
    )
    assert validate_raw(raw_db, D, tmp_path).success
    with pytest.raises(ValidationFailed, match="raw.crisis_events.resolved_at, started_at"):
        validate_raw(raw_db, PREV, tmp_path)


def test_required_file_without_rows_for_the_date_is_critical(raw_db: str, tmp_path: Path) -> None:
    good_raw(raw_db, PREV)
    insert(raw_db, "raw.customers", [{"customer_id": "C1", "registered_at": T0, "status": "active"}], D)
    with pytest.raises(ValidationFailed) as info:
        validate_raw(raw_db, D, tmp_path)
    failed = {(o.table, o.expectation, o.observed) for o in info.value.report.critical_failures}
    assert failed == {("raw.orders", "expect_table_row_count_to_be_between", "0")}


def test_missing_optional_raw_tables_are_skipped(fresh_db: str, tmp_path: Path) -> None:
    ddl = [contract.raw_table_ddl(contract.TABLES[name]) for name in ("customers", "orders")]
    execute(fresh_db, "create schema raw", *ddl)
    insert(fresh_db, "raw.customers", [{"customer_id": "C1", "registered_at": T0, "status": "active"}], D)
    insert(
        fresh_db,
        "raw.orders",
        [
            {"order_id": "O1", "customer_id": "C1", "order_ts": T0, "status": "completed", "net_amount": 1},
        ],
        D,
    )
    report = validate_raw(fresh_db, D, tmp_path)
    assert report.success
    assert any("raw.tickets does not exist" in note for note in report.notes)
    assert {o.suite for o in report.outcomes} == {"raw.customers", "raw.orders"}


# --- lists -------------------------------------------------------------------------------------


def test_empty_and_good_lists_pass(lists_db: str, tmp_path: Path) -> None:
    assert validate_lists(lists_db, D, tmp_path).success  # an empty list is a valid list
    insert(
        lists_db,
        "lists_build.retention_list",
        [
            retention_row("C1"),
            retention_row("C2", churn_probability=1.0),
            retention_row("C3", "RL-02"),
        ],
    )
    insert(
        lists_db,
        "lists_build.compensation_list",
        [
            compensation_row("C1"),
            compensation_row("C1", round_no=2, ledger_key="ticket:T1:2"),
            compensation_row(
                "C2",
                trigger_type="crisis",
                ticket_id=None,
                crisis_event_id="E1",
                amount=None,
                points=50,
                ledger_key="crisis:E1:1",
            ),
            compensation_row("C3", ticket_id="T3", ledger_key="ticket:T3:1", amount=20, amount_cap=20),
        ],
    )
    report = validate_lists(lists_db, D, tmp_path)
    assert report.success and not report.warnings
    assert (tmp_path / "lists_2026-11-26.md").exists() and (tmp_path / "lists_2026-11-26.json").exists()


def test_list_probability_and_email_are_critical(lists_db: str, tmp_path: Path) -> None:
    insert(
        lists_db,
        "lists_build.retention_list",
        [
            retention_row("C1", churn_probability=1.5),
            retention_row("C2", channel="jane.doe@example.com"),
            retention_row("x@y.z", run_date=PREV, churn_probability=7),  # another run_date: not checked
        ],
    )
    with pytest.raises(ValidationFailed) as info:
        validate_lists(lists_db, D, tmp_path)
    message = str(info.value)
    table = "lists_build.retention_list"
    assert f"{table}.churn_probability expect_column_values_to_be_between [DQ-13]" in message
    assert f"{table}.channel expect_column_values_to_not_match_regex [DQ-14]" in message
    assert "1.5" in message and "jane.doe@example.com" in message
    assert len(info.value.report.critical_failures) == 2


def test_list_duplicates_and_pii_columns_are_critical(lists_db: str, tmp_path: Path) -> None:
    execute(lists_db, "alter table lists_build.retention_list add column email text")
    insert(lists_db, "lists_build.retention_list", [retention_row("C1"), retention_row("C1")])
    insert(
        lists_db,
        "lists_build.compensation_list",
        [  # same trigger twice, nullable key parts null
            compensation_row("C1", ticket_id=None, trigger_type="crisis"),
            compensation_row("C1", ticket_id=None, trigger_type="crisis"),
            compensation_row("C2", amount=-5),
            compensation_row(
                "C3", amount=30, amount_cap=20, ledger_key="ticket:T3:1"
            ),  # over its cap (DQ-11)
        ],
    )
    with pytest.raises(ValidationFailed) as info:
        validate_lists(lists_db, D, tmp_path)
    assert {o.column for o in info.value.report.critical_failures} >= {
        "customer_id, trigger_type, round_no",
        "amount, amount_cap",
    }
    failed = {(o.table, o.expectation) for o in info.value.report.critical_failures}
    assert failed == {
        ("lists_build.retention_list", "expect_table_columns_to_not_include"),
        ("lists_build.retention_list", "expect_column_values_to_be_unique"),
        ("lists_build.compensation_list", "unexpected_rows_expectation"),
        ("lists_build.compensation_list", "expect_column_values_to_be_between"),
    }
    assert "['email']" in str(info.value)


def test_missing_list_table_or_column_is_critical(fresh_db: str, tmp_path: Path) -> None:
    execute(fresh_db, "create schema lists_build", RETENTION_DDL.replace(" value_tier text,", ""))
    with pytest.raises(ValidationFailed) as info:
        validate_lists(fresh_db, D, tmp_path)
    assert "lists_build.compensation_list.(table) expect_table_to_exist" in str(info.value)
    errored = [o for o in info.value.report.critical_failures if o.observed.startswith("error:")]
    assert [(o.table, o.column) for o in errored] == [("lists_build.retention_list", "value_tier")]
