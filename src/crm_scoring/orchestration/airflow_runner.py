"""Run a DAG for one date on a real Airflow scheduler, with a project-local AIRFLOW_HOME, and wait for it.

`crm run` triggers a new manual run (its own run_id, see dagruns.py) and follows it to its end, so
the Airflow UI shows every attempt with its true start and end times and state. When no scheduler of
this AIRFLOW_HOME is alive, the API server, DAG processor and scheduler (LocalExecutor) are started for
the length of the run (local_airflow.py); when one is (`make airflow-ui`, a deployment with
CeleryExecutor and its workers), the run is only triggered there and followed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from crm_scoring import settings
from crm_scoring.orchestration.environment import dbt_state_dir, platform_env, writing_parse_state

PARSE_TIMEOUT_S = float(os.environ.get("CRM_AIRFLOW_PARSE_TIMEOUT", "300"))
API_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class DagRunResult:
    dag_id: str
    run_date: str
    success: bool
    log_path: Path
    run_id: str = ""
    # (task_id, why it failed) for every failed task; upstream_failed tasks are not repeated
    failures: list[tuple[str, str]] = field(default_factory=list)


def airflow_bin() -> str:
    return str(Path(sys.executable).parent / "airflow")


def ensure_airflow_db(env: dict[str, str]) -> None:
    """`airflow db migrate` once per Airflow version (the metadata DB is SQLite in AIRFLOW_HOME)."""
    from importlib.metadata import version

    stamp = Path(env["AIRFLOW_HOME"]) / f".migrated-{version('apache-airflow-core')}"
    if stamp.exists():
        return
    subprocess.run([airflow_bin(), "db", "migrate"], env=env, check=True, capture_output=True, text=True)
    stamp.touch()


def local_scheduler_alive(env: dict[str, str]) -> bool | None:
    """Whether a scheduler of this AIRFLOW_HOME heartbeats, read from its SQLite metadata DB directly.

    The same test as Airflow's `Job.is_alive()` (state running, last heartbeat younger than
    scheduler_health_check_threshold) without importing Airflow. None when the metadata DB is not a
    local SQLite file (a deployment's PostgreSQL, a secret-backed URL): then Airflow is asked.
    """
    import configparser
    import sqlite3

    home = Path(env["AIRFLOW_HOME"])
    parser = configparser.RawConfigParser()
    parser.read(home / "airflow.cfg")

    def option(section: str, key: str, default: str | None) -> str | None:
        for variant in ("_CMD", "_SECRET"):
            if f"AIRFLOW__{section.upper()}__{key.upper()}{variant}" in env or parser.has_option(
                section, key + variant.lower()
            ):
                return None
        return env.get(f"AIRFLOW__{section.upper()}__{key.upper()}") or parser.get(
            section, key, fallback=default
        )

    conn = option("database", "sql_alchemy_conn", f"sqlite:///{home / 'airflow.db'}")
    threshold = option("scheduler", "scheduler_health_check_threshold", "30")
    if conn is None or threshold is None or not conn.startswith("sqlite:///"):
        return None
    path = Path(conn.removeprefix("sqlite:///").split("?")[0])
    if not path.is_file():
        return False
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
            row = db.execute(
                "select latest_heartbeat from job where job_type = 'SchedulerJob' and state = 'running'"
                " order by latest_heartbeat desc limit 1"
            ).fetchone()
    except sqlite3.Error:
        return None
    if row is None or row[0] is None:
        return False
    beat = datetime.fromisoformat(str(row[0]))
    beat = beat if beat.tzinfo else beat.replace(tzinfo=UTC)
    return (datetime.now(UTC) - beat).total_seconds() < float(threshold)


def log_path_for(dag_id: str, run_date: str) -> Path:
    log_dir = settings.reports_dir() / "runs"
    log_dir.mkdir(parents=True, exist_ok=True)
    return log_dir / f"{dag_id}_{run_date}.log"


def run_dag(dag_id: str, run_date: str, url: str, echo: bool = True) -> DagRunResult:
    """Trigger `dag_id` for `run_date` on a scheduler and wait; the full log goes to .crm/reports/runs/."""
    from crm_scoring import dbt_invoke
    from crm_scoring.orchestration.local_airflow import LocalAirflow

    env = platform_env(url)
    ensure_airflow_db(env)
    # this process reads and writes the metadata DB itself: Airflow must see the same configuration
    os.environ.update(env)

    say: Callable[[str], None] = (lambda msg: sys.stderr.write(msg + "\n")) if echo else (lambda msg: None)
    log_path = log_path_for(dag_id, run_date)
    components_log = log_path.with_suffix(".airflow.log")
    day = date.fromisoformat(run_date)
    started = time.monotonic()
    run_id = ""
    # Without a scheduler, the components are started before this process imports Airflow (seconds of
    # CPU): the scheduler's start-up is the critical path of a night, and the two overlap.
    alive = local_scheduler_alive(env)
    if alive is None:  # not the local SQLite metadata DB: ask Airflow
        from crm_scoring.orchestration import dagruns

        alive = dagruns.scheduler_alive()
    if alive:
        from crm_scoring.orchestration import dagruns

        say(f"using the running Airflow scheduler of {env['AIRFLOW_HOME']}")
        dagruns.wait_until_known(dag_id, PARSE_TIMEOUT_S)
        run_id = dagruns.trigger(dag_id, day, note=f"crm run --date {run_date}")
        say(f"triggered {dag_id} run {run_id}")
        with writing_parse_state():
            dbt_invoke.parse(url, dbt_state_dir() / "target")
        state = _follow(dagruns, dag_id, run_id, say, alive=None)
    else:
        if "CeleryExecutor" in env.get("AIRFLOW__CORE__EXECUTOR", ""):
            from crm_scoring.orchestration.dagruns import RunError

            raise RunError(
                "AIRFLOW__CORE__EXECUTOR is CeleryExecutor but no scheduler is running for this metadata DB; "
                "start the deployment's scheduler and workers first (docker/README.md)"
            )
        # `kill` (SIGTERM) of crm run stops the components and marks the run failed, as Ctrl-C does
        signal.signal(signal.SIGTERM, _interrupt)
        # the processor's parse time is second-resolution in some backends: allow for it
        since = datetime.now(UTC) - timedelta(seconds=1)
        try:
            with LocalAirflow(airflow_bin(), env, components_log) as airflow:
                say(f"started Airflow api-server, dag-processor and scheduler (log: {components_log})")
                from crm_scoring.orchestration import dagruns

                abandoned = dagruns.fail_abandoned_runs(dag_id)
                if abandoned:
                    say(f"marked abandoned runs of {dag_id} failed: {', '.join(abandoned)}")
                dagruns.wait_until_parsed(dag_id, since, PARSE_TIMEOUT_S, alive=airflow.dead)
                _wait_for(airflow.api_ready, API_TIMEOUT_S, "the API server did not start", airflow.dead)
                run_id = dagruns.trigger(dag_id, day, note=f"crm run --date {run_date}")
                say(f"triggered {dag_id} run {run_id} ({time.monotonic() - started:.0f} s after start)")
                # dbt's (partial) parse, while the scheduler starts and the first tasks run
                # (they need no dbt); the components' start-up is CPU-bound on a small machine. A dbt
                # task that starts before it is written waits for it (environment.writing_parse_state)
                with writing_parse_state():
                    dbt_invoke.parse(url, dbt_state_dir() / "target")
                state = _follow(dagruns, dag_id, run_id, say, alive=airflow.dead)
                # the run is over: stop without waiting for the components' slow interpreter exits
                airflow.stop(settled=dagruns.scheduler_finished)
        except BaseException:
            # interrupted (Ctrl-C) or a component died: once the components are stopped, the run and
            # its unfinished tasks stay in the history as failed, not running forever
            if run_id:
                from crm_scoring.orchestration import dagruns

                dagruns.mark_failed(dag_id, run_id)
            raise
    say(f"{dag_id} run {run_id}: {state} in {time.monotonic() - started:.0f} s")
    result = _collect(dagruns, dag_id, run_date, run_id, state, log_path, components_log)
    if not result.success and run_id and dag_id in REPORTED_DAGS:
        _report_failure(result, url, say)
    return result


# DAGs whose failed runs are reported (AL-20): the nightly carries RunFailureNotifier as its callback
REPORTED_DAGS = ("crm_nightly",)


def _report_failure(result: DagRunResult, url: str, say: Callable[[str], None]) -> None:
    """AL-20 for a run that ended failed: the DAG's failure callback may not have run (notify.py)."""
    from crm_scoring.orchestration import notify

    try:
        sent = notify.report_failed_run(
            result.dag_id, result.run_id, date.fromisoformat(result.run_date), result.failures, url
        )
    except Exception as exc:  # noqa: BLE001 - a broken channel must not hide the run's own failure
        say(f"could not report the failed run (AL-20): {exc!r}")
        return
    say(f"failed run reported (AL-20): {sent}")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _follow(dagruns, dag_id: str, run_id: str, say: Callable[[str], None], alive) -> str:  # noqa: ANN001
    def on_task(outcome) -> None:  # noqa: ANN001 - dagruns.TaskOutcome
        took = f" in {outcome.seconds:.1f} s" if outcome.seconds is not None else ""
        say(f"  {outcome.label}: {outcome.state}{took}")

    return dagruns.wait(dag_id, run_id, on_task, alive=alive)


def _wait_for(
    ready: Callable[[], bool], timeout_s: float, message: str, dead: Callable[[], list[str]]
) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        if dead() or time.monotonic() > deadline:
            raise RuntimeError(f"{message} (see the components' log)")
        time.sleep(0.25)


def _collect(
    dagruns,  # noqa: ANN001 - the module, imported after the environment is set
    dag_id: str,
    run_date: str,
    run_id: str,
    state: str,
    log_path: Path,
    components_log: Path,
) -> DagRunResult:
    """Write the run's summary and every task's log into one file; name each failed task and why."""
    from crm_scoring.orchestration import task_logs

    failures: list[tuple[str, str]] = []
    with open(log_path, "w", encoding="utf-8") as log:
        log.write(f"{dag_id} run {run_id} for {run_date}: {state}\n")
        outcomes = dagruns.outcomes(dag_id, run_id)
        for o in outcomes:
            took = f"{o.seconds:8.1f} s" if o.seconds is not None else "       - "
            log.write(f"  {o.label:32} {o.state:16} {took}  try {o.try_number}  {o.hostname}\n")
        for o in outcomes:
            files = dagruns.task_log_files(dag_id, run_id, o.task_id, o.map_index)
            for path in files:
                log.write(f"\n===== {o.label} ({path.name}) =====\n{task_logs.render_file(path)}\n")
            if o.state == "failed":
                reason = task_logs.failure_reason(files[-1]) if files else ""
                failures.append((o.label, reason or "no task log; see the Airflow components' log"))
        if components_log.exists():
            log.write(f"\n===== Airflow components: {components_log} =====\n")
    return DagRunResult(dag_id, run_date, state == "success", log_path, run_id, failures)
