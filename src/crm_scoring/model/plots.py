"""Diagnostic figures logged with each training run. Uses bare matplotlib Figures (no pyplot, no GUI)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve, roc_curve


def roc_figure(y: np.ndarray, p: np.ndarray, auc: float) -> Figure:
    fpr, tpr, _ = roc_curve(y, p)
    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    ax.plot(fpr, tpr, label=f"AUC = {auc:.3f}")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
    ax.set(xlabel="False positive rate", ylabel="True positive rate", title="ROC (test, out-of-time)")
    ax.legend(loc="lower right")
    return fig


def pr_figure(y: np.ndarray, p: np.ndarray, ap: float) -> Figure:
    precision, recall, _ = precision_recall_curve(y, p)
    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    ax.plot(recall, precision, label=f"AP = {ap:.3f}")
    ax.axhline(float(np.mean(y)), linestyle="--", color="grey", label="base rate")
    ax.set(xlabel="Recall", ylabel="Precision", title="Precision-recall (test)")
    ax.legend(loc="upper right")
    return fig


def calibration_figure(y: np.ndarray, raw: np.ndarray, calibrated: np.ndarray, bins: int) -> Figure:
    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    for label, p in (("raw booster", raw), ("calibrated", calibrated)):
        true, pred = calibration_curve(y, p, n_bins=bins, strategy="uniform")
        ax.plot(pred, true, marker="o", label=label)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
    ax.set(xlabel="Mean predicted probability", ylabel="Observed churn rate", title="Calibration (test)")
    ax.legend(loc="upper left")
    return fig


def importance_figure(importance: dict[str, float], top_k: int) -> Figure:
    items = sorted(importance.items(), key=lambda kv: kv[1], reverse=True)[:top_k][::-1]
    fig = Figure(figsize=(7, max(3.0, 0.3 * len(items) + 1)))
    ax = fig.subplots()
    ax.barh([k for k, _ in items], [v for _, v in items])
    ax.set(xlabel="Total gain", title="Feature importance (gain)")
    fig.tight_layout()
    return fig


def lift_figure(y: np.ndarray, p: np.ndarray, capacity: int | None = None) -> Figure:
    """Cumulative lift and capture by share of customers contacted, best scores first."""
    y = np.asarray(y, dtype=float)
    order = np.argsort(-np.asarray(p, dtype=float), kind="stable")
    hits = np.cumsum(y[order])
    n = np.arange(1, len(y) + 1)
    share = n / len(y)
    base = max(float(y.mean()), 1e-12)
    fig = Figure(figsize=(6, 5))
    ax = fig.subplots()
    ax.plot(share, (hits / n) / base, label="lift")
    ax.set(xlabel="Share of customers (highest scores first)", ylabel="Lift", title="Lift and capture (test)")
    ax2 = ax.twinx()
    ax2.plot(share, hits / max(hits[-1], 1e-12), color="tab:orange", label="capture")
    ax2.set_ylabel("Capture (share of churners)")
    if capacity:
        ax.axvline(min(capacity, len(y)) / len(y), linestyle=":", color="grey", label="list capacity")
    ax.axhline(1.0, linestyle="--", color="grey")
    ax.legend(loc="upper right")
    return fig


def shap_summary_figure(
    contributions: np.ndarray, values: np.ndarray, features: list[str], top_k: int
) -> Figure:
    """Beeswarm-style summary from XGBoost's own contributions (pred_contribs), without the shap package.

    One row per feature (largest mean |contribution| on top), one dot per customer, coloured by the
    customer's feature value as a within-feature percentile (missing values grey).
    """
    mean_abs = np.abs(contributions).mean(axis=0)
    top = np.argsort(-mean_abs, kind="stable")[:top_k][::-1]
    fig = Figure(figsize=(7, max(3.0, 0.35 * len(top) + 1.2)))
    ax = fig.subplots()
    rng = np.random.default_rng(0)
    scatter = None
    for row, j in enumerate(top):
        x = contributions[:, j]
        v = values[:, j]
        pct = np.full(len(v), np.nan)
        ok = ~np.isnan(v)
        if ok.any():
            pct[ok] = (np.argsort(np.argsort(v[ok], kind="stable"), kind="stable") + 0.5) / ok.sum()
        jitter = row + rng.uniform(-0.3, 0.3, len(x))
        ax.scatter(x[~ok], jitter[~ok], s=4, color="lightgrey")
        scatter = ax.scatter(x[ok], jitter[ok], s=4, c=pct[ok], cmap="coolwarm", vmin=0, vmax=1)
    ax.set_yticks(range(len(top)), [features[j] for j in top])
    ax.axvline(0.0, color="grey", linewidth=0.8)
    ax.set(xlabel="Contribution to churn log-odds (XGBoost pred_contribs)", title="SHAP summary (test)")
    if scatter is not None:
        fig.colorbar(scatter, ax=ax, label="feature value (percentile)")
    fig.tight_layout()
    return fig
