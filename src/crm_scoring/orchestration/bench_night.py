"""`make bench`'s Airflow figure: the wall time of one 5,000-customer demo night through `crm run`.

Everything the night needs but the night itself is prepared first and not timed: a throw-away
database, the demo export (a backfill folder and the night's folder), the backfill loaded, and a
migrated AIRFLOW_HOME. The timed part is exactly what a data engineer runs, `crm run --date D`, in a
subprocess: start the scheduler (LocalExecutor), ingest, GX, enrich, dbt marts, score with the
bench's @champion, dbt lists, GX, publish, stop.

The night is timed as the nights of a running platform are: the text model was measured on the DQ-06
gate set by an earlier night (`enrichment.gate_evaluations`, enrich/task.py), and the previous night's
`crm run` left dbt's parse state for this warehouse, so the preparation stores that measurement and
writes that state, as the previous night would have. `--cold-gate` times a first night instead.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from crm_scoring import settings, warehouse

DEMO_CUSTOMERS = 5000


@dataclass(frozen=True)
class NightFigure:
    seconds: float
    cpu_seconds: float  # user + system of `crm run` and every process it waited for (not PostgreSQL)
    success: bool
    log_path: str
    tasks: dict[str, float] = field(default_factory=dict)  # each task's seconds, from the run log


class AirflowNight:
    """A prepared demo night; `run()` times it, `cleanup()` drops its database and folders."""

    def __init__(
        self,
        root: Path,
        server_url: str,
        run_date: date,
        customers: int = DEMO_CUSTOMERS,
        *,
        warm_gate: bool = True,
    ) -> None:
        from crm_scoring.demo import generate
        from crm_scoring.ingest import load_export_date
        from crm_scoring.orchestration.airflow_runner import ensure_airflow_db
        from crm_scoring.orchestration.environment import platform_env

        self.root = root
        self.customers = customers
        self.run_date = run_date
        self.server_url = server_url
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        self.dbname = warehouse.create_database(server_url, "crm_bench_night")
        self.url = warehouse.with_database(server_url, self.dbname)
        landing = root / "landing"
        backfill = run_date - timedelta(days=1)
        generate(landing, backfill, run_date, customers, seed=42, history_days=400, progress=False)
        load_export_date(self.url, landing, backfill)
        if warm_gate:
            self._measure_gate(backfill)
        self.env = dict(os.environ)
        self.env.update(
            {
                warehouse.ENV_URL: self.url,
                "CRM_LANDING_DIR": str(landing),
                "CRM_REPORTS_DIR": str(root / "reports"),
                "AIRFLOW_HOME": str(root / "airflow"),
            }
        )
        self.env.pop("CRM_PG_HOST", None)
        saved = os.environ.get("AIRFLOW_HOME")
        os.environ["AIRFLOW_HOME"] = str(root / "airflow")
        try:
            ensure_airflow_db(platform_env(self.url))
            if warm_gate:
                self._write_parse_state()
        finally:
            if saved is None:
                os.environ.pop("AIRFLOW_HOME", None)
            else:
                os.environ["AIRFLOW_HOME"] = saved

    def _write_parse_state(self) -> None:
        """dbt's parse state for this warehouse, as the previous night's `crm run` left it: dbt keeps the
        state only for the same connection (its database is baked into every node), and this bench's
        database is new, so without this the timed night would parse the whole project, as only a
        warehouse's first night does."""
        from crm_scoring import dbt_invoke
        from crm_scoring.orchestration.environment import dbt_state_dir

        dbt_invoke.parse(self.url, dbt_state_dir() / "target")

    def _measure_gate(self, previous_night: date) -> None:
        """The DQ-06 measurement a previous night stored (same model, gate sets and policy)."""
        from crm_scoring.enrich.policy import load_policy
        from crm_scoring.enrich.task import _gate

        with warehouse.connect(self.url) as conn:
            _gate(load_policy(conn, previous_night), conn)

    def run(self) -> NightFigure:
        crm = str(Path(sys.executable).parent / "crm")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(
            [crm, "run", "--date", self.run_date.isoformat()], env=self.env, capture_output=True, text=True
        )
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        log = self.root / "reports" / "runs" / f"crm_nightly_{self.run_date.isoformat()}.log"
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
        return NightFigure(seconds, cpu, proc.returncode == 0, str(log), task_seconds(log))

    def run_deployed(self) -> NightFigure:
        """The same night on a scheduler that is already running, as in a deployment (or `make
        airflow-ui`): `run()` inside `deployed()`. What a deployed platform pays each night: no
        component start-up, no DAG parse before the trigger. The components' CPU is not in
        `cpu_seconds` (they are not `crm run`'s children)."""
        with self.deployed():
            return self.run()

    @contextmanager
    def deployed(self) -> Iterator[None]:
        """The API server, DAG processor and scheduler running, with the environment `crm run` would
        give them, the scheduler heartbeating and the DAG parsed; `crm run --date D` inside the block
        finds them and only triggers the run and follows it (airflow_runner.run_dag)."""
        from crm_scoring.orchestration.airflow_runner import airflow_bin, local_scheduler_alive
        from crm_scoring.orchestration.environment import platform_env
        from crm_scoring.orchestration.local_airflow import LocalAirflow

        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(self.env)
        try:
            env = platform_env(self.url)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        log = self.root / "reports" / "deployed-components.log"
        with LocalAirflow(airflow_bin(), env, log) as airflow:
            deadline = time.monotonic() + DEPLOY_TIMEOUT_S
            while not (local_scheduler_alive(env) and _dag_known(env, "crm_nightly")):
                if airflow.dead() or time.monotonic() > deadline:
                    raise RuntimeError(f"the deployed components did not come up (see {log})")
                time.sleep(0.5)
            yield

    def cleanup(self) -> None:
        warehouse.drop_database(self.server_url, self.dbname)
        shutil.rmtree(self.root / "landing", ignore_errors=True)


