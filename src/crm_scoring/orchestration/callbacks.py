"""The DAGs' task policy: retries with exponential back-off, a timeout, the writer lock and a failure record.

`default_args()` is given to both DAGs, so every task (the Python steps and the cosmos dbt tasks)
  - retries a transient failure (a dropped connection, a restarted server) with growing delays
    instead of failing the night: every step is idempotent (it replaces its run date), so a retry
    never duplicates anything;
  - is stopped by `execution_timeout` rather than hanging a night's run forever;
  - holds the warehouse-writer advisory lock (crm_scoring.locks) from its start to its end, taken
    in `on_execute` so it covers the cosmos dbt tasks too, released when it ends; a task killed
    with SIGKILL loses its connection and PostgreSQL releases the lock itself;
  - on failure (and on each retry) writes one row to `ops.task_failures`: what failed, which try,
    whether it will retry, and the error. The alerting reads that table; the row is keyed by
    (dag, run, task, try), so a callback run twice does not double it.

Callbacks never raise: a broken callback must not hide the task's own error.
Timings come from the environment (`CRM_TASK_RETRIES`, `CRM_RETRY_DELAY_S`, `CRM_RETRY_BACKOFF`,
`CRM_MAX_RETRY_DELAY_S`, `CRM_TASK_TIMEOUT_S`) so a test can shorten them; the defaults are the
production policy documented in docs/reliability.md.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from typing import Any

from crm_scoring import locks, warehouse

log = logging.getLogger(__name__)

FAILURES_TABLE = "ops.task_failures"
DDL = f"""
create schema if not exists ops;
create table if not exists {FAILURES_TABLE} (
    dag_id text not null,
    run_id text not null,
    task_id text not null,
    try_number integer not null,
    logical_date date,
    max_tries integer,
    will_retry boolean not null,
    error_class text,
    error text,
    failed_at timestamptz not null default now(),
    primary key (dag_id, run_id, task_id, try_number)
)
"""

DEFAULTS = {
    "CRM_TASK_RETRIES": "3",
    "CRM_RETRY_DELAY_S": "60",
    "CRM_RETRY_BACKOFF": "2",
    "CRM_MAX_RETRY_DELAY_S": "1800",
    "CRM_TASK_TIMEOUT_S": "10800",
}


def _env(key: str) -> float:
    return float(os.environ.get(key) or DEFAULTS[key])


# Errors worth a retry: a lost or refused connection, a serialisation failure or deadlock (psycopg's
# OperationalError covers them), the same through SQLAlchemy (Great Expectations), OS-level timeouts.
# Anything else (a quarantine-worthy file, a failed expectation, a failing dbt model or test) fails at
# once: a retry would fail the same way and only delay the alert.
TRANSIENT_ERRORS = [
    "psycopg.OperationalError",
    "sqlalchemy.exc.OperationalError",
    "builtins.ConnectionError",
    "builtins.TimeoutError",
]


def retry_policy():  # noqa: ANN201 - airflow.sdk's ExceptionRetryPolicy (imported lazily)
    from airflow.sdk.definitions.retry_policy import ExceptionRetryPolicy, RetryAction, RetryRule

    return ExceptionRetryPolicy(
        rules=[RetryRule(exception=TRANSIENT_ERRORS, action=RetryAction.RETRY, reason="transient")],
        default=RetryAction.FAIL,
    )


def default_args() -> dict[str, Any]:
    """The `default_args` of crm_nightly and churn_training."""
    return {
        "retries": int(_env("CRM_TASK_RETRIES")),
        "retry_policy": retry_policy(),
        "retry_delay": timedelta(seconds=_env("CRM_RETRY_DELAY_S")),
        "retry_exponential_backoff": _env("CRM_RETRY_BACKOFF"),
        "max_retry_delay": timedelta(seconds=_env("CRM_MAX_RETRY_DELAY_S")),
        "execution_timeout": timedelta(seconds=_env("CRM_TASK_TIMEOUT_S")),
        "on_execute_callback": [on_execute],
        "on_success_callback": [on_success],
        "on_retry_callback": [on_retry],
        "on_failure_callback": [on_failure],
    }


def with_defaults(extra: dict[str, Any]) -> dict[str, list]:
    """Operator-level callbacks that keep the default ones (an operator's own callbacks replace
    `default_args`' instead of adding to them): the lock and `ops.task_failures` stay on every task."""
    base = default_args()
    out: dict[str, list] = {}
    for key, fn in extra.items():
        fns = fn if isinstance(fn, list) else [fn]
        out[key] = [*base.get(key, []), *fns]
    return out


def reader_callbacks(extra: dict[str, Any]) -> dict[str, list]:
    """`with_defaults` for a read-only task: the same callbacks, but its start takes no writer lock
    (`on_execute_reader`), so it runs beside the writer of the moment; failures are still recorded."""
    out = with_defaults(extra)
    starts = [fn for fn in out.get("on_execute_callback", []) if fn is not on_execute]
    out["on_execute_callback"] = [on_execute_reader, *starts]
    return out


def _owner(context: dict) -> str:
    ti = context.get("ti") or context.get("task_instance")
    ds = context.get("ds") or ""
    return f"airflow:{getattr(ti, 'dag_id', '?')}.{getattr(ti, 'task_id', '?')}:{ds}"


def on_execute(context: dict) -> None:
    """Take the warehouse-writer lock for the whole task (released by the end callbacks)."""
    locks.acquire(_owner(context))


def on_execute_reader(context: dict) -> None:
    """A read-only check: no writer lock, so it runs beside the night's writer of the moment.

    Why it is safe: `validate_raw` reads only the night's raw slice, which only `ingest` (upstream of
    it) writes; `dbt_marts_tests` reads only the marts `dbt_marts` built before it (scoring writes
    scoring.*, the lists lists_build.*). Each writes nothing but its reports and its `ops.stage_runs`
    row (the dbt tests also run the project's on-run-start hooks, idempotent DDL under their own
    advisory transaction locks). Holding the exclusive lock would serialise them behind the writers
    for nothing. A writer outside the night (e.g. churn_training rebuilding the same marts) is not
    kept out: each test query still sees committed data only (PostgreSQL MVCC), and a table swapped
    under a test fails it, which fails the night before publishing (a rerun repeats the tests).
    The end callbacks' release is a no-op when nothing is held.
    """
    log.info("%s: read-only task, no warehouse-writer lock", _owner(context))


def on_execute_shared(context: dict) -> None:
    """The shards of a night's scoring: the writer lock in shared mode (together, no other writer)."""
    locks.acquire(_owner(context), shared=True)


def on_success(context: dict) -> None:
    _release()


def on_retry(context: dict) -> None:
    _release()
    _record(context, will_retry=True)


def on_failure(context: dict) -> None:
    _release()
    _record(context, will_retry=False)
    _alert(context)


def _alert(context: dict) -> None:
    """A task's final failure feeds the alerting (issue 14: "the callback feeds the alerting"): the run's
    AL-20 "FAILED" message, naming the task and its error, through the notifiers (notify).

    It carries the run-level identity (`run:<dag>:<run_id>`), so the DAG's own `on_failure_callback` and
    `crm run`'s report of the same run add nothing (ledger); it fires in the task's process as soon as
    the task gives up, so it does not depend on the dag-processor running the DAG callback, and it
    covers every DAG whose tasks use these default_args (the weekly training too). A retry sends
    nothing: only `ops.task_failures` records a try that will be retried."""
    try:
        from crm_scoring.orchestration import notify

        notify.RunFailureNotifier().notify(context)
    except Exception:  # noqa: BLE001 - never mask the task's own failure
        log.exception("could not deliver the task failure alert")


def _release() -> None:
    try:
        locks.release()
    except Exception:  # noqa: BLE001 - the connection may already be gone; PostgreSQL then freed the lock
        log.warning("releasing the warehouse lock failed", exc_info=True)


def record_failure(
    url: str,
    *,
    dag_id: str,
    run_id: str,
    task_id: str,
    try_number: int,
    logical_date: Any,
    max_tries: int | None,
    will_retry: bool,
    error: BaseException | str | None,
) -> None:
    """Write (or keep) the row of one failed try."""
    error_class = type(error).__name__ if isinstance(error, BaseException) else None
    with warehouse.connect(url) as conn:
        warehouse.run_ddl(conn, DDL)
        conn.execute(
            f"""
            insert into {FAILURES_TABLE} (dag_id, run_id, task_id, try_number, logical_date, max_tries,
                                          will_retry, error_class, error)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s)
            on conflict (dag_id, run_id, task_id, try_number) do nothing
            """,
            (
                dag_id,
                run_id,
                task_id,
                try_number,
                logical_date,
                max_tries,
                will_retry,
                error_class,
                None if error is None else str(error)[:4000],
            ),
        )


def _record(context: dict, will_retry: bool) -> None:
    try:
        ti = context.get("ti") or context.get("task_instance")
        task = context.get("task")
        logical = context.get("ds")
        retries = getattr(task, "retries", None)
        record_failure(
            warehouse.warehouse_url(),
            dag_id=str(getattr(ti, "dag_id", "?")),
            run_id=str(getattr(ti, "run_id", context.get("run_id", "?"))),
            task_id=str(getattr(ti, "task_id", "?")),
            try_number=int(getattr(ti, "try_number", 0) or 0),
            logical_date=logical,
            max_tries=None if retries is None else int(retries) + 1,
            will_retry=will_retry,
            error=context.get("exception"),
        )
    except Exception:  # noqa: BLE001 - never mask the task's own failure
        log.exception("could not record the task failure in %s", FAILURES_TABLE)
