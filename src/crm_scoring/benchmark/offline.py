"""Offline churn research lab (issue 11): a pure pandas/numpy replay of the CDNOW benchmark.

Why: the platform benchmark (`crm evaluate real`) takes minutes per as-of date (dbt, MLflow); finding
*what* closes the gap to the RFM logistic regression needs dozens of variants x seeds x dates. This
module replays the same question in seconds: point-in-time features at training cutoffs c, labels
churned = no purchase in (c, c + horizon], an XGBoost fitted on those rows, scored at the as-of date A
against the truth of (A, A + horizon], next to an RFM logistic regression fitted on the **same rows**
and recency alone.

Leakage guards (asserted, see `training_cutoffs`):
- features at cutoff c use only purchase days <= c (`features_at`);
- regime `strict` (default, what a production model scoring at A knows): every training label window
  (c, c + horizon] ends on or before A;
- regime `platform` (what `crm evaluate real` measures: training at R = A + horizon, test cutoff A): the
  training cutoffs are < A, their labels may end after A (never after R), as in the platform's split.
  Its labels overlap the test window for the same customers: gains there are leakage (see
  docs/churn_research.md), it is kept as the secondary, "overlapping labels (leaky)" figure;
- regimes `*_disjoint`: the same, trained on one half of the customers and scored on the other half
  (whether a gain comes from recognising the same customers a few days later).

    python -m crm_scoring.benchmark.offline --as-of 1997-04-30 --as-of 1997-05-31 --as-of 1997-06-30

Nothing here is imported by the runtime (a tool package, ARCHITECTURE.md).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from scipy.optimize import minimize
from scipy.special import betaln, gammaln
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score

from crm_scoring.benchmark import cdnow, survival
from crm_scoring.model.baseline import fit_rfm_baseline, predict_rfm_baseline

HORIZON = 90  # churn_label_horizon_days (policy); a CLI option, the lab does not read the warehouse
LAPSED_DAYS = 90  # winback_min_inactive_days (policy, CH-02)
RFM = ["recency_days", "orders_365d", "revenue_365d"]

# The mart's churn features a customers-and-orders-only export can feed (the others are constant or
# all-null on such data and are dropped by the platform's "drop constant / all-null" rule).
MART = [
    "tenure_days",
    "recency_days",
    "orders_30d",
    "orders_90d",
    "orders_365d",
    "orders_lifetime",
    "revenue_30d",
    "revenue_90d",
    "revenue_365d",
    "avg_order_value_365d",
    "r_score",
    "f_score",
    "m_score",
    "orders_prior_90d",
    "revenue_prior_90d",
    "frequency_trend_90d",
    "monetary_trend_90d",
    "median_purchase_cycle_days",
    "cycle_overdue_ratio",
    "flag_inactive_90",
]
# Purchase-history extras (issue 11: inter-purchase time statistics, recency vs own cycle, trends,
# CF-14 deviation from own baseline, more count windows).
HISTORY = [
    "purchase_days",
    "orders_180d",
    "revenue_180d",
    "gap_mean",
    "gap_sd",
    "gap_max",
    "gap_last",
    "recency_vs_mean_gap",
    "recency_vs_max_gap",
    "recency_share_of_tenure",
    "purchase_rate",
    "amount_last",
    "spend_trend_last_vs_mean",
    "amount_z_last",
    "frequency_z_90d",
]
BGNBD = ["bgnbd_p_alive", "bgnbd_expected_90d", "bgnbd_p_no_purchase_90d"]
# Tenure-normalised (coordinator 17:30): counts per observed day of each window, recency relative to the
# customer's own tenure and cycle; no tenure, lifetime totals or cross-sectional ranks, whose ranges drift
# when training cutoffs are younger than the scored customers.
NORMALISED = [
    "recency_days",
    "recency_share_of_tenure",
    "recency_vs_mean_gap",
    "recency_vs_max_gap",
    "purchase_rate",
    "orders_30d_rate",
    "orders_90d_rate",
    "orders_365d_rate",
    "revenue_30d_rate",
    "revenue_90d_rate",
    "revenue_365d_rate",
    "avg_order_value_365d",
    "spend_trend_last_vs_mean",
    "gap_last_vs_mean",
    "flag_inactive_90",
]
NORMALISED_NEW = [c for c in NORMALISED if c.endswith("_rate") and c != "purchase_rate"] + [
    "gap_last_vs_mean"
]
# candidate extra inputs of the base-margin regression (session 6): BG/NBD's expected purchases and
# P(alive), and the customer's own purchase cycle (recency relative to the mean gap, purchase rate)
BG_MARGIN = ["bgnbd_expected_90d", "bgnbd_p_alive"]
HISTORY_MARGIN = ["recency_vs_mean_gap", "purchase_rate"]
GROUPS = {"mart": MART, "history": HISTORY, "bgnbd": BGNBD, "normalised": NORMALISED, "rfm": RFM}
# Direction certain in any business: longer since the last purchase -> more risk; more purchases in
# the last 90 / 365 days -> less risk (issue 11 "monotone constraints where the direction is certain").
MONOTONE = {"recency_days": 1, "orders_90d": -1, "orders_365d": -1, "flag_inactive_90": 1}

DEFAULT_PARAMS: dict[str, Any] = {
    "eta": 0.1,
    "max_depth": 4,
    "min_child_weight": 1,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "lambda": 1.0,
}


@dataclass(frozen=True)
class Recipe:
    """One way of building the training set and the model; every option is a research candidate."""

    name: str
    step_days: int = 30  # spacing of the training cutoffs (churn_snapshot_interval_days)
    max_cutoffs: int | None = 6  # how many cutoffs back (None: every cutoff with customers)
    population: str = "non_lapsed"  # non_lapsed | all | two_models
    groups: tuple[str, ...] = ("mart",)
    monotone: bool = False
    params: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_PARAMS))
    max_rounds: int = 600
    early_stopping: int = 40
    valid_cutoffs: int = 1  # latest training cutoffs held out for early stopping (time-based fold)
    blend_lr: float = 0.0  # weight of the LR's rank in a rank average with XGBoost (0: XGBoost alone)
    lr_margin: bool = False  # boost from the RFM-LR logit (base_margin): trees learn the residual
    # the base margin's inputs (log1p, standardised logistic regression); RFM = the platform's baseline
    margin_cols: tuple[str, ...] = tuple(RFM)
    margin_only: bool = False  # score with the base-margin regression alone (no trees): is it better?
    recent_halflife_days: float | None = None  # sample weight 0.5 ** (age of the cutoff / halflife)
    glm: bool = False  # a logistic regression on the recipe's features (signed log1p) instead of XGBoost
    # session 7: censored recent history (benchmark.survival): aft | exp_glm | poisson, trained on weekly
    # cutoffs up to A - step_days with time-to-next-purchase censored at A (strict regimes only); with
    # lr_margin the trees are boosted from the exponential-hazard GLM on margin_cols instead of RFM-LR
    survival: str | None = None
    aft_distribution: str = "normal"  # normal | logistic | extreme
    aft_scale: float = 1.0


def _day_table(tx: cdnow.Transactions) -> pd.DataFrame:
    """One row per customer and purchase day (orders = transaction lines, revenue = dollar value)."""
    f = tx.frame
    days = f.groupby(["customer_id", "order_date"], as_index=False).agg(
        orders=("amount", "size"), revenue=("amount", "sum")
    )
    days["day"] = pd.to_datetime(days["order_date"]).values.astype("datetime64[D]").astype(np.int64)
    days = days.sort_values(["customer_id", "day"], kind="stable").reset_index(drop=True)
    days["gap"] = days.groupby("customer_id")["day"].diff()
    return days[["customer_id", "day", "orders", "revenue", "gap"]]


def _day_number(d: date) -> int:
    return int(np.datetime64(d, "D").astype(np.int64))


def _ntile5(values: pd.Series) -> np.ndarray:
    """SQL ntile(5) over an ascending order (ties broken by position, as the mart's customer_id)."""
    order = np.argsort(values.to_numpy(), kind="stable")
    ranks = np.empty(len(values), dtype=np.int64)
    ranks[order] = np.arange(len(values))
    return (ranks * 5 // max(len(values), 1)) + 1


def features_at(days: pd.DataFrame, cutoff: date, *, bgnbd: bool = True) -> pd.DataFrame:
    """Every feature of every customer with a purchase on or before `cutoff`, from days <= cutoff only."""
    c = _day_number(cutoff)
    known = days[days["day"] <= c]
    age = c - known["day"]
    g = known.groupby("customer_id", sort=True)
    out = pd.DataFrame(
        {
            "first_day": g["day"].min(),
            "last_day": g["day"].max(),
            "purchase_days": g.size(),
            "orders_lifetime": g["orders"].sum(),
            "revenue_lifetime": g["revenue"].sum(),
        }
    )

    def window(col: str, lo: int, hi: int) -> pd.Series:
        mask = (age >= lo) & (age < hi)
        return known[col].where(mask, 0).groupby(known["customer_id"]).sum().reindex(out.index)

    for n in (30, 90, 180, 365):
        out[f"orders_{n}d"] = window("orders", 0, n)
        out[f"revenue_{n}d"] = window("revenue", 0, n)
    out["orders_prior_90d"] = window("orders", 90, 180)
    out["revenue_prior_90d"] = window("revenue", 90, 180)
    out["tenure_days"] = c - out["first_day"]
    out["recency_days"] = c - out["last_day"]
    out["avg_order_value_365d"] = out["revenue_365d"] / out["orders_365d"].replace(0, np.nan)
    out["r_score"] = _ntile5(-out["recency_days"])
    out["f_score"] = _ntile5(out["orders_365d"])
    out["m_score"] = _ntile5(out["revenue_365d"])
    out["frequency_trend_90d"] = out["orders_90d"] / out["orders_prior_90d"].replace(0, np.nan)
    out["monetary_trend_90d"] = out["revenue_90d"] / out["revenue_prior_90d"].replace(0, np.nan)
    gaps = known.dropna(subset=["gap"]).groupby("customer_id")["gap"]
    out["median_purchase_cycle_days"] = gaps.median().reindex(out.index)
    out["cycle_overdue_ratio"] = out["recency_days"] / out["median_purchase_cycle_days"].replace(0, np.nan)
    out["flag_inactive_90"] = (out["recency_days"] >= LAPSED_DAYS).astype(int)
    # history extras
    out["gap_mean"] = gaps.mean().reindex(out.index)
    out["gap_sd"] = gaps.std().reindex(out.index)
    out["gap_max"] = gaps.max().reindex(out.index)
    out["gap_last"] = gaps.last().reindex(out.index)
    out["recency_vs_mean_gap"] = out["recency_days"] / out["gap_mean"]
    out["recency_vs_max_gap"] = out["recency_days"] / out["gap_max"]
    out["recency_share_of_tenure"] = out["recency_days"] / out["tenure_days"].clip(lower=1)
    out["purchase_rate"] = (out["purchase_days"] - 1) / out["tenure_days"].clip(lower=1)
    amounts = known.groupby("customer_id")["revenue"]
    out["amount_last"] = amounts.last()
    amount_mean, amount_sd = amounts.mean(), amounts.std()
    out["spend_trend_last_vs_mean"] = out["amount_last"] / amount_mean.replace(0, np.nan)
    out["amount_z_last"] = (out["amount_last"] - amount_mean) / amount_sd.replace(0, np.nan)
    # CF-14 frequency deviation: purchase days in the last 90 d vs the customer's own lifetime rate
    recent_days = (age < 90).groupby(known["customer_id"]).sum().reindex(out.index)
    expected = out["purchase_days"] / out["tenure_days"].clip(lower=1) * np.minimum(out["tenure_days"], 90)
    out["frequency_z_90d"] = (recent_days - expected) / np.sqrt(expected.clip(lower=1e-6))
    observed = out["tenure_days"] + 1  # days the customer could have bought on, up to the cutoff
    for n in (30, 90, 365):
        out[f"orders_{n}d_rate"] = out[f"orders_{n}d"] / np.minimum(observed, n)
        out[f"revenue_{n}d_rate"] = out[f"revenue_{n}d"] / np.minimum(observed, n)
    out["gap_last_vs_mean"] = out["gap_last"] / out["gap_mean"]
    if bgnbd:
        _add_bgnbd(out)
    out = out.drop(columns=["first_day", "last_day", "revenue_lifetime"]).reset_index()
    out["cutoff"] = cutoff
    return out


def _add_bgnbd(out: pd.DataFrame) -> None:
    """BG/NBD (Fader, Hardie & Lee 2005) fitted on this cutoff's summary, in weeks: x, t_x, T."""
    x = (out["purchase_days"] - 1).to_numpy(float)
    t_x = (out["last_day"] - out["first_day"]).to_numpy(float) / 7.0
    big_t = out["tenure_days"].to_numpy(float) / 7.0
    params = fit_bgnbd(x, t_x, big_t)
    p_alive, expected_90, p_none = bgnbd_predict(params, x, t_x, big_t, HORIZON / 7.0)
    out["bgnbd_p_alive"], out["bgnbd_expected_90d"], out["bgnbd_p_no_purchase_90d"] = (
        p_alive,
        expected_90,
        p_none,
    )


def _bgnbd_loglik(
    log_params: np.ndarray, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray, n: np.ndarray
) -> float:
    r, alpha, a, b = np.exp(log_params)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + big_t)
    a4 = np.where(
        x > 0, np.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * np.log(alpha + t_x), -np.inf
    )
    return -float(np.sum(n * (a1 + a2 + np.logaddexp(a3, a4))))


def fit_bgnbd(x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray) -> np.ndarray:
    """Maximum-likelihood BG/NBD (r, alpha, a, b) on the point-in-time summary (a numpy/scipy fit)."""
    keep = big_t > 0
    # customers share (x, t_x, T) triples (whole days): fit on the distinct triples with their counts
    triples = pd.DataFrame({"x": x[keep], "t_x": t_x[keep], "T": big_t[keep]}).value_counts().reset_index()
    res = minimize(
        _bgnbd_loglik,
        np.log([0.5, 5.0, 0.5, 2.0]),
        args=tuple(triples[c].to_numpy(float) for c in ("x", "t_x", "T", "count")),
        method="L-BFGS-B",
        bounds=[(-8, 6)] * 4,
    )
    return np.exp(res.x)


def bgnbd_predict(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray, t: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P(alive), E[purchases in (T, T + t]] and P(no purchase in (T, T + t]] per customer."""
    r, alpha, a, b = params
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(x > 0, (a / (b + x - 1)) * ((alpha + big_t) / (alpha + t_x)) ** (r + x), 0.0)
        p_alive = 1.0 / (1.0 + ratio)
        from scipy.special import hyp2f1

        z = t / (alpha + big_t + t)
        hyp = hyp2f1(r + x, b + x, a + b + x - 1, z)
        expected = (a + b + x - 1) / (a - 1) * (1 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x) * hyp)
        expected = expected * p_alive
        p_none = 1.0 - p_alive + p_alive * ((alpha + big_t) / (alpha + big_t + t)) ** (r + x)
    return p_alive, np.nan_to_num(expected, nan=0.0, posinf=0.0), p_none


def labels_at(days: pd.DataFrame, cutoff: date, horizon: int = HORIZON) -> pd.Series:
    """Index customer_id -> 1 when no purchase in (cutoff, cutoff + horizon] (the churn label, CH-01)."""
    c = _day_number(cutoff)
    buyers = days.loc[(days["day"] > c) & (days["day"] <= c + horizon), "customer_id"].unique()
    known = days.loc[days["day"] <= c, "customer_id"].unique()
    return pd.Series(np.where(np.isin(known, buyers), 0, 1), index=known, name="churned")


def training_cutoffs(
    as_of: date, recipe: Recipe, first_day: date, regime: str, horizon: int = HORIZON
) -> list[date]:
    """Training cutoffs, newest first, with the leakage guard of the regime asserted."""
    latest = (
        as_of - timedelta(days=horizon)
        if regime.startswith("strict")
        else as_of - timedelta(days=recipe.step_days)
    )
    out: list[date] = []
    c = latest
    while c >= first_day and (recipe.max_cutoffs is None or len(out) < recipe.max_cutoffs):
        out.append(c)
        c -= timedelta(days=recipe.step_days)
    for c in out:
        if regime.startswith("strict"):
            assert c + timedelta(days=horizon) <= as_of, "label window ends after the as-of date"
        else:
            assert c < as_of and c + timedelta(days=horizon) <= as_of + timedelta(days=horizon)
    return out


class Lab:
    """Caches features and labels per cutoff so that many recipes and seeds share them."""

    def __init__(
        self, tx: cdnow.Transactions, horizon: int = HORIZON, cache: Path | None = None, bgnbd: bool = True
    ) -> None:
        self.bgnbd = bgnbd  # the BG/NBD fit is half the feature cost: only when a recipe uses it
        self.days = _day_table(tx)
        self.horizon = horizon
        self.first_day = tx.frame["order_date"].min()
        self._features: dict[date, pd.DataFrame] = {}
        self._cache = cache / f"{tx.variant}_h{horizon}{'_bg' if bgnbd else ''}" if cache else None

    def frame(self, cutoff: date) -> pd.DataFrame:
        """Features and label of every customer known at `cutoff` (memoised, optionally on disk)."""
        if cutoff not in self._features:
            path = self._cache / f"{cutoff}.parquet" if self._cache else None
            if path is not None and path.exists():
                f = pd.read_parquet(path)
                f["cutoff"] = cutoff
                if "orders_30d_rate" not in f:  # cache written before the normalised group existed
                    f = (
                        f.drop(columns=["churned"])
                        .merge(
                            features_at(self.days, cutoff, bgnbd=False)[["customer_id", *NORMALISED_NEW]],
                            on="customer_id",
                        )
                        .merge(
                            labels_at(self.days, cutoff, self.horizon),
                            left_on="customer_id",
                            right_index=True,
                        )
                    )
            else:
                f = features_at(self.days, cutoff, bgnbd=self.bgnbd)
                f = f.merge(
                    labels_at(self.days, cutoff, self.horizon), left_on="customer_id", right_index=True
                )
                if path is not None:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    tmp = path.with_suffix(f".{os.getpid()}.tmp")
                    f.to_parquet(tmp)
                    tmp.replace(path)  # atomic: parallel runs share the cache
            self._features[cutoff] = f
        return self._features[cutoff]

    def survival_set(self, as_of: date, recipe: Recipe, regime: str) -> pd.DataFrame:
        """Censored rows: features at weekly cutoffs c < A, time to the next purchase observed up to A.

        Cutoffs run from A - step_days back to the first purchase; each row's label is known only up to
        min(A, c + horizon) (`survival.time_to_next` asserts it), so every cutoff is legal at A.
        """
        if not regime.startswith("strict"):
            raise ValueError("survival recipes are censored at the as-of date: strict regimes only")
        a = _day_number(as_of)
        parts = []
        c = as_of - timedelta(days=recipe.step_days)
        while c >= self.first_day:
            f = self.frame(c).drop(columns=["churned"])  # its label may reach past A: never used here
            t = survival.time_to_next(self.days, _day_number(c), a, self.horizon)
            parts.append(f.merge(t, on="customer_id", validate="one_to_one"))
            c -= timedelta(days=recipe.step_days)
        train = pd.concat([p for p in parts if len(p)], ignore_index=True)
        if recipe.population == "non_lapsed":
            train = train[train["recency_days"] < LAPSED_DAYS]
        if regime.endswith("_disjoint"):
            train = train[_half(train["customer_id"]) == 0]
        return train.reset_index(drop=True)

    def training_set(self, as_of: date, recipe: Recipe, regime: str) -> pd.DataFrame:
        cutoffs = training_cutoffs(as_of, recipe, self.first_day, regime, self.horizon)
        parts = [self.frame(c) for c in cutoffs]
        parts = [p for p in parts if len(p)]
        train = pd.concat(parts, ignore_index=True)
        if recipe.population == "non_lapsed":
            train = train[train["recency_days"] < LAPSED_DAYS]
        if regime.endswith("_disjoint"):  # memorisation check: train on one half of the customers only
            train = train[_half(train["customer_id"]) == 0]
        return train.reset_index(drop=True)


def _half(customer_id: pd.Series) -> np.ndarray:
    """A stable 50/50 split of customers (hash of the id), for the customer-disjoint regimes."""
    return (pd.util.hash_pandas_object(customer_id, index=False).to_numpy() % 2).astype(int)


def _columns(frame: pd.DataFrame, recipe: Recipe) -> list[str]:
    """The recipe's feature groups minus columns constant or all-null in the training rows."""
    cols = [c for g in recipe.groups for c in GROUPS[g]]
    return [c for c in dict.fromkeys(cols) if frame[c].nunique(dropna=True) > 1]


def _matrix(frame: pd.DataFrame, cols: list[str], margin: np.ndarray | None = None, **kw: Any) -> xgb.DMatrix:
    m = xgb.DMatrix(frame[cols].to_numpy(np.float64), feature_names=cols, nthread=2, **kw)
    if margin is not None:
        m.set_base_margin(margin)
    return m


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def fit_predict(
    train: pd.DataFrame, test: pd.DataFrame, recipe: Recipe, seed: int
) -> tuple[np.ndarray, dict]:
    """XGBoost on the recipe's training rows (early stopping on the latest cutoff(s)), scores for `test`."""
    cols = _columns(train, recipe)
    if recipe.glm:
        return _fit_predict_glm(train, test, cols, seed), {"features": len(cols), "fit_rows": len(train)}
    cutoffs = sorted(train["cutoff"].unique())
    if len(cutoffs) > recipe.valid_cutoffs:
        is_valid = train["cutoff"].isin(cutoffs[-recipe.valid_cutoffs :])
    else:  # one cutoff: a stable hash split of customers (the platform's fallback)
        is_valid = pd.util.hash_pandas_object(train["customer_id"], index=False) % 10 < 3
    fit, valid = train[~is_valid], train[is_valid]
    y_fit, y_valid = fit["churned"].to_numpy(), valid["churned"].to_numpy()
    params = {
        "objective": "binary:logistic",
        "eval_metric": "auc",
        "tree_method": "hist",
        "nthread": 2,
        "seed": seed,
        "scale_pos_weight": float((y_fit == 0).sum() / max((y_fit == 1).sum(), 1)),
    } | recipe.params
    if recipe.monotone:
        params["monotone_constraints"] = "(" + ",".join(str(MONOTONE.get(c, 0)) for c in cols) + ")"
    weight = None
    if recipe.recent_halflife_days:
        age = (pd.Timestamp(max(cutoffs)) - pd.to_datetime(fit["cutoff"])).dt.days.to_numpy()
        weight = 0.5 ** (age / recipe.recent_halflife_days)
    margins: list[np.ndarray | None] = [None, None, None]
    if recipe.lr_margin or recipe.margin_only:
        mcols = list(recipe.margin_cols)
        lr = fit_rfm_baseline(fit, mcols, "churned", seed)
        if recipe.margin_only:
            return predict_rfm_baseline(lr, test, mcols), {"features": len(mcols), "fit_rows": len(fit)}
        margins = [_logit(predict_rfm_baseline(lr, f, mcols)) for f in (fit, valid, test)]
        params.pop("scale_pos_weight")  # the margin already carries the base rate
    dfit = _matrix(fit, cols, margins[0], label=y_fit, weight=weight)
    dvalid = _matrix(valid, cols, margins[1], label=y_valid)
    booster, rounds = survival.train_early_stopping(params, dfit, dvalid, recipe)
    pred = booster.predict(_matrix(test, cols, margins[2]), iteration_range=(0, rounds))
    info = {"features": len(cols), "rounds": rounds, "fit_rows": len(fit), "valid_rows": len(valid)}
    return pred, info


def _fit_predict_glm(train: pd.DataFrame, test: pd.DataFrame, cols: list[str], seed: int) -> np.ndarray:
    """Is the gap a matter of more inputs rather than trees? The RFM-LR recipe on every feature."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    model = make_pipeline(
        FunctionTransformer(lambda x: np.sign(x) * np.log1p(np.abs(x))),
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(max_iter=2000, random_state=seed),
    )
    model.fit(train[cols].to_numpy(np.float64), train["churned"].to_numpy())
    return model.predict_proba(test[cols].to_numpy(np.float64))[:, 1]


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    return float(roc_auc_score(y, s)) if len(np.unique(y)) == 2 else float("nan")


def _rank(s: np.ndarray) -> np.ndarray:
    return rankdata(s) / len(s)


def score_recipe(
    lab: Lab, as_of: date, recipe: Recipe, regime: str, seed: int, preds: Path | None = None
) -> dict[str, Any]:
    """Model, RFM-LR (same rows) and recency ROC AUC at `as_of`, for all and non-lapsed customers."""
    train = lab.training_set(as_of, recipe, regime)
    test = lab.frame(as_of).copy()
    if regime.endswith("_disjoint"):  # scored: only the customers never seen in training
        test = test[_half(test["customer_id"]) == 1].reset_index(drop=True)
    truth = labels_at(lab.days, as_of, lab.horizon)
    test["churned"] = truth.reindex(test["customer_id"]).to_numpy()
    assert test["cutoff"].eq(as_of).all()
    lapsed = test["recency_days"] >= LAPSED_DAYS
    lr = fit_rfm_baseline(train, RFM, "churned", seed)
    test["rfm_lr"] = predict_rfm_baseline(lr, test, RFM)
    if recipe.survival:
        strain = lab.survival_set(as_of, recipe, regime)
        cols = _columns(strain, recipe)
        pred, info = survival.fit_predict_survival(strain, test, cols, recipe, seed, lab.horizon)
        info["survival_rows"], info["survival_cutoffs"] = len(strain), int(strain["cutoff"].nunique())
    elif recipe.population == "two_models":
        pred = np.zeros(len(test))
        info: dict[str, Any] = {}
        for name, tmask, smask in (
            ("non_lapsed", train["recency_days"] < LAPSED_DAYS, ~lapsed),
            ("lapsed", train["recency_days"] >= LAPSED_DAYS, lapsed),
        ):
            part = train[tmask]
            if part["churned"].nunique() == 2 and part["cutoff"].nunique() > 1 and len(part) > 200:
                p, info[name] = fit_predict(part, test[smask.to_numpy()], recipe, seed)
            else:  # no (usable) lapsed training rows: the all-purchasers model scores them
                p, info[name] = fit_predict(train, test[smask.to_numpy()], recipe, seed)
            pred[smask.to_numpy()] = _logit(p)
    else:
        pred, info = fit_predict(train, test, recipe, seed)
    if recipe.blend_lr:
        pred = (1 - recipe.blend_lr) * _rank(pred) + recipe.blend_lr * _rank(test["rfm_lr"].to_numpy())
    test["model"] = pred
    if preds is not None:  # per-customer scores, so blends and populations can be re-cut offline
        preds.mkdir(parents=True, exist_ok=True)
        keep = ["customer_id", "churned", "recency_days", "model", "rfm_lr"]
        test[keep].to_parquet(preds / f"{recipe.name}_{regime}_{as_of}_s{seed}.parquet")
    out: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "recipe": recipe.name,
        "seed": seed,
        "regime": regime,
        "train_rows": len(train),
        "train_cutoffs": int(train["cutoff"].nunique()),
        "info": info,
    }
    for pop, part in (("all", test), ("non_lapsed", test[~lapsed])):
        y = part["churned"].to_numpy()
        out[pop] = {
            "rows": len(part),
            "model": _auc(y, part["model"].to_numpy()),
            "rfm_lr": _auc(y, part["rfm_lr"].to_numpy()),
            "recency": _auc(y, part["recency_days"].to_numpy()),
        }
    return out


def recipes() -> dict[str, Recipe]:
    """The candidates measured in docs/churn_research.md (name -> recipe)."""
    base = Recipe("platform_monthly")
    weekly = replace(base, name="weekly_all_cutoffs", step_days=7, max_cutoffs=None)
    shallow = {
        "eta": 0.05,
        "max_depth": 3,
        "min_child_weight": 50,
        "subsample": 0.8,
        "colsample_bytree": 0.8,
        "lambda": 1.0,
    }
    # strongly regularised: leaves of >= 100 rows cannot single out a customer (see docs/churn_research.md)
    tiny = {"eta": 0.05, "max_depth": 2, "min_child_weight": 100, "subsample": 0.8, "colsample_bytree": 0.8}
    allp = replace(weekly, name="weekly_all_purchasers", population="all")
    # survival recipes: all purchasers at weekly cutoffs up to A - 7, shallow regularised trees
    surv = replace(allp, name="surv", survival="aft", params=tiny, max_rounds=2000)
    return {
        r.name: r
        for r in (
            base,
            weekly,
            replace(weekly, name="weekly_26", max_cutoffs=26),
            allp,
            replace(weekly, name="weekly_two_models", population="two_models"),
            replace(allp, name="weekly_all_shallow", params=shallow, max_rounds=3000),
            replace(allp, name="weekly_all_history", groups=("mart", "history")),
            replace(allp, name="weekly_all_bgnbd", groups=("mart", "bgnbd")),
            replace(allp, name="weekly_all_monotone", monotone=True),
            replace(allp, name="weekly_all_lr_margin", lr_margin=True),
            replace(allp, name="weekly_all_blend50", blend_lr=0.5),
            replace(allp, name="weekly_all_halflife90", recent_halflife_days=90.0),
            replace(allp, name="weekly_all_lr_margin_shallow", lr_margin=True, params=tiny, max_rounds=2000),
            replace(allp, name="weekly_all_normalised", groups=("normalised",)),
            replace(
                allp,
                name="weekly_all_lr_margin_normalised_shallow",
                groups=("normalised",),
                lr_margin=True,
                params=tiny,
                max_rounds=2000,
            ),
            replace(allp, name="weekly_all_glm_mart_history", groups=("mart", "history"), glm=True),
            replace(allp, name="weekly_all_shallow_monotone", params=tiny, max_rounds=2000, monotone=True),
            # session 6: a better base margin than RFM-LR? (strict regime only)
            replace(allp, name="weekly_all_lr_bgnbd_only", margin_cols=(*RFM, *BG_MARGIN), margin_only=True),
            replace(
                allp,
                name="weekly_all_lr_bgnbd_margin_shallow",
                margin_cols=(*RFM, *BG_MARGIN),
                lr_margin=True,
                params=tiny,
                max_rounds=2000,
            ),
            replace(
                allp, name="weekly_all_lr_history_only", margin_cols=(*RFM, *HISTORY_MARGIN), margin_only=True
            ),
            # session 7: the platform search's picks at 05-31 / 06-30 (is narrowing search.space right?)
            replace(
                allp,
                name="weekly_all_lr_margin_d2_eta01_mcw10",
                lr_margin=True,
                params=tiny | {"eta": 0.1, "min_child_weight": 10},
                max_rounds=2000,
            ),
            replace(
                allp,
                name="weekly_all_lr_margin_d2_mcw10",
                lr_margin=True,
                params=tiny | {"min_child_weight": 10},
                max_rounds=2000,
            ),
            replace(
                allp,
                name="weekly_all_lr_margin_d3_eta01_mcw10",
                lr_margin=True,
                params=tiny | {"eta": 0.1, "max_depth": 3, "min_child_weight": 10},
                max_rounds=2000,
            ),
            # session 7: censored recent history (benchmark.survival), strict regime
            replace(surv, name="surv_exp_glm_rfm", survival="exp_glm"),
            replace(surv, name="surv_aft_rfm_shallow", groups=("rfm",)),
            replace(surv, name="surv_aft_mart_shallow"),
            replace(surv, name="surv_aft_mart_logistic_shallow", aft_distribution="logistic"),
            replace(
                surv, name="surv_aft_mart_glm_margin_shallow", lr_margin=True, aft_distribution="extreme"
            ),
            replace(surv, name="surv_poisson_mart_glm_margin_shallow", survival="poisson", lr_margin=True),
        )
    }


def summarise(results: list[dict[str, Any]]) -> pd.DataFrame:
    """Mean and sd over seeds of model-minus-RFM-LR and model-minus-recency per recipe, date, population."""
    rows = []
    for r in results:
        for pop in ("all", "non_lapsed"):
            p = r[pop]
            rows.append(
                {
                    "recipe": r["recipe"],
                    "regime": r["regime"],
                    "as_of": r["as_of"],
                    "population": pop,
                    "seed": r["seed"],
                    "model": p["model"],
                    "rfm_lr": p["rfm_lr"],
                    "recency": p["recency"],
                    "d_rfm": p["model"] - p["rfm_lr"],
                    "d_rec": p["model"] - p["recency"],
                }
            )
    frame = pd.DataFrame(rows)
    keys = ["recipe", "regime", "as_of", "population"]
    agg = frame.groupby(keys, sort=False).agg(
        model=("model", "mean"),
        rfm_lr=("rfm_lr", "mean"),
        recency=("recency", "mean"),
        d_rfm=("d_rfm", "mean"),
        d_rfm_sd=("d_rfm", "std"),
        d_rec=("d_rec", "mean"),
        seeds=("seed", "nunique"),
    )
    return agg.reset_index()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--as-of", action="append", default=None, help="as-of date (<= 1997-06-30)")
    parser.add_argument("--recipe", action="append", default=None, help="recipe name (default: all)")
    parser.add_argument(
        "--regime", choices=["strict", "platform", "strict_disjoint", "platform_disjoint"], default="strict"
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--sample", action="store_true", help="the 1/10 CDNOW sample")
    parser.add_argument("--horizon", type=int, default=HORIZON)
    parser.add_argument("--json", type=Path, default=None, help="append every result as JSON lines")
    parser.add_argument("--preds", type=Path, default=None, help="write per-customer scores here")
    parser.add_argument("--cache", type=Path, default=None, help="keep per-cutoff features as Parquet here")
    parser.add_argument(
        "--report", type=Path, nargs="+", default=None, help="only summarise JSON lines files"
    )
    args = parser.parse_args(argv)
    if args.report:
        loaded = [json.loads(line) for path in args.report for line in path.read_text().splitlines() if line]
        print_report(loaded)
        return
    as_of_dates = [date.fromisoformat(d) for d in (args.as_of or ["1997-04-30", "1997-05-31", "1997-06-30"])]
    if any(d > cdnow.MAX_AS_OF for d in as_of_dates):
        raise SystemExit(f"as-of dates after {cdnow.MAX_AS_OF} are kept unseen (issue 11)")
    catalogue = recipes()
    chosen = [catalogue[n] for n in (args.recipe or list(catalogue))]
    bgnbd = any("bgnbd" in r.groups or set(BGNBD) & set(r.margin_cols) for r in chosen)
    lab = Lab(cdnow.load("sample" if args.sample else "full"), args.horizon, args.cache, bgnbd)
    results = []
    for recipe in chosen:
        start = time.perf_counter()
        for as_of in as_of_dates:
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                r = score_recipe(lab, as_of, recipe, args.regime, seed, args.preds)
                results.append(r)
                if args.json:
                    with args.json.open("a") as fh:
                        fh.write(json.dumps(r | {"recipe_spec": asdict(recipe)}, default=str) + "\n")
        table = summarise([r for r in results if r["recipe"] == recipe.name])
        print(f"== {recipe.name} ({args.regime}, {time.perf_counter() - start:.0f} s)", flush=True)
        print(
            table.drop(columns=["recipe", "regime"]).to_string(index=False, float_format="%.4f"), flush=True
        )
    print_report(results)


def print_report(results: list[dict[str, Any]]) -> None:
    """Per regime: model - RFM-LR and model - recency (mean over seeds), the seed sd, and RFM-LR itself."""
    table = summarise(results)
    for regime, part in table.groupby("regime", sort=False):
        for value, title in (
            ("d_rfm", "model - RFM-LR (same rows)"),
            ("d_rfm_sd", "sd over seeds of model - RFM-LR"),
            ("d_rec", "model - recency"),
            ("rfm_lr", "RFM-LR AUC (fitted on the recipe's rows)"),
            ("model", "model AUC"),
        ):
            wide = part.pivot_table(index="recipe", columns=["population", "as_of"], values=value, sort=False)
            print(f"== {regime}: {title}, mean over seeds")
            print(wide.to_string(float_format="%+.4f" if value.startswith("d_") else "%.4f"), flush=True)


if __name__ == "__main__":
    main()
