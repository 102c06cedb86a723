"""Churn model: training, MLflow tracking/registry and scoring on real PostgreSQL and a real MLflow store,
including champion selection among model families (issue 11)."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Iterator
from datetime import date

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from sklearn.isotonic import IsotonicRegression
from support.churn import (  # noqa: F401 - fixtures
    CUTOFFS,
    N_CUSTOMERS,
    RUN_DATE,
    churn_db,
    load_churn_marts,
    mlflow_store,
)

from crm_scoring import warehouse
from crm_scoring.model import (
    DatasetError,
    NoChampionError,
    champion_version,
    ensure_champion,
    evaluate_promotion,
    load_training_set,
)
from crm_scoring.model.calibration import apply_calibration, fit_calibration
from crm_scoring.model.config import PromotionPolicy, SplitConfig, load_config, load_promotion_policy
from crm_scoring.model.dataset import split_out_of_time
from crm_scoring.model.explain import REST, ExplainResult, explain
from crm_scoring.model.family import GLM, SWITCH_PARAMETER, XGBOOST, choose_family, gate_fallback
from crm_scoring.model.metrics import auc_difference, evaluate, expected_calibration_error, lift_at_top
from crm_scoring.model.reasons import margin_contributions
from crm_scoring.model.score import ScoreResult, load_champion, score
from crm_scoring.model.train import (
    TrainResult,
    candidate_params,
    informative_features,
    monotone_constraints,
    train,
)


def _scores(url: str) -> pd.DataFrame:
    with warehouse.connect(url) as conn:
        rows = conn.execute(
            "select run_date, customer_id, churn_probability, model_name, model_version, mlflow_run_id, "
            "scored_at from scoring.churn_scores order by customer_id"
        ).fetchall()
    cols = ["run_date", "customer_id", "p", "model_name", "model_version", "run_id", "scored_at"]
    return pd.DataFrame(rows, columns=cols)


def _reasons(url: str) -> pd.DataFrame:
    with warehouse.connect(url) as conn:
        rows = conn.execute(
            "select customer_id, reason_rank, feature, feature_value, contribution, reason_text, "
            "model_version from scoring.churn_reasons order by customer_id, reason_rank"
        ).fetchall()
    cols = ["customer_id", "reason_rank", "feature", "feature_value", "contribution", "reason_text"]
    return pd.DataFrame(rows, columns=[*cols, "model_version"])


def test_load_training_set_types_and_feature_rule(churn_db: str) -> None:  # noqa: F811
    frame = load_training_set(churn_db, RUN_DATE)
    assert len(frame) == N_CUSTOMERS * len(CUTOFFS)
    assert frame["churned"].isin([0, 1]).all()
    assert frame["is_vip"].dtype == np.float64 and set(frame["is_vip"].unique()) <= {0.0, 1.0}
    assert frame["sentiment_mean_90d"].isna().any()  # NULLs survive COPY as NaN
    # point in time: cutoffs after the run date are never read
    assert load_training_set(churn_db, date(2026, 6, 15))["as_of_date"].nunique() == 2
    from crm_scoring.model.dataset import feature_columns

    features = feature_columns(frame, load_config())
    assert "age" not in features  # CH-10 protected attribute
    assert {"churned", "policy_version", "customer_id", "as_of_date"}.isdisjoint(features)
    assert {"days_since_last_login", "revenue_365d", "is_vip", "sentiment_mean_90d"} <= set(features)


@dataclasses.dataclass
class Lifecycle:
    """What one train -> register -> score -> explain -> rescore -> retrain -> broken-features sequence left
    behind, step by step (the steps depend on each other, so they run once, in order, in the fixture)."""

    url: str
    client: MlflowClient
    first: TrainResult
    champion_after_first: str | None
    ensured: str | None
    pyfunc_rows: int
    scored: ScoreResult
    scores: pd.DataFrame
    reasons_after_score: pd.DataFrame
    explained: ExplainResult
    reasons: pd.DataFrame
    rescores: pd.DataFrame
    reasons_after_rescore: pd.DataFrame
    reasons_after_reexplain: pd.DataFrame
    second: TrainResult
    champion_after_second: str | None
    scored_after_second: ScoreResult
    missing_column: DatasetError | None
    scores_after_missing_column: pd.DataFrame


@pytest.fixture(scope="module")
def lifecycle(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lifecycle]:
    """Train, register, score, explain, rescore, train again and score with a broken feature table, once
    for the module in its own database and MLflow store; the tests below each check one behaviour of it.
    The MLflow environment is set only while the steps run (the tests read through an explicit client)."""
    name = warehouse.create_database(server_url, "crm_lifecycle")
    url = load_churn_marts(warehouse.with_database(server_url, name))
    root = tmp_path_factory.mktemp("lifecycle")
    uri = f"sqlite:///{root}/mlflow.db"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        mp.setenv("CRM_MLFLOW_ARTIFACT_ROOT", (root / "artifacts").as_uri())
        first = train(url, RUN_DATE, seed=42)
        champion_after_first = champion_version()
        ensured = ensure_champion(url, RUN_DATE)
        pyfunc = mlflow.pyfunc.load_model("models:/churn@champion")
        probe = pd.DataFrame({f: [1.0, np.nan] for f in first.features})
        pyfunc_rows = len(pyfunc.predict(probe))
        scored = score(url, RUN_DATE)
        scores, reasons_after_score = _scores(url), _reasons(url)
        explained = explain(url, RUN_DATE, REST)
        reasons = _reasons(url)
        score(url, RUN_DATE)
        rescores, reasons_after_rescore = _scores(url), _reasons(url)
        explain(url, RUN_DATE, REST)
        reasons_after_reexplain = _reasons(url)
        second = train(url, RUN_DATE, seed=42)
        champion_after_second = champion_version()
        scored_after_second = score(url, RUN_DATE)
        with warehouse.connect(url) as conn:
            conn.execute("alter table marts.churn_features drop column complaints_90d")
        try:
            score(url, RUN_DATE)
            missing = None
        except DatasetError as exc:
            missing = exc
        yield Lifecycle(
            url=url,
            client=MlflowClient(tracking_uri=uri, registry_uri=uri),
            first=first,
            champion_after_first=champion_after_first,
            ensured=ensured,
            pyfunc_rows=pyfunc_rows,
            scored=scored,
            scores=scores,
            reasons_after_score=reasons_after_score,
            explained=explained,
            reasons=reasons,
            rescores=rescores,
            reasons_after_rescore=reasons_after_rescore,
            reasons_after_reexplain=reasons_after_reexplain,
            second=second,
            champion_after_second=champion_after_second,
            scored_after_second=scored_after_second,
            missing_column=missing,
            scores_after_missing_column=_scores(url),
        )
    if not os.environ.get("CRM_KEEP_TEST_DB"):
        warehouse.drop_database(server_url, name)


def test_training_run_logs_metrics_params_and_tags(lifecycle: Lifecycle) -> None:
    cfg = load_config()
    run = lifecycle.client.get_run(lifecycle.first.run_id)
    for metric in (
        *("roc_auc", "pr_auc", "log_loss", "brier", "ece", "lift_top_decile", "capture_top_decile"),
        *("precision_at_capacity", "lift_at_capacity", "capture_at_capacity", "valid_roc_auc"),
        *("baseline_rfm_roc_auc", "rfm_baseline_auc_gain", "beats_rfm_baseline"),
        *("rfm_baseline_auc_gain_se", "rfm_baseline_auc_gain_ci95_low", "rfm_baseline_auc_gain_p_value"),
    ):
        assert metric in run.data.metrics, metric
    m = run.data.metrics  # the interval is DeLong's, around the logged gain
    assert (
        m["rfm_baseline_auc_gain_ci95_low"]
        < m["rfm_baseline_auc_gain"]
        < m["rfm_baseline_auc_gain_ci95_high"]
    )
    assert run.data.metrics["roc_auc"] > 0.75  # the synthetic signal is learnable
    assert 0.0 <= run.data.metrics["ece"] <= 1.0
    assert run.data.params["objective"] == "binary:logistic"
    assert float(run.data.params["scale_pos_weight"]) > 0
    tags = run.data.tags
    assert tags["run_date"] == "2026-11-26"
    assert tags["split_strategy"] == "out_of_time"
    assert tags["train_cutoffs"] == "2026-05-01,2026-06-01"
    assert tags["valid_cutoffs"] == "2026-07-01" and tags["test_cutoffs"] == "2026-08-01"
    assert tags["rows_train"] == str(2 * N_CUSTOMERS) and tags["rows_test"] == str(N_CUSTOMERS)
    assert tags["policy_version"] == "v1" and len(tags["data_snapshot"]) == 16 and tags["code_version"]
    assert 0 < float(tags["churn_rate"]) < 1
    assert tags["dbt_manifest_hash"] and tags["cutoffs"] == ",".join(str(c) for c in CUTOFFS)
    assert tags["beats_rfm_baseline"] in ("true", "false")
    assert run.data.params["list_capacity_rows"] == str(cfg.metrics.list_capacity_rows)


def test_training_run_logs_artifacts_plots_and_search_trials(lifecycle: Lifecycle) -> None:
    cfg, client, first = load_config(), lifecycle.client, lifecycle.first
    artifacts = {a.path for a in client.list_artifacts(first.run_id)}
    assert {"features.json", "calibration.json", "feature_importance.json", "plots"} <= artifacts
    plots = {a.path for a in client.list_artifacts(first.run_id, "plots")}
    assert plots == {
        f"plots/{p}.png" for p in ("roc", "pr", "calibration", "feature_importance", "lift", "shap_summary")
    }
    assert "shap_mean_abs.json" in artifacts
    run = client.get_run(first.run_id)
    trials = client.search_runs(
        [run.info.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{first.run_id}'"
    )
    assert len(trials) == cfg.search.max_trials
    assert client.get_experiment(run.info.experiment_id).name == cfg.experiment_name
    assert "age" not in first.features and "lapsed_flag_text" not in first.features


def test_first_version_is_champion_and_challenger(lifecycle: Lifecycle) -> None:
    first = lifecycle.first
    assert first.version == "1" and first.aliases == ("champion", "challenger")
    mv = lifecycle.client.get_model_version_by_alias("churn", "champion")
    assert str(mv.version) == "1" and mv.run_id == first.run_id and mv.tags["run_date"] == "2026-11-26"
    assert lifecycle.champion_after_first == "1"
    assert lifecycle.ensured == "1"  # existing champion kept, no training


def test_pyfunc_flavour_serves_null_features(lifecycle: Lifecycle) -> None:
    """The generic pyfunc flavour serves too, with NULL features (signature: optional doubles)."""
    assert lifecycle.pyfunc_rows == 2


def test_scoring_writes_one_row_per_customer_traceable_to_the_champion(lifecycle: Lifecycle) -> None:
    assert lifecycle.scored.rows == N_CUSTOMERS and lifecycle.scored.model_version == "1"
    scores = lifecycle.scores
    assert len(scores) == N_CUSTOMERS and scores["customer_id"].is_unique
    assert scores["p"].between(0, 1).all() and scores["p"].nunique() > 5
    assert set(scores["model_version"]) == {"1"} and set(scores["run_id"]) == {lifecycle.first.run_id}
    assert set(scores["model_name"]) == {"churn"} and set(scores["run_date"]) == {RUN_DATE}
    assert scores["scored_at"].nunique() == 1


def test_reason_codes_ranked_risk_increasing_and_worded(lifecycle: Lifecycle) -> None:
    """CH-06: up to 3 per customer, with the scores' model version, risk-increasing, worded (no candidates
    tables here: every scored customer is in the part explained after publishing)."""
    cfg, reasons = load_config(), lifecycle.reasons
    assert lifecycle.reasons_after_score.empty  # `score` writes scores only
    assert lifecycle.explained.reason_rows == len(reasons) > 0
    assert lifecycle.explained.customers == N_CUSTOMERS
    assert reasons["customer_id"].nunique() > 0.9 * N_CUSTOMERS
    assert reasons["reason_rank"].between(1, cfg.reasons.top_k).all()
    assert (reasons["contribution"] > 0).all() and set(reasons["model_version"]) == {"1"}
    assert set(reasons["feature"]) <= set(lifecycle.first.features)
    ranked = reasons.sort_values(["customer_id", "reason_rank"])
    assert (ranked.groupby("customer_id")["contribution"].diff().dropna() <= 0).all()
    complaint = reasons[reasons["feature"] == "complaints_90d"].iloc[0]
    assert complaint["reason_text"] == f"{complaint['feature_value']:.0f} complaints in the last 90 days"


def test_rescoring_replaces_scores_and_their_reasons(lifecycle: Lifecycle) -> None:
    """A rerun replaces, never duplicates: same probabilities; the replaced scores' reasons go with them and
    explaining again gives the same reasons."""
    assert len(lifecycle.rescores) == N_CUSTOMERS and lifecycle.reasons_after_rescore.empty
    pd.testing.assert_frame_equal(lifecycle.reasons_after_reexplain, lifecycle.reasons)
    np.testing.assert_array_equal(lifecycle.rescores["p"].to_numpy(), lifecycle.scores["p"].to_numpy())


def test_second_training_is_challenger_only_and_reproducible(lifecycle: Lifecycle) -> None:
    """Challenger only, champion unchanged; same data + seed => same metrics and data snapshot."""
    first, second, client = lifecycle.first, lifecycle.second, lifecycle.client
    assert second.version == "2" and second.aliases == ("challenger",)
    assert str(client.get_model_version_by_alias("churn", "challenger").version) == "2"
    assert lifecycle.champion_after_second == "1"
    assert second.metrics == first.metrics
    snapshot = client.get_run(first.run_id).data.tags["data_snapshot"]
    assert client.get_run(second.run_id).data.tags["data_snapshot"] == snapshot
    assert lifecycle.scored_after_second.model_version == "1"


def test_a_missing_feature_column_is_a_clear_error_and_keeps_the_scores(lifecycle: Lifecycle) -> None:
    """The model's feature list is binding: a dropped column names itself; the previous scores stay."""
    assert isinstance(lifecycle.missing_column, DatasetError), "scoring without a feature column did not fail"
    assert "complaints_90d" in str(lifecycle.missing_column)
    assert len(lifecycle.scores_after_missing_column) == N_CUSTOMERS


