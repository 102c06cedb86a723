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

from crm_scoring import stack_room

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


def _preload_and_schedule() -> None:
    preload()
    from airflow.__main__ import main as airflow_main

    sys.argv = ["airflow", "scheduler", *sys.argv[1:]]
    airflow_main()


def main() -> None:
    """The preload and the scheduler from a frame with stack room (crm_scoring.stack_room): the preload's
    imports straddled CPython 3.11 frame-stack chunks (142,000 minor page faults and 8.2-9.6 CPU s
    plain, 86,000 and 7.7-8.1 CPU s with the room), and every LocalExecutor worker and task process is
    forked from this stack, so they inherit the room too."""
    stack_room.call(_preload_and_schedule)


if __name__ == "__main__":
    main()
