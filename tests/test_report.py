"""The daily morning report (issue 13) on a real PostgreSQL and in a real headless Chromium.

Here: the report of a warehouse without marts says "not measured" in every section instead of failing,
the monitoring marts of issue 13 part A fill their panels once they exist, rendering is byte-for-byte
deterministic, and the file is stored in ops.daily_reports. The report of a full e2e run (crm_nightly on
Airflow) is opened in Chromium by tests/test_e2e.py,
with `assert_renders_in_chromium` of tests/support/report.py.
Chromium missing is a failure, never a skip: `make test` installs it (Makefile).
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path

import psycopg
import pytest
from support.report import HEADINGS, assert_renders_in_chromium

from crm_scoring.report import render_report
from crm_scoring.report.sections.value import elasticity

D = date(2026, 11, 26)


@pytest.fixture
def report_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CRM_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("CRM_REPORTS_DIR", raising=False)
    return tmp_path / "state" / "reports" / "daily"


def test_empty_warehouse_renders_every_section_as_not_measured(fresh_db: str, report_env: Path) -> None:
    first = render_report(D, fresh_db)
    assert first.path == report_env / "2026-11-26.html"
    html = first.path.read_text(encoding="utf-8")
    for heading in HEADINGS:
        assert f"<h2>{heading}</h2>" in html.replace("&#39;", "'")
    assert first.missing_panels >= len(HEADINGS)
    assert f"Not measured for {D}" in html
    for mart in ("marts.monitoring_drift", "marts.data_health", "marts.pipeline_health"):
        assert f"`{mart}` does not exist" in html
    # no CDN, no external asset of any kind
    assert not re.search(r"""(src|href)=["']https?:""", html)
    # deterministic: the same warehouse gives the same bytes, and the stored copy is the file
    second = render_report(D, fresh_db)
    assert second.sha256 == first.sha256 == hashlib.sha256(html.encode()).hexdigest()
    with psycopg.connect(fresh_db) as conn:
        rows = conn.execute("select run_date, sha256, html from ops.daily_reports").fetchall()
    assert [(r[0], r[1]) for r in rows] == [(D, first.sha256)] and rows[0][2] == html
    assert not list(report_env.glob("*.tmp"))


def _monitoring_marts(url: str) -> None:
    """The three monitoring marts of issue 13 part A, with their agreed columns and a few rows."""
    with psycopg.connect(url) as conn:
        conn.execute("create schema marts")
        conn.execute(
            """create table marts.monitoring_drift (run_date date, model_version text, scope text,
               feature text, psi double precision, distance_name text, distance double precision,
               psi_threshold double precision, status text)"""
        )
        conn.execute(
            """insert into marts.monitoring_drift values
               (%(d)s, '3', 'score', 'churn_probability', 0.04, 'wasserstein', 0.01, 0.2, 'ok'),
               (%(d)s, '3', 'feature', 'recency_days', 0.31, 'wasserstein', 4.2, 0.2, 'breach'),
               (%(d)s, '3', 'feature', 'complaints_90d', 0.12, 'wasserstein', 0.3, 0.2, 'warn'),
               (%(d)s, '3', 'feature', 'orders_365d', 0.02, 'wasserstein', 0.1, 0.2, 'ok'),
               (%(d)s - 1, '3', 'feature', 'recency_days', 0.9, 'wasserstein', 9.9, 0.2, 'breach')""",
            {"d": D},
        )
        conn.execute(
            """create table marts.data_health (run_date date, check_name text, table_name text, metric text,
               value double precision, baseline double precision, threshold double precision, status text)"""
        )
        conn.execute(
            """insert into marts.data_health values
               (%(d)s, 'DQ-12 volume', 'orders', 'rows_vs_baseline', 1.9, 1.0, 0.5, 'breach'),
               (%(d)s, 'freshness', 'customers', 'days_behind', 0, 0, 1, 'ok')""",
            {"d": D},
        )
        conn.execute(
            """create table marts.pipeline_health (run_date date, stage text, duration_s double precision,
               rows bigint, baseline_duration_s double precision, status text)"""
        )  # present but empty for the date: still "not measured"


