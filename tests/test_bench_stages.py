"""The bench's own SQL (the scoring floor, the listed customers, the database size) on a real, tiny
PostgreSQL database: `make bench` runs them only after an hour of stages at 1M, so a typo must fail here.
No timing is asserted."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from crm_scoring import bench, warehouse
from crm_scoring.model.artifacts import LoadedModel

DAY = date(2026, 11, 26)
FEATURES = ["f0", "f1", "f2"]


def _model() -> LoadedModel:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(400, 3))
    y = (x[:, 0] + rng.normal(size=400) > 0).astype(int)
    booster = xgb.train({"max_depth": 2, "nthread": 1}, xgb.DMatrix(x, label=y, feature_names=FEATURES), 8)
    return LoadedModel("churn", "1", "run", booster, FEATURES, {"method": "none"})


def test_the_scoring_floor_reads_predicts_and_writes_every_row(fresh_db: str) -> None:
    with warehouse.connect(fresh_db) as conn:
        conn.execute("create schema marts")
        conn.execute(
            "create table marts.churn_features as select d::date as run_date, 'C' || g as customer_id, "
            "(g % 7)::numeric as f0, case when g % 5 = 0 then null else g / 3.0 end as f1, "
            "(g % 2)::int as f2 from generate_series(1, 300) g, (values (date '2026-11-25'), "
            "(date '2026-11-26')) v(d)"
        )
    model = _model()
    timer = bench.Timer()
    bench._io_predict_limit(timer, fresh_db, DAY, model)
    assert [s.name for s in timer.stages] == [
        "limit: raw COPY read -> Arrow",
        "limit: one inplace_predict",
        "limit: one COPY write",
    ]
    assert [s.rows for s in timer.stages] == [300, 300, 300]
    with warehouse.connect(fresh_db) as conn:
        got = conn.execute(
            "select s.p, f.f0::float8, f.f1::float8, f.f2::float8 from scoring.limit_scores s "
            "join marts.churn_features f using (run_date, customer_id) order by s.customer_id"
        ).fetchall()
    x = np.array([[np.nan if v is None else v for v in row[1:]] for row in got], dtype=np.float64)
    expected = model.booster.predict(xgb.DMatrix(x, feature_names=FEATURES))
    np.testing.assert_allclose([row[0] for row in got], expected, rtol=1e-6)


def test_listed_customers_and_database_size(fresh_db: str) -> None:
    with warehouse.connect(fresh_db) as conn:
        conn.execute("create schema lists_build")
        for table, rows in {
            "retention_list": [("2026-11-26", "C2"), ("2026-11-26", "C1"), ("2026-11-25", "C9")],
            "compensation_list": [("2026-11-26", "C1"), ("2026-11-26", "C3")],
        }.items():
            conn.execute(f"create table lists_build.{table} (run_date date, customer_id text)")
            for row in rows:
                conn.execute(f"insert into lists_build.{table} values (%s, %s)", row)
    assert bench._listed_customers(fresh_db, DAY) == ["C1", "C2", "C3"]
    size = bench._database_size(fresh_db)
    assert size["database"] > 0
    assert size["schema:lists_build"] > 0


def test_the_airflow_night_reads_each_tasks_seconds_from_the_run_summary(tmp_path: Path) -> None:
    """`make bench`'s Airflow night reports every task's seconds as `crm run` wrote them atop its log,
    mapped shards included, and nothing from the task logs below the summary."""
    from crm_scoring.orchestration.bench_night import task_seconds

    log = tmp_path / "crm_nightly_2026-11-26.log"
    log.write_text(
        "crm_nightly run manual__2026-11-26__x for 2026-11-26: success\n"
        "  ingest                           success               3.7 s  try 1  vm\n"
        "  score_shard[1]                   success              12.0 s  try 2  w1\n"
        "  publish_lists                    upstream_failed      -       try 0  \n"
        "\n===== ingest (attempt=1.log) =====\n"
        "  dbt_marts                        success              99.0 s  try 1  vm\n"
    )
    assert task_seconds(log) == {"ingest": 3.7, "score_shard[1]": 12.0}
    assert task_seconds(tmp_path / "missing.log") == {}


def test_a_stage_records_the_servers_wal_reads_and_temporary_files(fresh_db: str) -> None:
    """The I/O columns are differences of the server's statistics around the stage: a 200,000-row table
    written and a sort spilled at 64 kB of work_mem must show as WAL and temporary files."""

    def work() -> None:
        with warehouse.connect(fresh_db) as conn:
            conn.execute(
                "create table io_probe as select g, md5(g::text) as h from generate_series(1, 200000) g"
            )
            conn.execute("set work_mem = '64kB'")
            conn.execute("select count(*) from (select h from io_probe order by h) s").fetchone()

    timer = bench.Timer(io_url=fresh_db)
    timer.run("io probe", work, 1)
    [stage] = timer.stages
    assert stage.wal_mb > 5 and stage.temp_mb > 1 and stage.read_mb >= 0
    quiet = bench.Timer()
    quiet.run("no server", lambda: None, 0)
    assert (quiet.stages[0].wal_mb, quiet.stages[0].read_mb, quiet.stages[0].temp_mb) == (0.0, 0.0, 0.0)


def test_night_changes_counts_what_differs_between_two_nights(fresh_db: str) -> None:
    """benchmark/night_changes.py on two hand-made nights: every count can be told from the rows below."""
    from crm_scoring import contract
    from crm_scoring.benchmark.night_changes import night_changes, summary

    a, b = "2026-11-25", "2026-11-26"
    with warehouse.connect(fresh_db) as conn:
        for schema in ("raw", "marts", "scoring", "lists_build", "lists"):
            conn.execute(f"create schema {schema}")
        for table in contract.TABLES.values():
            conn.execute(contract.raw_table_ddl(table))
        # the night's export touches C1 twice (an order, a ticket) and C2 once; C9's order is of night a
        for table, key, day, customer in [
            ("orders", "order_id", b, "C1"),
            ("orders", "order_id", a, "C9"),
            ("tickets", "ticket_id", b, "C1"),
            ("interactions", "event_id", b, "C2"),
        ]:
            conn.execute(
                f"insert into raw.{table} (_export_date, _source_file, _line_no, {key}, customer_id)"
                " values (%s, 'f', 1, %s, %s)",
                (day, f"{table}-{customer}", customer),
            )
        conn.execute(
            "create table marts.churn_features as select * from (values "
            "(%s::date, %s::date, 'C1', 1.0), (%s::date, %s::date, 'C2', 2.0), "
            "(%s::date, %s::date, 'C1', 1.0), (%s::date, %s::date, 'C2', 3.0), "
            "(%s::date, %s::date, 'C3', 1.0)"
            ") as f (run_date, as_of_date, customer_id, f0)",
            (a, a, a, a, b, b, b, b, b, b),
        )
        conn.execute(
            "create table scoring.churn_scores as select * from (values "
            "(%s::date, 'C1', 0.5::float8, 10.0::float8), (%s::date, 'C2', 0.5, 10.0), "
            "(%s::date, 'C1', 0.5, 10.0), (%s::date, 'C2', 0.5005, 11.0), (%s::date, 'C3', 0.9, null)"
            ") as s (run_date, customer_id, churn_probability, clv_estimate)",
            (a, a, b, b, b),
        )
        conn.execute(
            "create table marts.churn_bands as select * from (values "
            "(%s::date, 'C1', 'low'), (%s::date, 'C2', 'low'), "
            "(%s::date, 'C1', 'low'), (%s::date, 'C2', 'high'))"
            " as c (run_date, customer_id, churn_band)",
            (a, a, b, b),
        )
        # hits: C1 RL-01 same; C1 RL-03 suppressed by a cooldown on b (decision only); C2 RL-01 another
        # trigger; C2 RL-16 gone; C3 RL-02 new
        conn.execute(
            "create table lists_build.retention_candidates as select * from (values "
            "(%s::date, 'C1', 'RL-01', 'd', null, 'A', 'selected', null, 'email'),"
            "(%s::date, 'C1', 'RL-03', 'd', null, 'A', 'selected', null, 'email'),"
            "(%s::date, 'C2', 'RL-01', 'd', null, 'A', 'selected', null, 'email'),"
            "(%s::date, 'C2', 'RL-16', 'd', null, 'A', 'lost', null, 'email'),"
            "(%s::date, 'C1', 'RL-01', 'd', null, 'A', 'selected', null, 'email'),"
            "(%s::date, 'C1', 'RL-03', 'd', null, 'A', 'suppressed', 'rule_cooldown', 'email'),"
            "(%s::date, 'C2', 'RL-01', 'e', null, 'A', 'selected', null, 'email'),"
            "(%s::date, 'C3', 'RL-02', 'd', null, 'A', 'selected', null, 'sms')"
            ") as c (run_date, customer_id, rule_code, trigger_detail, crisis_event_id, action_code,"
            " decision, suppression_reason, channel)",
            (a, a, a, a, b, b, b, b),
        )
        conn.execute(
            "create table lists.retention_list as select * from (values "
            "(%s::date, 'C1'), (%s::date, 'C2'), (%s::date, 'C3')) as l (run_date, customer_id)",
            (a, a, b),
        )
        conn.execute(
            "create table lists.compensation_list as select * from (values (%s::date, 'C2'))"
            " as l (run_date, customer_id)",
            (b,),
        )
        # t1 the same both nights, t2 closed on b, t3 new on b
        conn.execute(
            "create table marts.fct_tickets as select * from (values "
            "(%s::date, 't1', 'open'), (%s::date, 't2', 'open'), "
            "(%s::date, 't1', 'open'), (%s::date, 't2', 'closed'), (%s::date, 't3', 'open'))"
            " as t (run_date, ticket_id, ticket_status)",
            (a, a, b, b, b),
        )
    changes = night_changes(fresh_db, date(2026, 11, 25), date(2026, 11, 26))
    assert changes == {
        "customers": 3,
        "customers_touched_by_the_export": 2,
        "feature_rows_changed": 2,
        "scores_changed": 2,
        "scores_changed_over_0_001": 1,
        "clv_estimates_changed": 2,
        "churn_bands_changed": 1,
        "retention_hits": 4,
        "retention_hits_new": 1,
        "retention_hits_gone": 1,
        "retention_hits_trigger_changed": 1,
        "retention_hits_decision_changed_only": 1,
        "retention_hit_customers_either_night": 3,
        "retention_list_before": 2,
        "retention_list_after": 1,
        "compensation_list_before": 0,
        "compensation_list_after": 1,
        "fct_tickets": 3,
        "fct_tickets_new": 1,
        "fct_tickets_changed": 1,
    }
    assert "scores changed 66.7%" in summary(changes)
    with pytest.raises(ValueError, match="consecutive"):
        night_changes(fresh_db, date(2026, 11, 24), date(2026, 11, 26))
