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


def _top_k(p: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-p, kind="stable")[: max(1, min(k, len(p)))]


def capture_at_top(y: np.ndarray, p: np.ndarray, k: int) -> float:
    """Share of all churners found among the k highest scores (recall of a list of k rows)."""
    total = float(np.sum(y))
    return float(np.sum(y[_top_k(p, k)]) / total) if total else float("nan")


def precision_at_top(y: np.ndarray, p: np.ndarray, k: int) -> float:
    return float(np.mean(y[_top_k(p, k)]))


def evaluate(
    y, p, *, ece_bins: int, lift_top_share: float, list_capacity: int | None = None
) -> dict[str, float]:
    """Metrics logged for every split: ranking (roc/pr auc), probability quality (log loss, brier, ece)
    and list usefulness (lift/capture at the top decile and, given a capacity, at the list size)."""
    y = np.asarray(y, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    k_top = max(1, int(round(len(p) * lift_top_share)))
    extra: dict[str, float] = {}
    if list_capacity is not None:
        k = max(1, min(int(list_capacity), len(p)))
        precision = precision_at_top(y, p, k)
        base = float(y.mean())
        extra = {
            "precision_at_capacity": precision,
            "lift_at_capacity": precision / base if base else float("nan"),
            "capture_at_capacity": capture_at_top(y, p, k),
            "capacity_rows_evaluated": float(k),
        }
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "brier": float(brier_score_loss(y, p)),
        "ece": expected_calibration_error(y, p, ece_bins),
        "lift_top_decile": lift_at_top(y, p, lift_top_share),
        "capture_top_decile": capture_at_top(y, p, k_top),
        "positive_rate": float(y.mean()),
        "mean_prediction": float(p.mean()),
        **extra,
    }