def test_monitoring_marts_fill_their_panels(fresh_db: str, report_env: Path) -> None:
    _monitoring_marts(fresh_db)
    html = render_report(D, fresh_db, store_in_warehouse=False).path.read_text(encoding="utf-8")
    drift = html[html.index('id="model"') : html.index('id="data"')]
    assert "PSI of the top 3 drifting features" in drift and 'src="data:image/png;base64,' in drift
    assert "recency_days" in drift and "breach" in drift and "9.9" not in drift  # the day before is not shown
    assert drift.index("churn_probability") < drift.index("recency_days")  # the score first, then by PSI
    data = html[html.index('id="data"') :]
    assert "DQ-12 volume" in data and "`marts.data_health` has no rows" not in data
    assert f"Not measured for {D}: `marts.pipeline_health` has no rows for this date" in data
    assert "`marts.monitoring_drift` does not exist" not in html


def test_drift_of_the_models_most_important_features_and_list_sizes(fresh_db: str, report_env: Path) -> None:
    """Issue 13, model health: "drift of the top features" = the model's most important ones (the training
    importance cached with the drift reference), besides the most drifting; data health shows the list
    sizes against their trailing baseline (AL-20)."""
    _monitoring_marts(fresh_db)
    with psycopg.connect(fresh_db) as conn:
        conn.execute("create schema scoring")
        conn.execute(
            """create table scoring.drift_reference (model_name text, model_version text, mlflow_run_id text,
               reference jsonb)"""
        )
        conn.execute(
            """insert into scoring.drift_reference values
               ('churn', '3', 'r3', '{"columns": {}, "importance": {"orders_365d": 9.5, "complaints_90d": 4.0,
                                                                  "unused_feature": 8.0}}'),
               ('churn', '2', 'r2', '{"columns": {}, "importance": {"recency_days": 99.0}}')"""
        )
        conn.execute(
            """insert into marts.pipeline_health values
               (%(d)s, 'ingest', 12.5, 4200, 10.0, 'ok'),
               (%(d)s, 'list:retention_list', null, 310, null, 'breach')""",
            {"d": D},
        )
        conn.execute("alter table marts.pipeline_health add column baseline_rows bigint")
        conn.execute("update marts.pipeline_health set baseline_rows = 777 where stage like 'list:%'")
    html = render_report(D, fresh_db, store_in_warehouse=False).path.read_text(encoding="utf-8")
    model = html[html.index('id="model"') : html.index('id="data"')]
    assert "PSI of the model&#39;s 2 most important features" in model
    important = model[model.index("most important features (importance") :]
    important = important[: important.index("</table>")]
    # by importance (v3's), not by PSI; a feature without drift rows and v2's importance are not shown
    assert important.index("orders_365d") < important.index("complaints_90d")
    assert "recency_days" not in important and "unused_feature" not in important
    assert "PSI of the top 3 drifting features" in model  # the PSI order stays beside it
    data = html[html.index('id="data"') :]
    assert "list:retention_list" in data and "777" in data and "baseline_rows" in data


