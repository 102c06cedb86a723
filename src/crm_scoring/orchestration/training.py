"""Training outside Airflow (`crm train`): the same steps as the churn_training DAG, in one process.

Load any landing folders up to the date not loaded yet, build the point-in-time training
snapshots with dbt (and, before the first night of that date, the feature mart of the date itself: the
population the model will score, which the family choice compares validation with), then train, log and
register the model in MLflow.
"""

from __future__ import annotations

import logging
from datetime import date

from crm_scoring import dbt_invoke, settings
from crm_scoring.orchestration.dbt_selectors import SCORING_FEATURES, TRAINING, build_args

log = logging.getLogger(__name__)


def has_scoring_population(url: str, run_date: date) -> bool:
    """marts.churn_features holds rows for `run_date` (the night, or an earlier training, built them)."""
    from crm_scoring import warehouse
    from crm_scoring.model.config import load_config

    table = load_config().features_table
    with warehouse.connect(url) as conn:
        if conn.execute("select to_regclass(%s)", (table,)).fetchone()[0] is None:
            return False
        schema, name = table.split(".")
        query = f'select exists (select 1 from "{schema}"."{name}" where run_date = %s)'
        return bool(conn.execute(query, (run_date,)).fetchone()[0])


def ensure_scoring_population(url: str, run_date: date) -> bool:
    """Build the feature mart of `run_date` when it has no rows for that date yet; True when it built.

    Why: training compares its validation cutoff with the population it will score on `run_date`
    (model.train.scoring_shift: importance weights and the no-overlap guard of the family choice). After a
    night that population is in marts.churn_features; `crm train` or `make run`'s first champion on a fresh
    warehouse come before any night, and without it the family choice silently fell back to the unweighted
    validation AUC (issue 11, session 10). The night rebuilds the same date (incremental delete+insert of
    the date): idempotent, and the cost is paid only when the date is missing.
    """
    if has_scoring_population(url, run_date):
        return False
    log.info("building the feature mart of %s (the population the model will score)", run_date)
    dbt_invoke.invoke(build_args(SCORING_FEATURES), url, run_date)
    return True


def prepare_training_data(url: str, run_date: date) -> None:
    from crm_scoring.ingest import load_export_date, pending_dates
    from crm_scoring.privacy.nightly import after_load

    for day in pending_dates(url, settings.landing_dir(), run_date):
        log.info("loading landing folder %s", day)
        load_export_date(url, settings.landing_dir(), day)
        after_load(url, day, purge=False)  # PS-08: no erased customer in a training snapshot
    dbt_invoke.invoke(build_args(TRAINING), url, run_date)
    ensure_scoring_population(url, run_date)


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
