"""The DAG files import cleanly in Airflow and have the shape the docs describe."""

from __future__ import annotations

import os

import pytest

from crm_scoring import dbt_invoke, settings


@pytest.fixture(scope="module")
def dagbag(warehouse_db: str, tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("airflow_home")
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["CRM_WAREHOUSE_URL"] = warehouse_db
    dbt_invoke.parse(warehouse_db)
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(settings.dags_dir()))


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}


def test_nightly_shape(dagbag) -> None:
    dag = dagbag.dags.get("crm_nightly")
    assert dag is not None
    ids = set(dag.task_ids)
    for expected in ("ingest", "validate_raw", "enrich_texts", "score", "validate_lists", "publish_lists"):
        assert expected in ids
    # one cosmos `dbt build` task per layer: marts before scoring, lists after it
    assert dag.get_task("dbt_marts").upstream_task_ids == {"enrich_texts"}
    assert dag.get_task("score").upstream_task_ids == {"dbt_marts"}
    assert dag.get_task("dbt_lists").upstream_task_ids == {"score"}
    # publication is the last step and only happens after list validation
    publish = dag.get_task("publish_lists")
    assert publish.upstream_task_ids == {"validate_lists"}
    assert dag.schedule == "@daily" or str(dag.timetable.summary) == "@daily"


def test_training_shape(dagbag) -> None:
    dag = dagbag.dags.get("churn_training")
    assert dag is not None
    ids = set(dag.task_ids)
    assert {"ingest_pending", "train", "gate_promotion", "promoted", "announce_champion"} <= ids
    announce = dag.get_task("announce_champion")
    assert [o.uri for o in announce.outlets] == ["crm://mlflow/models/churn@champion"]
    assert dag.get_task("train").upstream_task_ids == {"dbt_training_set"}
