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
