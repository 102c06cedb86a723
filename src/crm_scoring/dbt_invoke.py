"""Programmatic dbt (dbtRunner) for the CLI paths that run outside Airflow: parse, training snapshots.

The nightly DAG runs dbt through cosmos; this is for `crm train`, `crm dbt ...` and writing the
manifest cosmos renders the DAGs from.
"""

from __future__ import annotations

import json
import os
from datetime import date

from crm_scoring import settings
from crm_scoring.orchestration.environment import dbt_env_from_url


class DbtError(RuntimeError):
    pass


def invoke(args: list[str], url: str, run_date: date | None = None) -> None:
    """Run one dbt command against the warehouse at `url`; raise DbtError when it fails."""
    from dbt.cli.main import dbtRunner

    os.environ.update(dbt_env_from_url(url))
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    project = str(settings.dbt_project_dir())
    full = [*args, "--project-dir", project, "--profiles-dir", project]
    if run_date is not None:
        full += ["--vars", json.dumps({"run_date": run_date.isoformat()})]
    result = dbtRunner().invoke(full)
    if not result.success:
        detail = result.exception or "see the dbt output above"
        raise DbtError(f"dbt {' '.join(args)} failed: {detail}")


def parse(url: str) -> None:
    """Write target/manifest.json, from which cosmos renders the DAGs' dbt task groups quickly."""
    invoke(["parse", "--quiet"], url)
