"""The lists' landing fixture and build helpers (customers a1..a24 that each exercise one rule or guard,
plus N_SYNTH synthetic lapsed customers for the hold-out and capacity checks), shared by tests/test_lists.py
and tests/test_privacy_erasure.py: loading it, setting the policy the tests need on a project copy, and
building the list models for a run date."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from crm_scoring import contract, settings, warehouse
from support.dbt_project import _dbt, _set_csv
from support.raw import create_source_tables

D1, D2, D3 = date(2026, 11, 26), date(2026, 11, 27), date(2026, 11, 28)
T0 = "2024-01-01T00:00:00Z"
# RL-16 holidays on D1: a20 (US, Thanksgiving: a movable holiday row added by _configure), a21 (DE, a
# fixed-date test row greeted one day early), a22 (CN: no holiday), a23 (US, no marketing consent), a24 (US,
# lapsed). RL-15 expertise_hint arrives outside the landing contract, in raw customers._extra.
HOLIDAY_COUNTRIES = {"a20": "US", "a21": "DE", "a22": "CN", "a23": "US", "a24": "US"}
EXTRA = {
    "a10": {"expertise_hint": " Expert "},
    "a20": {"expertise_hint": "novice"},
    "a21": {"expertise_hint": "guru"},
    "a2": {"coupon_code": "X1"},
}
N_SYNTH = 2000
AUTOMATED_CAPACITY = 1000


def _rows(export_date: date, columns: str, *rows: tuple) -> list[tuple[date, dict]]:
    names = columns.split()
    return [(export_date, dict(zip(names, r, strict=True))) for r in rows]


def _fixture() -> dict[str, list[tuple[date, dict]]]:
    cust = "customer_id registered_at status country"
    order = "order_id customer_id order_ts status net_amount points_earned"
    ticket = "ticket_id customer_id created_at ticket_type status severity resolved_at updated_at"
    consent = "customer_id purpose channel status status_ts"
    ids = [f"a{i}" for i in range(1, 20)]
    synth = [f"h{i:04d}" for i in range(N_SYNTH)]
    fx: dict[str, list[tuple[date, dict]]] = {
        "customers": _rows(
            D1,
            cust,
            *[(c, "2026-11-19T09:00:00Z" if c == "a9" else T0, "active", None) for c in ids + synth],
            *[(c, T0, "active", country) for c, country in HOLIDAY_COUNTRIES.items()],
        ),
        "orders": _rows(
            D1,
            order,
            ("o1", "a1", "2026-11-20T10:00:00Z", "completed", 150000, None),  # T1, active
            ("o2", "a2", "2026-08-18T10:00:00Z", "completed", 50, None),  # lapsed 100 d
            ("o3", "a3", "2026-11-19T10:00:00Z", "completed", 30, None),  # silent 7 d
            ("o4", "a4", "2026-11-19T10:00:00Z", "completed", 30, None),  # silent 7 d, no consent
            ("o5", "a5", "2026-08-01T10:00:00Z", "completed", 30, None),  # lapsed, do-not-contact
            ("o6", "a6", "2026-11-25T10:00:00Z", "completed", 30, None),
            ("o7", "a7", "2026-11-25T10:00:00Z", "completed", 30, None),
            ("o8", "a8", "2026-08-01T10:00:00Z", "completed", 30, None),  # lapsed, frequency cap
            ("o10", "a10", "2026-11-25T10:00:00Z", "completed", 30, None),
            ("o12", "a12", "2026-11-25T10:00:00Z", "completed", 30, None),
            ("o13", "a13", "2026-11-25T10:00:00Z", "completed", 30, None),
            ("o14", "a14", "2026-11-25T10:00:00Z", "completed", 30, None),
            ("o16", "a16", "2026-11-25T10:00:00Z", "completed", 30, None),
            ("o17", "a17", "2026-11-24T10:00:00Z", "completed", 30, 40),  # points during the outage
            ("o18", "a18", "2026-11-01T10:00:00Z", "completed", 200000, None),  # T1
            ("o19", "a19", "2026-08-29T10:00:00Z", "completed", 30, None),  # lapsed from D2 on
            *[(f"oh{c}", c, "2026-06-01T10:00:00Z", "completed", 10, None) for c in synth],
            *[
                (f"o{c}", c, "2026-11-25T10:00:00Z", "completed", 30, None)
                for c in HOLIDAY_COUNTRIES
                if c != "a24"
            ],
            ("oa24", "a24", "2026-08-01T10:00:00Z", "completed", 30, None),  # lapsed
        ),
        "tickets": _rows(
            D1,
            ticket,
            # a6 / a7: crisis-sensitive (4 complaints); a6's last one resolved on D1 -> CP-01
            *[
                (
                    f"t6{k}",
                    "a6",
                    f"2026-0{k + 2}-01T10:00:00Z",
                    "complaint",
                    "closed",
                    None,
                    f"2026-0{k + 2}-02T10:00:00Z",
                    f"2026-0{k + 2}-02T10:00:00Z",
                )
                for k in range(3)
            ],
            (
                "t63",
                "a6",
                "2026-11-24T10:00:00Z",
                "complaint",
                "resolved",
                "medium",
                "2026-11-26T09:00:00Z",
                "2026-11-26T09:00:00Z",
            ),
            *[
                (
                    f"t7{k}",
                    "a7",
                    f"2026-0{k + 2}-01T10:00:00Z",
                    "complaint",
                    "closed",
                    None,
                    f"2026-0{k + 2}-02T10:00:00Z",
                    f"2026-0{k + 2}-02T10:00:00Z",
                )
                for k in range(4)
            ],
            ("t11", "a11", "2026-11-26T08:00:00Z", "inquiry", "open", None, None, "2026-11-26T08:00:00Z"),
            (
                "t15",
                "a15",
                "2026-11-25T10:00:00Z",
                "complaint",
                "resolved",
                None,
                "2026-11-26T09:00:00Z",
                "2026-11-26T09:00:00Z",
            ),  # already compensated by the CRM
            (
                "t16",
                "a16",
                "2026-11-10T10:00:00Z",
                "complaint",
                "resolved",
                None,
                "2026-11-20T09:00:00Z",
                "2026-11-20T09:00:00Z",
            ),  # round 2 after the revisit
            (
                "t18",
                "a18",
                "2026-11-25T10:00:00Z",
                "complaint",
                "resolved",
                "high",
                "2026-11-26T09:00:00Z",
                "2026-11-26T09:00:00Z",
            ),  # T1 red flag, over the cap
        ),
        "surveys": _rows(
            D1,
            "survey_id customer_id survey_type trigger_type related_ticket_id sent_at responded_at score",
            (
                "s12",
                "a12",
                "CSAT",
                "post_crisis_revisit",
                None,
                "2026-11-23T00:00:00Z",
                "2026-11-23T05:00:00Z",
                2,
            ),
            (
                "s16",
                "a16",
                "NPS",
                "post_resolution_revisit",
                "t16",
                "2026-11-24T00:00:00Z",
                "2026-11-25T00:00:00Z",
                3,
            ),
        ),
        "crisis_events": _rows(
            D1,
            "crisis_event_id crisis_type scope_level opinion_level started_at resolved_at",
            ("cr1", "service_outage", "regional", "medium", "2026-11-23T00:00:00Z", None),
            ("cr0", "logistics", "local", "light", "2026-11-10T00:00:00Z", "2026-11-22T00:00:00Z"),
            ("cr2", "brand_pr", "network_wide", "severe", "2026-11-25T00:00:00Z", None),
            ("cr3", "product_safety", "regional", "medium", "2026-11-01T00:00:00Z", "2026-11-20T00:00:00Z"),
        )
        + _rows(  # the day-2 export closes both active crises: crisis mode ends
            D2,
            "crisis_event_id crisis_type scope_level opinion_level started_at resolved_at",
            ("cr1", "service_outage", "regional", "medium", "2026-11-23T00:00:00Z", "2026-11-26T20:00:00Z"),
            ("cr2", "brand_pr", "network_wide", "severe", "2026-11-25T00:00:00Z", "2026-11-26T21:00:00Z"),
        ),
        "crisis_affected_customers": _rows(
            D1,
            "crisis_event_id customer_id impact_value",
            ("cr1", "a1", None),
            ("cr1", "a17", None),
            ("cr0", "a12", None),
            ("cr2", "a13", 200),
            ("cr3", "a14", 100),
        ),
        "contacts": _rows(
            D1,
            "contact_id customer_id contact_ts channel purpose outcome",
            ("k81", "a8", "2026-11-21T10:00:00Z", "email", "marketing", "delivered"),
            ("k82", "a8", "2026-11-24T10:00:00Z", "email", "marketing", "opened"),
            # CP-11: a notice before a16's list date does not count for it
            ("kn16", "a16", "2026-11-25T12:00:00Z", "sms", "compensation_notice", "delivered"),
        )
        + _rows(  # the CRM notifies a6 of its day-1 compensation on day 2
            D2,
            "contact_id customer_id contact_ts channel purpose outcome",
            ("kn6", "a6", "2026-11-27T08:00:00Z", "sms", "compensation_notice", "delivered"),
        ),
        "compensations": _rows(
            D1,
            "compensation_id customer_id ticket_id round_no compensation_type amount issued_at",
            ("m15", "a15", "t15", 1, "voucher", 20, "2026-11-26T10:00:00Z"),
            ("m16", "a16", "t16", 1, "voucher", 20, "2026-11-21T10:00:00Z"),
            ("m18", "a18", "t18old", 1, "voucher", 100, "2026-06-01T10:00:00Z"),
        ),
        "consents": _rows(
            D1,
            consent,
            *[(c, "service", "any", "granted", T0) for c in ids if c != "a4"],
            *[(c, "marketing", "email", "granted", T0) for c in ids + synth if c != "a4"],
            ("a3", "marketing", "sms", "granted", T0),
            ("a9", "marketing", "app_push", "granted", "2026-11-19T09:00:00Z"),
            ("a5", "service", "any", "withdrawn", "2026-10-01T00:00:00Z"),  # do-not-contact
            *[(c, "service", "any", "granted", T0) for c in HOLIDAY_COUNTRIES],
            *[(c, "marketing", "email", "granted", T0) for c in HOLIDAY_COUNTRIES if c != "a23"],
        ),
    }
    return fx


def _load(url: str) -> None:
    """The platform's source tables (as dbt's on-run-start hook creates them), then raw rows, scores,
    reasons and two enriched texts."""
    create_source_tables(url)
    with warehouse.connect(url) as conn:
        for name, rows in _fixture().items():
            cols = contract.TABLES[name].column_names
            with conn.cursor().copy(
                f"copy raw.{name} ({', '.join(cols)}, _export_date, _source_file, _line_no, _extra)"
                " from stdin"
            ) as cp:
                for line_no, (export_date, row) in enumerate(rows, start=2):
                    extra = EXTRA.get(row["customer_id"]) if name == "customers" else None
                    cp.write_row(
                        [row.get(c) for c in cols]
                        + [export_date, f"{name}.csv", line_no, json.dumps(extra) if extra else None]
                    )
        probs = {"a1": 0.9, "a3": 0.2, "a4": 0.5, "a6": 0.1, "a7": 0.1, "a18": 0.1}
        scores = (
            "run_date, customer_id, churn_probability, model_name, model_version, mlflow_run_id, scored_at"
        )
        with conn.cursor().copy(f"copy scoring.churn_scores ({scores}) from stdin") as cp:
            for day in (D1, D2):
                for c in [f"a{i}" for i in range(1, 20)]:
                    cp.write_row([day, c, probs.get(c, 0.05), "churn", "7", "run-7", "2026-11-26T03:00:00Z"])
        reasons = "run_date, customer_id, reason_rank, feature, contribution, reason_text, model_version"
        with conn.cursor().copy(f"copy scoring.churn_reasons ({reasons}) from stdin") as cp:
            for day in (D1, D2):
                for rank, feat in enumerate(["days_inactive", "complaints_90d", "logins_30d"], start=1):
                    cp.write_row([day, "a1", rank, feat, 0.3 / rank, f"reason {feat}", "7"])
        conn.execute(
            "insert into enrichment.text_sentiment (source_table, source_id, customer_id, text_ts, language,"
            " redacted_text, polarity, polarity_score, emotion_class, crisis_triage_class, has_risk_keyword,"
            " has_empathy_keyword, model_name, model_version, quality_gate_passed, enriched_for_date,"
            " policy_version, text_sha256, enriched_at)"
            " select s, i, c, ts::timestamptz, 'en', 'redacted', 'negative', -0.9, 'angry',"
            " 'immediate_intervention', false, false, 'm', '1', true, '2026-11-26', '2026.1', md5(i),"
            " '2026-11-26T03:00:00Z' from (values ('surveys', 'x10', 'a10', '2026-11-20T10:00:00Z'),"
            " ('tickets', 't11', 'a11', '2026-11-26T08:00:00Z')) as v(s, i, c, ts)"
        )


def _append_csv(path: Path, **values: str) -> None:
    """Add one row to a policy seed in the temporary project copy (unnamed columns stay empty)."""
    with path.open(newline="") as fh:
        fields = next(csv.reader(fh))
    with path.open("a", newline="") as fh:
        csv.DictWriter(fh, fieldnames=fields, lineterminator="\n").writerow(values)


def _configure(project: Path) -> None:
    """Replace starter defaults by the values the fixture's expectations are written for (they stay tagged
    starter: the strict-profile test drops them like any starter default)."""
    seeds = project / "seeds" / "policy"
    params = seeds / "policy_parameters.csv"
    # CH-08: a new salt only through a new policy version, in force from D2 (D1 keeps drawing with 2026.1)
    _append_csv(
        params, key="holdout_salt", value="2026.2", unit="text", tag="D", policy_version="2026.2",
        effective_from=D2.isoformat(), approved_by="test", notes="re-draw the hold-out groups",
    )  # fmt: skip
    calendar = seeds / "holiday_calendar.csv"
    _append_csv(
        calendar, country="US", holiday_code="us_thanksgiving", holiday_name="Thanksgiving Day",
        holiday_date=D1.isoformat(), greeting_offset_days="0", enabled="true", policy_version="2026.1",
        effective_from="2026-01-01",
    )  # fmt: skip
    _append_csv(
        calendar, country="DE", holiday_code="de_test_day", holiday_name="Test day", month_day="11-27",
        greeting_offset_days="-1", enabled="true", policy_version="2026.1", effective_from="2026-01-01",
    )  # fmt: skip
    for key, value in {
        "churn_band_high_min": "0.7",
        "churn_band_medium_min": "0.4",
        "post_crisis_revisit_sample_rate": "1.0",
        "care_content_duration_months": "3",
        "max_contacts_7d": "2",
        "capacity_per_day:automated": str(AUTOMATED_CAPACITY),
        "compensation_cap_per_customer_365d": "150",  # T2 / T3 (no tier row of their own below)
        "compensation_cap_per_customer_365d:T1_DIAMOND": "150",
        "compensation_cap_per_customer_365d:T2_GOLD": "",
        "compensation_due_days": "3",
        "compensation_notice_max_days": "1",
    }.items():
        _set_csv(params, "key", key, value=value, tag="starter")
    rules = seeds / "retention_rules.csv"
    for code in ("RL-03", "RL-04", "RL-10", "RL-12"):
        _set_csv(rules, "rule_code", code, enabled="true")
    matrix = seeds / "compensation_matrix.csv"
    for package, values in {
        "CMP_T1": {"amount": "100"},
        "CMP_T2": {"amount": "20", "cap": "20"},  # DQ-11: capped at exactly its amount
        "CMP_T3": {"amount": "20"},
    }.items():
        _set_csv(matrix, "package_code", package, enabled="true", tag="starter", **values)
    # the other packages have one row per value tier; the fixture uses one figure for every tier
    for rule, values in {
        "CP-02": {"amount": "30"},
        "CP-06": {"amount": "10"},
        "CP-09": {"amount": "", "points": "50"},
        # on by default with starter values, CP-05 / CP-08 would put a12 / a6 / a7 on the compensation list
        # and de-duplicate their retention rows (RL-19): so the fixture switches them off
        "CP-05": {"enabled": "false"},
        "CP-08": {"enabled": "false"},
    }.items():
        keep_starter = {"tag": "starter"} if {"amount", "points"} & set(values) else {}
        _set_csv(matrix, "rule_code", rule, **keep_starter, **values)


def _build(
    url: str,
    project: Path,
    run_date: date,
    monkeypatch: pytest.MonkeyPatch,
    upstream: bool = True,
    extra: tuple[str, ...] = (),
) -> None:
    """Build the lists (and the `extra` models, e.g. the notification mart and alerts) for run_date."""
    monkeypatch.setattr(settings, "dbt_project_dir", lambda: project)
    for key, value in warehouse.parse_url(url).dbt_env().items():
        monkeypatch.setenv(key, value)
    day = run_date.isoformat()
    # Upstream models run without their tests (they have their own suites); the list models and `extra`
    # are built with their data tests and contracts. The platform's policy profile (starter), as the
    # nightly runs it; support._dbt reuses the parsed manifest across these commands.
    # The rule and parameter reports (tag reporting: rule_activity, policy_parameter_status) read the lists
    # build; the nightly builds them after publishing, here with the lists.
    lists = ("tag:lists", "tag:reporting")
    if upstream:
        wanted = [*(f"+{t}" for t in lists), *(f"+{m}" for m in extra)]
        _dbt(project, "seed", "--select", *wanted, run_date=day, profile=None)
        _dbt(project, "run", "--select", *wanted, "--exclude", *lists, *extra, run_date=day, profile=None)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("analyze")  # fresh tables: give the planner statistics, as autovacuum would
    build = ["build", "--select", *lists, *extra, "--exclude-resource-type", "unit_test"]
    _dbt(project, *build, run_date=day, profile=None)


def _q(url: str, query: str, *params) -> list[dict]:
    with psycopg.connect(url) as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return cur.fetchall()
