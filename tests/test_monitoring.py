"""Monitoring as data: drift maths (pure), the stage log (real PostgreSQL) and the monitoring marts + their
alerts built by real dbt on the dbt-project fixture (AL-14, DQ-07, DQ-08, DQ-12, AL-20)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from support.dbt_project import D1, FIXTURE, SCORES, _dbt, _load_raw, _rows

from crm_scoring import warehouse
from crm_scoring.monitoring import drift
from crm_scoring.monitoring.reference import (
    IMPORTANCE_FILE,
    IMPORTANCE_KEY,
    REFERENCE_FILE,
    SCORE_COLUMN,
    build_reference,
    column_reference,
)
from crm_scoring.orchestration import stage_log

RNG = np.random.default_rng(7)
HEALTH_UNIT_TESTS = (
    "data_health_file_checks_dq07_low_dq08_off",
    "data_health_dq07_high_in_force_dq08_ok",
    "data_health_dq07_at_band_max_dq08_unset",
    "pipeline_health_durations_failures_lists",
)


# --- drift maths -------------------------------------------------------------------------------------


def test_same_population_has_no_drift():
    reference = column_reference(RNG.normal(0, 1, 20_000))
    psi, distance = drift.column_drift(reference, RNG.normal(0, 1, 20_000))
    assert psi < 0.01
    assert distance < 0.05


def test_shifted_population_breaches():
    reference = column_reference(RNG.normal(0, 1, 20_000))
    psi, distance = drift.column_drift(reference, RNG.normal(1, 1, 20_000))
    assert psi > 0.25  # drift_psi_breach
    assert distance == pytest.approx(1.0, abs=0.05)  # a one-sigma shift is one reference std


def test_missing_values_are_their_own_bin():
    values = RNG.normal(0, 1, 10_000)
    reference = column_reference(values)
    current = values.copy()
    current[: len(current) // 3] = np.nan
    psi, _ = drift.column_drift(reference, current)
    assert psi > 0.25  # a third of the night missing is a breach even if the rest looks the same


def test_discrete_and_constant_columns():
    flags = column_reference(np.array([0.0] * 900 + [1.0] * 100))
    assert flags["edges"] == [0.0] and flags["counts"] == [900, 100]  # bins (-inf, 0], (0, inf)
    same, _ = drift.column_drift(flags, np.array([0.0] * 90 + [1.0] * 10))
    flipped, _ = drift.column_drift(flags, np.array([0.0] * 10 + [1.0] * 90))
    assert same < 0.01 and flipped > 1.0
    constant = column_reference(np.full(100, 3.0))
    assert drift.wasserstein_norm(constant, np.full(50, 5.0)) == pytest.approx(2.0)  # raw shift, std 0


def test_compute_rows_cover_score_and_features():
    train = pd.DataFrame({"a": RNG.normal(0, 1, 5000), "b": RNG.uniform(0, 1, 5000)})
    reference = build_reference({c: train[c].to_numpy() for c in train}, RNG.uniform(0, 1, 5000), source="t")
    night = pd.DataFrame({"a": RNG.normal(2, 1, 1000), "b": RNG.uniform(0, 1, 1000)})
    rows = drift.compute(date(2026, 11, 26), "churn", "3", reference, night, RNG.uniform(0, 1, 1000))
    by = {(r.scope, r.feature): r for r in rows}
    assert set(by) == {("score", "churn_probability"), ("feature", "a"), ("feature", "b")}
    assert by[("feature", "a")].psi > 0.25 > by[("feature", "b")].psi
    assert all(r.rows_reference == 5000 and r.rows_current == 1000 for r in rows)
    assert SCORE_COLUMN in reference["columns"]


def test_reference_is_cached_with_the_versions_feature_importance(fresh_db, tmp_path, monkeypatch):
    """The first night that meets a version caches its drift reference AND its training importance in the
    warehouse (the morning report ranks features by it); later nights read the cache, not MLflow."""
    import mlflow
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("CRM_MLFLOW_ARTIFACT_ROOT", (tmp_path / "artifacts").as_uri())
    mlflow.set_tracking_uri(uri)
    train = pd.DataFrame({"a": RNG.normal(0, 1, 500), "b": RNG.uniform(0, 1, 500)})
    reference = build_reference({c: train[c].to_numpy() for c in train}, RNG.uniform(0, 1, 500), source="t")
    experiment = mlflow.create_experiment("drift-ref", artifact_location=(tmp_path / "artifacts").as_uri())
    with mlflow.start_run(experiment_id=experiment) as run:
        mlflow.log_dict(reference, REFERENCE_FILE)
        mlflow.log_dict({"b": 7.5, "a": 2.0}, IMPORTANCE_FILE)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model("churn_drift_test")
    version = client.create_model_version(
        "churn_drift_test", f"runs:/{run.info.run_id}/model", run.info.run_id
    )
    loaded, run_id = drift.load_reference("churn_drift_test", str(version.version), fresh_db)
    assert run_id == run.info.run_id
    assert loaded[IMPORTANCE_KEY] == {"b": 7.5, "a": 2.0}
    assert set(loaded["columns"]) == set(reference["columns"])
    with warehouse.connect(fresh_db) as conn:
        cached = conn.execute(
            "select reference -> %s from scoring.drift_reference where model_name = 'churn_drift_test'",
            (IMPORTANCE_KEY,),
        ).fetchone()[0]
    assert cached == {"b": 7.5, "a": 2.0}
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/elsewhere.db")  # no MLflow needed now
    assert (
        drift.load_reference("churn_drift_test", str(version.version), fresh_db)[0][IMPORTANCE_KEY]["b"]
        == 7.5
    )


# --- the stage log -------------------------------------------------------------------------------------


def test_stage_log_records_success_failure_and_retries(fresh_db, monkeypatch):
    monkeypatch.setenv(warehouse.ENV_URL, fresh_db)
    monkeypatch.setenv("AIRFLOW_CTX_DAG_RUN_ID", "manual__2026-11-26__a")

    @stage_log.logged_stage("publish_lists")
    def publish(ds: str) -> dict:
        return {"retention_list": 7, "compensation_list": 3}

    @stage_log.logged_stage("score")
    def broken(ds: str) -> dict:
        raise RuntimeError("no champion")

    monkeypatch.setenv("AIRFLOW_CTX_TRY_NUMBER", "1")
    assert publish("2026-11-26") == {"retention_list": 7, "compensation_list": 3}
    with pytest.raises(RuntimeError, match="no champion"):
        broken("2026-11-26")
    monkeypatch.setenv("AIRFLOW_CTX_TRY_NUMBER", "2")
    publish("2026-11-26")  # a retry: its own row

    with warehouse.connect(fresh_db) as conn:
        rows = conn.execute(
            "select stage, attempt, status, rows, error, ended_at >= started_at from ops.stage_runs"
            " order by stage, attempt"
        ).fetchall()
    assert rows == [
        ("publish_lists", 1, "success", 10, None, True),
        ("publish_lists", 2, "success", 10, None, True),
        ("score", 1, "failed", None, "RuntimeError('no champion')", True),
    ]


# --- the marts, built by dbt ----------------------------------------------------------------------------


def _monitoring_inputs(url: str) -> None:
    """What the nightly's Python steps leave for the monitoring marts on D1 and the days before it."""
    run = date.fromisoformat(D1)
    t0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    with warehouse.connect(url) as conn:
        stage_log.ensure_table(conn)
        for back in range(1, 6):  # five earlier nights: ingest ~60 s, publish ~10 s
            day = run - timedelta(days=back)
            conn.execute(
                "insert into ops.stage_runs values (%s, 'ingest', 'r', 1, %s, %s, 1000, 'success', null),"
                " (%s, 'publish_lists', 'r', 1, %s, %s, 40, 'success', null)",
                (day, t0, t0 + timedelta(seconds=60), day, t0, t0 + timedelta(seconds=10)),
            )
        # tonight: ingest normal, publish_lists 10x slower (breach), score failed on try 1 then succeeded
        conn.execute(
            "insert into ops.stage_runs values (%s, 'ingest', 'r', 1, %s, %s, 1010, 'success', null),"
            " (%s, 'publish_lists', 'r', 1, %s, %s, 41, 'success', null),"
            " (%s, 'score', 'r', 1, %s, %s, null, 'failed', 'x'),"
            " (%s, 'score', 'r', 2, %s, %s, 5, 'success', null)",
            (
                run, t0, t0 + timedelta(seconds=62),
                run, t0, t0 + timedelta(seconds=100),
                run, t0, t0 + timedelta(seconds=1),
                run, t0 + timedelta(seconds=5), t0 + timedelta(seconds=8),
            ),
        )  # fmt: skip
        from crm_scoring.ingest.schema import ensure_schema

        ensure_schema(conn)
        conn.execute("delete from ops.load_audit")
        for back in range(1, 6):  # orders ~100 rows a day; tickets ~50
            day = run - timedelta(days=back)
            conn.execute(
                "insert into ops.load_audit (export_date, table_name, status, rows_read, rows_loaded,"
                " rows_quarantined) values (%s, 'orders', 'loaded', 100, 100, 0),"
                " (%s, 'tickets', 'loaded', 50, 50, 0), (%s, 'surveys', 'loaded', 20, 20, 0)",
                (day, day, day),
            )
            if back >= 3:  # interactions: nothing exported in the last two days (stale)
                conn.execute(
                    "insert into ops.load_audit (export_date, table_name, status, rows_read, rows_loaded,"
                    " rows_quarantined) values (%s, 'interactions', 'loaded', 70, 70, 0)",
                    (day,),
                )
        # tonight: orders halved and a bit (breach at +-50 %), tickets 10 % quarantined, no surveys export
        conn.execute(
            "insert into ops.load_audit (export_date, table_name, status, rows_read, rows_loaded,"
            " rows_quarantined) values (%s, 'orders', 'loaded', 40, 40, 0),"
            " (%s, 'tickets', 'loaded', 50, 45, 5)",
            (run, run),
        )
        conn.execute("create schema if not exists lists")
        conn.execute(
            "create table if not exists lists.publication_log (run_date date, list_name text,"
            " row_count bigint, published_at timestamptz default now(), primary key (run_date, list_name))"
        )
        for back in range(1, 6):
            conn.execute(
                "insert into lists.publication_log (run_date, list_name, row_count)"
                " values (%s, 'retention_list', 100)",
                (run - timedelta(days=back),),
            )
        conn.execute(
            "insert into lists.publication_log (run_date, list_name, row_count)"
            " values (%s, 'retention_list', 300)",
            (run,),
        )
    reference = build_reference(
        {"recency_days": RNG.normal(30, 10, 4000), "orders_365d": RNG.poisson(5, 4000).astype(float)},
        RNG.beta(2, 5, 4000),
        source="test",
    )
    night = pd.DataFrame(
        {"recency_days": RNG.normal(60, 10, 800), "orders_365d": RNG.poisson(5, 800).astype(float)}
    )
    rows = drift.compute(run, "churn", "3", reference, night, RNG.beta(2, 5, 800))
    drift.write(run, rows, url)


