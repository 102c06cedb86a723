"""Trigger one DAG run for a date in Airflow's metadata DB and follow it to its end.

Import this only after AIRFLOW_HOME and the rest of `platform_env` are in os.environ: Airflow reads
its configuration once, when first imported.

Each call of `trigger` is a new run with its own run_id, `manual__<date>__<UTC trigger time>`, so
every attempt at a date stays in the history with its state and true start and end times. Airflow
keeps one run per (DAG, logical date); so the logical date is the run date at the trigger's time of
day (e.g. 2026-11-26T11:42:07Z for a run triggered at 11:42:07). `ds`, which every task reads, is
still the run date.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from airflow.configuration import conf
from airflow.models.dag import DagModel
from airflow.models.dagrun import DagRun
from airflow.models.errors import ParseImportError
from airflow.models.taskinstance import TaskInstance
from airflow.utils.session import create_session
from airflow.utils.state import DagRunState, TaskInstanceState
from sqlalchemy import select, update

FINISHED = {DagRunState.SUCCESS, DagRunState.FAILED}
POLL_S = 1.0


class RunError(RuntimeError):
    """The run could not be started or followed (not: a task failed, which is a normal result)."""


@dataclass(frozen=True)
class TaskOutcome:
    task_id: str
    state: str
    start: datetime | None
    end: datetime | None
    try_number: int
    map_index: int = -1  # a mapped task's instance (a scoring shard); -1 when not mapped
    hostname: str = ""

    @property
    def label(self) -> str:
        """`task_id`, or `task_id[i]` for instance i of a mapped task."""
        return self.task_id if self.map_index < 0 else f"{self.task_id}[{self.map_index}]"

    @property
    def seconds(self) -> float | None:
        if self.start is None or self.end is None:
            return None
        return (self.end - self.start).total_seconds()


def scheduler_alive() -> bool:
    """True when a scheduler of this metadata DB has heartbeated recently (e.g. `make airflow-ui`)."""
    from airflow.jobs.job import most_recent_job

    with create_session() as session:
        job = most_recent_job("SchedulerJob", session=session)
        return bool(job and job.is_alive())


def scheduler_finished() -> bool:
    """True once the most recent scheduler has recorded its own end (state no longer running)."""
    from airflow.jobs.job import most_recent_job
    from airflow.utils.state import JobState

    with create_session() as session:
        job = most_recent_job("SchedulerJob", session=session)
        return job is None or job.state != JobState.RUNNING


def wait_until_parsed(
    dag_id: str, since: datetime, timeout_s: float, alive: Callable[[], list[str]] | None = None
) -> None:
    """Wait until the DAG processor has (re)parsed `dag_id` after `since`; fail on its import error."""
    deadline = time.monotonic() + timeout_s
    while True:
        with create_session() as session:
            parsed = session.scalar(
                select(DagModel.last_parsed_time).where(DagModel.dag_id == dag_id, ~DagModel.is_stale)
            )
            if parsed is not None and parsed >= since:
                return
            errors = session.scalars(
                select(ParseImportError).where(
                    ParseImportError.filename.like(f"%{dag_id}.py"), ParseImportError.timestamp >= since
                )
            ).all()
            if errors:
                raise RunError(f"{dag_id}: the DAG file does not import:\n{errors[0].stacktrace}")
        dead = alive() if alive else []
        if dead:
            raise RunError(f"Airflow component(s) exited before {dag_id} was parsed: {', '.join(dead)}")
        if time.monotonic() > deadline:
            raise RunError(f"{dag_id} was not parsed within {timeout_s:.0f} s; is it in the DAGs folder?")
        time.sleep(POLL_S / 2)


def wait_until_known(dag_id: str, timeout_s: float) -> None:
    """With a scheduler already running: wait until its DAG processor knows `dag_id` at all."""
    deadline = time.monotonic() + timeout_s
    while True:
        with create_session() as session:
            if session.scalar(select(DagModel.dag_id).where(DagModel.dag_id == dag_id, ~DagModel.is_stale)):
                return
        if time.monotonic() > deadline:
            raise RunError(f"the running Airflow does not know the DAG {dag_id}")
        time.sleep(POLL_S)


UNFINISHED_TASKS = [
    TaskInstanceState.RUNNING,
    TaskInstanceState.QUEUED,
    TaskInstanceState.SCHEDULED,
    TaskInstanceState.UP_FOR_RETRY,
    TaskInstanceState.UP_FOR_RESCHEDULE,
    TaskInstanceState.DEFERRED,
    TaskInstanceState.RESTARTING,
]


def fail_abandoned_runs(dag_id: str) -> list[str]:
    """Mark runs left running or queued by a killed `crm run` failed (no scheduler is alive to own them).

    They stay in the history as failed attempts instead of blocking the next run (max_active_runs=1)
    or being resumed by the next scheduler that starts.
    """
    with create_session() as session:
        run_ids = list(
            session.scalars(
                select(DagRun.run_id).where(
                    DagRun.dag_id == dag_id, DagRun.state.in_([DagRunState.RUNNING, DagRunState.QUEUED])
                )
            )
        )
    _fail(dag_id, run_ids)
    return run_ids


def mark_failed(dag_id: str, run_id: str) -> None:
    """An interrupted `crm run`: its run and unfinished tasks stay in the history as failed."""
    _fail(dag_id, [run_id])


def _fail(dag_id: str, run_ids: list[str]) -> None:
    if not run_ids:
        return
    now = datetime.now(UTC)
    with create_session() as session:
        session.execute(
            update(TaskInstance)
            .where(
                TaskInstance.dag_id == dag_id,
                TaskInstance.run_id.in_(run_ids),
                TaskInstance.state.in_(UNFINISHED_TASKS),
            )
            .values(state=TaskInstanceState.FAILED, end_date=now)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(DagRun)
            .where(DagRun.dag_id == dag_id, DagRun.run_id.in_(run_ids), DagRun.state.notin_(FINISHED))
            .values(state=DagRunState.FAILED, end_date=now)
            .execution_options(synchronize_session=False)
        )


def trigger(dag_id: str, run_date: date, note: str | None = None) -> str:
    """Create a queued manual run of `dag_id` for `run_date`; unpause the DAG so a scheduler runs it."""
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.utils.types import DagRunTriggeredByType

    with create_session() as session:
        session.execute(update(DagModel).where(DagModel.dag_id == dag_id).values(is_paused=False))
    now = datetime.now(UTC).replace(microsecond=0)
    for _ in range(10):
        logical = datetime.combine(run_date, now.time(), tzinfo=UTC)
        run_id = f"manual__{run_date.isoformat()}__{now:%Y%m%dT%H%M%SZ}"
        with create_session() as session:
            taken = session.scalar(
                select(DagRun.run_id).where(
                    DagRun.dag_id == dag_id, (DagRun.logical_date == logical) | (DagRun.run_id == run_id)
                )
            )
        if taken is None:
            trigger_dag(
                dag_id,
                triggered_by=DagRunTriggeredByType.CLI,
                run_id=run_id,
                logical_date=logical,
                note=note,
            )
            return run_id
        now += timedelta(seconds=1)
    raise RunError(f"could not find a free run_id for {dag_id} {run_date}")


def outcomes(dag_id: str, run_id: str) -> list[TaskOutcome]:
    """The run's task instances in the order they started (not started last, by task_id)."""
    with create_session() as session:
        tis = session.execute(
            select(
                TaskInstance.task_id,
                TaskInstance.state,
                TaskInstance.start_date,
                TaskInstance.end_date,
                TaskInstance.try_number,
                TaskInstance.map_index,
                TaskInstance.hostname,
            ).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)
        ).all()
    far = datetime.max.replace(tzinfo=UTC)
    rows = sorted(tis, key=lambda t: (t.start_date or far, t.task_id, t.map_index))
    return [
        TaskOutcome(
            t.task_id,
            str(t.state or "none"),
            t.start_date,
            t.end_date,
            t.try_number,
            t.map_index,
            t.hostname or "",
        )
        for t in rows
    ]


