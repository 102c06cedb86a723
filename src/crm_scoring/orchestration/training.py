"""Training outside Airflow (`crm train`): the same steps as the churn_training DAG, in one process.

Load any landing folders up to the date not loaded yet, build the point-in-time training
snapshots with dbt, then train, log and register the model in MLflow.
"""

from __future__ import annotations

import logging
from datetime import date

from crm_scoring import dbt_invoke, settings
from crm_scoring.orchestration.dbt_selectors import TRAINING, build_args

log = logging.getLogger(__name__)


def prepare_training_data(url: str, run_date: date) -> None:
    from crm_scoring.ingest import load_export_date, pending_dates
    from crm_scoring.privacy.nightly import after_load

    for day in pending_dates(url, settings.landing_dir(), run_date):
        log.info("loading landing folder %s", day)
        load_export_date(url, settings.landing_dir(), day)
        after_load(url, day, purge=False)  # PS-08: no erased customer in a training snapshot
    dbt_invoke.invoke(build_args(TRAINING), url, run_date)


def train_through(url: str, run_date: date, seed: int = 42):  # noqa: ANN201 - returns model.TrainResult
    from crm_scoring.model.train import train

    prepare_training_data(url, run_date)
    return train(url, run_date, seed=seed)


def ensure_champion_through(url: str, run_date: date) -> str:
    """Used by `make run`: a fresh clone has no model yet, so train one and make it champion."""
    from crm_scoring.model.registry import champion_version
    from crm_scoring.model.train import ensure_champion

    version = champion_version()
    if version is not None:
        return version
    prepare_training_data(url, run_date)
    version = ensure_champion(url, run_date)
    if version is None:
        raise RuntimeError("training finished but no @champion alias exists")
    return version