def test_csat_and_nps_fill_the_complaint_health_panel(fresh_db: str, report_env: Path) -> None:
    """RP-02: CSAT % satisfied and NPS per response day (chart) and by region (table), from the mart."""
    with psycopg.connect(fresh_db) as conn:
        conn.execute("create schema marts")
        conn.execute(
            """create table marts.survey_scores_daily (run_date date, responded_on date, survey_type text,
               region text, responses bigint, mean_score double precision, satisfied bigint,
               dissatisfied bigint, promoters bigint, detractors bigint, policy_version text)"""
        )
        conn.execute(
            """insert into marts.survey_scores_daily values
               (%(d)s, %(d)s - 1, 'CSAT', 'north', 4, 4.0, 3, 1, 0, 0, 'v1'),
               (%(d)s, %(d)s - 1, 'NPS', 'north', 5, 8.0, 0, 0, 3, 1, 'v1'),
               (%(d)s, %(d)s - 2, 'NPS', 'south', 5, 6.0, 0, 0, 1, 3, 'v1'),
               (%(d)s, %(d)s - 40, 'NPS', 'south', 9, 1.0, 0, 0, 0, 9, 'v1')""",
            {"d": D},
        )
    html = render_report(D, fresh_db, store_in_warehouse=False).path.read_text(encoding="utf-8")
    complaints = html[html.index('id="complaints"') : html.index('id="crisis"')]
    assert "CSAT and NPS (RP-02): per response day, last 30 days" in complaints
    by_region = complaints[complaints.index("CSAT and NPS (RP-02) by region") :]
    # north: CSAT 3/4 satisfied, NPS (3 - 1) / 5 = 40; south: (1 - 3) / 5 = -40 (day -40 is outside)
    assert re.search(r"north.*?0\.75.*?40", by_region, re.S)
    assert re.search(r"south.*?-40", by_region, re.S)
    assert "-80" not in by_region


def test_crisis_recovery_fills_its_panel(fresh_db: str, report_env: Path) -> None:
    """RP-03: each crisis event's repurchase before vs after, recovery and verdict, from the mart."""
    with psycopg.connect(fresh_db) as conn:
        conn.execute("create schema marts")
        conn.execute(
            """create table marts.crisis_recovery (run_date date, crisis_event_id text, crisis_type text,
               started_at timestamptz, resolved_at timestamptz, is_mature boolean, affected_customers bigint,
               buyers_pre bigint, buyers_post bigint, repurchase_pre double precision,
               repurchase_post double precision, repurchase_recovery double precision,
               meets_recovery_target boolean, complaints_per_customer_pre double precision,
               complaints_per_customer_post double precision, csat_pre double precision,
               csat_post double precision, csat_rebound double precision, window_days integer,
               recovery_target double precision, policy_version text)"""
        )
        conn.execute(
            """insert into marts.crisis_recovery values
               (%(d)s, 'CR-OLD', 'outage', '2026-06-01', '2026-06-05', true, 400, 300, 200, 0.75, 0.5,
                0.667, false, 0.25, 0.1, 2.0, 4.5, 2.5, 90, 0.85, 'v1'),
               (%(d)s - 1, 'CR-GONE', 'outage', '2026-06-01', null, false, 1, 0, 0, 0, 0,
                null, null, 0, 0, null, null, null, 90, 0.85, 'v1')""",
            {"d": D},
        )
    html = render_report(D, fresh_db, store_in_warehouse=False).path.read_text(encoding="utf-8")
    crisis = html[html.index('id="crisis"') : html.index('id="campaigns"')]
    assert (
        "Crisis recovery (RP-03): affected customers 90 days before the start vs after the resolution"
        in crisis
    )
    assert re.search(r"CR-OLD.*?400.*?0\.75.*?0\.5.*?0\.667.*?no", crisis, re.S)
    assert "target 0.85" in crisis and "CR-GONE" not in crisis  # another run date


