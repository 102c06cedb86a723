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

FEATURES_FILE = "features.json"
CALIBRATION_FILE = "calibration.json"


@dataclass(frozen=True)
class LoadedModel:
    """The champion's booster plus what scoring needs from its artifacts (feature order, calibration)."""

    name: str
    version: str
    run_id: str
    booster: xgb.Booster
    features: list[str]
    calibration: dict[str, Any]

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        raw = self.booster.predict(xgb.DMatrix(matrix, feature_names=self.features))
        return apply_calibration(self.calibration, raw)
