"""crm_nightly: the night's export in, the day's retention and compensation lists out.

ingest -> validate raw (GX) -> enrich texts -> dbt marts (cosmos) -> score (@champion) -> dbt lists (cosmos)
-> validate lists (GX) -> publish -> morning report (HTML). The logical date is the run date; logic lives in
crm_scoring.
Each dbt step is one `dbt build` task; its log lists every model's and test's result.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from crm_scoring.orchestration import assets, tasks
from crm_scoring.orchestration.dbt_config import dbt_build_task
from crm_scoring.orchestration.dbt_selectors import LISTS_SELECT, MARTS_EXCLUDE, MARTS_SELECT


@dag(
    dag_id="crm_nightly",
    schedule="@daily",
    start_date=pendulum.datetime(1990, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["crm", "nightly"],
    doc_md=__doc__,
)
def crm_nightly() -> None:
    @task(outlets=[assets.RAW_LOAD])
    def ingest(ds: str | None = None) -> dict:
        return tasks.ingest(ds)

    @task
    def validate_raw(ds: str | None = None) -> dict:
        return tasks.validate_raw(ds)

    @task
    def enrich_texts(ds: str | None = None) -> dict:
        return tasks.enrich_texts(ds)

    marts = dbt_build_task("dbt_marts", select=MARTS_SELECT, exclude=MARTS_EXCLUDE)

    # the champion model is an inlet: lineage from a promotion to the scores it produces
    @task(inlets=[assets.CHAMPION_MODEL], outlets=[assets.CHURN_SCORES])
    def score(ds: str | None = None) -> dict:
        return tasks.score(ds)

    lists = dbt_build_task("dbt_lists", select=LISTS_SELECT)

    @task
    def validate_lists(ds: str | None = None) -> dict:
        return tasks.validate_lists(ds)

    @task(outlets=[assets.RETENTION_LIST, assets.COMPENSATION_LIST])
    def publish_lists(ds: str | None = None) -> dict:
        return tasks.publish_lists(ds)

    @task
    def render_report(ds: str | None = None) -> dict:
        return tasks.render_report(ds)

    (
        ingest()
        >> validate_raw()
        >> enrich_texts()
        >> marts
        >> score()
        >> lists
        >> validate_lists()
        >> publish_lists()
        >> render_report()
    )


crm_nightly()
