"""Scale-out for real on this machine: CeleryExecutor, a Redis broker, a PostgreSQL metadata DB and TWO
Celery workers run `crm_nightly` with the scoring sharded over both (issue 12).

The same demo night is first run by `crm run` on its own LocalExecutor scheduler (one scoring task);
then a Celery deployment is started on localhost (API server, DAG processor, scheduler, workers `w1`
and `w2`, each with one slot) and `crm run` triggers the night there with CRM_SCORE_SHARDS=4. The test
asserts that both workers ran scoring shards (Airflow records the worker per task instance: each
worker's hostname_callable names it) and that the published lists, scores and reason codes equal
the LocalExecutor night's.

Heavy (two nights and a Celery stack): in `make test-extended`. It cannot hang: every `crm` call has
a timeout, and the components run in their own process groups, killed when the test ends.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from crm_scoring import warehouse
from crm_scoring.orchestration.airflow_runner import airflow_bin, ensure_airflow_db
from crm_scoring.orchestration.environment import platform_env
from crm_scoring.orchestration.local_airflow import LocalAirflow

pytestmark = pytest.mark.e2e

START, DAY = "1999-03-01", "1999-03-02"
CUSTOMERS = "1000"
SHARDS = 4
WORKERS = ("w1", "w2")
REDIS_URL = os.environ.get("CRM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CRM = str(Path(sys.executable).parent / "crm")
CALL_TIMEOUT_S = 900
QUERIES = [
    f"select * from lists.retention_list where run_date = '{DAY}' order by 1, 2, 3",
    f"select * from lists.compensation_list where run_date = '{DAY}' order by 1, 2, 3",
    f"select customer_id, churn_probability, model_version, clv_estimate from scoring.churn_scores "
    f"where run_date = '{DAY}' order by 1",
    f"select customer_id, reason_rank, feature, feature_value, contribution, reason_text "
    f"from scoring.churn_reasons where run_date = '{DAY}' order by 1, 2",
]


def _dump(url: str, query: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def _crm(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([CRM, *args], env=env, capture_output=True, text=True, timeout=CALL_TIMEOUT_S)
    if proc.returncode != 0:
        raise AssertionError(f"crm {' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}")
    return proc


def _wait_for_scheduler(metadata_url: str, airflow: LocalAirflow, timeout_s: float = 600) -> None:
    """Until the scheduler heartbeats, `crm run` would refuse (CeleryExecutor and no scheduler)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not airflow.dead():
        try:
            running = _dump(
                metadata_url, "select count(*) from job where job_type = 'SchedulerJob' and state = 'running'"
            )[0][0]
        except psycopg.errors.UndefinedTable:
            running = 0
        if running:
            return
        time.sleep(1)
    raise AssertionError(
        f"the scheduler did not start: {airflow.dead() or 'timeout'}; see {airflow.log_path}"
    )


@pytest.fixture
def databases(server_url: str):
    names = [warehouse.create_database(server_url, p) for p in ("crm_dist", "crm_dist_airflow")]
    yield [warehouse.with_database(server_url, n) for n in names]
    if not os.environ.get("CRM_KEEP_TEST_DB"):
        for name in names:
            warehouse.drop_database(server_url, name)


def test_two_celery_workers_score_shards_and_publish_the_local_executor_lists(
    tmp_path: Path, databases: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis

    assert redis.Redis.from_url(REDIS_URL).ping(), f"no Redis at {REDIS_URL} (the Celery broker)"
    url, metadata_url = databases
    env = dict(os.environ)
    env.update(
        {
            "CRM_WAREHOUSE_URL": url,
            "CRM_STATE_DIR": str(tmp_path / "state"),
            "CRM_LANDING_DIR": str(tmp_path / "landing"),
            "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
            "CRM_MLFLOW_ARTIFACT_ROOT": (tmp_path / "artifacts").as_uri(),
            "AIRFLOW_HOME": str(tmp_path / "airflow_local"),
        }
    )
    for key in ("CRM_PG_HOST", "CRM_SCORE_SHARDS", "AIRFLOW__CORE__EXECUTOR"):
        env.pop(key, None)
    _crm(env, "demo-data", "--start", START, "--end", DAY, "--customers", CUSTOMERS, "--seed", "11")
    _crm(env, "model", "ensure-champion", "--date", DAY)

    # 1. the reference: `crm run` with its own LocalExecutor scheduler, scoring unsharded
    _crm(env, "run", "--date", DAY)
    local = [_dump(url, q) for q in QUERIES]
    assert local[0] and local[2] and local[3], "the reference night published no retention list"

    # 2. a Celery deployment on localhost: Redis broker and result backend, PostgreSQL metadata DB,
    # a queue of its own (parallel test sessions share the Redis server), two one-slot workers
    sqla = metadata_url.replace("postgresql://", "postgresql+psycopg://", 1)
    queue = f"crm_test_{uuid.uuid4().hex[:8]}"
    celery_env = dict(env)
    celery_env.update(
        {
            "AIRFLOW_HOME": str(tmp_path / "airflow_celery"),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqla,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": sqla,
            "AIRFLOW__CELERY__BROKER_URL": REDIS_URL,
            "AIRFLOW__CELERY__RESULT_BACKEND": REDIS_URL,
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
            "CRM_SCORE_SHARDS": str(SHARDS),
        }
    )
    with monkeypatch.context() as mp:
        for key, value in celery_env.items():
            mp.setenv(key, value)
        mp.delenv("CRM_PG_HOST", raising=False)
        airflow_env = platform_env(url)
        ensure_airflow_db(airflow_env)
    workers = {
        name: {
            "CRM_WORKER_NAME": name,
            # Airflow records this as the task instance's hostname: the UI and this test see the worker
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "crm_scoring.orchestration.sharding.worker_name",
        }
        for name in WORKERS
    }
    log = tmp_path / "celery-components.log"
    with LocalAirflow(airflow_bin(), airflow_env, log, celery_workers=workers) as airflow:
        _wait_for_scheduler(metadata_url, airflow)
        out = _crm(celery_env, "run", "--date", DAY)
        assert "using the running Airflow scheduler" in out.stderr, out.stderr[-2000:]

    # both workers ran scoring shards, every shard succeeded
    shards = _dump(
        metadata_url,
        "select map_index, state, hostname from task_instance "
        "where dag_id = 'crm_nightly' and task_id = 'score_shard' order by map_index",
    )
    assert [s[0] for s in shards] == list(range(SHARDS)), shards
    assert {s[1] for s in shards} == {"success"}, shards
    assert {s[2] for s in shards} == set(WORKERS), f"shards by worker: {shards}; see {log}"
    # the night's other tasks ran on the workers too (no task ran in the scheduler)
    hosts = {
        h
        for (h,) in _dump(
            metadata_url, "select distinct hostname from task_instance where start_date is not null"
        )
    }
    assert hosts <= set(WORKERS), hosts

    # the same lists, scores and reasons as the LocalExecutor night
    celery = [_dump(url, q) for q in QUERIES]
    for query, expected, got in zip(QUERIES, local, celery, strict=True):
        assert got == expected, f"differs from the LocalExecutor night: {query}"
