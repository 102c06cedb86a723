"""churn_training: weekly (and on demand) retraining of the churn model in MLflow.

load pending landing folders -> dbt training snapshots (cosmos) -> train, log, register (@challenger)
-> promotion gate (CH-04) -> announce the new @champion as an Asset event, only when promoted.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from crm_scoring.orchestration import assets, callbacks, tasks
from crm_scoring.orchestration.dbt_config import dbt_build_task
from crm_scoring.orchestration.dbt_selectors import TRAINING


@dag(
    dag_id="churn_training",
    schedule="@weekly",
    start_date=pendulum.datetime(1990, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    # retries with exponential back-off, a timeout, the warehouse-writer lock and ops.task_failures
    # rows for every task (docs/reliability.md)
    default_args=callbacks.default_args(),
    tags=["crm", "ml"],
    doc_md=__doc__,
)
def churn_training() -> None:
    @task(outlets=[assets.RAW_LOAD])
    def ingest_pending(ds: str | None = None) -> list[str]:
        return tasks.ingest_pending(ds)

    snapshots = dbt_build_task("dbt_training_set", TRAINING)

    @task
    def train(ds: str | None = None) -> dict:
        return tasks.train(ds)

    @task
    def gate_promotion(ds: str | None = None) -> dict:
        return tasks.gate_promotion(ds)

    @task.short_circuit
    def promoted(result: dict) -> bool:
        return bool(result["promoted"])

    @task(outlets=[assets.CHAMPION_MODEL])
    def announce_champion(result: dict, outlet_events=None) -> str:
        version = str(result["champion_version"])
        if outlet_events is not None:
            outlet_events[assets.CHAMPION_MODEL].extra = {"version": version}
        return version

    gate = gate_promotion()
    ingest_pending() >> snapshots >> train() >> gate
    promoted(gate) >> announce_champion(gate)


churn_training()