def test_no_champion_is_a_clear_error_then_ensure_champion(churn_db: str, mlflow_store: MlflowClient) -> None:  # noqa: F811
    assert champion_version() is None
    with pytest.raises(NoChampionError, match=r"no @champion model registered.*crm train --date"):
        score(churn_db, RUN_DATE)
    assert ensure_champion(churn_db, RUN_DATE) == "1"
    assert champion_version() == "1"
    assert score(churn_db, RUN_DATE).rows == N_CUSTOMERS


def test_missing_marts_is_a_clear_error(fresh_db: str) -> None:
    with pytest.raises(DatasetError, match="marts.churn_training_set does not exist"):
        load_training_set(fresh_db, RUN_DATE)


# ---- pure logic -------------------------------------------------------------------------------------


def _frame(cutoffs: list[date], n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "customer_id": [f"C{i}" for i in range(n)],
                    "as_of_date": c,
                    "churned": rng.integers(0, 2, n),
                }
            )
            for c in cutoffs
        ],
        ignore_index=True,
    )


def test_split_fallbacks_with_few_cutoffs() -> None:
    cfg = SplitConfig(min_rows_per_split=10, min_positives_per_split=2)
    two = split_out_of_time(_frame(CUTOFFS[:2]), cfg)
    assert two.strategy == "out_of_time_latest_hash_split"
    assert set(two.train["as_of_date"]) == {CUTOFFS[0]}
    assert set(two.valid["customer_id"]).isdisjoint(two.test["customer_id"])
    one = split_out_of_time(_frame(CUTOFFS[:1]), cfg)
    assert one.strategy == "customer_hash"
    ids = [set(p["customer_id"]) for p in (one.train, one.valid, one.test)]
    assert ids[0].isdisjoint(ids[1]) and ids[0].isdisjoint(ids[2]) and ids[1].isdisjoint(ids[2])
    assert sum(map(len, ids)) == 200
    with pytest.raises(DatasetError, match="too small"):
        split_out_of_time(_frame(CUTOFFS, n=20), SplitConfig(min_rows_per_split=50))


