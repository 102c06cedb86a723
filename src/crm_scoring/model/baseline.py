"""The yardstick every churn model must beat: logistic regression on recency, frequency and monetary value.

Logged in the same MLflow run as the XGBoost model (metrics `baseline_rfm_*`, tag and metric
`beats_rfm_baseline`), so a model that only adds complexity shows up as such on any data set.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from crm_scoring.model.config import BaselineConfig
from crm_scoring.model.margin import LinearMargin


def _log1p_nonnegative(x: np.ndarray) -> np.ndarray:
    """Counts, amounts and day counts are long-tailed; log1p makes a linear model see them sensibly."""
    return np.log1p(np.clip(x, 0.0, None))


def rfm_columns(frame: pd.DataFrame, config: BaselineConfig) -> list[str] | None:
    """The baseline's columns when all three exist in the frame, else None (baseline skipped)."""
    cols = list(config.columns)
    return cols if all(c in frame.columns for c in cols) else None


def fit_rfm_baseline(train: pd.DataFrame, columns: list[str], target: str, seed: int):  # noqa: ANN201
    """A fitted sklearn pipeline; NULL recency (never ordered) is imputed and flagged, not dropped."""
    model = make_pipeline(
        FunctionTransformer(_log1p_nonnegative),
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(max_iter=1000, random_state=seed),
    )
    model.fit(train[columns].to_numpy(dtype=np.float64), train[target].to_numpy())
    return model


@dataclass(frozen=True)
class LapsedSegment:
    """Where the model's regression splits its training rows: `column` >= `minimum` is lapsed (CH-02's
    winback_min_inactive_days on days_inactive), fitted apart when both segments hold `min_class_rows` of
    each class."""

    column: str
    minimum: float
    min_class_rows: int

    def lapsed_rows(self, frame: pd.DataFrame) -> np.ndarray:
        """Boolean mask of the lapsed rows of `frame`; a NULL value (never active) counts as lapsed, as in
        `margin.LinearMargin.in_lapsed_segment`, which applies the same cut when scoring."""
        return ~(frame[self.column].to_numpy(dtype=np.float64) < self.minimum)


def fit_rfm_margin(
    train: pd.DataFrame, columns: list[str], target: str, seed: int, segment: LapsedSegment | None = None
) -> tuple[LinearMargin, str]:
    """The model's RFM regression as a `LinearMargin`, and a sentence on how it was fitted.

    Pooled over every training row, unless `segment` applies: then the active rows (the CH-02 churn
    population) and the lapsed ones (the win-back layer, present when churn_training_population widens
    the training rows) get a regression each, joined in one margin that picks by the segment column. The
    active regression is then exactly the pooled one of a non-lapsed training set.
    """
    pooled = "one regression on every training row"
    if segment is None or segment.column not in train.columns:
        return linear_margin(fit_rfm_baseline(train, columns, target, seed), columns), pooled
    lapsed = segment.lapsed_rows(train)
    y = train[target].to_numpy()
    counts = {
        name: (int((y[rows] == 0).sum()), int((y[rows] == 1).sum()))
        for name, rows in (("active", ~lapsed), ("lapsed", lapsed))
    }
    short = {name: c for name, c in counts.items() if min(c) < segment.min_class_rows}
    if short:
        why = ", ".join(f"{name} {c[0]} retained / {c[1]} churned" for name, c in short.items())
        return linear_margin(fit_rfm_baseline(train, columns, target, seed), columns), (
            f"{pooled} ({why}: fewer than {segment.min_class_rows} of a class to fit the lapsed apart)"
        )
    wide = tuple(columns) + (() if segment.column in columns else (segment.column,))
    active, gone = (
        replace(linear_margin(fit_rfm_baseline(train[r], columns, target, seed), columns), columns=wide)
        for r in (~lapsed, lapsed)
    )
    margin = replace(active, lapsed=gone, segment_column=segment.column, segment_min=float(segment.minimum))
    return margin, (
        f"the active ({counts['active'][0] + counts['active'][1]} rows) and the lapsed "
        f"({counts['lapsed'][0] + counts['lapsed'][1]} rows, {segment.column} >= {segment.minimum:g}) "
        "fitted apart"
    )


def predict_rfm_baseline(model, frame: pd.DataFrame, columns: list[str]) -> np.ndarray:  # noqa: ANN001
    return model.predict_proba(frame[columns].to_numpy(dtype=np.float64))[:, 1]


def linear_margin(model, columns: list[str]) -> LinearMargin:  # noqa: ANN001 - the fit_rfm_baseline pipeline
    """The fitted pipeline as a `LinearMargin` (pure numpy, JSON): same logit, no scikit-learn at scoring.

    Layout of the pipeline's design matrix: the imputed log columns, then one missing indicator per
    column that had NULLs in the fit rows (SimpleImputer.indicator_.features_), then standardised.
    """
    _, imputer, scaler, lr = (step for _, step in model.steps)
    source = list(range(len(columns)))
    kind = ["value"] * len(columns)
    if imputer.indicator_ is not None:
        flagged = [int(i) for i in imputer.indicator_.features_]
        source += flagged
        kind += ["missing"] * len(flagged)
    medians = [float(v) for v in imputer.statistics_] + [0.0] * (len(source) - len(columns))
    return LinearMargin(
        columns=tuple(columns),
        source=tuple(source),
        kind=tuple(kind),
        median=tuple(medians),
        mean=tuple(float(v) for v in scaler.mean_),
        scale=tuple(float(v) for v in scaler.scale_),
        coef=tuple(float(v) for v in lr.coef_[0]),
        intercept=float(lr.intercept_[0]),
    )
