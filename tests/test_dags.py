"""The DAG files import cleanly in Airflow and have the shape the docs describe; `crm run`'s runner
records true runs on a real scheduler and names a failed dbt model."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from crm_scoring import settings


@pytest.fixture(scope="module")
def dagbag(warehouse_db: str, tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("airflow_home")
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["CRM_WAREHOUSE_URL"] = warehouse_db
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(settings.dags_dir()))


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}


def test_nightly_shape(dagbag) -> None:
    from crm_scoring.orchestration import callbacks

    dag = dagbag.dags.get("crm_nightly")
    assert dag is not None
    ids = set(dag.task_ids)
    for expected in ("ingest", "validate_raw", "enrich_texts", "score", "validate_lists", "publish_lists"):
        assert expected in ids
    # one cosmos `dbt build` task per layer: marts before scoring, lists after it
    assert dag.get_task("dbt_marts").upstream_task_ids == {"enrich_texts", "validate_raw"}
    # the raw check (read-only, no writer lock) runs beside the enrichment, both right after the load
    assert dag.get_task("validate_raw").upstream_task_ids == {"ingest"}
    assert dag.get_task("enrich_texts").upstream_task_ids == {"ingest"}
    assert dag.get_task("score").upstream_task_ids == {"dbt_marts"}
    assert dag.get_task("dbt_lists").upstream_task_ids == {"score"}
    # the selections live in dbt_project/selectors.yml (tests/test_selectors.py checks their nodes)
    assert dag.get_task("dbt_marts").selector == "nightly_marts"
    assert dag.get_task("dbt_lists").selector == "nightly_lists"
    # the run date travels in the environment, not --vars, so the dbt parse state is reused night to night
    for task_id in ("dbt_marts", "dbt_marts_tests", "dbt_lists", "dbt_reporting"):
        assert dag.get_task(task_id).env == {"CRM_RUN_DATE": "{{ ds }}"}, task_id
        assert not dag.get_task(task_id).vars, task_id
    # publication is the last step and only happens after list validation
    publish = dag.get_task("publish_lists")
    assert publish.upstream_task_ids == {"validate_lists", "dbt_marts_tests"}
    # the marts' data tests: their own read-only `dbt test` of the marts selector, beside score and the
    # lists (no writer lock), and still before publishing; the marts build leaves them to it
    tests = dag.get_task("dbt_marts_tests")
    assert tests.upstream_task_ids == {"dbt_marts"}
    assert tests.selector == "nightly_marts"
    assert type(tests).__name__ == "DbtTestOperator"
    assert tests.base_cmd == ["test"]
    assert callbacks.on_execute_reader in tests.on_execute_callback
    assert callbacks.on_execute not in tests.on_execute_callback
    assert dag.get_task("dbt_marts").dbt_cmd_flags == ["--exclude-resource-type", "test"]
    assert callbacks.on_execute in dag.get_task("dbt_marts").on_execute_callback
    # history retention after everything else: a fault there never holds back lists, report or alerts
    assert dag.get_task("prune_history").upstream_task_ids == {"render_report", "deliver_alerts"}
    assert not dag.get_task("prune_history").downstream_task_ids
    # the post-publish writers of disjoint tables share the writer lock, two at a time; the dbt build
    # and the history retention between them, and every writer before publishing, keep it exclusive
    for task_id in ("explain_rest", "drift", "render_report", "deliver_alerts"):
        starts = dag.get_task(task_id).on_execute_callback
        assert callbacks.on_execute_shared in starts and callbacks.on_execute not in starts, task_id
    for task_id in ("ingest", "enrich_texts", "dbt_marts", "score", "dbt_lists", "validate_lists"):
        assert callbacks.on_execute in dag.get_task(task_id).on_execute_callback, task_id
    for task_id in ("publish_lists", "dbt_reporting", "prune_history"):
        assert callbacks.on_execute in dag.get_task(task_id).on_execute_callback, task_id
    assert dag.schedule == "@daily" or str(dag.timetable.summary) == "@daily"


def test_nightly_sharded_scoring_shape(dagbag, monkeypatch: pytest.MonkeyPatch) -> None:
    """CRM_SCORE_SHARDS=N: N mapped score_shard tasks between the marts and `score` (backtest)."""
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("CRM_SCORE_SHARDS", "3")
    sharded = DagBag(dag_folder=str(settings.dags_dir() / "crm_nightly.py"))
    assert sharded.import_errors == {}
    dag = sharded.dags["crm_nightly"]
    shard = dag.get_task("score_shard")
    assert shard.upstream_task_ids == {"dbt_marts"}
    assert shard.op_kwargs_expand_input.value == {"index": [0, 1, 2]}
    assert dag.get_task("score").upstream_task_ids == {"score_shard"}
    assert dag.get_task("dbt_lists").upstream_task_ids == {"score"}
    # the shards share the writer lock; every other task takes it exclusively
    from crm_scoring.orchestration import callbacks

    assert shard.partial_kwargs["on_execute_callback"] == [callbacks.on_execute_shared]

    monkeypatch.setenv("CRM_SCORE_SHARDS", "1000")
    assert DagBag(dag_folder=str(settings.dags_dir() / "crm_nightly.py")).import_errors


def test_dbt_tasks_write_no_json_and_cache_the_parse_state_without_a_manifest(dagbag, tmp_path: Path) -> None:
    """Every dbt task of the DAGs runs with --no-write-json and no debug log file (dbt wrote the whole
    manifest twice per command, and a log file cosmos deletes, for nobody); cosmos' copy of the parse
    state back into its cache must then not need a manifest.json, which a task that had to parse (no
    `crm run` before it) no longer has."""
    import copy

    from crm_scoring.orchestration.dbt_config import NO_FILE_LOG, NO_WRITE_JSON

    profile = tmp_path / "profiles.yml"
    for dag_id, task_ids in {
        "crm_nightly": ("dbt_marts", "dbt_marts_tests", "dbt_lists", "dbt_reporting"),
        "churn_training": ("dbt_training_set",),
    }.items():
        for task_id in task_ids:
            flags = dagbag.dags[dag_id].get_task(task_id)._generate_dbt_flags(str(tmp_path), profile)
            assert NO_WRITE_JSON in flags, (dag_id, task_id)
            at = flags.index(NO_FILE_LOG[0])
            assert tuple(flags[at : at + 2]) == NO_FILE_LOG, (dag_id, task_id)

    task = copy.copy(dagbag.dags["crm_nightly"].get_task("dbt_marts"))
    task.cache_dir = tmp_path / "cache"
    project = tmp_path / "project"
    (project / "target").mkdir(parents=True)
    (project / "target" / "partial_parse.msgpack").write_bytes(b"state of a re-parse")
    task._update_partial_parse_cache(project)
    cached = tmp_path / "cache" / "target"
    assert (cached / "partial_parse.msgpack").read_bytes() == b"state of a re-parse"
    assert not (cached / "manifest.json").exists()
    # a manifest.json that is there (copied in from the cache by cosmos) still goes back with the state
    (project / "target" / "manifest.json").write_text("{}")
    task._update_partial_parse_cache(project)
    assert (cached / "manifest.json").read_text() == "{}"


def test_training_shape(dagbag) -> None:
    dag = dagbag.dags.get("churn_training")
    assert dag is not None
    ids = set(dag.task_ids)
    assert {"ingest_pending", "train", "gate_promotion", "promoted", "announce_champion"} <= ids
    announce = dag.get_task("announce_champion")
    assert [o.uri for o in announce.outlets] == ["crm://mlflow/models/churn@champion"]
    assert dag.get_task("train").upstream_task_ids == {"dbt_training_set"}
    assert dag.get_task("dbt_training_set").selector == "training_snapshots"


FAILING_DAG = """
import pendulum
from airflow.sdk import dag

