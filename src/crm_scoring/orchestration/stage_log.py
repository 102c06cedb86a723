"""Stage timings of the nightly, written by the nightly itself into `ops.stage_runs` (AL-20 pipeline health).

Why here and not read back from Airflow's metadata DB: the warehouse must answer "how long did each
stage take, how many rows did it move" on its own (the report and marts.pipeline_health read it with
SQL), and the same task bodies run outside Airflow (`crm` commands, tests), where there is no metadata
DB. One row per (run_date, stage, run_id, attempt): a retry or a rerun of the date adds a row, the
marts take the latest finished one. Wall-clock timestamps are facts about the run, not inputs of any
list, so determinism of the lists is untouched.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from crm_scoring import stack_room, warehouse

log = logging.getLogger(__name__)

T = TypeVar("T")

DDL = [
    "create schema if not exists ops",
    """
    create table if not exists ops.stage_runs (
        run_date date not null,
        stage text not null,
        run_id text not null,
        attempt integer not null default 1,
        started_at timestamptz not null,
        ended_at timestamptz,
        rows bigint,
        status text not null check (status in ('running', 'success', 'failed')),
        error text,
        primary key (run_date, stage, run_id, attempt)
    )""",
]


def ensure_table(conn) -> None:
    warehouse.run_ddl(conn, *DDL)


def current_run() -> tuple[str, int]:
    """The Airflow run id and try number of the running task (env set by the task runner), else 'local'."""
    run_id = os.environ.get("AIRFLOW_CTX_DAG_RUN_ID") or os.environ.get("CRM_STAGE_RUN_ID") or "local"
    try:
        attempt = int(os.environ.get("AIRFLOW_CTX_TRY_NUMBER") or 1)
    except ValueError:
        attempt = 1
    return run_id, attempt


def start(run_date: date, stage: str, run_id: str, attempt: int, url: str | None = None) -> None:
    with warehouse.connect(url) as conn:
        ensure_table(conn)
        conn.execute(
            """
            insert into ops.stage_runs (run_date, stage, run_id, attempt, started_at, status)
            values (%s, %s, %s, %s, %s, 'running')
            on conflict (run_date, stage, run_id, attempt)
            do update set started_at = excluded.started_at, ended_at = null, rows = null,
                          status = 'running', error = null
            """,
            (run_date, stage, run_id, attempt, datetime.now(UTC)),
        )


def finish(
    run_date: date,
    stage: str,
    run_id: str,
    attempt: int,
    *,
    rows: int | None,
    status: str,
    error: str | None = None,
    url: str | None = None,
) -> None:
    with warehouse.connect(url) as conn:
        ensure_table(conn)
        conn.execute(
            """
            update ops.stage_runs set ended_at = %s, rows = %s, status = %s, error = %s
             where run_date = %s and stage = %s and run_id = %s and attempt = %s
            """,
            (datetime.now(UTC), rows, status, (error or "")[:500] or None, run_date, stage, run_id, attempt),
        )


def count_rows(result: Any) -> int | None:
    """Rows a stage moved, from its summary: 'rows' / 'rows_loaded', a dict of counts, or file entries."""
    if isinstance(result, Mapping):
        for key in ("rows", "rows_loaded"):
            value = result.get(key)
            if isinstance(value, int):
                return value
        files = result.get("files")
        if isinstance(files, list):
            return sum(int(f.get("rows_loaded", 0) or 0) for f in files if isinstance(f, Mapping))
        ints = [v for v in result.values() if isinstance(v, int) and not isinstance(v, bool)]
        if ints and len(ints) == len(result):
            return sum(ints)
    return None


def logged_stage(stage: str) -> Callable[[Callable[[str], T]], Callable[[str], T]]:
    """Record a task body `fn(ds)` as a stage of the run date: start row, then success (rows) or failure.

    A failure to write the log never fails the stage (monitoring must not take the nightly down); the
    stage's own exception is re-raised unchanged.
    """

    def wrap(fn: Callable[[str], T]) -> Callable[[str], T]:
        @functools.wraps(fn)
        def run(ds: str, *args, **kwargs) -> T:
            run_date = date.fromisoformat(ds)
            run_id, attempt = current_run()
            logged = _safe(start, run_date, stage, run_id, attempt)
            try:
                # the task body's frames in a stack chunk of their own (crm_scoring.stack_room)
                result = stack_room.call(fn, ds, *args, **kwargs)
            except BaseException as exc:
                if logged:
                    _safe(
                        finish, run_date, stage, run_id, attempt, rows=None, status="failed", error=repr(exc)
                    )
                raise
            if logged:
                _safe(finish, run_date, stage, run_id, attempt, rows=count_rows(result), status="success")
            return result

        return run

    return wrap


def airflow_callbacks(stage: str) -> dict[str, Callable[[Mapping[str, Any]], None]]:
    """on_execute / on_success callbacks that log an operator we do not own the body of (the dbt tasks)."""

    def _ids(context: Mapping[str, Any]) -> tuple[date, str, int]:
        ti = context.get("ti") or context.get("task_instance")
        run_id = getattr(ti, "run_id", None) or str(context.get("run_id") or "local")
        attempt = int(getattr(ti, "try_number", 1) or 1)
        return date.fromisoformat(str(context["ds"])), run_id, attempt

    def on_execute(context: Mapping[str, Any]) -> None:
        run_date, run_id, attempt = _ids(context)
        _safe(start, run_date, stage, run_id, attempt)

    def on_success(context: Mapping[str, Any]) -> None:
        run_date, run_id, attempt = _ids(context)
        _safe(finish, run_date, stage, run_id, attempt, rows=None, status="success")

    return {"on_execute_callback": on_execute, "on_success_callback": on_success}


def _safe(fn: Callable[..., None], *args, **kwargs) -> bool:
    try:
        fn(*args, **kwargs)
    except Exception:  # noqa: BLE001 - the log is best effort, the stage is not
        log.warning("stage log %s failed", fn.__name__, exc_info=True)
        return False
    return True