def test_monitoring_marts_and_alerts(project, dbt_env) -> None:
    url = dbt_env
    _load_raw(url, FIXTURE)
    with warehouse.connect(url) as conn:
        conn.cursor().executemany(
            "insert into scoring.churn_scores values (%s, %s, %s, 'crm_churn', '3', 'run-1', now())", SCORES
        )
    _monitoring_inputs(url)

    # as the nightly selects: a test runs only once all its parents are built
    only_buildable = ("--indirect-selection", "buildable")
    built = _dbt(
        project, "build", "-s", "+tag:monitoring +alerts", *only_buildable, run_date=D1, profile="starter"
    )
    # every status CASE of the two health marts on fixed inputs (their dbt unit tests, built here before the
    # models; the nightly selectors leave unit tests out): DQ-07 below / above / at its band, DQ-08, volume,
    # freshness, quarantine, stage ratio, failed stage, list size
    unit = {r.node.name: str(r.status) for r in built.result.results if r.node.resource_type == "unit_test"}
    assert {name: unit.get(name) for name in HEALTH_UNIT_TESTS} == dict.fromkeys(HEALTH_UNIT_TESTS, "pass")

    drift_rows = _rows(
        url, "select scope, feature, status from marts.monitoring_drift order by scope, feature"
    )
    assert [(r["scope"], r["feature"], r["status"]) for r in drift_rows] == [
        ("feature", "orders_365d", "ok"),
        ("feature", "recency_days", "breach"),  # +3 sigma
        ("score", "churn_probability", "ok"),
    ]

    health = {
        (r["check_name"], r["table_name"]): r
        for r in _rows(url, "select * from marts.data_health where run_date = %s", date.fromisoformat(D1))
    }
    assert health[("volume", "orders")]["status"] == "breach"
    assert health[("volume", "orders")]["baseline"] == 100
    assert health[("volume", "tickets")]["status"] == "ok"
    assert health[("quarantine_share", "tickets")]["status"] == "breach"
    assert health[("quarantine_share", "tickets")]["value"] == pytest.approx(0.1)
    # DQ-12: run_date - 1 present is fresh (freshness_max_lag_days = 1); three days old is not
    assert (health[("freshness", "surveys")]["value"], health[("freshness", "surveys")]["status"]) == (
        1,
        "ok",
    )
    assert (
        health[("freshness", "interactions")]["value"],
        health[("freshness", "interactions")]["status"],
    ) == (
        3,
        "breach",
    )
    assert health[("freshness", "orders")]["status"] == "ok"
    assert ("crisis_sensitive_share", "marts.customer_value") in health
    assert ("pareto_top20_revenue_share", "marts.customer_value") in health

    pipeline = {r["stage"]: r for r in _rows(url, "select * from marts.pipeline_health")}
    assert pipeline["ingest"]["status"] == "ok" and pipeline["ingest"]["baseline_duration_s"] == 60
    assert pipeline["publish_lists"]["status"] == "breach"  # 100 s vs a 10 s median
    assert pipeline["score"]["status"] == "ok" and pipeline["score"]["duration_s"] == 3  # the retry counts
    assert pipeline["list:retention_list"]["status"] == "breach"  # 300 vs 100
    assert pipeline["list:retention_list"]["baseline_rows"] == 100

    alerts = {
        (r["alert_code"], r["scope"]): r
        for r in _rows(url, "select * from marts.alerts where alert_code in ('AL-14', 'AL-20', 'DQ-12')")
    }
    assert ("AL-14", "drift:feature:recency_days:v3") in alerts
    assert ("DQ-12", "data:volume:orders") in alerts
    assert ("DQ-12", "data:freshness:interactions") in alerts
    assert ("AL-20", "pipeline:publish_lists") in alerts
    assert ("AL-20", "pipeline:list:retention_list") in alerts
    assert ("AL-20", "data:quarantine_share:tickets") in alerts
    drift_alert = alerts[("AL-14", "drift:feature:recency_days:v3")]
    assert (drift_alert["level"], float(drift_alert["threshold"])) == ("important", 0.25)
    assert drift_alert["message"].startswith("AL-14 model monitoring: score / feature drift [important]")

    # idempotent per run date: a rebuild leaves the same rows
    _dbt(project, "build", "-s", "tag:monitoring", "alerts", *only_buildable, run_date=D1, profile="starter")
    again = _rows(
        url, "select count(*) as n from marts.alerts where alert_code in ('AL-14', 'AL-20', 'DQ-12')"
    )
    assert again[0]["n"] == len(alerts)


