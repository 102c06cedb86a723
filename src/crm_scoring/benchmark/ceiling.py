"""How much can any model learn from a customers-and-orders log? An optimistic in-time upper bound.

`crm evaluate real --dump-frames DIR` writes, per as-of date A, every mart feature of every customer
as of A with its true label. Here XGBoost and the RFM logistic regression are both fitted by 5-fold
cross-validation **on A itself** (no out-of-time shift: an optimistic ceiling for any model of these
inputs), with the purchase-history extras that the issue suggests (inter-purchase time statistics,
recency relative to the own cycle and to the customer's age, spend trend). When even this ceiling does
not beat RFM-LR, no feature engineering on (customer, date, amount) will reach a +0.02 AUC margin out
of time.

    python -m crm_scoring.benchmark.ceiling --frames DIR --as-of 1997-04-30 --as-of 1997-06-30
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from crm_scoring.benchmark import cdnow
from crm_scoring.model.baseline import fit_rfm_baseline, predict_rfm_baseline

RFM = ["recency_days", "orders_365d", "revenue_365d"]


def purchase_history_features(tx: cdnow.Transactions, as_of: date) -> pd.DataFrame:
    """Per customer as of `as_of`: purchase days, inter-purchase gap mean / sd / max / last, ratios."""
    days = tx.frame[tx.frame["order_date"] <= as_of].groupby(["customer_id", "order_date"], as_index=False)
    days = days["amount"].sum()
    dates = pd.to_datetime(days["order_date"])
    days["gap"] = dates.groupby(days["customer_id"]).diff().dt.days
    g = days.groupby("customer_id")
    out = pd.DataFrame(
        {
            "purchase_days": g.size(),
            "gap_mean": g["gap"].mean(),
            "gap_sd": g["gap"].std(),
            "gap_max": g["gap"].max(),
            "gap_last": g["gap"].last(),
            "amount_mean": g["amount"].mean(),
            "amount_last": g["amount"].last(),
            "first": pd.to_datetime(g["order_date"].min()),
            "last": pd.to_datetime(g["order_date"].max()),
        }
    )
    ref = pd.Timestamp(as_of)
    age = (ref - out["first"]).dt.days.clip(lower=1)
    recency = (ref - out["last"]).dt.days
    out["recency_share_of_age"] = recency / age
    out["recency_vs_mean_gap"] = recency / out["gap_mean"]
    out["recency_vs_max_gap"] = recency / out["gap_max"]
    out["gap_trend"] = out["gap_last"] / out["gap_mean"]
    out["spend_trend"] = out["amount_last"] / out["amount_mean"]
    out["purchase_rate"] = (out["purchase_days"] - 1) / age
    return out.drop(columns=["first", "last"]).reset_index()


def ceiling(frame: pd.DataFrame, seed: int = 0) -> dict[str, float]:
    """5-fold in-time cross-validated ROC AUC of XGBoost (all non-constant features) and of RFM-LR."""
    features = [
        c
        for c in frame.columns
        if c not in ("customer_id", "churned", "last_order_date") and frame[c].nunique(dropna=True) > 1
    ]
    y = frame["churned"].to_numpy()
    p_xgb, p_lr = np.zeros(len(frame)), np.zeros(len(frame))
    params = {"objective": "binary:logistic", "max_depth": 3, "eta": 0.05, "min_child_weight": 20}
    params |= {"subsample": 0.8, "nthread": 2, "seed": seed}
    for train, test in StratifiedKFold(5, shuffle=True, random_state=seed).split(frame, y):
        part = frame.iloc[train]
        booster = xgb.train(params, xgb.DMatrix(part[features].astype(float), label=y[train]), 300)
        p_xgb[test] = booster.predict(xgb.DMatrix(frame.iloc[test][features].astype(float)))
        lr = fit_rfm_baseline(part, RFM, "churned", seed)
        p_lr[test] = predict_rfm_baseline(lr, frame.iloc[test], RFM)
    return {
        "features": float(len(features)),
        "xgb_in_time_cv_roc_auc": float(roc_auc_score(y, p_xgb)),
        "rfm_lr_in_time_cv_roc_auc": float(roc_auc_score(y, p_lr)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=Path, required=True)
    parser.add_argument("--as-of", action="append", required=True)
    parser.add_argument("--lapsed-days", type=int, default=90, help="winback_min_inactive_days")
    args = parser.parse_args()
    tx = cdnow.load("full")
    for text in args.as_of:
        as_of = date.fromisoformat(text)
        frame = pd.read_parquet(args.frames / f"scoring_{as_of}.parquet")
        frame = frame.merge(purchase_history_features(tx, as_of), on="customer_id", how="left")
        for name, part in (("all", frame), ("non_lapsed", frame[frame["recency_days"] < args.lapsed_days])):
            figures = ceiling(part)
            print(as_of, f"{name:10}", " ".join(f"{k} {v:.4f}" for k, v in figures.items()), flush=True)


if __name__ == "__main__":
    main()
