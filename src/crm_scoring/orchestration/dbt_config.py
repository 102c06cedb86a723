"""The one place the DAGs get their dbt project, profile and execution settings from (cosmos).

The profile reads the warehouse from environment variables (see dbt_project/profiles.yml), so no
secret is ever written into the repository or the rendered DAG.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cosmos import (
    DbtTaskGroup,
    ExecutionConfig,
    ProfileConfig,
    ProjectConfig,
    RenderConfig,
)
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior, TestIndirectSelection

from crm_scoring import settings
from crm_scoring.orchestration.environment import ensure_dbt_env

ensure_dbt_env()

DBT_PROJECT_DIR = settings.dbt_project_dir()
TARGET_DIR = Path(os.environ.get("DBT_TARGET_PATH", DBT_PROJECT_DIR / "target"))
MANIFEST_PATH = TARGET_DIR / "manifest.json"
PROJECT_SUFFIXES = {".sql", ".yml", ".yaml", ".csv", ".md"}

profile_config = ProfileConfig(
    profile_name="crm",
    target_name="dev",
    profiles_yml_filepath=DBT_PROJECT_DIR / "profiles.yml",
)

# LOCAL runs one dbt process per model: every model is its own retryable Airflow task. cosmos'
# WATCHER mode (one `dbt build`, sensors per model) is faster on a real scheduler, but its deferred
# sensors wait forever under `airflow dags test`, which runs tasks one at a time; so it is opt-in.
EXECUTION_MODE = ExecutionMode(os.environ.get("CRM_COSMOS_EXECUTION_MODE", ExecutionMode.LOCAL.value))

execution_config = ExecutionConfig(
    execution_mode=EXECUTION_MODE,
    invocation_mode=InvocationMode.DBT_RUNNER,
    # a relationships test runs with the later of its two models, never before both exist
    test_indirect_selection=TestIndirectSelection.CAUTIOUS,
)


def manifest_is_fresh() -> bool:
    """True when target/manifest.json is newer than every project file, so it describes this checkout."""
    if not MANIFEST_PATH.exists():
        return False
    built = MANIFEST_PATH.stat().st_mtime
    sources = (
        p
        for p in DBT_PROJECT_DIR.rglob("*")
        if p.suffix in PROJECT_SUFFIXES and not p.is_relative_to(DBT_PROJECT_DIR / "target")
    )
    return all(p.stat().st_mtime <= built for p in sources)


def project_config() -> ProjectConfig:
    """Render from the manifest `crm` writes before each run when fresh, else let cosmos run `dbt ls`."""
    kwargs: dict[str, Any] = {"install_dbt_deps": False}
    if manifest_is_fresh():
        kwargs["manifest_path"] = MANIFEST_PATH
    return ProjectConfig(dbt_project_path=DBT_PROJECT_DIR, **kwargs)


def dbt_task_group(group_id: str, select: list[str], exclude: list[str] | None = None) -> DbtTaskGroup:
    """A cosmos task group running `dbt build` per node (model + its tests) for the DAG's logical date."""
    return DbtTaskGroup(
        group_id=group_id,
        project_config=project_config(),
        profile_config=profile_config,
        execution_config=execution_config,
        render_config=RenderConfig(
            load_method=LoadMode.AUTOMATIC,
            select=select,
            exclude=exclude or [],
            # watcher: the producer's `dbt build` runs the tests, each shown as a sensor after its model
            test_behavior=TestBehavior.AFTER_EACH
            if EXECUTION_MODE == ExecutionMode.WATCHER
            else TestBehavior.BUILD,
            emit_datasets=False,
        ),
        operator_args={
            "install_deps": False,
            "vars": {"run_date": "{{ ds }}"},
        },
    )