# how long the deployed figure waits for its components to heartbeat and parse the DAG
DEPLOY_TIMEOUT_S = 300.0


def _dag_known(env: dict[str, str], dag_id: str) -> bool:
    """Whether the DAG processor has stored `dag_id` in the local SQLite metadata DB (not stale)."""
    import sqlite3

    path = Path(env["AIRFLOW_HOME"]) / "airflow.db"
    if not path.is_file():
        return False
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
            row = db.execute("select 1 from dag where dag_id = ? and not is_stale", (dag_id,)).fetchone()
    except sqlite3.Error:
        return False
    return row is not None


def task_seconds(log: Path) -> dict[str, float]:
    """Each task's seconds from the summary atop the run log (`  dbt_marts  success  17.4 s  try 1`)."""
    import re

    if not log.exists():
        return {}
    pattern = re.compile(r"^  (\S+) +\w+ +([\d.]+) s  try ", re.MULTILINE)
    summary = log.read_text(errors="replace").split("\n=====", 1)[0]
    return {m.group(1): float(m.group(2)) for m in pattern.finditer(summary)}


def enabled() -> bool:
    """`BENCH_AIRFLOW_NIGHT=0 make bench` skips the Airflow night (e.g. to time only the stages)."""
    return os.environ.get("BENCH_AIRFLOW_NIGHT", "1") not in {"0", "false", "False", ""}


def default_root() -> Path:
    return settings.state_dir() / "bench" / "airflow_night"


def main() -> None:
    """`python -m crm_scoring.orchestration.bench_night [DATE] [--cold-gate] [--deployed]`: only the
    Airflow night, as JSON, with each task's seconds from the run log; `--deployed` times it on
    components already running (`AirflowNight.run_deployed`).

    Scores with the @champion of the MLflow store in use (`make run` makes one).
    """
    import json
    from dataclasses import asdict

    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    day = date.fromisoformat(args[0]) if args else date(2026, 11, 26)
    cold = "--cold-gate" in sys.argv
    deployed = "--deployed" in sys.argv
    night = AirflowNight(default_root(), warehouse.warehouse_url(), day, warm_gate=not cold)
    load_before = os.getloadavg()
    try:
        figure = night.run_deployed() if deployed else night.run()
    finally:
        night.cleanup()
    extra = {
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "cold_gate": cold,
        "deployed_scheduler": deployed,
    }
    print(json.dumps(asdict(figure) | extra))


if __name__ == "__main__":
    main()