def test_isotonic_calibration_json_matches_sklearn() -> None:
    rng = np.random.default_rng(3)
    raw = rng.random(500)
    y = (rng.random(500) < raw**2).astype(int)
    calib = fit_calibration("isotonic", raw, y)
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, y)
    probe = np.linspace(-0.1, 1.1, 101)
    np.testing.assert_allclose(apply_calibration(calib, probe), iso.predict(probe))
    platt = apply_calibration(fit_calibration("platt", raw, y), probe.clip(0, 1))
    assert np.all((platt >= 0) & (platt <= 1)) and np.all(np.diff(platt) >= 0)


def test_metrics() -> None:
    y = np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1])
    p = np.array([0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.3, 0.9, 0.8])
    assert lift_at_top(y, p, 0.1) == pytest.approx(5.0)
    assert expected_calibration_error(np.array([1, 0]), np.array([0.5, 0.5]), 10) == pytest.approx(0.0)
    assert expected_calibration_error(np.array([1, 1]), np.array([0.0, 0.0]), 10) == pytest.approx(1.0)
    m = evaluate(y, p, ece_bins=10, lift_top_share=0.1)
    assert m["roc_auc"] == pytest.approx(1.0) and m["pr_auc"] == pytest.approx(1.0)


def _delong_by_definition(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """DeLong's difference and standard error from the pairwise kernel, O(m n): the reference."""
    psi = []
    for s in (a, b):
        pos, neg = s[y == 1][:, None], s[y == 0][None, :]
        psi.append((pos > neg) + 0.5 * (pos == neg))
    v10 = np.vstack([k.mean(axis=1) for k in psi])  # per positive
    v01 = np.vstack([k.mean(axis=0) for k in psi])  # per negative
    c = np.array([1.0, -1.0])
    var = c @ np.cov(v10) @ c / v10.shape[1] + c @ np.cov(v01) @ c / v01.shape[1]
    return float(psi[0].mean() - psi[1].mean()), float(np.sqrt(var))


def test_auc_difference_is_delongs() -> None:
    """The fast midrank form equals the pairwise definition (ties included), the AUCs equal
    scikit-learn's, a scorer against itself differs by exactly 0, and a real gain is found."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 300)
    a = np.round(y + rng.normal(0, 1.0, 300), 1)  # rounded: ties within and across classes
    b = np.round(y + rng.normal(0, 1.5, 300), 1)
    d = auc_difference(y, a, b)
    diff, se = _delong_by_definition(y, a, b)
    assert d["diff"] == pytest.approx(diff, abs=1e-12) and d["se"] == pytest.approx(se, rel=1e-9)
    assert d["diff"] == pytest.approx(roc_auc_score(y, a) - roc_auc_score(y, b), abs=1e-12)
    assert d["ci95_low"] < d["diff"] < d["ci95_high"] and d["p_value"] < 0.05  # a is the better score
    same = auc_difference(y, a, a)
    assert same["diff"] == 0 and same["se"] == 0 and same["p_value"] == 1.0
    noise = auc_difference(y, a, a + rng.normal(0, 1e-3, 300))
    assert noise["ci95_low"] <= 0 <= noise["ci95_high"]
    assert np.isnan(auc_difference(np.zeros(5), a[:5], b[:5])["se"])


def test_benchmark_gain_intervals_per_population() -> None:
    """The benchmark's gains carry DeLong intervals, per population, with the population's own
    baseline columns where present."""
    from crm_scoring.benchmark.real import gain_intervals

    rng = np.random.default_rng(3)
    n = 400
    recency = rng.integers(0, 200, n).astype(float)
    churned = (rng.random(n) < 1 / (1 + np.exp(-(recency - 100) / 30))).astype(int)
    frame = pd.DataFrame(
        {
            "recency_days": recency,
            "churned": churned,
            "model": recency + rng.normal(0, 10, n),
            "rfm_lr": recency + rng.normal(0, 40, n),
            "recency": recency,
            "non_lapsed.rfm_lr": recency,
        }
    )
    out = gain_intervals(frame, lapsed_days=90)
    assert set(out) == {
        "all.model_minus_rfm_lr.roc_auc",
        "all.model_minus_recency.roc_auc",
        "non_lapsed.model_minus_rfm_lr.roc_auc",
        "non_lapsed.model_minus_recency.roc_auc",
    }
    rows = frame[frame["recency_days"] < 90]
    expected = auc_difference(rows["churned"], rows["model"], rows["non_lapsed.rfm_lr"])
    assert out["non_lapsed.model_minus_rfm_lr.roc_auc"] == expected
    assert out["all.model_minus_rfm_lr.roc_auc"]["diff"] > 0


def test_candidate_params_bounded_and_seeded() -> None:
    cfg = load_config()
    trials = candidate_params(cfg, 42)
    assert len(trials) == cfg.search.max_trials
    assert trials[0] == cfg.xgboost.params
    assert trials == candidate_params(cfg, 42)
    assert all(t[k] in v for t in trials[1:] for k, v in cfg.search.space.items())


def test_search_budget_scales_with_rows() -> None:
    """One more trial per rows_per_extra_trial training rows, never above the cap nor below max_trials."""
    search = dataclasses.replace(
        load_config().search, max_trials=4, rows_per_extra_trial=1000, max_trials_cap=6
    )
    assert [search.trials_for(n) for n in (0, 999, 1000, 2500, 10**6)] == [4, 4, 5, 6, 6]
    assert dataclasses.replace(search, rows_per_extra_trial=0).trials_for(10**6) == 4
    cfg = dataclasses.replace(load_config(), search=search)
    assert len(candidate_params(cfg, 42, search.trials_for(2500))) == 6


def test_constant_and_null_features_dropped_and_monotone_constraints() -> None:
    frame = pd.DataFrame(
        {
            "recency_days": [1.0, 5.0, None],
            "logins_30d": [0.0, 0.0, 0.0],
            "csat": [None, None, None],
            "x": [1, 2, 3],
        }
    )
    kept, dropped = informative_features(frame, list(frame.columns))
    assert kept == ["recency_days", "x"] and dropped == ["logins_30d", "csat"]
    cfg = load_config()
    cfg = dataclasses.replace(
        cfg, xgboost=dataclasses.replace(cfg.xgboost, monotone_constraints={"recency_days": 1, "absent": -1})
    )
    assert monotone_constraints(cfg, kept) == "(1,0)"
    assert monotone_constraints(cfg, ["x"]) is None


def test_promotion_policy_gates() -> None:
    policy = dataclasses.replace(load_promotion_policy(), min_auc=0.7)  # model_min_auc, from the policy seed
    assert isinstance(policy, PromotionPolicy)
    good = {"roc_auc": policy.min_auc + 0.1, "ece": policy.max_calibration_error / 2}
    assert evaluate_promotion(good, None, policy).promote
    assert not evaluate_promotion(good, {"roc_auc": good["roc_auc"]}, policy).promote
    weak = {"roc_auc": policy.min_auc - 0.01, "ece": policy.max_calibration_error * 2}
    decision = evaluate_promotion(weak, None, policy)
    assert not decision.promote and len(decision.reasons) == 2
    unset = dataclasses.replace(policy, min_auc=None)  # model_min_auc unset: no floor, other gates apply
    assert evaluate_promotion({**weak, "ece": good["ece"]}, None, unset).promote


def test_choose_family_keeps_xgboost_unless_the_regression_is_clearly_better() -> None:
    assert choose_family({XGBOOST: 0.70, GLM: 0.705}, 0.005).family == GLM  # exactly the gain switches
    assert choose_family({XGBOOST: 0.70, GLM: 0.704}, 0.005).family == XGBOOST  # a tie keeps XGBoost
    assert choose_family({XGBOOST: 0.80, GLM: 0.70}, 0.005).family == XGBOOST
    choice = choose_family({XGBOOST: 0.70, GLM: 0.75}, 0.005)
    assert choice.family == GLM and choice.gain == pytest.approx(0.05) and "0.7500" in choice.reason
    assert choose_family({XGBOOST: 0.60, GLM: 0.75}, None).family == XGBOOST  # policy unset: as before
    assert choose_family({XGBOOST: 0.70}, 0.0).family == XGBOOST  # no regression (RFM columns absent)
    assert choose_family({XGBOOST: math.nan, GLM: 0.6}, 0.005).family == GLM
    assert choose_family({XGBOOST: 0.70, GLM: math.nan}, -1.0).family == XGBOOST


def test_gate_fallback_registers_the_family_the_gate_accepts() -> None:
    kept = choose_family({XGBOOST: 0.70, GLM: 0.69}, 0.002)
    assert gate_fallback(kept, {XGBOOST: True, GLM: True}) == kept
    assert gate_fallback(kept, {XGBOOST: False, GLM: False}) == kept  # nobody passes: refused, recorded
    switched = gate_fallback(kept, {XGBOOST: False, GLM: True})
    assert switched.family == GLM and "refused by the gate" in switched.reason
    glm = choose_family({XGBOOST: 0.60, GLM: 0.70}, 0.002)
    assert gate_fallback(glm, {XGBOOST: True, GLM: False}).family == XGBOOST


def _policy(url: str, rows: dict[str, str]) -> None:
    """A warehouse policy table holding only `rows` (every other parameter unset)."""
    with warehouse.connect(url) as conn:
        conn.execute("create schema if not exists policy")
        conn.execute(
            "create table policy.policy_parameters (key text, value text, unit text, tag text, source text, "
            "used_by text, policy_version text, effective_from date, approved_by text, notes text)"
        )
        for key, value in rows.items():
            conn.execute(
                "insert into policy.policy_parameters values (%s, %s, '', 'S', '', '', '2026.1', "
                "'2026-01-01', 'test', '')",
                (key, value),
            )


def test_regression_champion_end_to_end(churn_db: str, mlflow_store: MlflowClient) -> None:  # noqa: F811
    """A switch threshold of -1 makes the regression win on validation whatever the AUCs: it must then be
    registered, gated, served by pyfunc and the nightly scorer, and explained by its linear terms."""
    _policy(churn_db, {SWITCH_PARAMETER: "-1", "model_max_auc_loss_to_baseline": "0.005"})
    cfg = load_config()  # one search trial: the XGBoost candidate only has to exist here
    cfg = dataclasses.replace(cfg, search=dataclasses.replace(cfg.search, max_trials=1, max_trials_cap=1))
    result = train(churn_db, RUN_DATE, seed=42, config=cfg)
    run = mlflow_store.get_run(result.run_id)
    assert run.data.tags["model_family"] == GLM
    assert {f"validation.{f}.roc_auc" for f in (XGBOOST, GLM)} <= set(run.data.metrics)
    assert result.features == ["recency_days", "orders_365d", "revenue_365d"]
    # same regression as the baseline on the same rows: a tie, which the first-version gate passes
    assert run.data.metrics["roc_auc"] == pytest.approx(run.data.metrics["baseline_rfm_roc_auc"], abs=1e-9)
    assert result.aliases == ("champion", "challenger")
    mv = mlflow_store.get_model_version_by_alias("churn", "champion")
    assert mv.tags["model_family"] == GLM and mv.tags["first_version_gate"] == "pass"
    artifacts = {a.path for a in mlflow_store.list_artifacts(result.run_id)}
    assert {"base_margin.json", "drift_reference.json", "shap_mean_abs.json", "feature_importance.json"} <= (
        artifacts
    )

    model = load_champion()
    assert model.booster is None and model.family == GLM
    probe = pd.DataFrame({f: [30.0, np.nan, 200.0] for f in result.features})
    served = mlflow.pyfunc.load_model("models:/churn@champion").predict(probe)
    np.testing.assert_allclose(served, model.predict(probe.to_numpy(dtype=np.float64)))

    out = score(churn_db, RUN_DATE)
    assert out.rows == N_CUSTOMERS and out.model_version == result.version
    scores = _scores(churn_db)
    assert scores["p"].between(0, 1).all() and scores["p"].nunique() > 5
    explained = explain(churn_db, RUN_DATE, REST)  # `score` writes scores only; reasons come after
    reasons = _reasons(churn_db)
    assert explained.reason_rows == len(reasons) > 0
    assert set(reasons["feature"]) <= set(result.features) and (reasons["contribution"] > 0).all()
    # exact linear contributions: coef x (transformed value - training mean) / scale, per feature
    first = reasons.sort_values(["customer_id", "reason_rank"]).iloc[0]
    with warehouse.connect(churn_db) as conn:
        row = conn.execute(
            "select recency_days, orders_365d, revenue_365d from marts.churn_features where customer_id = %s",
            (first["customer_id"],),
        ).fetchone()
    x = np.array([[np.nan if v is None else float(v) for v in row]])
    expected = margin_contributions(model.margin, x, model.features)[
        0, model.features.index(first["feature"])
    ]
    assert first["contribution"] == pytest.approx(expected)


def test_lapsed_training_rows_get_a_regression_of_their_own(
    churn_db: str,  # noqa: F811
    mlflow_store: MlflowClient,  # noqa: F811
) -> None:
    """With lapsed rows in the training set (churn_training_population = all_purchasers), the regression
    (here the registered family) fits them apart at winback_min_inactive_days; scoring, pyfunc and the
    reasons apply each customer's own segment, and the CH-02 test figures are logged beside the pooled."""
    _policy(churn_db, {SWITCH_PARAMETER: "-1", "winback_min_inactive_days": "60"})
    with warehouse.connect(churn_db) as conn:  # days_inactive: the silence the fixture's churn follows
        for table in ("marts.churn_training_set", "marts.churn_features"):
            conn.execute(f"alter table {table} add column days_inactive integer")
            conn.execute(f"update {table} set days_inactive = days_since_last_login")
    cfg = load_config()
    cfg = dataclasses.replace(cfg, search=dataclasses.replace(cfg.search, max_trials=1, max_trials_cap=1))
    result = train(churn_db, RUN_DATE, seed=42, config=cfg)
    run = mlflow_store.get_run(result.run_id)
    assert run.data.tags["model_family"] == GLM
    assert "fitted apart" in run.data.tags["model_regression_fit"], run.data.tags["model_regression_fit"]
    assert result.features == ["recency_days", "orders_365d", "revenue_365d", "days_inactive"]
    # the headline test figures and the gate judge the CH-02 population; every test row is test_all_*
    metrics = run.data.metrics
    assert {"test_all_roc_auc", "test_all_ece"} <= set(metrics)
    assert metrics["roc_auc"] != pytest.approx(metrics["test_all_roc_auc"])
    model = load_champion()
    assert model.margin is not None and model.margin.lapsed is not None
    assert model.margin.segment_column == "days_inactive" and model.margin.segment_min == 60
    probe = pd.DataFrame(
        {
            "recency_days": [30.0, 100.0],
            "orders_365d": [5.0, 5.0],
            "revenue_365d": [900.0, 900.0],
            "days_inactive": [30.0, 100.0],
        }
    )
    x = probe.to_numpy(dtype=np.float64)
    served = mlflow.pyfunc.load_model("models:/churn@champion").predict(probe)
    np.testing.assert_allclose(served, model.predict(x))
    # the lapsed row's logit is the lapsed regression's, the active row's the active one's
    raw = model.margin.margin(x)
    assert raw[1] == pytest.approx(float(model.margin.lapsed.margin(x[1:])[0]))
    assert raw[0] != pytest.approx(float(model.margin.lapsed.margin(x[:1])[0]))
    out = score(churn_db, RUN_DATE)
    assert out.rows == N_CUSTOMERS
    explain(churn_db, RUN_DATE, REST)
    reasons = _reasons(churn_db)
    assert len(reasons) > 0 and "days_inactive" not in set(reasons["feature"])  # it picks, never explains


def test_first_version_below_the_floor_is_champion_with_the_miss_recorded(
    churn_db: str,  # noqa: F811
    mlflow_store: MlflowClient,  # noqa: F811
) -> None:
    """A first version below model_min_auc still becomes @champion (no champion means no lists at all),
    with the miss in its tags and run note; only a loss to the RFM baseline refuses a first version."""
    _policy(churn_db, {"model_min_auc": "0.99", "model_max_auc_loss_to_baseline": "0.005"})
    cfg = load_config()
    cfg = dataclasses.replace(cfg, search=dataclasses.replace(cfg.search, max_trials=1, max_trials_cap=1))
    result = train(churn_db, RUN_DATE, seed=42, config=cfg)
    assert result.aliases == ("champion", "challenger") and champion_version() == result.version
    mv = mlflow_store.get_model_version("churn", result.version)
    assert mv.tags["first_version_gate"] == "pass_below_min_auc"
    assert "model_min_auc 0.99" in mv.tags["first_version_gate_reasons"]
    note = mlflow_store.get_run(result.run_id).data.tags["mlflow.note.content"]
    assert "first version below model_min_auc" in note
    assert score(churn_db, RUN_DATE).rows == N_CUSTOMERS


def test_first_version_gate_refuses_only_a_loss_to_the_baseline() -> None:
    """Pure rule: the floor alone never refuses a first version; ranking below RFM-LR does."""
    from crm_scoring.model.train import _first_version_gate

    policy = PromotionPolicy(
        primary_metric="roc_auc",
        min_auc=0.7,
        min_gain=0.0,
        max_calibration_error=math.inf,
        max_auc_loss_to_baseline=0.005,
    )
    ok = _first_version_gate({"roc_auc": 0.80, "ece": 0.01}, policy, {"roc_auc": 0.79})
    assert ok.promote and not ok.reasons
    low = _first_version_gate({"roc_auc": 0.62, "ece": 0.01}, policy, {"roc_auc": 0.62})
    assert low.promote and any("model_min_auc" in r for r in low.reasons)
    worse = _first_version_gate({"roc_auc": 0.60, "ece": 0.01}, policy, {"roc_auc": 0.65})
    assert not worse.promote and any("RFM baseline" in r for r in worse.reasons)