def run_state(dag_id: str, run_id: str) -> str:
    with create_session() as session:
        state = session.scalar(select(DagRun.state).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
    return str(state)


def wait(
    dag_id: str,
    run_id: str,
    on_task: Callable[[TaskOutcome], None],
    alive: Callable[[], list[str]] | None = None,
) -> str:
    """Poll the run until it finishes; call `on_task` once per task when it reaches a final state."""
    seen: set[str] = set()
    final = {"success", "failed", "skipped", "upstream_failed", "removed"}
    while True:
        state = run_state(dag_id, run_id)
        for outcome in outcomes(dag_id, run_id):
            if outcome.state in final and outcome.label not in seen:
                seen.add(outcome.label)
                on_task(outcome)
        if state in {s.value for s in FINISHED}:
            return state
        dead = alive() if alive else []
        if dead:
            raise RunError(f"Airflow component(s) exited during the run: {', '.join(dead)}")
        time.sleep(POLL_S)


def task_log_files(dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> list[Path]:
    """The task's attempt logs under [logging] base_log_folder (Airflow's default file layout;
    a mapped task's instance logs under `map_index=<i>/`)."""
    base = Path(conf.get("logging", "base_log_folder"))
    folder = base / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
    if map_index >= 0:
        folder = folder / f"map_index={map_index}"
    return sorted(folder.rglob("attempt=*.log"), key=lambda p: (len(p.name), p.name))
