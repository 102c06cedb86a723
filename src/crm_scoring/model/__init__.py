"""Churn model: training with MLflow tracking/registry (@champion/@challenger), promotion gate and
nightly bulk scoring with reason codes.

Import what you need from its module (`crm_scoring.model.train.train`, `...score.score`,
`...promotion.promote`). The package itself imports nothing: `crm --help` and every command that
never touches the model must not pay for MLflow, XGBoost and scikit-learn (about 20 s on two busy
cores). The few names below resolve lazily for callers written against the old flat API; `train`
and `score` are not among them because they are also the names of submodules.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "DatasetError": "crm_scoring.model.dataset",
    "load_training_set": "crm_scoring.model.dataset",
    "PromotionError": "crm_scoring.model.promotion",
    "gate_and_promote": "crm_scoring.model.promotion",
    "rollback": "crm_scoring.model.promotion",
    "compute_reason_codes": "crm_scoring.model.reasons",
    "NoChampionError": "crm_scoring.model.registry",
    "champion_version": "crm_scoring.model.registry",
    "evaluate_promotion": "crm_scoring.model.registry",
    "ScoreResult": "crm_scoring.model.score",
    "TrainResult": "crm_scoring.model.train",
    "ensure_champion": "crm_scoring.model.train",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
