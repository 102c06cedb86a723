"""Boosting from the RFM logistic regression's logit (config xgboost.base_margin): pure logic.

The regression travels with the booster as JSON (`margin.LinearMargin`); these tests pin that the JSON
form is the fitted regression, that scoring (`LoadedModel.predict`, inplace_predict with base_margin)
equals training's DMatrix predictions, and that reason codes decompose the WHOLE margin.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import xgboost as xgb

from crm_scoring.model.artifacts import LoadedModel
from crm_scoring.model.baseline import fit_rfm_baseline, linear_margin
from crm_scoring.model.config import XGBConfig
from crm_scoring.model.margin import LinearMargin
from crm_scoring.model.reasons import compute_reason_codes, contributions, margin_contributions

RFM = ["recency_days", "orders_365d", "revenue_365d"]
FEATURES = ["complaints_90d", *RFM]


def _frame(n: int = 3000, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    recency = rng.integers(0, 365, n).astype(float)
    recency[rng.random(n) < 0.08] = np.nan  # never purchased: NULL recency, imputed and flagged
    orders = rng.poisson(3, n).astype(float)
    revenue = np.round(rng.gamma(2.0, 80.0, n), 2)
    complaints = rng.poisson(0.5, n).astype(float)
    logit = -0.5 + 0.006 * np.nan_to_num(recency, nan=300) - 0.3 * orders + 0.8 * (complaints >= 2)
    churned = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(
        {
            "complaints_90d": complaints,
            "recency_days": recency,
            "orders_365d": orders,
            "revenue_365d": revenue,
            "churned": churned,
        }
    )


def _boosted(frame: pd.DataFrame) -> tuple[xgb.Booster, LinearMargin]:
    margin = linear_margin(fit_rfm_baseline(frame, RFM, "churned", 0), RFM)
    x = frame[FEATURES].to_numpy(np.float64)
    dm = xgb.DMatrix(x, label=frame["churned"].to_numpy(), feature_names=FEATURES)
    dm.set_base_margin(margin.margin_from(x, FEATURES))
    params = {"objective": "binary:logistic", "max_depth": 2, "eta": 0.1, "seed": 0, "nthread": 1}
    return xgb.train(params, dm, num_boost_round=30), margin


def test_the_json_margin_is_the_fitted_regression() -> None:
    frame = _frame()
    pipeline = fit_rfm_baseline(frame, RFM, "churned", 0)
    margin = linear_margin(pipeline, RFM)
    assert "missing" in margin.kind  # NULL recency got its indicator column
    x = frame[RFM].to_numpy(np.float64)
    np.testing.assert_allclose(margin.margin(x), pipeline.decision_function(x), rtol=0, atol=1e-9)
    again = LinearMargin.from_json(margin.to_json())
    assert again == margin
    # per-feature contributions + intercept add up to the logit; the average training row is the reference
    contrib = margin.contributions(x)
    np.testing.assert_allclose(contrib.sum(axis=1) + margin.intercept, margin.margin(x), atol=1e-9)
    np.testing.assert_allclose(contrib.mean(axis=0), 0.0, atol=1e-9)
    assert np.corrcoef(contrib[:, 0], np.nan_to_num(x[:, 0], nan=400))[0, 1] > 0.8  # recency raises risk


def test_scoring_with_the_margin_equals_training_predictions() -> None:
    frame = _frame()
    booster, margin = _boosted(frame)
    x = frame[FEATURES].to_numpy(np.float64)
    dm = xgb.DMatrix(x, feature_names=FEATURES)
    dm.set_base_margin(margin.margin_from(x, FEATURES))
    model = LoadedModel("churn", "1", "run", booster, FEATURES, {"method": "none"}, margin)
    np.testing.assert_allclose(model.predict(x), booster.predict(dm), rtol=0, atol=1e-6)
    assert len(model.predict(x[:0])) == 0
    # without the margin the booster's own output is only the residual: a different, wrong score
    assert np.abs(booster.predict(xgb.DMatrix(x, feature_names=FEATURES)) - booster.predict(dm)).max() > 0.05


def test_reasons_decompose_the_whole_margin() -> None:
    frame = _frame()
    booster, margin = _boosted(frame)
    x = frame[FEATURES].to_numpy(np.float64)
    dm = xgb.DMatrix(x, feature_names=FEATURES)
    dm.set_base_margin(margin.margin_from(x, FEATURES))
    total = booster.predict(dm, output_margin=True)
    trees = contributions(booster, x, FEATURES)
    linear = margin_contributions(margin, x, FEATURES)
    assert linear.shape == trees.shape and np.all(linear[:, 0] == 0)  # complaints: trees only
    bias = total - trees.sum(axis=1) - linear.sum(axis=1)
    # what is left is one constant for every customer: the regression's intercept + the trees' bias
    assert np.ptp(bias) < 1e-4
    # and the reason codes rank these full contributions: the riskiest recency is a reason
    model = LoadedModel("churn", "1", "run", booster, FEATURES, {"method": "none"}, margin)
    ids = pd.DataFrame({"customer_id": [f"c{i}" for i in range(len(frame))], **frame[FEATURES]})
    table = compute_reason_codes(model, ids, date(2026, 11, 26), top_k=2).to_pandas()
    worst = int(np.nanargmax(x[:, 1]))
    top = table[(table["customer_id"] == f"c{worst}") & (table["reason_rank"] == 1)]
    assert top["feature"].tolist() == ["recency_days"]
    full = trees + linear
    np.testing.assert_allclose(top["contribution"].to_numpy(), [full[worst].max()], rtol=1e-6)


def test_round_cap_scales_with_rows() -> None:
    cfg = XGBConfig(num_boost_round=2000, rounds_per_10k_rows=120, num_boost_round_max=6000)
    assert cfg.rounds_for(19_000) == 2000
    assert cfg.rounds_for(250_000) == 3000
    assert cfg.rounds_for(10_000_000) == 6000
    assert XGBConfig(num_boost_round=600).rounds_for(10_000_000) == 600


def _lapsed_frame(n: int = 6000, seed: int = 5) -> pd.DataFrame:
    """Active customers churn less the more they bought; lapsed ones the other way round (a frequent
    buyer who stopped is gone), the reversal a pooled additive regression cannot express."""
    rng = np.random.default_rng(seed)
    inactive = rng.integers(0, 400, n).astype(float)
    orders = rng.poisson(3, n).astype(float)
    revenue = np.round(rng.gamma(2.0, 80.0, n), 2)
    lapsed = inactive >= 90
    logit = np.where(lapsed, 0.5 + 0.6 * orders, -0.5 + 0.004 * inactive - 0.4 * orders)
    churned = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(
        {
            "days_inactive": inactive,
            "recency_days": inactive,
            "orders_365d": orders,
            "revenue_365d": revenue,
            "churned": churned,
        }
    )


def test_the_lapsed_get_a_regression_of_their_own() -> None:
    from sklearn.metrics import roc_auc_score

    from crm_scoring.model.baseline import LapsedSegment, fit_rfm_margin

    frame = _lapsed_frame()
    lapsed = frame["days_inactive"].to_numpy() >= 90
    margin, how = fit_rfm_margin(frame, RFM, "churned", 0, LapsedSegment("days_inactive", 90, 50))
    assert "fitted apart" in how and margin.lapsed is not None
    assert margin.columns == (*RFM, "days_inactive")
    x = frame[list(margin.columns)].to_numpy(np.float64)
    # the active rows get exactly the regression a non-lapsed training set would give
    active_only = fit_rfm_baseline(frame[~lapsed], RFM, "churned", 0)
    np.testing.assert_allclose(
        margin.margin(x)[~lapsed], active_only.decision_function(x[~lapsed, :3]), rtol=0, atol=1e-9
    )
    # the lapsed rows learn their own sign for frequency and rank better than the pooled regression
    pooled, pooled_how = fit_rfm_margin(frame, RFM, "churned", 0)
    assert pooled.lapsed is None and pooled_how == "one regression on every training row"
    y = frame["churned"].to_numpy()
    own = roc_auc_score(y[lapsed], margin.margin(x)[lapsed])
    shared = roc_auc_score(y[lapsed], pooled.margin(x[:, :3])[lapsed])
    assert own > shared + 0.05
    # JSON round trip, and contributions + the row's own segment intercept add up to its logit
    again = LinearMargin.from_json(margin.to_json())
    assert again == margin
    intercept = np.where(lapsed, margin.lapsed.intercept, margin.intercept)
    np.testing.assert_allclose(margin.contributions(x).sum(axis=1) + intercept, margin.margin(x), atol=1e-9)
    assert np.all(margin.contributions(x)[:, 3] == 0)  # the segment column picks, it does not explain
    # through the logistic-regression family's LoadedModel (no booster) and its reason codes
    model = LoadedModel("churn", "1", "run", None, list(margin.columns), {"method": "none"}, margin)
    np.testing.assert_allclose(model.predict(x), 1 / (1 + np.exp(-margin.margin(x))), atol=1e-12)


def test_too_few_lapsed_rows_keep_one_pooled_regression() -> None:
    from crm_scoring.model.baseline import LapsedSegment, fit_rfm_margin

    frame = _lapsed_frame()
    few = pd.concat([frame[frame["days_inactive"] < 90], frame[frame["days_inactive"] >= 90].head(60)])
    margin, how = fit_rfm_margin(few, RFM, "churned", 0, LapsedSegment("days_inactive", 90, 50))
    assert margin.lapsed is None and margin.columns == tuple(RFM)
    assert "fewer than 50 of a class" in how and "lapsed" in how
    assert "lapsed" not in margin.to_json()  # the file reads as a pooled regression always did
