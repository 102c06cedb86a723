"""Champion selection among model families (issue 11): the pure rule, and a logistic-regression champion
through the whole real path (training, MLflow registry, pyfunc, nightly score, reason codes)."""

from __future__ import annotations

import dataclasses
import math

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from test_model import N_CUSTOMERS, RUN_DATE, _reasons, _scores, churn_db, mlflow_store  # noqa: F401

from crm_scoring import warehouse
from crm_scoring.model.config import load_config
from crm_scoring.model.family import GLM, SWITCH_PARAMETER, XGBOOST, choose_family
from crm_scoring.model.reasons import margin_contributions
from crm_scoring.model.score import load_champion, score
from crm_scoring.model.train import train


def test_choose_family_keeps_xgboost_unless_the_regression_is_clearly_better() -> None:
    assert choose_family({XGBOOST: 0.70, GLM: 0.705}, 0.005).family == GLM  # exactly the gain switches
    assert choose_family({XGBOOST: 0.70, GLM: 0.704}, 0.005).family == XGBOOST  # a tie keeps XGBoost
    assert choose_family({XGBOOST: 0.80, GLM: 0.70}, 0.005).family == XGBOOST
    choice = choose_family({XGBOOST: 0.70, GLM: 0.75}, 0.005)
    assert choice.family == GLM and choice.gain == pytest.approx(0.05) and "0.7500" in choice.reason
    assert choose_family({XGBOOST: 0.60, GLM: 0.75}, None).family == XGBOOST  # policy unset: as before
    assert choose_family({XGBOOST: 0.70}, 0.0).family == XGBOOST  # no regression (RFM columns absent)
    assert choose_family({XGBOOST: math.nan, GLM: 0.6}, 0.005).family == GLM
    assert choose_family({XGBOOST: 0.70, GLM: math.nan}, -1.0).family == XGBOOST


def _policy(url: str, rows: dict[str, str]) -> None:
    """A warehouse policy table holding only `rows` (every other parameter unset)."""
    with warehouse.connect(url) as conn:
        conn.execute("create schema if not exists policy")
        conn.execute(
            "create table policy.policy_parameters (key text, value text, unit text, tag text, source text, "
            "used_by text, policy_version text, effective_from date, approved_by text, notes text)"
        )
        for key, value in rows.items():
            conn.execute(
                "insert into policy.policy_parameters values (%s, %s, '', 'S', '', '', '2026.1', "
                "'2026-01-01', 'test', '')",
                (key, value),
            )


def test_regression_champion_end_to_end(churn_db: str, mlflow_store: MlflowClient) -> None:  # noqa: F811
    """A switch threshold of -1 makes the regression win on validation whatever the AUCs: it must then be
    registered, gated, served by pyfunc and the nightly scorer, and explained by its linear terms."""
    _policy(churn_db, {SWITCH_PARAMETER: "-1", "model_max_auc_loss_to_baseline": "0.005"})
    cfg = load_config()  # one search trial: the XGBoost candidate only has to exist here
    cfg = dataclasses.replace(cfg, search=dataclasses.replace(cfg.search, max_trials=1, max_trials_cap=1))
    result = train(churn_db, RUN_DATE, seed=42, config=cfg)
    run = mlflow_store.get_run(result.run_id)
    assert run.data.tags["model_family"] == GLM
    assert {f"validation.{f}.roc_auc" for f in (XGBOOST, GLM)} <= set(run.data.metrics)
    assert result.features == ["recency_days", "orders_365d", "revenue_365d"]
    # same regression as the baseline on the same rows: a tie, which the first-version gate passes
    assert run.data.metrics["roc_auc"] == pytest.approx(run.data.metrics["baseline_rfm_roc_auc"], abs=1e-9)
    assert result.aliases == ("champion", "challenger")
    mv = mlflow_store.get_model_version_by_alias("churn", "champion")
    assert mv.tags["model_family"] == GLM and mv.tags["first_version_gate"] == "pass"
    artifacts = {a.path for a in mlflow_store.list_artifacts(result.run_id)}
    assert {"base_margin.json", "drift_reference.json", "shap_mean_abs.json", "feature_importance.json"} <= (
        artifacts
    )

    model = load_champion()
    assert model.booster is None and model.family == GLM
    probe = pd.DataFrame({f: [30.0, np.nan, 200.0] for f in result.features})
    served = mlflow.pyfunc.load_model("models:/churn@champion").predict(probe)
    np.testing.assert_allclose(served, model.predict(probe.to_numpy(dtype=np.float64)))

    out = score(churn_db, RUN_DATE)
    assert out.rows == N_CUSTOMERS and out.model_version == result.version
    scores = _scores(churn_db)
    assert scores["p"].between(0, 1).all() and scores["p"].nunique() > 5
    reasons = _reasons(churn_db)
    assert out.reason_rows == len(reasons) > 0
    assert set(reasons["feature"]) <= set(result.features) and (reasons["contribution"] > 0).all()
    # exact linear contributions: coef x (transformed value - training mean) / scale, per feature
    first = reasons.sort_values(["customer_id", "reason_rank"]).iloc[0]
    with warehouse.connect(churn_db) as conn:
        row = conn.execute(
            "select recency_days, orders_365d, revenue_365d from marts.churn_features where customer_id = %s",
            (first["customer_id"],),
        ).fetchone()
    x = np.array([[np.nan if v is None else float(v) for v in row]])
    expected = margin_contributions(model.margin, x, model.features)[
        0, model.features.index(first["feature"])
    ]
    assert first["contribution"] == pytest.approx(expected)
