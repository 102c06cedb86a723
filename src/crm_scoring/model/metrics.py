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


def auc_difference(y, a, b) -> dict[str, float]:  # noqa: ANN001 - array-likes
    """ROC AUC of score `a` minus that of score `b` on the same rows, with DeLong's standard error for
    correlated AUCs (DeLong, DeLong & Clarke-Pearson 1988; the fast midrank form of Sun & Xu 2014), a
    normal 95 % interval and a two-sided p-value.

    Why: the benchmark compares the model with its baselines on one set of customers, so the two AUCs
    are strongly correlated, and a gain of a few thousandths can be noise or real depending on that
    correlation; the interval says which, where a bare difference cannot. nan without both classes."""
    from scipy.stats import norm, rankdata

    y = np.asarray(y).astype(bool)
    scores = np.vstack([np.asarray(a, dtype=float), np.asarray(b, dtype=float)])
    m, n = int(y.sum()), int((~y).sum())
    if m == 0 or n == 0:
        nan = float("nan")
        return {"diff": nan, "se": nan, "ci95_low": nan, "ci95_high": nan, "p_value": nan}
    pos, neg = scores[:, y], scores[:, ~y]
    aucs, v_pos, v_neg = [], [], []
    for k in range(2):
        tz = rankdata(np.concatenate([pos[k], neg[k]]))  # midranks over both classes
        tx, ty = rankdata(pos[k]), rankdata(neg[k])
        aucs.append((tz[:m].sum() - m * (m + 1) / 2) / (m * n))
        v_pos.append((tz[:m] - tx) / n)  # per positive: share of negatives ranked below (ties 1/2)
        v_neg.append(1.0 - (tz[m:] - ty) / m)  # per negative: share of positives ranked above
    s_pos = np.cov(np.vstack(v_pos)) if m > 1 else np.zeros((2, 2))
    s_neg = np.cov(np.vstack(v_neg)) if n > 1 else np.zeros((2, 2))
    contrast = np.array([1.0, -1.0])
    var = float(contrast @ s_pos @ contrast / m + contrast @ s_neg @ contrast / n)
    diff, se = float(aucs[0] - aucs[1]), float(np.sqrt(max(var, 0.0)))
    z = norm.ppf(0.975)
    p_value = float(2 * norm.sf(abs(diff) / se)) if se > 0 else (1.0 if diff == 0 else 0.0)
    return {"diff": diff, "se": se, "ci95_low": diff - z * se, "ci95_high": diff + z * se, "p_value": p_value}
