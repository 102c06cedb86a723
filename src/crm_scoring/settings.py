"""Where things live. Every location is overridable through the environment, never hard-coded elsewhere."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def project_root() -> Path:
    """The repository root: `CRM_HOME`, else the checkout this package was installed from, else cwd."""
    env = os.environ.get("CRM_HOME")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "dbt_project" / "dbt_project.yml").exists() and (parent / "pyproject.toml").exists():
            return parent
    return Path.cwd().resolve()


def state_dir() -> Path:
    """Project-local, git-ignored state (embedded PostgreSQL data, Airflow home, reports)."""
    path = Path(os.environ.get("CRM_STATE_DIR", project_root() / ".crm"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def landing_dir() -> Path:
    return Path(os.environ.get("CRM_LANDING_DIR", project_root() / "data" / "landing"))


def reports_dir() -> Path:
    path = Path(os.environ.get("CRM_REPORTS_DIR", state_dir() / "reports"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def dbt_project_dir() -> Path:
    return project_root() / "dbt_project"


def dbt_target_dir() -> Path:
    """Where dbt writes manifest.json and run_results.json: DBT_TARGET_PATH (relative to the project, as dbt
    resolves it), else the project's target/."""
    target = Path(os.environ.get("DBT_TARGET_PATH") or "target")
    return target if target.is_absolute() else dbt_project_dir() / target


def dags_dir() -> Path:
    return project_root() / "dags"


def expectations_dir() -> Path:
    return project_root() / "expectations"


def model_definition_dir() -> Path:
    """`models/` at the top level: the churn model's config, search space and promotion policy."""
    return project_root() / "models"


def mlruns_dir() -> Path:
    path = project_root() / "mlruns"
    path.mkdir(parents=True, exist_ok=True)
    return path


def mlflow_tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{mlruns_dir() / 'mlflow.db'}"


def mlflow_artifact_root() -> str:
    """Artifact root for new experiments; only used when the tracking store is local."""
    return os.environ.get("CRM_MLFLOW_ARTIFACT_ROOT") or (mlruns_dir() / "artifacts").as_uri()


def airflow_home() -> Path:
    path = Path(os.environ.get("AIRFLOW_HOME", state_dir() / "airflow"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def environment(**values: str | None) -> Iterator[None]:
    """These environment variables set (None: unset) for the block, then restored as they were."""
    saved = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def isolated(root: Path) -> Iterator[None]:
    """Landing and MLflow inside `root` while a benchmark runs in a throw-away folder; restored after."""
    with environment(
        CRM_LANDING_DIR=str(root / "landing"),
        MLFLOW_TRACKING_URI=f"sqlite:///{root / 'mlflow.db'}",
        CRM_MLFLOW_ARTIFACT_ROOT=(root / "artifacts").as_uri(),
    ):
        yield
