"""Champion/challenger promotion (CH-04): the gate on one holdout, promote, rollback, status — on a real
MLflow store and real PostgreSQL; the gate's decision logic itself is tested as pure logic."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from support.churn import RUN_DATE, churn_db, load_churn_marts, mlflow_store  # noqa: F401 - fixtures

from crm_scoring import warehouse
from crm_scoring.model.cli import model_group
from crm_scoring.model.config import PromotionPolicy, load_config
from crm_scoring.model.promotion import (
    GateResult,
    PromotionError,
    decide,
    evaluate_gate,
    gate_and_promote,
    promote,
    rollback,
    status,
)
from crm_scoring.model.score import score
from crm_scoring.model.train import TrainResult, train

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


@dataclasses.dataclass
class Cycle:
    """What one train-weak -> gate -> train-strong -> dry run -> promote -> retrain -> CLI promote ->
    rollback sequence left behind, step by step (each step needs the registry the previous one left, so
    the sequence runs once, in order, in the fixture). Tags are copied when read: later steps add more."""

    weak: TrainResult
    v1_tags: dict[str, str]
    first: dict
    first_rerun: dict
    strong: TrainResult
    dry: dict
    champion_after_dry: str
    v2_tags_after_dry: dict[str, str]
    decision: dict
    v2: ModelVersion
    scored_after_promote: str
    weak_gate: GateResult
    again: TrainResult
    rejected: dict
    v3_after_reject: ModelVersion
    champion_after_reject: str
    refused: Result
    forced: Result
    v3_after_force: ModelVersion
    rollback_dry: dict
    champion_after_rollback_dry: str
    rollback_cli: Result
    v3_after_rollback: ModelVersion
    second_rollback: dict
    third_rollback: PromotionError | None
    rollback_to_3: dict
    scored_after_rollbacks: str
    status: dict
    status_cli: Result


@pytest.fixture(scope="module")
def cycle(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cycle]:
    """The gate / promote / rollback cycle once for the module, in its own database and MLflow store."""
    name = warehouse.create_database(server_url, "crm_promotion")
    url = load_churn_marts(warehouse.with_database(server_url, name))
    root = tmp_path_factory.mktemp("promotion")
    uri = f"sqlite:///{root}/mlflow.db"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    runner = CliRunner()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        mp.setenv("CRM_MLFLOW_ARTIFACT_ROOT", (root / "artifacts").as_uri())
        mp.setenv("CRM_WAREHOUSE_URL", url)
        # 500-row synthetic cutoffs differ in churn rate by sampling noise alone (ECE ~0.07 out of time);
        # the real ceiling is for real volumes, so this cycle loosens only the calibration ceiling.
        loose = dataclasses.replace(POLICY, max_calibration_error=0.15)
        # The first version is gated too (min AUC, RFM baseline): the weak one (below 0.70, and ranking
        # worse than the RFM regression) becomes champion only under a policy without either check ...
        no_floor = dataclasses.replace(loose, min_auc=0.0, max_auc_loss_to_baseline=1.0)
        mp.setattr("crm_scoring.model.promotion.load_promotion_policy", lambda: no_floor)
        weak = train(url, RUN_DATE, config=_weak_config())
        v1_tags = dict(client.get_model_version("churn", "1").tags)
        # ... from here on the policy parameter model_max_auc_loss_to_baseline (0.005) is in force
        mp.setattr("crm_scoring.model.promotion.load_promotion_policy", lambda: loose)
        first = gate_and_promote(url, RUN_DATE)
        first_rerun = gate_and_promote(url, RUN_DATE)
        strong = train(url, RUN_DATE)
        dry = promote(url, run_date=RUN_DATE, dry_run=True)
        champion_after_dry = _champion(client)
        v2_tags_after_dry = dict(client.get_model_version("churn", "2").tags)
        decision = gate_and_promote(url, RUN_DATE)
        v2 = client.get_model_version("churn", "2")
        scored_after_promote = score(url, RUN_DATE).model_version
        # the baseline gate (policy model_max_auc_loss_to_baseline, read from the warehouse): the weak v1
        # (revenue and the VIP flag only) ranks worse than the RFM regression refitted on the same rows
        weak_gate = evaluate_gate(url, RUN_DATE, version="1")
        again = train(url, RUN_DATE)
        rejected = gate_and_promote(url, RUN_DATE)
        v3_after_reject = client.get_model_version("churn", "3")
        champion_after_reject = _champion(client)
        refused = runner.invoke(model_group, ["promote", "--date", RUN_DATE.isoformat()])
        forced = runner.invoke(model_group, ["promote", "--date", RUN_DATE.isoformat(), "--force"])
        v3_after_force = client.get_model_version("churn", "3")
        rollback_dry = rollback(dry_run=True)
        champion_after_rollback_dry = _champion(client)
        rollback_cli = runner.invoke(model_group, ["rollback"])
        v3_after_rollback = client.get_model_version("churn", "3")
        second_rollback = rollback()
        try:
            rollback()
            third_rollback = None
        except PromotionError as exc:
            third_rollback = exc
        rollback_to_3 = rollback(to="3")
        scored_after_rollbacks = score(url, RUN_DATE).model_version
        info = status()
        status_cli = runner.invoke(model_group, ["status"])
    yield Cycle(
        weak=weak,
        v1_tags=v1_tags,
        first=first,
        first_rerun=first_rerun,
        strong=strong,
        dry=dry,
        champion_after_dry=champion_after_dry,
        v2_tags_after_dry=v2_tags_after_dry,
        decision=decision,
        v2=v2,
        scored_after_promote=scored_after_promote,
        weak_gate=weak_gate,
        again=again,
        rejected=rejected,
        v3_after_reject=v3_after_reject,
        champion_after_reject=champion_after_reject,
        refused=refused,
        forced=forced,
        v3_after_force=v3_after_force,
        rollback_dry=rollback_dry,
        champion_after_rollback_dry=champion_after_rollback_dry,
        rollback_cli=rollback_cli,
        v3_after_rollback=v3_after_rollback,
        second_rollback=second_rollback,
        third_rollback=third_rollback,
        rollback_to_3=rollback_to_3,
        scored_after_rollbacks=scored_after_rollbacks,
        status=info,
        status_cli=status_cli,
    )
    if not os.environ.get("CRM_KEEP_TEST_DB"):
        warehouse.drop_database(server_url, name)


def test_a_weak_first_version_is_champion_only_without_floors(cycle: Cycle) -> None:
    assert cycle.weak.aliases == ("champion", "challenger")
    assert cycle.v1_tags["first_version_gate"] == "pass"
    assert cycle.v1_tags["previous_champion"] == "none"


def test_a_promotion_is_announced_once(cycle: Cycle) -> None:
    assert cycle.first["promoted"] and cycle.first["version"] == "1"  # announced once ...
    assert not cycle.first_rerun["promoted"]  # ... not on a rerun


def test_a_dry_run_evaluates_on_the_holdout_and_changes_nothing(cycle: Cycle) -> None:
    """Evaluated on the same holdout, champion re-scored, nothing changes."""
    assert cycle.strong.aliases == ("challenger",)
    dry = cycle.dry
    assert dry["would_promote"] and not dry["promoted"]
    assert dry["gate"]["champion_rescored"] and dry["gate"]["holdout_cutoffs"] == ("2026-08-01",)
    assert cycle.champion_after_dry == "1"
    assert "gate_decision" not in cycle.v2_tags_after_dry


def test_a_better_challenger_is_promoted_with_the_gate_recorded(cycle: Cycle) -> None:
    decision, v2 = cycle.decision, cycle.v2
    assert decision["promoted"] and decision["champion_version"] == "2"
    assert decision["challenger_roc_auc"] > decision["champion_roc_auc"] + 0.005
    assert v2.tags["gate_decision"] == "promote" and v2.tags["previous_champion"] == "1"
    assert v2.tags["gate_champion_version"] == "1" and v2.tags["gate_champion_rescored"] == "true"
    assert "PROMOTE" in v2.description
    assert cycle.scored_after_promote == "2"


def test_the_baseline_gate_refuses_a_model_that_ranks_worse_than_rfm(cycle: Cycle) -> None:
    weak_gate = cycle.weak_gate
    assert weak_gate.baseline_metrics is not None and not weak_gate.promote
    assert any(r.startswith("ranks worse than the RFM baseline") for r in weak_gate.reasons), (
        weak_gate.summary()
    )
    assert cycle.decision["challenger_roc_auc"] >= weak_gate.baseline_metrics["roc_auc"] - 0.005  # v2 passed


def test_an_identical_retrain_is_rejected_with_the_reasons_on_the_version(cycle: Cycle) -> None:
    """An identical retrain cannot beat the champion by min_gain."""
    rejected = cycle.rejected
    assert not rejected["promoted"] and rejected["version"] == cycle.again.version == "3"
    assert any("gain" in r for r in rejected["reasons"])
    v3 = cycle.v3_after_reject
    assert v3.tags["gate_decision"] == "reject" and "gain" in v3.tags["gate_reasons"]
    assert cycle.champion_after_reject == "2"


def test_the_cli_refuses_a_rejected_promotion_unless_forced(cycle: Cycle) -> None:
    assert cycle.refused.exit_code != 0 and "not promoted" in cycle.refused.output
    assert cycle.forced.exit_code == 0, cycle.forced.output
    v3 = cycle.v3_after_force
    assert v3.tags["promotion_mode"] == "forced" and v3.tags["previous_champion"] == "2"


def test_rollback_follows_the_recorded_chain(cycle: Cycle) -> None:
    """3 -> 2 -> 1, then no previous champion; a dry run changes nothing; `--to` goes anywhere."""
    assert cycle.rollback_dry == {"from": "3", "to": "2", "dry_run": True, "rolled_back": False}
    assert cycle.champion_after_rollback_dry == "3"
    out = cycle.rollback_cli
    assert out.exit_code == 0 and "from v3 to v2" in out.output
    assert cycle.v3_after_rollback.tags["rolled_back_to"] == "2"
    assert cycle.second_rollback["to"] == "1"
    assert isinstance(cycle.third_rollback, PromotionError), "a rollback past the first version did not fail"
    assert "no previous champion" in str(cycle.third_rollback)
    assert cycle.rollback_to_3["to"] == "3"
    assert cycle.scored_after_rollbacks == "3"


def test_status_shows_the_aliases_and_every_version(cycle: Cycle) -> None:
    assert cycle.status["aliases"] == {"champion": "3", "challenger": "3"}
    assert [v["version"] for v in cycle.status["versions"]] == ["3", "2", "1"]
    shown = cycle.status_cli
    assert shown.exit_code == 0 and "@champion = v3" in shown.output


def test_gate_without_challenger_is_a_clear_error(churn_db: str, mlflow_store: MlflowClient) -> None:  # noqa: F811
    with pytest.raises(PromotionError, match="no @challenger"):
        evaluate_gate(churn_db, RUN_DATE)
