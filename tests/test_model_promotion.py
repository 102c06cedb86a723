"""Champion/challenger promotion (CH-04): the gate on one holdout, promote, rollback, status — on a real
MLflow store and real PostgreSQL; the gate's decision logic itself is tested as pure logic."""

from __future__ import annotations

import dataclasses

import pytest
from click.testing import CliRunner
from mlflow import MlflowClient
from support.churn import RUN_DATE, churn_db, mlflow_store  # noqa: F401 - fixtures

from crm_scoring.model.cli import model_group
from crm_scoring.model.config import PromotionPolicy, load_config
from crm_scoring.model.promotion import (
    PromotionError,
    decide,
    evaluate_gate,
    gate_and_promote,
    promote,
    rollback,
    status,
)
from crm_scoring.model.score import score
from crm_scoring.model.train import train

POLICY = PromotionPolicy("roc_auc", min_auc=0.70, min_gain=0.005, max_calibration_error=0.05)


def test_gate_decisions() -> None:
    ok = {"roc_auc": 0.80, "ece": 0.02}
    assert decide(ok, None, POLICY).promote
    assert decide(ok, {"roc_auc": 0.79, "ece": 0.01}, POLICY).promote
    small_gain = decide(ok, {"roc_auc": 0.797}, POLICY)
    assert not small_gain.promote and "gain +0.0030" in small_gain.reasons[0]
    assert not decide(ok, {"roc_auc": 0.85}, POLICY).promote  # worse than the champion
    assert not decide({"roc_auc": 0.69, "ece": 0.02}, None, POLICY).promote  # AUC floor
    miscalibrated = decide({"roc_auc": 0.9, "ece": 0.08}, {"roc_auc": 0.7}, POLICY)
    assert not miscalibrated.promote and miscalibrated.reasons == ("ece 0.0800 > max 0.05",)
    nan = decide({"roc_auc": float("nan"), "ece": float("nan")}, None, POLICY)
    assert not nan.promote and len(nan.reasons) == 2  # missing metrics never pass


def test_gate_refuses_a_challenger_that_ranks_worse_than_the_rfm_baseline() -> None:
    gated = dataclasses.replace(POLICY, max_auc_loss_to_baseline=0.005)
    ok = {"roc_auc": 0.80, "ece": 0.02}
    assert decide(ok, None, gated, {"roc_auc": 0.804}).promote  # within the tolerance: a tie passes
    assert decide(ok, None, gated, {"roc_auc": 0.805}).promote  # exactly the tolerance passes
    worse = decide(ok, None, gated, {"roc_auc": 0.81})
    assert not worse.promote
    assert worse.reasons == (
        "ranks worse than the RFM baseline: roc_auc 0.8000 vs baseline_rfm 0.8100 "
        "(delta -0.0100 < -model_max_auc_loss_to_baseline 0.005)",
    )
    # it applies even when the challenger beats the champion (both can lose to three log features)
    assert not decide(ok, {"roc_auc": 0.70}, gated, {"roc_auc": 0.81}).promote
    assert not decide(ok, None, gated, {}).promote  # a baseline without the metric never passes
    assert decide(ok, None, POLICY, {"roc_auc": 0.81}).promote  # parameter unset: no baseline gate
    assert decide(ok, None, gated, None).promote  # no baseline fitted (columns missing): no gate


def _weak_config():
    """A deliberately weak first model: only revenue and the VIP flag (the other features hidden)."""
    cfg = load_config()
    hidden = ("days_since_last_login", "orders_90d", "complaints_90d", "sentiment_mean_90d", "recency_days")
    return dataclasses.replace(cfg, protected_attributes=(*cfg.protected_attributes, *hidden, "orders_365d"))


def _champion(client: MlflowClient) -> str:
    return str(client.get_model_version_by_alias("churn", "champion").version)


