"""The process environment Airflow, dbt and MLflow need, derived from one warehouse URL.

`crm run` computes it once (starting the embedded warehouse if needed) and hands it to Airflow;
a deployed Airflow gets `CRM_WAREHOUSE_URL` from its own environment or secrets backend.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from crm_scoring import settings, warehouse


def dbt_env_from_url(url: str) -> dict[str, str]:
    return warehouse.parse_url(url).dbt_env()


def ensure_dbt_env() -> None:
    """Fill CRM_PG_* from CRM_WAREHOUSE_URL when only the URL is set (no side effects, no connection)."""
    url = os.environ.get(warehouse.ENV_URL)
    if url and "CRM_PG_HOST" not in os.environ:
        os.environ.update(dbt_env_from_url(url))


def dbt_state_dir() -> Path:
    """Where the DAGs' dbt tasks share dbt's partial-parse state (cosmos' cache_dir; state in ./target)."""
    path = settings.state_dir() / "cosmos"
    (path / "target").mkdir(parents=True, exist_ok=True)
    return path


def parse_lock_path() -> Path:
    """Beside cosmos' cache dir, not in it (cosmos reads that folder)."""
    return settings.state_dir() / "dbt-parse.lock"


@contextmanager
def writing_parse_state() -> Iterator[None]:
    """Held (exclusive file lock) by `crm run` while it writes the dbt parse state.

    Why: `crm run` parses while the first tasks run, and a night whose first tasks are quick (the
    DQ-06 gate read from its cache) reached `dbt_marts` before the parse was written: the task then
    parsed the whole project itself (~27 s on the loaded machine, 2026-12-01). A dbt task waits for
    this lock (`wait_for_parse_state`) and starts from the finished state instead.
    """
    with open(parse_lock_path(), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def wait_for_parse_state(timeout_s: float = 300.0, poll_s: float = 0.2) -> float:
    """Wait while a `crm run` on this machine writes the parse state; the seconds waited.

    Returns at once when nobody writes it (a scheduled night, a Celery worker on another machine);
    after `timeout_s` it gives up and dbt parses by itself, as it would have anyway.
    """
    start = time.monotonic()
    with open(parse_lock_path(), "a") as fh:
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() - start >= timeout_s:
                    break
                time.sleep(poll_s)
                continue
            fcntl.flock(fh, fcntl.LOCK_UN)
            break
    return time.monotonic() - start


def platform_env(url: str) -> dict[str, str]:
    """Everything a child `airflow` process needs to run the platform's DAGs locally."""
    env = dict(os.environ)
    env.update(dbt_env_from_url(url))
    # the dbt tasks work in their own copy of the project (cosmos); a shared target path would make
    # them read and write one partial-parse state across projects
    env.pop("DBT_TARGET_PATH", None)
    # `airflow standalone` starts its components as `airflow ...` from PATH: put this venv first.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    home = settings.airflow_home()
    env.update(
        {
            warehouse.ENV_URL: url,
            "CRM_HOME": str(settings.project_root()),
            "CRM_LANDING_DIR": str(settings.landing_dir()),
            "MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri(),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(settings.dags_dir()),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": env.get("AIRFLOW__CORE__UNIT_TEST_MODE", "False"),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": env.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO"),
            # the local home runs the runs you trigger (`crm run`, the UI), not the DAGs' schedules:
            # the demo's landing dates are fixed. A deployment schedules (docker/docker-compose.yml).
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": env.get("AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE", "False"),
            "AIRFLOW__COSMOS__ENABLE_CACHE": "True",
            "AIRFLOW__COSMOS__PROPAGATE_LOGS": "False",
            "GX_ANALYTICS_ENABLED": "False",
            "DO_NOT_TRACK": "1",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
            "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "False",
        }
    )
    return env
