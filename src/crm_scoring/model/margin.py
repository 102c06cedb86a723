"""The base margin the churn booster is boosted from: the RFM logistic regression, as plain numbers.

Why: on customers-and-orders data (CDNOW, docs/churn_research.md) nothing beats a three-variable
logistic regression on log recency / frequency / monetary value out of time; trees alone extrapolate
badly to customers older than the training cutoffs. Boosting from the regression's logit (XGBoost
`base_margin`) keeps the regression's smooth extrapolation and lets shallow trees add only what the data
supports beyond it. The regression therefore travels with the booster: fitted on the training fit rows,
stored as JSON (no pickle) in the registered model, re-applied at validation, test, calibration and
nightly scoring.

This module is pure numpy so nightly scoring never imports scikit-learn; `baseline.linear_margin`
exports a fitted scikit-learn pipeline into it.

Lapsed customers may carry a regression of their own (`lapsed`, selected by `segment_column` >=
`segment_min`): an additive RFM logit has one sign for frequency, but once a frequent buyer has stopped
buying the sign reverses (a long silence is more telling for someone who used to buy often), so one pooled
regression ranks the lapsed worse than recency alone does (docs/benchmark_real.md). The CH-02 split the
platform already makes (retention vs win-back) is the natural place to cut.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

BASE_MARGIN_FILE = "base_margin.json"


@dataclass(frozen=True)
class LinearMargin:
    """logit = intercept + sum_j coef_j * (t_j(x) - mean_j) / scale_j over the transformed columns.

    Transformed column j reads source column `source[j]`: either log1p(max(x, 0)) with NULLs replaced by
    the training median (`kind` "value"), or the 0/1 missing indicator of that column ("missing").
    `mean` is the training mean of each transformed column, so a customer's linear contribution
    coef_j * (t_j - mean_j) / scale_j is measured against the average training row (the reference).
    """

    columns: tuple[str, ...]  # source features, in the order `source` indexes them
    source: tuple[int, ...]
    kind: tuple[str, ...]
    median: tuple[float, ...]  # per transformed column (unused for "missing")
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    name: str = "rfm_logistic_regression"
    # the lapsed segment: rows whose `segment_column` (one of `columns`) is >= `segment_min` take the logit
    # and contributions of `lapsed` (same `columns`) instead; None = one regression for every row
    lapsed: LinearMargin | None = None
    segment_column: str | None = None
    segment_min: float = math.inf

    def transformed(self, x: np.ndarray) -> np.ndarray:
        """(rows, transformed columns) standardised design matrix for `x` = (rows, len(columns))."""
        x = np.asarray(x, dtype=np.float64)
        out = np.empty((x.shape[0], len(self.source)), dtype=np.float64)
        for j, (src, kind) in enumerate(zip(self.source, self.kind, strict=True)):
            col = x[:, src]
            missing = np.isnan(col)
            if kind == "missing":
                t = missing.astype(np.float64)
            else:
                t = np.where(missing, self.median[j], np.log1p(np.clip(np.nan_to_num(col), 0.0, None)))
            out[:, j] = (t - self.mean[j]) / self.scale[j]
        return out

    def in_lapsed_segment(self, x: np.ndarray) -> np.ndarray | None:
        """Boolean mask of the rows the lapsed regression scores, None without a lapsed segment. A NULL
        segment value (never active) counts as lapsed, as the training population's filter reads it."""
        if self.lapsed is None or self.segment_column is None:
            return None
        col = np.asarray(x, dtype=np.float64)[:, self.columns.index(self.segment_column)]
        return ~(col < self.segment_min)

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """(rows, len(columns)) log-odds contribution of each source column against the training mean
        (of the row's own segment)."""
        z = self.transformed(x) * np.asarray(self.coef, dtype=np.float64)
        out = np.zeros((z.shape[0], len(self.columns)), dtype=np.float64)
        for j, src in enumerate(self.source):
            out[:, src] += z[:, j]
        lapsed = self.in_lapsed_segment(x)
        if lapsed is not None and self.lapsed is not None and lapsed.any():
            out[lapsed] = self.lapsed.contributions(np.asarray(x, dtype=np.float64)[lapsed])
        return out

    def margin(self, x: np.ndarray) -> np.ndarray:
        """The regression's logit per row (the booster's base_margin)."""
        out = self.intercept + self.transformed(x) @ np.asarray(self.coef, dtype=np.float64)
        lapsed = self.in_lapsed_segment(x)
        if lapsed is not None and self.lapsed is not None and lapsed.any():
            out[lapsed] = self.lapsed.margin(np.asarray(x, dtype=np.float64)[lapsed])
        return out

    def margin_from(self, matrix: np.ndarray, features: list[str]) -> np.ndarray:
        """The logit for a matrix in the booster's feature order (the margin columns are among them)."""
        return self.margin(matrix[:, self.indices(features)])

    def indices(self, features: list[str]) -> list[int]:
        missing = [c for c in self.columns if c not in features]
        if missing:
            raise ValueError(f"base margin needs features {missing} that the model does not carry")
        return [features.index(c) for c in self.columns]

    def to_json(self) -> dict[str, Any]:
        raw = {**asdict(self), "columns": list(self.columns)}
        raw["lapsed"] = None if self.lapsed is None else self.lapsed.to_json()
        if self.lapsed is None:  # one regression: the file reads as before the segment existed
            for key in ("lapsed", "segment_column", "segment_min"):
                raw.pop(key)
        return raw

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> LinearMargin:
        return cls(
            columns=tuple(raw["columns"]),
            source=tuple(int(v) for v in raw["source"]),
            kind=tuple(raw["kind"]),
            median=tuple(float(v) for v in raw["median"]),
            mean=tuple(float(v) for v in raw["mean"]),
            scale=tuple(float(v) for v in raw["scale"]),
            coef=tuple(float(v) for v in raw["coef"]),
            intercept=float(raw["intercept"]),
            name=str(raw.get("name", "rfm_logistic_regression")),
            lapsed=None if raw.get("lapsed") is None else cls.from_json(raw["lapsed"]),
            segment_column=raw.get("segment_column"),
            segment_min=float(raw.get("segment_min", math.inf)),
        )
