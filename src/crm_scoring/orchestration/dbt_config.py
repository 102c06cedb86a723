"""The one place the DAGs get their dbt project, profile and execution settings from (cosmos).

Each dbt layer of a DAG is ONE Airflow task running `dbt build` over a selector (models, seeds
and their tests, in dependency order, in one dbt process). Rendering one cosmos task per model
cost 1.5-2 s of Airflow task start-up per node (about 70 nodes a night), many times the data
work at demo size. Per-model visibility stays: dbt writes one line per node (status, rows, seconds)
into the task log, and a failed model or test fails the task with its name in the error.

The profile reads the warehouse from environment variables (see dbt_project/profiles.yml), so no
secret is ever written into the repository or the rendered DAG.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from cosmos import ProfileConfig
from cosmos.constants import InvocationMode
from cosmos.operators.local import DbtBuildLocalOperator, DbtLocalBaseOperator, DbtTestLocalOperator

from crm_scoring import dbt_invoke, settings, stack_room
from crm_scoring.orchestration.environment import dbt_state_dir, ensure_dbt_env, wait_for_parse_state

log = logging.getLogger(__name__)


def profile_config() -> ProfileConfig:
    return ProfileConfig(
        profile_name=dbt_invoke.PROFILE,
        target_name=dbt_invoke.TARGET,
        profiles_yml_filepath=settings.dbt_project_dir() / "profiles.yml",
    )


def _fill_dbt_env(context: object) -> None:
    """Airflow pre-execute hook: CRM_PG_* from CRM_WAREHOUSE_URL in the worker, just before dbt runs;
    and, when `crm run` is still writing the dbt parse state, wait for it (cosmos picks the
    newest state when the operator executes, after this hook)."""
    ensure_dbt_env()
    waited = wait_for_parse_state()
    if waited >= 0.5:
        log.info("waited %.1f s for the dbt parse state `crm run` was writing", waited)


# niceness of the marts' data tests (dbt_marts_tests): they run beside score and dbt_lists, which are
# the night's critical path; on two cores they must not take its CPU
TESTS_NICE = 10


def _fill_dbt_env_low_priority(context: object) -> None:
    """`_fill_dbt_env`, then lower this task process's CPU priority (a task process of its own)."""
    os.nice(TESTS_NICE)
    _fill_dbt_env(context)


class _NoLineageParse:
    """cosmos' local dbt operators without the OpenLineage artefact parse after every dbt command.

    Why: after each dbt command cosmos imports openlineage-integration-common and turns manifest.json
    and run_results.json into lineage events (one per node; ~600 for nightly_marts). On Airflow 3 they
    are used only to emit Assets (`emit_datasets`, off here: the DAGs declare their Assets themselves)
    or by the OpenLineage provider (not installed). So the events were computed and dropped, every dbt
    task of every night. With `emit_datasets=True` cosmos' own behaviour is kept.
    """

    emit_datasets: bool

    def calculate_openlineage_events_completes(self, *args: Any, **kwargs: Any) -> bool:
        if not self.emit_datasets:
            return False
        return super().calculate_openlineage_events_completes(*args, **kwargs)  # type: ignore[misc]


# dbt's JSON artefacts (manifest.json, run_results.json) are not written by the DAGs' dbt tasks
NO_WRITE_JSON = "--no-write-json"
# nor its debug log file: it goes to logs/dbt.log in cosmos' temporary copy of the project, deleted when
# the task ends, and writing it cost ~10 % of a dbt command's CPU (py-spy of `dbt test --selector
# nightly_marts`: dbt_common's file logger 10 % of the samples; 14.5 -> 13.2 CPU s without it). The
# task log keeps dbt's own lines (one per node, warnings and errors)
NO_FILE_LOG = ("--log-level-file", "none")


