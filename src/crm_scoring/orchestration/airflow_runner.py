"""Run a DAG for one date through Airflow itself (`airflow dags test`) with a project-local AIRFLOW_HOME."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from crm_scoring import settings
from crm_scoring.orchestration.environment import platform_env

SUMMARY = re.compile(
    r"\[DAG TEST\] (?:starting|end) task|DagRun Finished|new_state=failed|ERROR(?!=0)|Error:|Traceback"
)


@dataclass(frozen=True)
class DagRunResult:
    dag_id: str
    run_date: str
    success: bool
    log_path: Path


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


def run_dag(dag_id: str, run_date: str, url: str, echo: bool = True) -> DagRunResult:
    """Run the whole DAG in-process for `run_date`; the full log goes to .crm/reports/runs/."""
    from crm_scoring import dbt_invoke

    env = platform_env(url)
    ensure_airflow_db(env)
    dbt_invoke.parse(url)
    log_dir = settings.reports_dir() / "runs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{dag_id}_{run_date}.log"
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            [airflow_bin(), "dags", "test", dag_id, run_date],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            if echo and SUMMARY.search(line):
                sys.stderr.write(_short(line))
        rc = proc.wait()
    return DagRunResult(dag_id, run_date, rc == 0, log_path)


def _short(line: str) -> str:
    """Airflow's structured log lines are long; keep the message part for the terminal."""
    line = line.rstrip("\n")
    match = re.search(r"\[(?:info|warning|error)\s*\]\s+(.*?)(?:\s+\[[\w.]+\]|$)", line)
    text = match.group(1) if match else line
    return (text[:200] + "\n") if text else ""
