"""Programmatic dbt (dbtRunner) for the CLI paths that run outside Airflow: parse, training snapshots.

The nightly DAG runs dbt through cosmos; this is for `crm train`, `crm dbt ...` and writing the
partial-parse state the DAGs' cosmos tasks start from.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import date
from pathlib import Path

from crm_scoring import failpoints, locks, settings, warehouse

# The profile and target of dbt_project/profiles.yml the platform runs; the DAGs' cosmos tasks pass
# them explicitly, and dbt keeps partial-parse state only for the same --profile/--target/--vars.
PROFILE = "crm"
TARGET = "dev"


# dbt commands that write the warehouse: they run under the warehouse-writer lock
WRITING_COMMANDS = frozenset({"build", "run", "seed", "snapshot"})


class DbtError(RuntimeError):
    pass


def invoke(args: list[str], url: str, run_date: date | None = None) -> None:
    """Run one dbt command against the warehouse at `url`; raise DbtError when it fails."""
    from dbt.cli.main import dbtRunner

    os.environ.update(warehouse.parse_url(url).dbt_env())
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    project = str(settings.dbt_project_dir())
    full = [*args, "--project-dir", project, "--profiles-dir", project]
    if run_date is not None:
        full += ["--vars", json.dumps({"run_date": run_date.isoformat()})]
    runner = dbtRunner(callbacks=failpoints.dbt_callbacks())
    if args and args[0] in WRITING_COMMANDS:
        # one warehouse writer at a time (src/crm_scoring/locks.py), also outside Airflow
        with locks.hold(f"crm:dbt-{args[0]}:{run_date or '-'}", url):
            result = runner.invoke(full)
    else:
        result = runner.invoke(full)
    if not result.success:
        detail = result.exception or "see the dbt output above"
        raise DbtError(f"dbt {' '.join(args)} failed: {detail}")


def parse(url: str, run_date: date | None = None, target_path: Path | None = None) -> None:
    """Write manifest.json and dbt's partial-parse state for `run_date` (into `target_path` if given).

    `crm run` writes it where the DAGs' cosmos tasks look for it (environment.dbt_state_dir()), so
    their `dbt build` skips the full parse. dbt re-parses in full whenever --vars change, so the
    state is written with the run's own run_date. With `target_path`, dbt writes into a scratch
    folder and the files are then moved in atomically: a dbt task starting meanwhile reads either
    the previous state or the new one, never half a file.
    """
    args = ["parse", "--quiet", "--profile", PROFILE, "--target", TARGET]
    if target_path is None:
        invoke(args, url, run_date)
        return
    target_path.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target_path.parent) as scratch:
        invoke([*args, "--target-path", scratch], url, run_date)
        for name in ("manifest.json", "partial_parse.msgpack"):
            os.replace(Path(scratch) / name, target_path / name)