def _crisis_kpis(url: str) -> None:
    """marts.crisis_kpis with the mart's columns: one event, every verdict the scoreboard can show."""
    with psycopg.connect(url) as conn:
        conn.execute("create schema if not exists marts")
        conn.execute(
            """create table marts.crisis_kpis (run_date date, crisis_event_id text, crisis_type text,
               kpi_order integer, kpi text, unit text, baseline double precision, measured double precision,
               value double precision, n_measured bigint, n_baseline bigint, target double precision,
               target_direction text, reference double precision, is_mature boolean, status text,
               min_group_size integer, policy_version text)"""
        )
        conn.execute(
            """insert into marts.crisis_kpis values
               (%(d)s, 'CR-OLD', 'outage', 1, 'repurchase_recovery', 'ratio', 0.8, 0.72, 0.9, 400, 320,
                0.85, 'at least', null, true, 'on target', 30, 'v1'),
               (%(d)s, 'CR-OLD', 'outage', 2, 'satisfaction_rebound', 'CSAT points', 3.5, 4.0, 0.5, 400, 400,
                null, null, null, true, 'no target', 30, 'v1'),
               (%(d)s, 'CR-OLD', 'outage', 4, 'churn_uplift', 'relative change', 0.2, 0.27, 0.35, 320, 300,
                0.22, 'at most', null, true, 'off target', 30, 'v1'),
               (%(d)s, 'CR-OLD', 'outage', 5, 'winback_revival_uplift', 'relative change', 0.2, 0.3, 0.5, 40,
                10, 0.18, 'at least', null, true, 'not enough data', 30, 'v1'),
               (%(d)s, 'CR-OLD', 'outage', 6, 'loyalty_uplift', 'relative change', 0.5, 0.6, 0.2, 50, 50,
                0.28, 'at least', 0.12, true, 'off target', 30, 'v1'),
               (%(d)s, 'CR-OLD', 'outage', 7, 'recurrence_reduction', 'relative change', 0.5, 0.1, 0.8, 40,
                40, 0.7, 'at least', null, false, 'window open', 30, 'v1'),
               (%(d)s - 1, 'CR-GONE', 'outage', 4, 'churn_uplift', 'relative change', 0.2, 0.3, 0.5, 99, 99,
                0.22, 'at most', null, true, 'off target', 30, 'v1')""",
            {"d": D},
        )


def test_crisis_kpis_say_which_are_on_and_off_target(fresh_db: str, report_env: Path) -> None:
    """RP-03 scoreboard: the verdicts as the mart judged them, named, counted, badged and charted."""
    _crisis_kpis(fresh_db)
    html = render_report(D, fresh_db, store_in_warehouse=False).path.read_text(encoding="utf-8")
    crisis = html[html.index('id="crisis"') : html.index('id="campaigns"')]
    board = crisis[crisis.index("Crisis KPIs against their targets (RP-03)") :]
    assert (
        "Off target: CR-OLD churn uplift (churn after / before - 1); "
        "CR-OLD loyalty uplift, CP-05 recipients (after / before - 1)." in board
    )
    for count, verdict in ((1, "on target"), (2, "off target"), (1, "not enough data"), (1, "window open")):
        assert f"<b>{count}</b><span>crisis KPIs {verdict}</span>" in board
    assert board.count('<span class="badge b-off">off target</span>') == 2
    assert '<span class="badge b-on">on target</span>' in board
    assert re.search(
        r"CR-OLD</td><td>churn uplift.*?0\.2</td>.*?0\.27</td>.*?0\.35</td><td>&lt;= 0\.22", board
    )
    assert "none in the seed" in board and "CR-GONE" not in crisis  # another run date
    chart = board[board.index("values against the target line") :]
    assert chart.index('src="data:image/png;base64,') < chart.index("</section>")


def test_empty_report_opens_in_chromium(fresh_db: str, report_env: Path) -> None:
    _monitoring_marts(fresh_db)
    _crisis_kpis(fresh_db)
    path = render_report(D, fresh_db, store_in_warehouse=False).path
    assert_renders_in_chromium(path, "report-monitoring-only", min_images=2)


def test_elasticity_is_the_log_log_slope() -> None:
    # rate = 0.4 * frt^-0.5 exactly: the slope is -0.5
    frt = [10.0, 40.0, 90.0, 250.0]
    assert elasticity(frt, [0.4 * f**-0.5 for f in frt]) == pytest.approx(-0.5)
    assert elasticity(frt, [0.1, 0.0, 0.1, 0.1]) is None
    assert elasticity([5.0, 5.0], [0.1, 0.2]) is None
