"""Censored-history churn recipes for the offline lab (issue 11, session 7): survival instead of 0/1 labels.

Why: in the strict regime a model scoring at as-of A may only use labels that matured by A, i.e. cutoffs
c <= A - 90, whose customers are much younger than the scored ones (docs/churn_research.md). Cutoffs in
(A - 90, A) still carry *partial* labels: a purchase in (c, A] is known, no purchase so far is right-
censored at A - c days. A survival formulation uses them legally, on customers whose tenure matches the
scored population, and still answers the platform's question, P(no purchase within 90 days | x at A):

- `aft`: XGBoost `survival:aft` (accelerated failure time: log T = mu(x) + sigma * Z), interval labels
  [t, t] for an observed next purchase, [t_censor, +inf) for none yet; churn = S(90 | x) =
  1 - F_Z((log 90 - mu) / sigma). Optionally boosted from the exponential GLM's log mean time.
- `exp_glm`: an exponential-hazard (constant rate) Poisson GLM, events with a log-exposure offset
  (fitted as rate = event / exposure weighted by exposure, which is the same likelihood); churn =
  exp(-90 * rate).
- `poisson`: XGBoost `count:poisson` on the events with base margin log(rate_glm * exposure), i.e.
  trees boosted from that GLM (piece-free exponential hazard); churn = exp(-exp(margin at 90 days)).

Leakage guard (asserted in `time_to_next`): only purchase days <= A are read for the labels, features at
c only use days <= c (`offline.features_at`). Nothing here is imported by the runtime (a tool package).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd
import xgboost as xgb
from scipy.special import expit, ndtr
from sklearn.impute import SimpleImputer
from sklearn.linear_model import PoissonRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler


class Recipe(Protocol):
    """What a survival fit reads of an `offline.Recipe` (structural, so this module does not import
    offline, which imports it)."""

    survival: str | None
    params: dict[str, Any]
    max_rounds: int
    early_stopping: int
    lr_margin: bool
    margin_cols: Any
    aft_distribution: str
    aft_scale: float


VALID_SHARE_TENTHS = 2  # customers (stable hash) held out for early stopping: the labels are censored,
# so a time-based fold (the latest cutoffs) would only hold a few days of follow-up


def train_early_stopping(
    params: dict[str, Any], dfit: xgb.DMatrix, dvalid: xgb.DMatrix, recipe: Recipe
) -> tuple[xgb.Booster, int]:
    """The booster trained on `dfit` with early stopping on `dvalid`, and its best number of rounds:
    the one training call of the classifier (offline.fit_predict) and the survival recipes."""
    booster = xgb.train(
        params,
        dfit,
        num_boost_round=recipe.max_rounds,
        evals=[(dvalid, "valid")],
        early_stopping_rounds=recipe.early_stopping,
        verbose_eval=False,
    )
    return booster, booster.best_iteration + 1


def time_to_next(days: pd.DataFrame, cutoff_day: int, as_of_day: int, horizon: int) -> pd.DataFrame:
    """customer_id, time, event for every customer known at the cutoff.

    time = days from the cutoff to the next purchase when it happened by min(as_of, cutoff + horizon)
    (event 1), else the censoring time min(as_of, cutoff + horizon) - cutoff (event 0). Purchases after
    the as-of date are never read.
    """
    assert cutoff_day < as_of_day, "a survival cutoff must be before the as-of date"
    end = min(as_of_day, cutoff_day + horizon)
    known = np.sort(days.loc[days["day"] <= cutoff_day, "customer_id"].unique())
    window = days[(days["day"] > cutoff_day) & (days["day"] <= end)]
    assert window["day"].max() <= as_of_day if len(window) else True
    nxt = window.groupby("customer_id")["day"].min().reindex(known) - cutoff_day
    event = nxt.notna().to_numpy()
    time = nxt.fillna(end - cutoff_day).to_numpy(np.float64)
    return pd.DataFrame({"customer_id": known, "time": time, "event": event.astype(int)})


def exposure_glm(fit: pd.DataFrame, columns: list[str]) -> Pipeline:
    """Exponential-hazard GLM on log1p features: Poisson on event / exposure, weighted by exposure."""
    model = make_pipeline(
        FunctionTransformer(lambda x: np.log1p(np.clip(x, 0.0, None))),
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        StandardScaler(),
        PoissonRegressor(alpha=1e-6, max_iter=1000, solver="newton-cholesky"),
    )
    exposure = fit["time"].to_numpy(np.float64)
    model.fit(
        fit[columns].to_numpy(np.float64),
        fit["event"].to_numpy(np.float64) / exposure,
        poissonregressor__sample_weight=exposure,
    )
    return model


def _log_rate(model: Pipeline, frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    return np.log(np.clip(model.predict(frame[columns].to_numpy(np.float64)), 1e-12, None))


def _survival_z(z: np.ndarray, distribution: str) -> np.ndarray:
    """P(Z > z) of the AFT noise distribution (xgboost's normal | logistic | extreme)."""
    if distribution == "normal":
        return 1.0 - ndtr(z)
    if distribution == "logistic":
        return 1.0 - expit(z)
    if distribution == "extreme":
        return np.exp(-np.exp(z))
    raise ValueError(f"unknown aft distribution {distribution!r}")


def _dmatrix(
    frame: pd.DataFrame, cols: list[str], margin: np.ndarray | None = None, **info: Any
) -> xgb.DMatrix:
    m = xgb.DMatrix(frame[cols].to_numpy(np.float64), feature_names=cols, nthread=2)
    if margin is not None:
        m.set_base_margin(margin)
    if info:
        m.set_info(**info)
    return m


def fit_predict_survival(
    train: pd.DataFrame,
    test: pd.DataFrame,
    cols: list[str],
    recipe: Recipe,
    seed: int,
    horizon: int,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Churn probability P(T > horizon | x at the as-of date) for `test` from censored `train` rows."""
    is_valid = (
        pd.util.hash_pandas_object(train["customer_id"], index=False).to_numpy() % 10 < VALID_SHARE_TENTHS
    )
    fit, valid = train[~is_valid], train[is_valid]
    mcols = list(recipe.margin_cols)
    info: dict[str, Any] = {
        "features": len(cols),
        "fit_rows": len(fit),
        "valid_rows": len(valid),
        "events_share": float(train["event"].mean()),
    }
    log_h = np.log(float(horizon))
    glm = None
    if recipe.survival == "exp_glm" or recipe.lr_margin:
        glm = exposure_glm(fit, mcols)
        lr_fit, lr_valid, lr_test = (_log_rate(glm, f, mcols) for f in (fit, valid, test))
    if recipe.survival == "exp_glm":
        return np.exp(-np.exp(lr_test + log_h)), info | {"features": len(mcols)}
    params: dict[str, Any] = {"tree_method": "hist", "nthread": 2, "seed": seed} | recipe.params
    t_fit, t_valid = fit["time"].to_numpy(np.float64), valid["time"].to_numpy(np.float64)
    if recipe.survival == "aft":
        params |= {
            "objective": "survival:aft",
            "eval_metric": "aft-nloglik",
            "aft_loss_distribution": recipe.aft_distribution,
            "aft_loss_distribution_scale": recipe.aft_scale,
        }
        if glm is not None:  # exponential GLM: log T = -log(rate) + extreme-value noise with scale 1
            margins = [-lr_fit, -lr_valid, -lr_test]
        else:
            start = np.log(np.median(t_fit))
            margins = [np.full(len(f), start) for f in (fit, valid, test)]

        def bounds(f: pd.DataFrame, t: np.ndarray) -> dict[str, np.ndarray]:
            return {
                "label_lower_bound": t,
                "label_upper_bound": np.where(f["event"].to_numpy() == 1, t, np.inf),
            }

        dfit = _dmatrix(fit, cols, margins[0], **bounds(fit, t_fit))
        dvalid = _dmatrix(valid, cols, margins[1], **bounds(valid, t_valid))
    elif recipe.survival == "poisson":
        params |= {"objective": "count:poisson", "eval_metric": "poisson-nloglik"}
        if glm is not None:
            base = [lr_fit + np.log(t_fit), lr_valid + np.log(t_valid), lr_test + log_h]
        else:
            rate = np.log(fit["event"].sum() / t_fit.sum())
            base = [rate + np.log(t_fit), rate + np.log(t_valid), np.full(len(test), rate + log_h)]
        margins = base
        dfit = _dmatrix(fit, cols, margins[0], label=fit["event"].to_numpy(np.float64))
        dvalid = _dmatrix(valid, cols, margins[1], label=valid["event"].to_numpy(np.float64))
    else:
        raise ValueError(f"unknown survival recipe {recipe.survival!r}")
    booster, rounds = train_early_stopping(params, dfit, dvalid, recipe)
    margin = booster.predict(
        _dmatrix(test, cols, margins[2]), output_margin=True, iteration_range=(0, rounds)
    )
    if recipe.survival == "aft":
        z = (log_h - margin) / recipe.aft_scale
        churn = _survival_z(z, recipe.aft_distribution)
    else:
        churn = np.exp(-np.exp(margin))
    return churn, info | {"rounds": rounds}
