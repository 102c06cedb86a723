"""Training before any night sees the population it will score (issue 11, session 10).

`crm train` and `make run`'s first champion run on a warehouse where no night has built the feature mart
of the training date. The family choice compares its validation cutoff (and the gate's holdout) with that
population (model.train.scoring_shift); without it the shift weighting and the no-overlap guard were
silently skipped. Real PostgreSQL, real dbt, demo data; no MLflow (nothing is trained here).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from crm_scoring import settings, warehouse
from crm_scoring.demo import generate
from crm_scoring.model.config import load_config
from crm_scoring.model.dataset import feature_columns, load_training_set, split_out_of_time
from crm_scoring.model.train import informative_features, scoring_shift
from crm_scoring.orchestration.training import (
    ensure_scoring_population,
    has_scoring_population,
    prepare_training_data,
)

DAY = date(2024, 3, 4)
CUSTOMERS, SEED = 400, 5


@pytest.fixture
def fresh_warehouse(server_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh database and a landing folder of demo data up to DAY: nothing built, no night run."""
    generate(tmp_path / "landing", DAY, DAY, CUSTOMERS, SEED, history_days=400, progress=False)
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "dbt_target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "dbt_logs"))
    name = warehouse.create_database(server_url, "crm_t_pop")
    url = warehouse.with_database(server_url, name)
    monkeypatch.setenv("CRM_WAREHOUSE_URL", url)
    try:
        with settings.isolated(tmp_path):
            yield url
    finally:
        warehouse.drop_database(server_url, name)


def test_training_before_any_night_builds_and_reads_the_scored_population(fresh_warehouse: str) -> None:
    url = fresh_warehouse
    assert not has_scoring_population(url, DAY)  # no night: the feature mart does not even exist
    prepare_training_data(url, DAY)  # what `crm train` and ensure-champion run before training
    assert has_scoring_population(url, DAY)
    assert ensure_scoring_population(url, DAY) is False  # present now: not built twice

    cfg = load_config()
    frame = load_training_set(url, DAY, config=cfg)
    features, _ = informative_features(frame, feature_columns(frame, cfg))
    split = split_out_of_time(frame, cfg.split, cfg.target)
    shift, unweighted_why = scoring_shift(url, DAY, cfg, split, features)
    assert shift is not None, unweighted_why
    assert "unreadable" not in unweighted_why
    assert 0.45 <= shift.domain_auc <= 1.0
    assert 0.45 <= shift.holdout_domain_auc <= 1.0 and math.isfinite(shift.holdout_domain_auc)
    assert len(shift.weights) == len(split.valid)
