"""What a registered churn-model version carries besides its booster, and the loaded form scoring uses.

Its own module so that `train` (which writes the artifacts), `score` (which reads them) and `reasons`
(which explains a loaded model) share these names without importing each other: nightly scoring must
not import training (matplotlib, scikit-learn) for two file names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xgboost as xgb

from crm_scoring.model.calibration import apply_calibration
from crm_scoring.model.margin import LinearMargin

FEATURES_FILE = "features.json"
CALIBRATION_FILE = "calibration.json"


@dataclass(frozen=True)
class LoadedModel:
    """The champion's booster plus what scoring needs from its artifacts (feature order, calibration, and
    the base margin it was boosted from, None for a booster boosted from 0).

    `booster` None = the logistic-regression family (model.family): the model is its `margin` alone,
    probability = sigmoid(margin logit); every consumer (score, reasons, gate, backtest, pyfunc) goes
    through `raw` / `predict`, so both families serve through the same path.
    """

    name: str
    version: str
    run_id: str
    booster: xgb.Booster | None
    features: list[str]
    calibration: dict[str, Any]
    margin: LinearMargin | None = None

    @property
    def family(self) -> str:
        from crm_scoring.model.family import GLM, XGBOOST

        return XGBOOST if self.booster is not None else GLM

    def raw(self, matrix: np.ndarray) -> np.ndarray:
        """Uncalibrated probabilities for a (rows, features) matrix in `features` order.

        With a base margin: one bulk `inplace_predict` with the baseline's logit as base_margin (no
        DMatrix copy); the result equals `predict(DMatrix with base_margin)` of training.
        """
        if self.booster is None:
            if self.margin is None:
                raise ValueError(f"{self.name} v{self.version} has neither a booster nor a regression")
            return 1.0 / (
                1.0 + np.exp(-self.margin.margin_from(np.asarray(matrix, np.float64), self.features))
            )
        if self.margin is None:
            return self.booster.predict(xgb.DMatrix(matrix, feature_names=self.features))
        if len(matrix) == 0:
            return np.empty(0, dtype=np.float32)
        base = self.margin.margin_from(matrix, self.features)
        return self.booster.inplace_predict(matrix, base_margin=base, validate_features=False)

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        return apply_calibration(self.calibration, self.raw(matrix))
