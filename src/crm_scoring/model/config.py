"""The churn model's definition, read from `models/churn/*.yaml` so no threshold lives in code."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from crm_scoring import settings


def churn_dir() -> Path:
    return settings.model_definition_dir() / "churn"


def _grown_budget(base: int, grown: int | None, cap: int) -> int:
    """A budget that grows with the data: `grown` clamped to [base, cap]; `base` when it does not grow
    (`grown` None) or has no cap (0). Written once for the round cap and the search's trial count, so the
    two scale by the same rule."""
    if grown is None:
        return base
    return max(base, min(grown, cap or base))


@dataclass(frozen=True)
class SplitConfig:
    valid_cutoffs: int = 1
    test_cutoffs: int = 1
    fallback_valid_share: float = 0.5
    fallback_holdout_share: float = 0.4
    min_rows_per_split: int = 50
    min_positives_per_split: int = 5


@dataclass(frozen=True)
class XGBConfig:
    objective: str = "binary:logistic"
    eval_metric: str = "logloss"
    tree_method: str = "hist"
    nthread: int = 2
    max_bin: int = 256
    num_boost_round: int = 600
    early_stopping_rounds: int = 40
    params: dict[str, Any] = field(default_factory=dict)
    scale_pos_weight: str | float = "auto"
    # feature -> +1 (risk never falls as it grows) / -1 (never rises); only where the direction is certain
    monotone_constraints: dict[str, int] = field(default_factory=dict)
    # "rfm_baseline" = boost from the RFM logistic regression's logit (fitted on the fit rows, stored with
    # the model, XGBoost base_margin everywhere; scale_pos_weight is then not applied), "none" = from 0.
    base_margin: str = "none"
    # Round cap that grows with the data: max(num_boost_round, rows / 10k * rounds_per_10k_rows), at most
    # num_boost_round_max (0 = the fixed num_boost_round). Early stopping decides the actual count.
    rounds_per_10k_rows: int = 0
    num_boost_round_max: int = 0

    def rounds_for(self, rows: int) -> int:
        """The boosting-round cap for `rows` training rows (never below `num_boost_round`)."""
        scaled = rows * self.rounds_per_10k_rows // 10_000 if self.rounds_per_10k_rows > 0 else None
        return _grown_budget(self.num_boost_round, scaled, self.num_boost_round_max)


@dataclass(frozen=True)
class SearchConfig:
    max_trials: int = 1
    selection_metric: str = "roc_auc"
    space: dict[str, list[Any]] = field(default_factory=dict)
    # Budget that grows with the data: one more trial per `rows_per_extra_trial` training rows, at most
    # `max_trials_cap` (0 / unset = a fixed `max_trials`).
    rows_per_extra_trial: int = 0
    max_trials_cap: int = 0

    def trials_for(self, rows: int) -> int:
        """The number of trials for `rows` training rows (never below `max_trials`)."""
        grown = self.max_trials + rows // self.rows_per_extra_trial if self.rows_per_extra_trial > 0 else None
        return _grown_budget(self.max_trials, grown, self.max_trials_cap)


@dataclass(frozen=True)
class MetricsConfig:
    ece_bins: int = 10
    lift_top_share: float = 0.10
    importance_top_k: int = 25
    input_example_rows: int = 5
    list_capacity_rows: int = 500
    shap_sample_rows: int = 2000
    shap_top_k: int = 15


@dataclass(frozen=True)
class BaselineConfig:
    """Column names of the recency / frequency / monetary features the logistic baseline uses."""

    recency: str = "recency_days"
    frequency: str = "orders_365d"
    monetary: str = "revenue_365d"
    # The model's own regression (the logistic-regression family and the booster's base margin, not this
    # yardstick) is fitted apart on the lapsed training rows (this column >= winback_min_inactive_days)
    # when each segment holds this many rows of each class (margin.LinearMargin.lapsed); None = pooled
    lapsed_segment_column: str | None = "days_inactive"
    lapsed_segment_min_class_rows: int = 50

    @property
    def columns(self) -> tuple[str, str, str]:
        return (self.recency, self.frequency, self.monetary)


@dataclass(frozen=True)
class ReasonConfig:
    top_k: int = 3
    table: str = "scoring.churn_reasons"
    catalogue: str = "feature_catalogue.yaml"
    approximate: bool = False
    # the night's candidate tables (dbt, lists_build): their customers get reasons inside the lists step,
    # every other scored customer after publishing (model/explain.py)
    candidates: tuple[str, ...] = ("lists_build.retention_candidates", "lists_build.compensation_candidates")


@dataclass(frozen=True)
class FamilyChoiceConfig:
    """Shift-aware family choice (model.family.shift_weights): the validation cutoff is reweighted to look
    like the population scored on the training date before the families are compared on it."""

    shift_weighting: bool = False
    # robust features of the domain classifier (validation rows vs the scoring population); absent ones
    # are skipped, none present = no weighting (tagged)
    shift_features: tuple[str, ...] = ()
    domain_classifier_c: float = 1.0  # inverse L2 strength of the domain logistic regression
    weight_clip_quantile: float = 0.99  # density ratios above this quantile are clipped to it
    # below this effective sample size the weighted AUCs are too noisy: the unweighted ones decide (tagged)
    min_effective_rows: int = 200
    # domain AUC at or above which validation and scoring populations do not overlap: the regression is
    # registered (family.guard_no_overlap); None = guard off
    no_overlap_domain_auc: float | None = None


@dataclass(frozen=True)
class ModelConfig:
    model_name: str
    experiment_name: str
    training_table: str
    features_table: str
    scores_table: str
    target: str
    exclude_columns: tuple[str, ...]
    protected_attributes: tuple[str, ...]
    split: SplitConfig
    xgboost: XGBConfig
    search: SearchConfig
    calibration: str
    metrics: MetricsConfig
    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    reasons: ReasonConfig = field(default_factory=ReasonConfig)
    # Drop features that are constant or all-null in the training frame (a customers-and-orders-only
    # export leaves dozens of them); the dropped ones are logged with the run.
    drop_constant_features: bool = True
    family_choice: FamilyChoiceConfig = field(default_factory=FamilyChoiceConfig)

    @property
    def non_features(self) -> frozenset[str]:
        """Columns that may never be features: keys, label, lineage and protected attributes (CH-10)."""
        return frozenset(c.lower() for c in (*self.exclude_columns, *self.protected_attributes, self.target))


@dataclass(frozen=True)
class PromotionPolicy:
    """The gate's thresholds. `min_auc` is the policy parameter `model_min_auc` (CH-04, AL-14), read from
    the warehouse's policy seed by the gate (one source for the gate and the AL-14 backtest alert);
    None = unset, and the gate then applies no absolute floor and says so.

    `max_auc_loss_to_baseline` is the policy parameter `model_max_auc_loss_to_baseline`: a challenger
    whose holdout AUC is below the RFM logistic regression's (fitted on the same training rows, scored on
    the same holdout) by more than this is refused, because a model that ranks worse than three log
    features only adds complexity (issue 11). None = unset: no baseline gate (the gate says so)."""

    primary_metric: str
    min_auc: float | None
    min_gain: float
    max_calibration_error: float
    max_auc_loss_to_baseline: float | None = None


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise FileNotFoundError(f"model definition not found: {path} (set CRM_HOME to the repository root)")
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def load_config(path: Path | None = None) -> ModelConfig:
    raw = _read_yaml(path or churn_dir() / "config.yaml")
    tables = raw.get("tables", {})
    return ModelConfig(
        model_name=raw["model_name"],
        experiment_name=raw["experiment_name"],
        training_table=tables.get("training_set", "marts.churn_training_set"),
        features_table=tables.get("features", "marts.churn_features"),
        scores_table=tables.get("scores", "scoring.churn_scores"),
        target=raw.get("target", "churned"),
        exclude_columns=tuple(raw.get("exclude_columns", [])),
        protected_attributes=tuple(raw.get("protected_attributes", [])),
        split=SplitConfig(**raw.get("split", {})),
        xgboost=XGBConfig(**raw.get("xgboost", {})),
        search=SearchConfig(**raw.get("search", {})),
        calibration=str(raw.get("calibration", "none")),
        metrics=MetricsConfig(**raw.get("metrics", {})),
        baseline=BaselineConfig(**raw.get("baseline", {})),
        reasons=ReasonConfig(**raw.get("reason_codes", {})),
        drop_constant_features=bool(raw.get("drop_constant_features", True)),
        family_choice=_family_choice(raw.get("family_choice", {})),
    )


def _family_choice(raw: dict[str, Any]) -> FamilyChoiceConfig:
    return FamilyChoiceConfig(**{**raw, "shift_features": tuple(raw.get("shift_features", ()))})


def load_promotion_policy(
    path: Path | None = None, *, min_auc: float | None = None, max_auc_loss_to_baseline: float | None = None
) -> PromotionPolicy:
    """promotion.yaml plus the two policy parameters (model_min_auc, model_max_auc_loss_to_baseline),
    which the gate reads from the warehouse (see `promotion.policy_parameter`)."""
    raw = _read_yaml(path or churn_dir() / "promotion.yaml")
    for key, param in (
        ("min_auc", "model_min_auc"),
        ("max_auc_loss_to_baseline", "model_max_auc_loss_to_baseline"),
    ):
        if key in raw:
            raise ValueError(
                f"promotion.yaml must not set {key}: it is policy parameter {param} "
                "(dbt_project/seeds/policy/policy_parameters.csv)"
            )
    return PromotionPolicy(
        primary_metric=raw.get("primary_metric", "roc_auc"),
        min_auc=min_auc,
        min_gain=float(raw["min_gain"]),
        max_calibration_error=float(raw["max_calibration_error"]),
        max_auc_loss_to_baseline=max_auc_loss_to_baseline,
    )