from crm_scoring.orchestration.dbt_config import dbt_build_task


@dag(dag_id="dbt_failure", schedule=None, start_date=pendulum.datetime(1990, 1, 1, tz="UTC"))
def dbt_failure():
    # an empty warehouse has no raw.customers: the staging model fails
    dbt_build_task("dbt_staging", select="stg_crm__customers")


dbt_failure()
"""


def test_crm_run_keeps_every_attempt_and_names_the_failed_model(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two attempts at one date on a real scheduler (LocalExecutor, started for the run): two run
    records with their own run_id, logical date on the run date, true start/end times and state
    failed; the CLI exits non-zero naming the task and the dbt model."""
    home = tmp_path / "home"
    (home / "dags").mkdir(parents=True)
    (home / "dags" / "dbt_failure.py").write_text(FAILING_DAG)
    (home / "dbt_project").symlink_to(settings.dbt_project_dir())
    env = dict(os.environ)
    env.update(
        {
            "CRM_HOME": str(home),
            "CRM_STATE_DIR": str(tmp_path / "state"),
            "CRM_WAREHOUSE_URL": fresh_db,
            "AIRFLOW_HOME": str(tmp_path / "airflow"),
        }
    )
    for key in ("CRM_PG_HOST", "AIRFLOW__CORE__DAGS_FOLDER"):
        env.pop(key, None)
    script = (
        "from datetime import date; from crm_scoring.cli import _run_dag; "
        "_run_dag('dbt_failure', date(1998, 6, 2))"
    )
    attempts = []
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
        attempts.append(proc)
        assert proc.returncode == 1, proc.stderr[-4000:]
        assert "failed task dbt_staging" in proc.stderr, proc.stderr[-4000:]
        assert "stg_crm__customers" in proc.stderr, proc.stderr[-4000:]
    with sqlite3.connect(tmp_path / "airflow" / "airflow.db") as db:
        runs = db.execute(
            "select run_id, state, logical_date, start_date, end_date, run_type from dag_run "
            "where dag_id = 'dbt_failure' order by start_date"
        ).fetchall()
    assert len(runs) == 2 and len({r[0] for r in runs}) == 2, runs
    for run_id, state, logical, start, end, run_type in runs:
        assert run_id.startswith("manual__1998-06-02__"), run_id
        assert state == "failed" and run_type == "manual"
        assert str(logical).startswith("1998-06-02")
        # true times: the run started after it was triggered (today), not at its logical date
        assert start is not None and end is not None and not str(start).startswith("1998") and end >= start
    assert "run " + runs[1][0] in attempts[1].stderr
    # the execution API got its first request from `crm run`'s warm-up, not from the first task
    reports = Path(env.get("CRM_REPORTS_DIR") or tmp_path / "state" / "reports")
    components = (reports / "runs" / "dbt_failure_1998-06-02.airflow.log").read_text()
    warm_up = [line for line in components.splitlines() if line.startswith("execution API warm-up seconds: ")]
    assert warm_up and warm_up[-1].split(": ")[1] != "None", components[-2000:]


