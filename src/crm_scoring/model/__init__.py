"""Churn model: training with MLflow tracking/registry (@champion/@challenger) and nightly bulk scoring."""

from __future__ import annotations

from crm_scoring.model.dataset import DatasetError, load_training_set
from crm_scoring.model.registry import NoChampionError, champion_version, evaluate_promotion, promote
from crm_scoring.model.score import ScoreResult, score
from crm_scoring.model.train import TrainResult, ensure_champion, train

__all__ = [
    "DatasetError",
    "NoChampionError",
    "ScoreResult",
    "TrainResult",
    "champion_version",
    "ensure_champion",
    "evaluate_promotion",
    "load_training_set",
    "promote",
    "score",
    "train",
]
