"""Champion/challenger promotion (CH-04): a gate on one out-of-time holdout, promote, roll back, status.

The gate re-scores the current champion on the challenger's holdout (the latest matured cutoff of
the training set), so both are judged on the same rows rather than on metrics from different
periods. Its decision and reasons are written onto the challenger's model version (tags and
description); promotions record the champion they replace, which is where a rollback goes.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from crm_scoring import warehouse
from crm_scoring.model import registry
from crm_scoring.model.baseline import fit_rfm_baseline, predict_rfm_baseline, rfm_columns
from crm_scoring.model.config import ModelConfig, PromotionPolicy, load_config, load_promotion_policy
from crm_scoring.model.dataset import Split, load_training_set, split_out_of_time
from crm_scoring.model.metrics import evaluate

log = logging.getLogger(__name__)


class PromotionError(RuntimeError):
    """A promotion or rollback cannot be done as asked (nothing to promote, nowhere to roll back)."""


@dataclass(frozen=True)
class GateResult:
    model_name: str
    challenger_version: str
    champion_version: str | None
    promote: bool
    reasons: tuple[str, ...]
    challenger_metrics: dict[str, float]
    champion_metrics: dict[str, float] | None
    champion_rescored: bool
    holdout_cutoffs: tuple[str, ...]
    holdout_rows: int
    notes: tuple[str, ...] = field(default_factory=tuple)
    # RFM logistic regression fitted on the training set's fit rows, scored on the same holdout (None when
    # the training set lacks one of its columns); the yardstick of model_max_auc_loss_to_baseline.
    baseline_metrics: dict[str, float] | None = None

    def summary(self) -> str:
        verdict = "PROMOTE" if self.promote else "REJECT"
        cm = self.challenger_metrics
        lines = [
            f"gate {verdict}: {self.model_name} v{self.challenger_version} vs champion "
            f"{'v' + self.champion_version if self.champion_version else '(none)'} on holdout "
            f"{','.join(self.holdout_cutoffs)} ({self.holdout_rows} rows)",
            f"  challenger roc_auc {cm['roc_auc']:.4f} ece {cm['ece']:.4f}",
        ]
        if self.champion_metrics:
            how = "re-scored" if self.champion_rescored else "recorded metrics"
            lines.append(
                f"  champion   roc_auc {self.champion_metrics['roc_auc']:.4f} "
                f"ece {self.champion_metrics.get('ece', float('nan')):.4f} ({how})"
            )
        if self.baseline_metrics:
            base = self.baseline_metrics["roc_auc"]
            lines.append(
                f"  baseline   roc_auc {base:.4f} (RFM logistic regression, same rows; "
                f"challenger delta {cm['roc_auc'] - base:+.4f})"
            )
        lines += [f"  - {r}" for r in self.reasons] or ["  all gates passed"]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def policy_parameter(url: str, run_date: date | None, key: str) -> float | None:
    """Numeric policy parameter `key` in force on `run_date` (latest version when None); None if unset."""
    from crm_scoring.enrich.policy import parameter_values

    with warehouse.connect(url) as conn:
        value = parameter_values(conn, run_date or date.max).get(key)
    return None if value is None else float(value)


def policy_min_auc(url: str, run_date: date | None) -> float | None:
    """Policy parameter `model_min_auc` in force on `run_date` (latest version when None); None if unset."""
    return policy_parameter(url, run_date, "model_min_auc")


def resolve_policy(url: str, run_date: date | None, policy: PromotionPolicy | None = None) -> PromotionPolicy:
    """promotion.yaml's policy with the unset warehouse parameters (model_min_auc,
    model_max_auc_loss_to_baseline) filled from the policy in force on `run_date`: the one policy both the
    gate and the first-version check in `train` apply."""
    pol = policy or load_promotion_policy()
    if pol.min_auc is None:
        pol = dataclasses.replace(pol, min_auc=policy_min_auc(url, run_date))
    if pol.max_auc_loss_to_baseline is None:
        pol = dataclasses.replace(
            pol, max_auc_loss_to_baseline=policy_parameter(url, run_date, "model_max_auc_loss_to_baseline")
        )
    return pol


def decide(
    challenger: dict[str, float],
    champion: dict[str, float] | None,
    policy: PromotionPolicy,
    baseline: dict[str, float] | None = None,
) -> registry.PromotionDecision:
    """Pure gate logic (min AUC, no loss to the RFM baseline beyond the tolerance, max calibration error,
    min gain over the champion), all on the same holdout."""
    return registry.evaluate_promotion(challenger, champion, policy, baseline)


def _holdout(url: str, run_date: date | None, cfg: ModelConfig) -> tuple[Split, tuple[str, ...], str]:
    frame = load_training_set(url, run_date, config=cfg)
    split = split_out_of_time(frame, cfg.split, cfg.target)
    return split, tuple(str(c) for c in split.test_cutoffs), split.strategy


def _baseline_on(split: Split, cfg: ModelConfig) -> dict[str, float] | None:
    """The RFM logistic regression fitted on the split's fit rows (as `train` fits it), scored on its
    holdout: the gate refits it rather than trusting the run's logged figure, so challenger and baseline
    are always judged on the very same rows even if the mart was rebuilt since training."""
    columns = rfm_columns(split.train, cfg.baseline)
    if columns is None:
        return None
    model = fit_rfm_baseline(split.train, columns, cfg.target, seed=42)
    return evaluate(
        split.test[cfg.target].to_numpy(),
        predict_rfm_baseline(model, split.test, columns),
        ece_bins=cfg.metrics.ece_bins,
        lift_top_share=cfg.metrics.lift_top_share,
        list_capacity=cfg.metrics.list_capacity_rows,
    )


def _metrics_on(model, test, cfg: ModelConfig) -> dict[str, float]:  # noqa: ANN001
    p = model.predict(test[model.features].to_numpy(dtype=np.float64))
    return evaluate(
        test[cfg.target].to_numpy(),
        p,
        ece_bins=cfg.metrics.ece_bins,
        lift_top_share=cfg.metrics.lift_top_share,
        list_capacity=cfg.metrics.list_capacity_rows,
    )


def evaluate_gate(
    url: str,
    run_date: date | None = None,
    *,
    version: str | None = None,
    config: ModelConfig | None = None,
    policy: PromotionPolicy | None = None,
) -> GateResult:
    """Score challenger (default @challenger) and champion on the same holdout and apply the policy.

    No side effects. `run_date` picks the training-set build (None = the latest build in the mart).
    """
    from crm_scoring.model.score import load_version

    cfg = config or load_config()
    pol = resolve_policy(url, run_date, policy)
    if version is None:
        version = _alias_version(registry.CHALLENGER, cfg)
        if version is None:
            raise PromotionError(
                f"no @challenger version of {cfg.model_name!r}: train one first (`crm train`)"
            )
    champion = _alias_version(registry.CHAMPION, cfg)
    split, cutoffs, strategy = _holdout(url, run_date, cfg)
    test = split.test
    challenger_model = load_version(version, cfg)
    missing = [f for f in challenger_model.features if f not in test.columns]
    if missing:
        raise PromotionError(
            f"v{version} needs feature column(s) the training set lacks: {', '.join(missing)}"
        )
    challenger_metrics = _metrics_on(challenger_model, test, cfg)
    notes = [f"holdout split strategy {strategy}"]
    if pol.min_auc is None:
        notes.append("policy parameter model_min_auc is unset: no absolute AUC floor applied")
    baseline_metrics = _baseline_on(split, cfg)
    if pol.max_auc_loss_to_baseline is None:
        notes.append("policy parameter model_max_auc_loss_to_baseline is unset: no RFM baseline gate")
    elif baseline_metrics is None:
        notes.append(
            f"RFM baseline not fitted (training set lacks one of {', '.join(cfg.baseline.columns)}): "
            "no baseline gate"
        )
    champion_metrics: dict[str, float] | None = None
    rescored = False
    if champion is not None and champion != str(version):
        champion_model = load_version(champion, cfg)
        lacking = [f for f in champion_model.features if f not in test.columns]
        if lacking:
            # The feature mart changed since the champion was trained: fall back to its recorded metrics.
            recorded = registry.client().get_model_version(cfg.model_name, champion).tags
            champion_metrics = {k: float(recorded[k]) for k in ("roc_auc", "ece") if k in recorded}
            notes.append(
                f"champion not re-scored (lacks {', '.join(lacking)}): its recorded test metrics used"
            )
        else:
            champion_metrics = _metrics_on(champion_model, test, cfg)
            rescored = True
    if champion == str(version):
        reasons: tuple[str, ...] = (f"v{version} already is @champion",)
        promote = False
    else:
        decision = decide(challenger_metrics, champion_metrics, pol, baseline_metrics)
        reasons, promote = decision.reasons, decision.promote
    return GateResult(
        cfg.model_name,
        str(version),
        champion,
        promote,
        tuple(reasons),
        challenger_metrics,
        champion_metrics,
        rescored,
        cutoffs,
        len(test),
        tuple(notes),
        baseline_metrics,
    )


def _alias_version(alias: str, cfg: ModelConfig) -> str | None:
    mv = registry.version_by_alias(alias, cfg.model_name)
    return str(mv.version) if mv else None


def record_decision(result: GateResult, *, decision: str | None = None) -> None:
    """Write the gate's verdict onto the challenger's version: tags to filter on, a description to read."""
    c = registry.client()
    now = datetime.now(UTC).isoformat(timespec="seconds")
    verdict = decision or ("promote" if result.promote else "reject")
    tags = {
        "gate_decision": verdict,
        "gate_reasons": "; ".join(result.reasons) or "all gates passed",
        "gate_evaluated_at": now,
        "gate_holdout_cutoffs": ",".join(result.holdout_cutoffs),
        "gate_holdout_rows": str(result.holdout_rows),
        "gate_champion_version": result.champion_version or "none",
        "gate_champion_rescored": str(result.champion_rescored).lower(),
        "gate_challenger_roc_auc": f"{result.challenger_metrics['roc_auc']:.6f}",
        "gate_challenger_ece": f"{result.challenger_metrics['ece']:.6f}",
    }
    if result.champion_metrics and "roc_auc" in result.champion_metrics:
        tags["gate_champion_roc_auc"] = f"{result.champion_metrics['roc_auc']:.6f}"
    if result.baseline_metrics:
        base = result.baseline_metrics["roc_auc"]
        tags["gate_baseline_rfm_roc_auc"] = f"{base:.6f}"
        tags["gate_baseline_rfm_auc_delta"] = f"{result.challenger_metrics['roc_auc'] - base:+.6f}"
    for key, value in tags.items():
        c.set_model_version_tag(result.model_name, result.challenger_version, key, value[:5000])
    c.update_model_version(
        result.model_name, result.challenger_version, description=f"[{now}] {verdict}\n{result.summary()}"
    )
    _note_gate_on_run(c, result, verdict, now)


def _note_gate_on_run(c, result: GateResult, verdict: str, now: str) -> None:  # noqa: ANN001 - MlflowClient
    """The training run's name and description say the gate's outcome too (what mlflow ui lists first)."""
    run_id = c.get_model_version(result.model_name, result.challenger_version).run_id
    if not run_id:
        return
    run = c.get_run(run_id)
    note = run.data.tags.get("mlflow.note.content", "")
    marker = "Promotion gate: "
    head = note.split(marker)[0] if marker in note else note + " "
    c.set_tag(
        run_id,
        "mlflow.note.content",
        f"{head}{marker}{verdict} at {now} ({'; '.join(result.reasons) or 'all gates passed'}). "
        "Search trials are the nested runs below.",
    )
    c.set_tag(run_id, "gate_decision", verdict)
    name = run.data.tags.get("mlflow.runName", "")
    if name and not name.endswith(("-promote", "-reject", "-forced")):
        c.set_tag(run_id, "mlflow.runName", f"{name}-{verdict}")


def promote(
    url: str,
    *,
    version: str | None = None,
    run_date: date | None = None,
    dry_run: bool = False,
    force: bool = False,
) -> dict[str, Any]:
    """`crm model promote`: gate-checked unless `force`; `dry_run` evaluates and reports, changes nothing."""
    cfg = load_config()
    result = evaluate_gate(url, run_date, version=version, config=cfg)
    out = {"gate": asdict(result), "summary": result.summary(), "dry_run": dry_run, "forced": False}
    allowed = result.promote or (force and result.champion_version != result.challenger_version)
    out["promoted"] = False
    if dry_run:
        out["would_promote"] = allowed
        return out
    if not allowed:
        record_decision(result)
        return out
    forced = not result.promote
    record_decision(result, decision="forced" if forced else "promote")
    registry.move_champion(
        result.challenger_version,
        cfg.model_name,
        mode="forced" if forced else "gate",
        reason="; ".join(result.reasons) if forced else "all gates passed",
    )
    out.update(promoted=True, forced=forced, previous_champion=result.champion_version)
    return out


def gate_and_promote(url: str, run_date: date) -> dict[str, Any]:
    """The churn_training DAG's gate task: gate @challenger on `run_date`'s holdout, promote if it passes.

    'promoted' is True when @champion now points at this cycle's challenger because of this training
    cycle (the gate passed, or it was the very first version, made champion by `train`), which is when
    the DAG should emit the CHAMPION_MODEL asset event.
    """
    cfg = load_config()
    challenger = _alias_version(registry.CHALLENGER, cfg)
    if challenger is None:
        raise PromotionError(f"no @challenger version of {cfg.model_name!r}: the train task must run first")
    mv = registry.client().get_model_version(cfg.model_name, challenger)
    if _alias_version(registry.CHAMPION, cfg) == challenger:
        # Only the first version reaches this on its own training cycle (train() made it champion);
        # it is announced once, then marked so a rerun of the gate does not announce it again.
        first = (
            mv.tags.get("promotion_mode") in ("first_version", "bootstrap") and "gate_decision" not in mv.tags
        )
        if first:
            registry.client().set_model_version_tag(
                cfg.model_name, challenger, "gate_decision", "first_version"
            )
        return {
            "promoted": first,
            "version": challenger,
            "champion_version": challenger,
            "decision": "first version: champion without a gate" if first else "already champion",
            "reasons": [],
        }
    out = promote(url, run_date=run_date)
    result = out["gate"]
    log.info("%s", out["summary"])
    return {
        "promoted": bool(out["promoted"]),
        "version": challenger,
        "champion_version": challenger if out["promoted"] else result["champion_version"],
        "decision": "promote" if out["promoted"] else "reject",
        "reasons": list(result["reasons"]),
        "challenger_roc_auc": result["challenger_metrics"]["roc_auc"],
        "champion_roc_auc": (result["champion_metrics"] or {}).get("roc_auc"),
        "holdout_cutoffs": list(result["holdout_cutoffs"]),
    }


def rollback(*, to: str | None = None, dry_run: bool = False) -> dict[str, Any]:
    """Point @champion back at `to` (default: the champion the current one replaced, from its tag)."""
    cfg = load_config()
    c = registry.client()
    current = _alias_version(registry.CHAMPION, cfg)
    if current is None:
        raise PromotionError(f"no @champion version of {cfg.model_name!r}: nothing to roll back")
    target = to
    if target is None:
        target = c.get_model_version(cfg.model_name, current).tags.get("previous_champion")
        if not target or target == "none":
            raise PromotionError(
                f"v{current} records no previous champion: pass --to VERSION to choose one explicitly"
            )
    target = str(target)
    if target == current:
        raise PromotionError(f"v{target} already is @champion")
    c.get_model_version(cfg.model_name, target)  # raises when the version does not exist
    out = {"from": current, "to": target, "dry_run": dry_run, "rolled_back": False}
    if dry_run:
        return out
    registry.set_alias(registry.CHAMPION, target, cfg.model_name)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    c.set_model_version_tag(cfg.model_name, current, "rolled_back_at", now)
    c.set_model_version_tag(cfg.model_name, current, "rolled_back_to", target)
    c.set_model_version_tag(cfg.model_name, target, "restored_at", now)
    c.set_model_version_tag(cfg.model_name, target, "restored_from", current)
    out["rolled_back"] = True
    log.info("rolled back @champion of %s from v%s to v%s", cfg.model_name, current, target)
    return out


_STATUS_TAGS = (
    "run_date",
    "roc_auc",
    "ece",
    "gate_decision",
    "gate_reasons",
    "promotion_mode",
    "previous_champion",
)


def status(limit: int = 10) -> dict[str, Any]:
    """Aliases and the latest versions with their headline metrics and gate decisions."""
    cfg = load_config()
    c = registry.client()
    try:
        model = c.get_registered_model(cfg.model_name)
    except Exception:  # noqa: BLE001 - MLflow raises its own error types for an unknown model
        return {"model_name": cfg.model_name, "aliases": {}, "versions": []}
    aliases = {a: str(v) for a, v in (model.aliases or {}).items()}
    versions = sorted(
        c.search_model_versions(f"name = '{cfg.model_name}'"), key=lambda v: int(v.version), reverse=True
    )[:limit]
    rows = []
    for v in versions:
        row: dict[str, Any] = {
            "version": str(v.version),
            "aliases": sorted(a for a, ver in aliases.items() if ver == str(v.version)),
            "run_id": v.run_id,
        }
        row.update({k: v.tags[k] for k in _STATUS_TAGS if k in v.tags})
        rows.append(row)
    return {"model_name": cfg.model_name, "aliases": aliases, "versions": rows}
