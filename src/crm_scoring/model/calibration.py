"""Probability calibration stored as plain JSON (no pickles), applied by `score()` after the booster.

scale_pos_weight shifts XGBoost's probabilities upwards; calibration on the validation split maps them
back to observed churn rates so bands and expected-loss maths can use them as probabilities.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def fit_calibration(method: str, raw: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """A JSON-serialisable calibration map fitted on (raw score, label) pairs.

    scikit-learn is imported here, not at module level: nightly scoring only applies a fitted map.
    """
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression

    raw = np.asarray(raw, dtype=float)
    y = np.asarray(y, dtype=float)
    if method == "none":
        return {"method": "none"}
    if method == "isotonic":
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, y)
        return {"method": "isotonic", "x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()}
    if method == "platt":
        lr = LogisticRegression(C=1e6).fit(_logit(raw).reshape(-1, 1), y)
        return {"method": "platt", "coef": float(lr.coef_[0, 0]), "intercept": float(lr.intercept_[0])}
    raise ValueError(f"unknown calibration method {method!r} (isotonic | platt | none)")


def apply_calibration(calibration: dict[str, Any], raw: np.ndarray) -> np.ndarray:
    """Vectorised: calibrated probabilities in [0, 1] for raw booster outputs."""
    raw = np.asarray(raw, dtype=float)
    method = calibration.get("method", "none")
    if method == "none":
        return np.clip(raw, 0.0, 1.0)
    if method == "isotonic":
        return np.clip(np.interp(raw, calibration["x"], calibration["y"]), 0.0, 1.0)
    if method == "platt":
        z = calibration["coef"] * _logit(raw) + calibration["intercept"]
        return 1.0 / (1.0 + np.exp(-z))
    raise ValueError(f"unknown calibration method {method!r}")
