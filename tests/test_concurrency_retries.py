"""The DAGs' task policy: retries with exponential back-off for transient errors only, a timeout, the
failure record in ops.task_failures, and one run per DAG at a time.

The retry test runs a probe DAG built from the same `callbacks.default_args()` through Airflow's own
task runner and retry bookkeeping (`dag.test()`, SQLite metadata DB), against a real PostgreSQL: the
nightly ingest task hits an injected `psycopg.OperationalError` inside its transaction (after the
date's rows were deleted), Airflow retries it, and the date ends loaded exactly once.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest

from crm_scoring import failpoints, settings
from crm_scoring.demo import generate
from crm_scoring.ingest import load_export_date
from crm_scoring.orchestration import callbacks

DAY = date(2024, 5, 2)

PROBE_DAG = """
import pendulum
from airflow.sdk import dag, task

from crm_scoring.orchestration import callbacks, tasks


@dag(dag_id="crm_retry_probe", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
     max_active_runs=1, default_args=callbacks.default_args())
def crm_retry_probe():
    @task
    def ingest(ds=None):
        return tasks.ingest(ds)

    @task
    def broken(ds=None):
        raise ValueError("a data error: retrying cannot help")

    ingest()
    broken()


crm_retry_probe()
"""

RUN_PROBE = """
import sys
import pendulum
from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder=sys.argv[1])
assert not bag.import_errors, bag.import_errors
run = bag.dags["crm_retry_probe"].test(logical_date=pendulum.parse(sys.argv[2]))
print("DAGRUN", run.state)
"""


@pytest.fixture(scope="module")
def dagbag(warehouse_db: str, tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("airflow_home_policy")
    os.environ.setdefault("AIRFLOW_HOME", str(home))
    os.environ.setdefault("CRM_WAREHOUSE_URL", warehouse_db)
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(settings.dags_dir()))


# the night's read-only checks (callbacks.on_execute_reader): they run beside the writers
READ_ONLY_TASKS = {("crm_nightly", "validate_raw"), ("crm_nightly", "dbt_marts_tests")}
# the post-publish writers of disjoint tables (callbacks.on_execute_shared, dags/crm_nightly.py): the writer
# lock in shared mode, so each pair runs together and no exclusive writer runs beside either
SHARED_WRITER_TASKS = {
    ("crm_nightly", "explain_rest"),
    ("crm_nightly", "drift"),
    ("crm_nightly", "deliver_alerts"),
    ("crm_nightly", "render_report"),
}


@pytest.mark.parametrize("dag_id", ["crm_nightly", "churn_training"])
def test_every_task_retries_with_backoff_times_out_and_reports(dagbag, dag_id: str) -> None:
    dag = dagbag.dags[dag_id]
    assert dag.max_active_runs == 1  # two dates of one DAG (a backfill) run one after another
    for task in dag.tasks:
        assert task.retries >= 2, task.task_id
        assert task.retry_exponential_backoff > 1, task.task_id
        assert task.max_retry_delay is not None and task.execution_timeout is not None, task.task_id
        assert callbacks.on_failure in task.on_failure_callback, task.task_id
        if (dag_id, task.task_id) in READ_ONLY_TASKS:  # reads only what its upstream wrote: no writer lock
            assert callbacks.on_execute_reader in task.on_execute_callback, task.task_id
            assert callbacks.on_execute not in task.on_execute_callback, task.task_id
        elif (dag_id, task.task_id) in SHARED_WRITER_TASKS:
            assert callbacks.on_execute_shared in task.on_execute_callback, task.task_id
            assert callbacks.on_execute not in task.on_execute_callback, task.task_id
        else:
            assert callbacks.on_execute in task.on_execute_callback, task.task_id  # the writer lock
        assert task.retry_policy is not None, task.task_id


def test_retry_policy_retries_transient_errors_only() -> None:
    import sqlalchemy.exc
    from airflow.sdk.definitions.retry_policy import RetryAction

    policy = callbacks.retry_policy()
    transient = [
        psycopg.OperationalError("server closed the connection unexpectedly"),
        psycopg.errors.SerializationFailure("could not serialize access"),
        sqlalchemy.exc.OperationalError("select 1", {}, Exception("connection refused")),
        ConnectionResetError("reset by peer"),
    ]
    for exc in transient:
        assert policy.evaluate(exc, 1, 4).action == RetryAction.RETRY, exc
    for exc in (ValueError("bad row"), psycopg.errors.UndefinedTable("no table"), RuntimeError("dbt failed")):
        assert policy.evaluate(exc, 1, 4).action == RetryAction.FAIL, exc


def _counts(url: str) -> dict[str, tuple[int, int]]:
    """Per raw table: rows of DAY, and what the load audit says was loaded (one audit row per file)."""
    with psycopg.connect(url) as conn:
        audit = conn.execute(
            "select table_name, count(*), sum(rows_loaded) from ops.load_audit where export_date = %s"
            " group by 1",
            (DAY,),
        ).fetchall()
        out = {}
        for table, n_audit, loaded in audit:
            assert n_audit == 1, f"{table}: {n_audit} audit rows for one file"
            rows = conn.execute(
                f"select count(*) from raw.{table} where _export_date = %s", (DAY,)
            ).fetchone()[0]
            out[table] = (rows, int(loaded or 0))
        return out


def test_transient_error_is_retried_by_airflow_without_duplicates(fresh_db: str, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    generate(landing, DAY - timedelta(days=1), DAY, 120, 4, history_days=90, progress=False)
    load_export_date(fresh_db, landing, DAY)  # already loaded once: a non-idempotent retry would double it
    before = _counts(fresh_db)
    assert before and all(rows == loaded for rows, loaded in before.values())

    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "crm_retry_probe.py").write_text(PROBE_DAG)
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(tmp_path / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "CRM_WAREHOUSE_URL": fresh_db,
            "CRM_LANDING_DIR": str(landing),
            "CRM_STATE_DIR": str(tmp_path / "state"),
            failpoints.ENV: "ingest:inside:error-once",
            failpoints.ENV_DIR: str(tmp_path / "failpoints"),
            "CRM_RETRY_DELAY_S": "1",
            "CRM_TASK_RETRIES": "2",
        }
    )
    airflow = str(Path(sys.executable).parent / "airflow")
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True, text=True)
    out = subprocess.run(
        [sys.executable, "-c", RUN_PROBE, str(dags), DAY.isoformat()],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert "DAGRUN" in out.stdout, out.stdout[-3000:] + out.stderr[-5000:]
    assert (tmp_path / "failpoints" / "ingest__inside.fired").exists(), (
        "the transient error was never injected"
    )

    with sqlite3.connect(tmp_path / "airflow" / "airflow.db") as db:
        tis = dict(
            ((task_id), (state, tries))
            for task_id, state, tries in db.execute(
                "select task_id, state, try_number from task_instance where dag_id = 'crm_retry_probe'"
            )
        )
    assert tis["ingest"] == ("success", 2), tis  # failed once (transient), succeeded on the retry
    assert tis["broken"] == ("failed", 1), tis  # a data error fails at once: no retry

    assert _counts(fresh_db) == before  # nothing doubled, nothing lost
    with psycopg.connect(fresh_db) as conn:
        rows = conn.execute(
            "select task_id, try_number, will_retry, error_class from ops.task_failures order by task_id"
        ).fetchall()
    assert rows == [("broken", 1, False, "ValueError"), ("ingest", 1, True, "OperationalError")]