class _NoJsonArtefacts:
    """cosmos' local dbt operators with `--no-write-json` and no debug log file (`NO_FILE_LOG`), and a
    partial-parse cache update that copes.

    Why: dbt wrote the whole manifest.json (3.5 MB, ~700 nodes) twice per command, after its parse and at
    its end, plus run_results.json: 1.7-2 of the ~5 CPU s a dbt command's start-up and end cost
    (cProfile of `dbt test --selector nightly_lists` as a task runs it: 5.3 -> 3.4 CPU s with the flag),
    six dbt commands a night. Nothing reads them: a failed model is named from dbtRunner's result, the
    lineage parse is off (`_NoLineageParse`), and the partial-parse state dbt needs is
    partial_parse.msgpack, which dbt still writes whenever it re-parses. The manifest the night does read
    (`history.load_manifest`, for prune_history) is the one `crm run` writes with the parse state.

    cosmos copies partial_parse.msgpack AND manifest.json back into its cache after every command; with
    no manifest.json in the cache (a first task that had to parse, e.g. the weekly training without a
    `crm run`) that copy failed the task after a successful build. Here the manifest is copied only when
    there is one; `history.load_manifest` parses when the cache has none.
    """

    cache_dir: Any
    log: logging.Logger

    def _generate_dbt_flags(self, *args: Any, **kwargs: Any) -> list[str]:
        return [*super()._generate_dbt_flags(*args, **kwargs), NO_WRITE_JSON, *NO_FILE_LOG]  # type: ignore[misc]

    def _update_partial_parse_cache(self, tmp_dir_path: Path) -> None:
        if self.cache_dir is None:
            return
        from cosmos.dbt.project import get_partial_parse_path
        from cosmos.fs import safe_copy

        state = get_partial_parse_path(tmp_dir_path)
        if not state.exists():
            return
        cached = get_partial_parse_path(Path(self.cache_dir))
        cached.parent.mkdir(parents=True, exist_ok=True)
        safe_copy(state, cached)
        manifest = state.parent / "manifest.json"
        if manifest.exists():
            safe_copy(manifest, cached.parent / "manifest.json")


class _StackRoom:
    """cosmos' local dbt operators running dbt with its Python frames in a stack chunk of their own.

    Why: a dbt task process calls dbt from deep inside Airflow's task runner and cosmos; at some
    depths dbt's node selection (networkx graph views, ~750,000 small calls) straddled one of
    CPython 3.11's 16 KB frame-stack chunks and paid an mmap + munmap per call: 3.6-6.3 s per dbt
    command instead of 0.7-1.0 s, three times a night (`crm_scoring.stack_room` has the figures).
    """

    def execute(self, context: Any, **kwargs: Any) -> Any:
        return stack_room.call(super().execute, context, **kwargs)  # type: ignore[misc]


class DbtBuildOperator(_StackRoom, _NoJsonArtefacts, _NoLineageParse, DbtBuildLocalOperator):
    """`dbt build` (cosmos, dbtRunner) without the JSON artefacts and the unused lineage parse."""


class DbtTestOperator(_StackRoom, _NoJsonArtefacts, _NoLineageParse, DbtTestLocalOperator):
    """`dbt test` (cosmos, dbtRunner) without the JSON artefacts and the unused lineage parse."""


def dbt_build_task(
    task_id: str,
    selector: str | None = None,
    operator: type[DbtLocalBaseOperator] = DbtBuildOperator,
    **kwargs,
) -> DbtLocalBaseOperator:
    """`dbt build` of one layer for the DAG's logical date, in-process (dbtRunner), partial parse cached.
    `operator` may be a subclass that runs the build in parts (lists_step.ListsBuildOperator), or
    DbtTestOperator: `dbt test` of the same selector (the data tests only; `dbt_test_task`).

    The DAG file calls this while it is parsed, so it must not touch `os.environ`: the profile's
    CRM_PG_* variables are filled in by a pre-execute hook, in the task's own process, at run time.
    """
    return operator(
        task_id=task_id,
        project_dir=str(settings.dbt_project_dir()),
        profile_config=profile_config(),
        invocation_mode=InvocationMode.DBT_RUNNER,
        # one of dbt_project/selectors.yml (orchestration/dbt_selectors.py names them); the selector
        # carries the indirect selection of tests too
        selector=selector,
        # the run date reaches dbt as an environment variable, not --vars, so the partial-parse state
        # holds no date and every night reuses it (dbt_invoke.RUN_DATE_ENV)
        env={dbt_invoke.RUN_DATE_ENV: "{{ ds }}"},
        install_deps=False,
        emit_datasets=False,
        # dbt runs with --no-write-json (_NoJsonArtefacts, which also keeps cosmos' cache update from
        # failing when there is no manifest.json to copy back). cosmos copies the newest partial-parse
        # state found here (written by `crm run`, or left by the previous dbt task)
        # into its working copy of the project
        cache_dir=dbt_state_dir(),
        **{"pre_execute": _fill_dbt_env, **kwargs},
    )


def dbt_test_task(task_id: str, selector: str, **kwargs) -> DbtLocalBaseOperator:
    """`dbt test --selector <selector>`: the data tests a `dbt build` of that selector would run.

    crm_nightly runs the marts' data tests (two thirds of the marts build's node time) as their own task
    beside scoring and the lists, with publish_lists waiting for it: `dbt build` of the marts then
    builds with `--exclude-resource-type test`, and every test still runs before the lists are published.
    """
    return dbt_build_task(
        task_id, selector, operator=DbtTestOperator, pre_execute=_fill_dbt_env_low_priority, **kwargs
    )
