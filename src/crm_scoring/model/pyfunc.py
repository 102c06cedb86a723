"""The registered churn model as an MLflow pyfunc: booster + base margin + calibration in one directory
(the logistic-regression family, model.family, carries the regression as base_margin.json and no booster).

Why not the plain xgboost flavour: a booster boosted from the RFM regression's logit is meaningless
without that logit (its own output is only the residual), so the generic `mlflow.pyfunc.load_model`
would serve wrong probabilities. This wrapper serves what nightly scoring writes: calibrated churn
probabilities from the same `LoadedModel.predict`. The files are plain JSON (no pickled model state);
`score.load_version` reads the same files without going through pyfunc.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd
import xgboost as xgb

from crm_scoring.model.artifacts import CALIBRATION_FILE, FEATURES_FILE, LoadedModel
from crm_scoring.model.margin import LinearMargin

BOOSTER_FILE = "booster.ubj"
ARTIFACT_KEYS = {"booster": BOOSTER_FILE, "features": FEATURES_FILE, "calibration": CALIBRATION_FILE}


def read_model_files(
    files: dict[str, str], *, name: str = "churn", version: str = "", run_id: str = ""
) -> LoadedModel:
    """A `LoadedModel` from the artifact files (key -> local path; `base_margin` optional, `booster`
    absent for the logistic-regression family, whose model is the `base_margin` regression alone)."""
    booster_path = files.get("booster")
    booster = None
    if booster_path and Path(booster_path).exists():
        booster = xgb.Booster()
        booster.load_model(booster_path)
    features = json.loads(Path(files["features"]).read_text())["features"]
    calibration = json.loads(Path(files["calibration"]).read_text())
    margin_path = files.get("base_margin")
    margin = (
        LinearMargin.from_json(json.loads(Path(margin_path).read_text()))
        if margin_path and Path(margin_path).exists()
        else None
    )
    return LoadedModel(name, version, run_id, booster, features, calibration, margin)


class ChurnPyfunc(mlflow.pyfunc.PythonModel):
    """pyfunc serving: DataFrame with the model's features (NULLs allowed) -> calibrated probabilities."""

    def load_context(self, context: Any) -> None:  # noqa: ANN401 - mlflow's PythonModelContext
        self._model = read_model_files(dict(context.artifacts))

    def predict(  # noqa: ANN401
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> np.ndarray:
        frame = pd.DataFrame(model_input)
        matrix = frame[self._model.features].to_numpy(dtype=np.float64)
        return self._model.predict(matrix)
