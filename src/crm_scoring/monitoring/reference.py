"""The champion's training reference for drift monitoring: compact per-column bins, counts and quantiles.

Stored with the model at training time (an MLflow artifact of the training run, `drift_reference.json`)
so drift is always measured against the population the scoring model learned from, never against
"last night". Compact by design: for each feature and the score, the interior bin edges (reference
deciles), the counts per bin and of missing values, 101 quantiles (for the Wasserstein distance) and
the standard deviation (its normaliser): ~130 KB of JSON for 76 features, whatever the training size.
"""

from __future__ import annotations

from typing import Any

import numpy as np

REFERENCE_FILE = "drift_reference.json"
SCORE_COLUMN = "__score__"
# Method constants, not thresholds: ten quantile bins is the PSI convention; 101 quantiles resolve the
# Wasserstein distance to 1 % of the distribution. Alert thresholds are policy parameters (drift_psi_*).
REFERENCE_BINS = 10
QUANTILE_POINTS = 101
FORMAT_VERSION = 1
# The training run's feature importance (model.train logs this artifact: split gain, or the regression's
# mean |contribution|). The drift step caches it inside the warehouse copy of the reference under
# IMPORTANCE_KEY ({feature: importance}, higher is more important), so the morning report can show the
# drift of the model's most important features without MLflow access.
IMPORTANCE_FILE = "feature_importance.json"
IMPORTANCE_KEY = "importance"


def column_reference(values: np.ndarray, bins: int = REFERENCE_BINS) -> dict[str, Any]:
    """Bins (interior edges at the reference quantiles), counts, quantiles and spread of one column."""
    values = np.asarray(values, dtype=np.float64)
    present = values[~np.isnan(values)]
    if present.size == 0:
        return {"edges": [], "counts": [0], "missing": int(values.size), "quantiles": [], "std": 0.0}
    # observed values as edges (inverted CDF), bins (e[i-1], e[i]]: a 0/1 flag keeps its two values apart
    interior = np.quantile(present, np.linspace(0.0, 1.0, bins + 1)[1:-1], method="inverted_cdf")
    edges = np.unique(interior)
    counts = np.bincount(np.searchsorted(edges, present, side="left"), minlength=edges.size + 1)
    return {
        "edges": edges.tolist(),
        "counts": counts.astype(int).tolist(),
        "missing": int(values.size - present.size),
        "quantiles": np.quantile(present, np.linspace(0.0, 1.0, QUANTILE_POINTS)).tolist(),
        "std": float(np.std(present)),
    }


def build_reference(
    features: dict[str, np.ndarray], scores: np.ndarray, *, source: str, bins: int = REFERENCE_BINS
) -> dict[str, Any]:
    """The reference of a training population: every feature plus the model's (calibrated) score."""
    columns = {name: column_reference(values, bins) for name, values in features.items()}
    columns[SCORE_COLUMN] = column_reference(scores, bins)
    return {
        "format": FORMAT_VERSION,
        "source": source,
        "rows": int(len(scores)),
        "bins": bins,
        "columns": columns,
    }