def test_gate_promote_rollback_cycle(
    churn_db: str,  # noqa: F811
    mlflow_store: MlflowClient,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 500-row synthetic cutoffs differ in churn rate by sampling noise alone (ECE ~0.07 out of time);
    # the real ceiling is for real volumes, so this test loosens only the calibration ceiling.
    loose = dataclasses.replace(POLICY, max_calibration_error=0.15)
    # The first version is gated too (min AUC, RFM baseline): the weak one (below 0.70, and ranking worse
    # than the RFM regression) becomes champion only under a policy without either check ...
    no_floor = dataclasses.replace(loose, min_auc=0.0, max_auc_loss_to_baseline=1.0)
    monkeypatch.setattr("crm_scoring.model.promotion.load_promotion_policy", lambda: no_floor)
    weak = train(churn_db, RUN_DATE, config=_weak_config())
    assert weak.aliases == ("champion", "challenger")
    assert mlflow_store.get_model_version("churn", "1").tags["first_version_gate"] == "pass"
    # ... from here on the policy parameter model_max_auc_loss_to_baseline (0.005) is in force
    monkeypatch.setattr("crm_scoring.model.promotion.load_promotion_policy", lambda: loose)
    assert mlflow_store.get_model_version("churn", "1").tags["previous_champion"] == "none"
    first = gate_and_promote(churn_db, RUN_DATE)
    assert first["promoted"] and first["version"] == "1"  # announced once ...
    assert not gate_and_promote(churn_db, RUN_DATE)["promoted"]  # ... not on a rerun

    strong = train(churn_db, RUN_DATE)
    assert strong.aliases == ("challenger",)
    # dry run: evaluated on the same holdout, champion re-scored, nothing changes
    dry = promote(churn_db, run_date=RUN_DATE, dry_run=True)
    assert dry["would_promote"] and not dry["promoted"]
    assert dry["gate"]["champion_rescored"] and dry["gate"]["holdout_cutoffs"] == ("2026-08-01",)
    assert _champion(mlflow_store) == "1"
    assert "gate_decision" not in mlflow_store.get_model_version("churn", "2").tags

    decision = gate_and_promote(churn_db, RUN_DATE)
    assert decision["promoted"] and decision["champion_version"] == "2"
    assert decision["challenger_roc_auc"] > decision["champion_roc_auc"] + 0.005
    v2 = mlflow_store.get_model_version("churn", "2")
    assert v2.tags["gate_decision"] == "promote" and v2.tags["previous_champion"] == "1"
    assert v2.tags["gate_champion_version"] == "1" and v2.tags["gate_champion_rescored"] == "true"
    assert "PROMOTE" in v2.description
    assert score(churn_db, RUN_DATE).model_version == "2"
    # the baseline gate (policy model_max_auc_loss_to_baseline, read from the warehouse): the weak v1
    # (revenue and the VIP flag only) ranks worse than the RFM regression refitted on the same rows
    weak_gate = evaluate_gate(churn_db, RUN_DATE, version="1")
    assert weak_gate.baseline_metrics is not None and not weak_gate.promote
    assert any(r.startswith("ranks worse than the RFM baseline") for r in weak_gate.reasons), (
        weak_gate.summary()
    )
    assert decision["challenger_roc_auc"] >= weak_gate.baseline_metrics["roc_auc"] - 0.005  # v2 passed it

    # an identical retrain cannot beat the champion by min_gain: rejected, reasons on the version
    again = train(churn_db, RUN_DATE)
    rejected = gate_and_promote(churn_db, RUN_DATE)
    assert not rejected["promoted"] and rejected["version"] == again.version == "3"
    assert any("gain" in r for r in rejected["reasons"])
    v3 = mlflow_store.get_model_version("churn", "3")
    assert v3.tags["gate_decision"] == "reject" and "gain" in v3.tags["gate_reasons"]
    assert _champion(mlflow_store) == "2"

    # the CLI: a rejected promotion fails unless forced
    runner = CliRunner()
    monkeypatch.setenv("CRM_WAREHOUSE_URL", churn_db)
    refused = runner.invoke(model_group, ["promote", "--date", RUN_DATE.isoformat()])
    assert refused.exit_code != 0 and "not promoted" in refused.output
    forced = runner.invoke(model_group, ["promote", "--date", RUN_DATE.isoformat(), "--force"])
    assert forced.exit_code == 0, forced.output
    v3 = mlflow_store.get_model_version("churn", "3")
    assert v3.tags["promotion_mode"] == "forced" and v3.tags["previous_champion"] == "2"

    # rollback follows the recorded chain: 3 -> 2 -> 1; dry run changes nothing
    assert rollback(dry_run=True) == {"from": "3", "to": "2", "dry_run": True, "rolled_back": False}
    assert _champion(mlflow_store) == "3"
    out = runner.invoke(model_group, ["rollback"])
    assert out.exit_code == 0 and "from v3 to v2" in out.output
    assert mlflow_store.get_model_version("churn", "3").tags["rolled_back_to"] == "2"
    assert rollback()["to"] == "1"
    with pytest.raises(PromotionError, match="no previous champion"):
        rollback()
    assert rollback(to="3")["to"] == "3"
    assert score(churn_db, RUN_DATE).model_version == "3"

    info = status()
    assert info["aliases"] == {"champion": "3", "challenger": "3"}
    assert [v["version"] for v in info["versions"]] == ["3", "2", "1"]
    shown = runner.invoke(model_group, ["status"])
    assert shown.exit_code == 0 and "@champion = v3" in shown.output


def test_gate_without_challenger_is_a_clear_error(churn_db: str, mlflow_store: MlflowClient) -> None:  # noqa: F811
    with pytest.raises(PromotionError, match="no @challenger"):
        evaluate_gate(churn_db, RUN_DATE)
