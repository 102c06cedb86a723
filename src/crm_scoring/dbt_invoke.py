"""Programmatic dbt (dbtRunner) for the CLI paths that run outside Airflow: parse, training snapshots.

The nightly DAG runs dbt through cosmos; this is for `crm train`, `crm dbt ...` and writing the
partial-parse state the DAGs' cosmos tasks start from.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import nullcontext
from datetime import date
from pathlib import Path
from typing import Any

from crm_scoring import failpoints, locks, settings, stack_room, warehouse

# The profile and target of dbt_project/profiles.yml the platform runs; the DAGs' cosmos tasks pass
# them explicitly, and dbt keeps partial-parse state only for the same --profile/--target/--vars.
PROFILE = "crm"
TARGET = "dev"

# The run date reaches dbt through this environment variable, read by the run_date macro
# (dbt_project/macros/run_date.sql) only while dbt executes. Not `--vars`: dbt discards its
# partial-parse state whenever the vars change, so every new date parsed the whole project again.
RUN_DATE_ENV = "CRM_RUN_DATE"
# dbt's partial-parse state, in a project's target folder
PARSE_STATE = "partial_parse.msgpack"


# dbt commands that write the warehouse: they run under the warehouse-writer lock
WRITING_COMMANDS = frozenset({"build", "run", "seed", "snapshot"})
# dbt commands that load the project (parse it, or start from the partial-parse state)
PARSING_COMMANDS = frozenset(
    {"build", "run", "test", "seed", "snapshot", "compile", "parse", "ls", "list", "docs", "run-operation"}
    | {"show", "source", "clone"}
)


class DbtError(RuntimeError):
    pass


def invoke(args: list[str], url: str, run_date: date | None = None, manifest: Any = None) -> Any:
    """Run one dbt command against the warehouse at `url`; raise DbtError when it fails. Returns the
    command's result (`parse`: the manifest). With `manifest` (an earlier parse's), dbt skips parsing."""
    from dbt.cli.main import dbtRunner

    os.environ.update(warehouse.parse_url(url).dbt_env())
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    project = str(settings.dbt_project_dir())
    full = [*with_profile_and_target(args), "--project-dir", project, "--profiles-dir", project]
    runner = dbtRunner(manifest=manifest, callbacks=failpoints.dbt_callbacks())
    # one warehouse writer at a time (src/crm_scoring/locks.py), also outside Airflow
    writer = args and args[0] in WRITING_COMMANDS
    lock = locks.hold(f"crm:dbt-{args[0]}:{run_date or '-'}", url) if writer else nullcontext()
    # the run date for this one dbt command (unset without one), restored after
    run_date_value = run_date.isoformat() if run_date is not None else None
    with settings.environment(**{RUN_DATE_ENV: run_date_value}), lock:
        # dbt's frames in a stack chunk of their own: at some caller depths its node selection thrashed
        # CPython 3.11's frame-stack chunks, several times slower (crm_scoring.stack_room)
        result = stack_room.call(runner.invoke, full)
    if not result.success:
        detail = result.exception or "see the dbt output above"
        raise DbtError(f"dbt {' '.join(args)} failed: {detail}")
    return result.result


def with_profile_and_target(args: list[str]) -> list[str]:
    """`args` with `--profile crm --target dev` unless they name their own, for a command that loads the
    project.

    Why: dbt keys its partial-parse state on --profile and --target as typed on the command line (the
    vars hash in dbt/parser/manifest.py), not on the profile they resolve to. `crm train`'s `dbt build`
    (no flags) after the in-process night's `dbt parse --profile crm --target dev` parsed the whole
    project again, and so did the next night: 9.6 CPU s instead of 3.0 each time (2026-12-04; in a fresh
    clone's `make run`, `crm demo nightly`'s parse after ensure-champion's training took 7.4 CPU s, now
    1.0). With both flags on every command, the CLI paths, the in-process nights and the DAGs' cosmos
    tasks (which pass them too, orchestration/dbt_config.py) keep one state per target folder.
    """
    if not args or args[0] not in PARSING_COMMANDS:
        return list(args)
    extra: list[str] = []
    if not any(a == "--profile" or a.startswith("--profile=") for a in args):
        extra += ["--profile", PROFILE]
    if not any(a in ("--target", "-t") or a.startswith("--target=") for a in args):
        extra += ["--target", TARGET]
    return [*args, *extra]


def manifest(url: str) -> Any:
    """The project's manifest from one in-process `dbt parse` (nothing written), for several commands
    in a row on it (`invoke(..., manifest=...)`): each would otherwise load the parse state itself."""
    return invoke(["parse", "--quiet", "--no-write-json"], url)


def parse(url: str, target_path: Path | None = None) -> None:
    """Write manifest.json and dbt's partial-parse state (into `target_path` if given).

    `crm run` writes it where the DAGs' cosmos tasks look for it (environment.dbt_state_dir()), so
    their `dbt build` skips the full parse. The state holds no run date (see RUN_DATE_ENV), so the
    previous night's state is the starting point and dbt re-parses only the files that changed.
    With `target_path`, dbt writes into a scratch folder (seeded with the current state, or the CLI
    paths' state in settings.dbt_target_dir() when there is none yet) and the
    files are then moved in atomically: a dbt task starting meanwhile reads either the previous
    state or the new one, never half a file.
    """
    args = ["parse", "--quiet"]
    if target_path is None:
        invoke(args, url)
        return
    target_path.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target_path.parent) as scratch:
        seed = target_path / PARSE_STATE
        if not seed.is_file():
            # a first `crm run` starts from the state the CLI paths left (`make run`'s in-process night,
            # `crm train`); dbt checks it like any other: another connection's is a full parse, as before
            seed = settings.dbt_target_dir() / PARSE_STATE
        if seed.is_file():
            shutil.copy2(seed, Path(scratch) / PARSE_STATE)
        invoke([*args, "--target-path", scratch], url)
        for name in ("manifest.json", PARSE_STATE):
            os.replace(Path(scratch) / name, target_path / name)