def test_survey_scores_daily_reads_csat_and_nps_by_the_policy_cut_offs(project, dbt_env) -> None:  # noqa: F811
    """RP-02 for the report: CSAT satisfied / dissatisfied and NPS promoters / detractors per response day,
    by the seeded cut-offs (csat_satisfied_min 4, csat_dissatisfied_max 2, nps_promoter_min 9,
    nps_detractor_max 6); unanswered surveys are not counted."""
    url = dbt_env
    extra = [
        ("s2", "c1", "CSAT", "2026-11-21T08:00:00Z", 5),  # satisfied
        ("s3", "c2", "CSAT", "2026-11-21T09:00:00Z", 2),  # dissatisfied
        ("s4", "c3", "CSAT", "2026-11-21T10:00:00Z", 3),  # neutral
        ("s5", "c4", "NPS", "2026-11-21T11:00:00Z", 10),  # promoter
        ("s6", "c1", "NPS", "2026-11-22T11:00:00Z", 7),  # passive, another day
        ("s7", "c2", "NPS", None, None),  # not answered
    ]
    columns = FIXTURE["surveys"][0][1].keys()
    surveys = list(FIXTURE["surveys"]) + [
        (
            D1,
            dict(
                zip(
                    columns,
                    (sid, cid, kind, "periodic", None, "2026-11-20T00:00:00Z", at, score, None),
                    strict=True,
                )
            ),
        )
        for sid, cid, kind, at, score in extra
    ]
    _load_raw(url, {**FIXTURE, "surveys": surveys})
    only_buildable = ("--indirect-selection", "buildable")
    _dbt(project, "build", "-s", "+survey_scores_daily", *only_buildable, run_date=D1, profile="starter")

    rows = _rows(
        url,
        "select responded_on::text as day, survey_type, region, responses, satisfied, dissatisfied,"
        " promoters, detractors from marts.survey_scores_daily where run_date = %s order by 1, 2",
        date.fromisoformat(D1),
    )
    assert [tuple(r.values()) for r in rows] == [
        # s1 (NPS 3, a detractor) and the three CSAT / one NPS answers of the 21st
        ("2026-11-21", "CSAT", "unknown", 3, 1, 1, 0, 0),
        ("2026-11-21", "NPS", "unknown", 2, 0, 0, 1, 1),
        ("2026-11-22", "NPS", "unknown", 1, 0, 0, 0, 0),
    ]
