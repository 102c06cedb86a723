"""Evaluation metrics for a churn score (CH-04): ranking, probability quality and list usefulness."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int) -> float:
    """Mean |observed rate - mean predicted| over equal-width probability bins, weighted by bin size."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1], right=True), 0, bins - 1)
    counts = np.bincount(idx, minlength=bins)
    pred_sum = np.bincount(idx, weights=p, minlength=bins)
    true_sum = np.bincount(idx, weights=y, minlength=bins)
    used = counts > 0
    gaps = np.abs(true_sum[used] - pred_sum[used])  # = count * |rate - mean p|
    return float(gaps.sum() / len(p))


def lift_at_top(y: np.ndarray, p: np.ndarray, share: float) -> float:
    """Churn rate among the top `share` by score divided by the overall churn rate (stable ordering)."""
    base = float(np.mean(y))
    if base == 0.0:
        return float("nan")
    k = max(1, int(round(len(p) * share)))
    top = np.argsort(-p, kind="stable")[:k]
    return float(np.mean(y[top]) / base)


def evaluate(y, p, *, ece_bins: int, lift_top_share: float) -> dict[str, float]:
    """The metric set logged for every split: roc_auc, pr_auc, log_loss, brier, ece, lift_top_decile."""
    y = np.asarray(y, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "brier": float(brier_score_loss(y, p)),
        "ece": expected_calibration_error(y, p, ece_bins),
        "lift_top_decile": lift_at_top(y, p, lift_top_share),
        "positive_rate": float(y.mean()),
        "mean_prediction": float(p.mean()),
    }
