"""crm_nightly: the night's export in, the day's retention and compensation lists out.

ingest -> validate raw (GX) beside enrich texts -> dbt marts (cosmos: the models the scores and the lists
read) -> score (@champion) -> dbt lists (cosmos: candidates, their reason codes, lists) -> validate lists
(GX) -> publish (then the others' reason codes) -> drift -> dbt reporting (every other model of the night:
monitoring, alerts, complaint / crisis / campaign reporting) -> morning report (HTML) and alert delivery
-> history retention (per-date marts, scores and lists older than their policy retention are deleted).
Publish first: nothing the lists do not read stands between the export and the published lists.
The logical date is the run date; logic lives in crm_scoring.
Each dbt step is one `dbt build` task; its log lists every model's and test's result. The marts' data
tests are their own `dbt test` task (dbt_marts_tests), beside score and dbt lists; publish waits for it.
With CRM_SCORE_SHARDS=N > 1, scoring runs as N mapped `score_shard` tasks (one per stable hash shard
of customer_id, spread over the executor's workers), then `score` checks them and backtests.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DeadlineAlert, DeadlineReference, SyncCallback, dag, task

from crm_scoring.orchestration import assets, callbacks, notify, sharding, stage_log, tasks
from crm_scoring.orchestration.dbt_config import dbt_build_task, dbt_test_task
from crm_scoring.orchestration.dbt_selectors import LISTS, MARTS, REPORTING
from crm_scoring.orchestration.lists_step import ListsBuildOperator

# AL-20: lists not published lists_publish_deadline_minutes after the run was queued -> the notifiers
_DEADLINE_MINUTES = notify.publish_deadline_minutes()
_SCORE_SHARDS = sharding.score_shards()
_DEADLINE = (
    DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(minutes=_DEADLINE_MINUTES),
        callback=SyncCallback(notify.deadline_missed, kwargs={"minutes": _DEADLINE_MINUTES}),
    )
    if _DEADLINE_MINUTES
    else None
)


@dag(
    dag_id="crm_nightly",
    schedule="@daily",
    start_date=pendulum.datetime(1990, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    # retries with exponential back-off, a timeout, the warehouse-writer lock and ops.task_failures
    # rows for every task (docs/reliability.md)
    default_args=callbacks.default_args(),
    tags=["crm", "nightly"],
    doc_md=__doc__,
    # AL-20: a failed nightly is reported through the same notifiers as the alerts
    on_failure_callback=[notify.RunFailureNotifier()],
    deadline=_DEADLINE,
)
def crm_nightly() -> None:
    @task(outlets=[assets.RAW_LOAD])
    def ingest(ds: str | None = None) -> dict:
        return tasks.ingest(ds)

    # read-only (GX on the night's raw rows): no writer lock, so it runs beside enrich_texts; dbt_marts
    # waits for both, so a failed raw check still blocks the marts, the scores and the lists
    @task(on_execute_callback=[callbacks.on_execute_reader])
    def validate_raw(ds: str | None = None) -> dict:
        return tasks.validate_raw(ds)

    @task
    def enrich_texts(ds: str | None = None) -> dict:
        return tasks.enrich_texts(ds)

    # the seeds and the models the scores and the lists read (selector nightly_marts); their data tests
    # (two thirds of the build's node time) run in dbt_marts_tests beside scoring and the lists, and
    # publish_lists waits for them
    marts = dbt_build_task(
        "dbt_marts",
        MARTS,
        dbt_cmd_flags=["--exclude-resource-type", "test"],
        **callbacks.with_defaults(stage_log.airflow_callbacks("dbt_marts")),
    )
    # read-only (callbacks.on_execute_reader): no writer lock, so it overlaps score and dbt_lists
    marts_tests = dbt_test_task(
        "dbt_marts_tests", MARTS, **callbacks.reader_callbacks(stage_log.airflow_callbacks("dbt_marts_tests"))
    )

    # the champion model is an inlet: lineage from a promotion to the scores it produces
    if _SCORE_SHARDS == 1:

        @task(inlets=[assets.CHAMPION_MODEL], outlets=[assets.CHURN_SCORES])
        def score(ds: str | None = None) -> dict:
            return tasks.score(ds)

        scored = score()
        marts >> scored
    else:
        # one mapped task per shard; they share the writer lock (shared mode), each writes its customers
        @task(
            inlets=[assets.CHAMPION_MODEL],
            on_execute_callback=[callbacks.on_execute_shared],
            map_index_template="{{ task.op_kwargs['index'] }}",
        )
        def score_shard(index: int, ds: str | None = None) -> dict:
            return tasks.score_shard(ds, index, _SCORE_SHARDS)

        @task(outlets=[assets.CHURN_SCORES])
        def score(shards: list[dict], ds: str | None = None) -> dict:
            return tasks.score_shards_done(ds, list(shards))

        shards = score_shard.expand(index=list(range(_SCORE_SHARDS)))
        marts >> shards
        scored = score(shards)

    # candidates -> their reason codes (CH-06) -> lists, in one task (tasks.build_lists)
    lists = dbt_build_task(
        "dbt_lists",
        LISTS,
        operator=ListsBuildOperator,
        **callbacks.with_defaults(stage_log.airflow_callbacks("dbt_lists")),
    )

    @task
    def validate_lists(ds: str | None = None) -> dict:
        return tasks.validate_lists(ds)

    @task(outlets=[assets.RETENTION_LIST, assets.COMPENSATION_LIST])
    def publish_lists(ds: str | None = None) -> dict:
        return tasks.publish_lists(ds)

    # reporting and monitoring after publishing: a fault there never holds back the lists.
    # The post-publish writers of disjoint tables share the writer lock (callbacks.on_execute_shared):
    # drift (scoring.drift_metrics) beside explain_rest (scoring.churn_reasons), then render_report (its file,
    # ops.daily_reports) beside deliver_alerts (ops.alert_deliveries); none reads what the other writes.
    # dbt_reporting (dbt's DDL hooks, the reporting marts) and prune_history (deletes across schemas)
    # keep it exclusive, so each waits for the shared pair before it.
    @task(on_execute_callback=[callbacks.on_execute_shared])
    def drift(ds: str | None = None) -> dict:
        return tasks.drift(ds)

    reporting = dbt_build_task(
        "dbt_reporting", REPORTING, **callbacks.with_defaults(stage_log.airflow_callbacks("dbt_reporting"))
    )

    @task(on_execute_callback=[callbacks.on_execute_shared])
    def deliver_alerts(ds: str | None = None) -> dict:
        return tasks.deliver_alerts(ds)

    @task(on_execute_callback=[callbacks.on_execute_shared])
    def render_report(ds: str | None = None) -> dict:
        return tasks.render_report(ds)

    # history retention last: a fault there never holds back the lists, the report or the alerts
    @task
    def prune_history(ds: str | None = None) -> dict:
        return tasks.prune_history(ds)

    # CH-06: the reason codes of every scored customer the lists step did not explain, off the lists' path
    @task(on_execute_callback=[callbacks.on_execute_shared])
    def explain_rest(ds: str | None = None) -> dict:
        return tasks.explain_rest(ds)

    published = publish_lists()
    published >> explain_rest()
    (ingest() >> [validate_raw(), enrich_texts()] >> marts)
    # every check before publishing: the marts' data tests as much as the lists' validation
    marts >> marts_tests >> published
    (
        scored
        >> lists
        >> validate_lists()
        >> published
        >> drift()
        >> reporting
        >> [render_report(), deliver_alerts()]
        >> prune_history()
    )


crm_nightly()
