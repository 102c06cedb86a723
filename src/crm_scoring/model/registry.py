"""MLflow tracking and registry helpers: experiment set-up and the @champion / @challenger aliases.

Aliases (never stages) mark what scores tonight (@champion) and the latest trained candidate
(@challenger); promotion moves @champion, so rollback is a one-line alias change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from crm_scoring import settings
from crm_scoring.model.config import PromotionPolicy, load_config

log = logging.getLogger(__name__)

CHAMPION = "champion"
CHALLENGER = "challenger"


class NoChampionError(RuntimeError):
    """Scoring was asked for but nothing carries the @champion alias yet."""


def client() -> MlflowClient:
    """A client bound to the configured tracking/registry store (set per call, never cached)."""
    uri = settings.mlflow_tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


# MLflow 3's UI opens an experiment on its GenAI overview (traces, latency, tokens) unless the
# experiment says it is classic model development; the UI reads this tag.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
PURPOSE_TAG = "crm.purpose"


def ensure_experiment(name: str, purpose: str = "training") -> str:
    """The experiment id, creating it with the project's artifact root when it does not exist; tagged
    as a model-training experiment with its purpose (training / benchmark / backtest)."""
    c = client()
    exp = c.get_experiment_by_name(name)
    if exp is None:
        try:
            experiment_id = c.create_experiment(name, artifact_location=settings.mlflow_artifact_root())
        except MlflowException:  # created concurrently by another task
            exp = c.get_experiment_by_name(name)
            if exp is None:
                raise
            experiment_id = exp.experiment_id
    else:
        experiment_id = exp.experiment_id
    tag_experiment(experiment_id, purpose=purpose)
    return experiment_id


def tag_experiment(experiment_id: str, *, purpose: str) -> None:
    """Idempotent: the UI kind (model development, not GenAI) and the project's purpose tag."""
    c = client()
    tags = c.get_experiment(experiment_id).tags
    wanted = {EXPERIMENT_KIND_TAG: EXPERIMENT_KIND, PURPOSE_TAG: purpose}
    for key, value in wanted.items():
        if tags.get(key) != value:
            c.set_experiment_tag(experiment_id, key, value)


def version_by_alias(alias: str, model_name: str | None = None) -> ModelVersion | None:
    name = model_name or load_config().model_name
    try:
        return client().get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
            return None
        raise


def champion_version(model_name: str | None = None) -> str | None:
    """The registered version behind @champion, or None before the first promotion."""
    mv = version_by_alias(CHAMPION, model_name)
    return str(mv.version) if mv else None


def set_alias(alias: str, version: str, model_name: str | None = None) -> None:
    name = model_name or load_config().model_name
    client().set_registered_model_alias(name, alias, str(version))
    log.info("models:/%s@%s -> version %s", name, alias, version)


def move_champion(
    version: str, model_name: str | None = None, *, mode: str = "manual", reason: str = ""
) -> str | None:
    """Point @champion at `version`; the champion it replaces is recorded on it so rollback knows where to go.

    Not a promotion API: it checks nothing. The one promotion is `promotion.promote` (gated, or forced
    with the reasons recorded); the only other callers are `train` for the very first version and
    `ensure_champion` when no champion exists (nothing to beat). A test keeps it that way.
    Only the alias moves; every version stays registered. Returns the previous champion (or None).
    """
    name = model_name or load_config().model_name
    previous = champion_version(name)
    c = client()
    set_alias(CHAMPION, version, name)
    tags = {
        "promoted": "true",
        "promotion_mode": mode,
        "promoted_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if reason:
        tags["promotion_reason"] = reason[:4000]
    if previous is not None and previous != str(version):
        tags["previous_champion"] = previous
    elif previous is None:
        tags["previous_champion"] = "none"
    for key, value in tags.items():
        c.set_model_version_tag(name, str(version), key, value)
    return previous


def run_metrics(run_id: str) -> dict[str, float]:
    return dict(client().get_run(run_id).data.metrics)


@dataclass(frozen=True)
class PromotionDecision:
    promote: bool
    reasons: tuple[str, ...]


def evaluate_promotion(
    challenger: dict[str, float],
    champion: dict[str, float] | None,
    policy: PromotionPolicy,
    baseline: dict[str, float] | None = None,
) -> PromotionDecision:
    """Gate a challenger against the policy (min AUC, no loss to the RFM baseline beyond the tolerance,
    max calibration error, min gain over champion). `baseline` = the RFM logistic regression's metrics on
    the same holdout; a missing baseline metric fails that gate (it cannot be shown to pass)."""
    reasons: list[str] = []
    metric = policy.primary_metric
    value = challenger.get(metric, float("nan"))
    if policy.min_auc is not None and not value >= policy.min_auc:
        reasons.append(f"{metric} {value:.4f} < model_min_auc {policy.min_auc}")
    tolerance = policy.max_auc_loss_to_baseline
    if tolerance is not None and baseline is not None:
        base = baseline.get(metric, float("nan"))
        if not value - base >= -tolerance - 1e-9:  # 1e-9: a delta of exactly -tolerance passes
            reasons.append(
                f"ranks worse than the RFM baseline: {metric} {value:.4f} vs baseline_rfm {base:.4f} "
                f"(delta {value - base:+.4f} < -model_max_auc_loss_to_baseline {tolerance})"
            )
    ece = challenger.get("ece", float("nan"))
    if not ece <= policy.max_calibration_error:
        reasons.append(f"ece {ece:.4f} > max {policy.max_calibration_error}")
    if champion is not None and metric in champion:
        gain = value - champion[metric]
        if not gain >= policy.min_gain:
            reasons.append(f"{metric} gain {gain:+.4f} over champion < min {policy.min_gain}")
    return PromotionDecision(not reasons, tuple(reasons))
