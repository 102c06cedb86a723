"""Churn model: training with MLflow tracking/registry (@champion/@challenger), promotion gate and
nightly bulk scoring with reason codes."""

from __future__ import annotations

from crm_scoring.model.dataset import DatasetError, load_training_set
from crm_scoring.model.promotion import PromotionError, gate_and_promote, rollback
from crm_scoring.model.reasons import compute_reason_codes
from crm_scoring.model.registry import NoChampionError, champion_version, evaluate_promotion, promote
from crm_scoring.model.score import ScoreResult, score
from crm_scoring.model.train import TrainResult, ensure_champion, train

__all__ = [
    "DatasetError",
    "NoChampionError",
    "PromotionError",
    "ScoreResult",
    "TrainResult",
    "champion_version",
    "compute_reason_codes",
    "ensure_champion",
    "evaluate_promotion",
    "gate_and_promote",
    "load_training_set",
    "promote",
    "rollback",
    "score",
    "train",
]
