"""`make bench`'s Airflow figure: the wall time of one 5,000-customer demo night through `crm run`.

Everything the night needs but the night itself is prepared first and not timed: a throw-away
database, the demo export (a backfill folder and the night's folder), the backfill loaded, and a
migrated AIRFLOW_HOME. The timed part is exactly what a data engineer runs, `crm run --date D`, in a
subprocess: start the scheduler (LocalExecutor), ingest, GX, enrich, dbt marts, score with the
bench's @champion, dbt lists, GX, publish, stop.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
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


class AirflowNight:
    """A prepared demo night; `run()` times it, `cleanup()` drops its database and folders."""

    def __init__(self, root: Path, server_url: str, run_date: date, customers: int = DEMO_CUSTOMERS) -> None:
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
        finally:
            if saved is None:
                os.environ.pop("AIRFLOW_HOME", None)
            else:
                os.environ["AIRFLOW_HOME"] = saved

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
        return NightFigure(seconds, cpu, proc.returncode == 0, str(log))

    def cleanup(self) -> None:
        warehouse.drop_database(self.server_url, self.dbname)
        shutil.rmtree(self.root / "landing", ignore_errors=True)


def enabled() -> bool:
    """`BENCH_AIRFLOW_NIGHT=0 make bench` skips the Airflow night (e.g. to time only the stages)."""
    return os.environ.get("BENCH_AIRFLOW_NIGHT", "1") not in {"0", "false", "False", ""}


def default_root() -> Path:
    return settings.state_dir() / "bench" / "airflow_night"


def main() -> None:
    """`python -m crm_scoring.orchestration.bench_night [DATE]`: only the Airflow night, as JSON.

    Scores with the @champion of the MLflow store in use (`make run` makes one).
    """
    import json
    from dataclasses import asdict

    day = date.fromisoformat(sys.argv[1]) if len(sys.argv) > 1 else date(2026, 11, 26)
    night = AirflowNight(default_root(), warehouse.warehouse_url(), day)
    load_before = os.getloadavg()
    try:
        figure = night.run()
    finally:
        night.cleanup()
    print(json.dumps(asdict(figure) | {"loadavg_before": load_before, "loadavg_after": os.getloadavg()}))


if __name__ == "__main__":
    main()
