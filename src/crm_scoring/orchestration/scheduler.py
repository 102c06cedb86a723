"""`airflow scheduler` with the tasks' heavy libraries imported once, before the executor forks.

LocalExecutor forks its workers from the scheduler and each worker forks one process per task
(Airflow's default, fork-based). A task process pays every import its task needs: Great
Expectations, MLflow and XGBoost, dbt and cosmos cost seconds of CPU each, on every task and every
night. Imported here first, every forked task process inherits them. `crm run` starts its scheduler
through this module (`python -m crm_scoring.orchestration.scheduler`); a deployed scheduler may too.

An import that fails here is only reported: the task imports the module again and fails with its
own error, in its own log.
"""

from __future__ import annotations

import importlib
import sys
import time

# what the platform's task processes import, heaviest first (import time, not use, is what counts)
PRELOAD = (
    "airflow.sdk.execution_time.task_runner",
    "cosmos.operators.local",
    "dbt.cli.main",
    "great_expectations",
    "mlflow",
    "xgboost",
    "crm_scoring.orchestration.tasks",
    "crm_scoring.model",
    "crm_scoring.quality",
)


def preload() -> None:
    start = time.perf_counter()
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - reported; the task fails on its own import
            print(f"crm scheduler: preloading {name} failed: {exc!r}", file=sys.stderr)
    took = time.perf_counter() - start
    print(f"crm scheduler: preloaded {len(PRELOAD)} modules in {took:.1f} s", flush=True)


def main() -> None:
    preload()
    from airflow.__main__ import main as airflow_main

    sys.argv = ["airflow", "scheduler", *sys.argv[1:]]
    airflow_main()


if __name__ == "__main__":
    main()