def test_component_env_settings_and_an_exported_value_wins() -> None:
    """The local components' Airflow settings (local_airflow.component_env), and a user's export wins."""
    from crm_scoring.orchestration.local_airflow import component_env

    env = component_env({}, api_port=1, log_port=2)
    assert env["AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL"] == "1"
    assert env["AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME"] == "0.2"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:1/execution/"
    exported = component_env({"AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "5"}, api_port=1, log_port=2)
    assert exported["AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL"] == "5"


def test_the_api_server_outlives_the_scheduler_until_it_has_settled(tmp_path: Path) -> None:
    """`stop(settled=...)` signals the scheduler first and the API server only once the scheduler has
    recorded its end: a task supervisor still finishing must be able to report to the API server."""
    from crm_scoring.orchestration.local_airflow import LocalAirflow

    local = LocalAirflow("airflow", {"AIRFLOW_HOME": str(tmp_path)}, tmp_path / "components.log")
    for name in ("api-server", "dag-processor"):
        local.procs[name] = subprocess.Popen(["sleep", "60"], start_new_session=True)
    # a scheduler that takes its time to record its end (SIGTERM ignored; killed once settled)
    stubborn = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print(1, flush=True); time.sleep(60)"
    )
    local.procs["scheduler"] = subprocess.Popen(
        [sys.executable, "-c", stubborn], start_new_session=True, stdout=subprocess.PIPE
    )
    local.procs["scheduler"].stdout.readline()  # SIGTERM is ignored from here on
    seen: list[bool] = []

    def settled() -> bool:
        seen.append(local.procs["api-server"].poll() is None)
        return len(seen) >= 3

    local.stop(settled=settled)
    assert seen == [True, True, True]
    assert not local.procs


def test_the_local_scheduler_starts_without_a_log_server(tmp_path: Path) -> None:
    """`crm run` reads task logs from their files: its scheduler skips Airflow's log server."""
    from crm_scoring.orchestration.local_airflow import LocalAirflow

    local = LocalAirflow("airflow", {"AIRFLOW_HOME": str(tmp_path)}, tmp_path / "components.log")
    command = local.commands()["scheduler"]
    assert command[1:3] == ["-m", "crm_scoring.orchestration.scheduler"]
    assert "--skip-serve-logs" in command


def _manifest() -> dict:
    """The parts of a dbt manifest history.per_date_tables reads."""

    def model(schema: str, name: str, materialized: str, unique_key: str | None) -> dict:
        return {
            "resource_type": "model",
            "schema": schema,
            "name": name,
            "alias": name,
            "config": {"materialized": materialized, "unique_key": unique_key},
        }

    return {
        "nodes": {
            "model.crm.churn_features": model("marts", "churn_features", "incremental", "run_date"),
            "model.crm.fct_orders": model("marts", "fct_orders", "incremental", "order_id"),
            "model.crm.customer_value_latest": model("marts", "customer_value_latest", "view", None),
            "model.crm.retention_candidates": model(
                "lists_build", "retention_candidates", "incremental", "run_date"
            ),
            "model.crm.int_x": model("intermediate", "int_x", "incremental", "run_date"),
        },
        "sources": {
            "source.crm.scoring.churn_scores": {
                "schema": "scoring",
                "name": "churn_scores",
                "identifier": "churn_scores",
            },
            "source.crm.lists.retention_list": {
                "schema": "lists",
                "name": "retention_list",
                "identifier": "retention_list",
            },
            "source.crm.raw.orders": {"schema": "raw", "name": "orders", "identifier": "orders"},
        },
    }


def test_per_date_tables_come_from_the_manifest() -> None:
    """Per-date = incremental by run_date in marts / lists_build, or a scoring / lists source; never a
    current-state fact (fct_orders by order_id), a view, an intermediate model or a raw table."""
    from crm_scoring.orchestration import history

    found = {(t.schema, t.name): t.parameter for t in history.per_date_tables(_manifest())}
    assert found == {
        ("lists", "retention_list"): history.LISTS,
        ("lists_build", "retention_candidates"): history.LISTS,
        ("marts", "churn_features"): history.MARTS,
        ("scoring", "churn_scores"): history.SCORES,
    }


def test_prune_history_deletes_only_dates_past_their_retention(fresh_db: str) -> None:
    """Retention from the policy seed (scores 400, lists 1100, marts 400 days), cutoff from the run date;
    a rerun deletes nothing more, and each delete is recorded in ops.retention_purges."""
    from datetime import date, timedelta

    import psycopg

    from crm_scoring.orchestration import history

    day = date(1998, 6, 2)
    ages = (1200, 1101, 1099, 401, 400, 1, 0)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        for schema in ("scoring", "lists", "lists_build", "marts"):
            conn.execute(f"create schema {schema}")
        for table in (
            "scoring.churn_scores",
            "lists.retention_list",
            "lists_build.retention_candidates",
            "marts.churn_features",
            "marts.fct_orders",
        ):
            conn.execute(f"create table {table} (run_date date not null, customer_id text)")
            for age in ages:
                conn.execute(f"insert into {table} values (%s, 'c1')", (day - timedelta(days=age),))
        # a later date than the run (a backfill of an earlier night) is never touched
        conn.execute("insert into scoring.churn_scores values (%s, 'c1')", (day + timedelta(days=3),))
        tables = history.per_date_tables(_manifest())
        first = history.prune(conn, day, tables)
        again = history.prune(conn, day, tables)

        def oldest(table: str) -> int:
            return (day - conn.execute(f"select min(run_date) from {table}").fetchone()[0]).days

        assert oldest("scoring.churn_scores") == 400 and oldest("marts.churn_features") == 400
        assert oldest("lists.retention_list") == 1099 and oldest("lists_build.retention_candidates") == 1099
        assert oldest("marts.fct_orders") == 1200  # current-state fact: not per-date, untouched
        assert conn.execute("select max(run_date) from scoring.churn_scores").fetchone()[
            0
        ] == day + timedelta(days=3)
        assert first == {
            "history:lists.retention_list": 2,
            "history:lists_build.retention_candidates": 2,
            "history:marts.churn_features": 4,
            "history:scoring.churn_scores": 4,
        }
        assert set(again.values()) == {0}
        logged = dict(conn.execute("select target, rows_purged from ops.retention_purges").fetchall())
        assert logged == first


def test_a_dbt_task_waits_for_the_parse_state_crm_run_is_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`crm run` writes dbt's parse state while the first tasks run; a dbt task that starts meanwhile
    waits for it (else it parses the whole project itself), and without a writer it does not wait."""
    import threading
    import time

    from crm_scoring.orchestration import environment

    monkeypatch.setenv("CRM_STATE_DIR", str(tmp_path))
    assert environment.wait_for_parse_state(timeout_s=5) < 0.5  # nobody writes it: no wait
    writing, release = threading.Event(), threading.Event()

    def crm_run_parsing() -> None:
        with environment.writing_parse_state():
            writing.set()
            release.wait(10)

    writer = threading.Thread(target=crm_run_parsing)
    writer.start()
    writing.wait(5)
    threading.Timer(1.0, release.set).start()
    started = time.monotonic()
    waited = environment.wait_for_parse_state(timeout_s=10, poll_s=0.05)
    assert waited >= 0.8 and time.monotonic() - started >= 0.8 and release.is_set()
    writer.join(5)
    # a writer that never finishes only delays the task by the timeout: dbt then parses by itself
    with environment.writing_parse_state():
        assert 0.3 <= environment.wait_for_parse_state(timeout_s=0.3, poll_s=0.05) < 5
