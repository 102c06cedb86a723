"""`make bench-real` end to end on the CDNOW 1/10 sample (real data from the `lifetimes` package), one
as-of date: landing contract -> ingest -> dbt -> train -> score -> backtest, JSON and MLflow run.

Extended tier (`make test-extended`, Makefile EXTENDED_TESTS): about 1.5 minutes of a CI worker, kept out
of `make test` for the 15-minute CI budget; the mapping into the landing contract stays in
tests/test_benchmark_real.py.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from mlflow import MlflowClient

from crm_scoring.benchmark.real import BENCHMARK_EXPERIMENT, POPULATIONS, SCORERS, run_bench_real

AS_OF = date(1997, 6, 30)


def test_bench_real_sample_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    uri = f"sqlite:///{tmp_path}/project-mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("CRM_MLFLOW_ARTIFACT_ROOT", (tmp_path / "artifacts").as_uri())
    out = tmp_path / "bench.json"
    result = run_bench_real((AS_OF,), variant="sample", out_json=out, work_root=tmp_path / "work")
    assert json.loads(out.read_text())["as_of_dates"][0]["as_of"] == "1997-06-30"
    r = result["as_of_dates"][0]
    for population in POPULATIONS:
        for scorer in SCORERS:
            m = r["figures"][population][scorer]
            assert 0.5 < m["roc_auc"] < 1 and 0 <= m["ece"] <= 1 and m["rows"] > 100, (population, scorer, m)
    assert r["rows"]["scored"] == 2357
    # purged protocol: every training, validation and test cutoff's label matured by the as-of date
    split = r["model"]["split"]
    cutoffs = [
        date.fromisoformat(c) for c in split["train_cutoffs"] + split["valid_cutoffs"] + split["test_cutoffs"]
    ]
    assert cutoffs and max(cutoffs) == AS_OF - timedelta(days=90)
    assert (
        len(split["train_cutoffs"]) > 3
    )  # dense (weekly) cutoffs: the sample holds 3 months of matured history
    # CH-07: the backtest of the champion on the matured cutoff is the benchmark's non-lapsed figure
    backtest = r["model"]["backtest"]
    assert len(backtest) == 1 and r["model"]["model_performance_rows"] == 1
    # the family chosen on the validation cutoff, and the first-version gate's outcome, are recorded
    assert r["model"]["family"] in ("xgboost", "logistic_regression")
    assert set(r["model"]["validation_roc_auc"]) == {"xgboost", "logistic_regression"}
    # session 9: validation reweighted to the population scored at A, and what decided (model.family)
    assert set(r["model"]["validation_roc_auc_weighted"]) == {"xgboost", "logistic_regression"}
    assert {"effective_rows", "domain_auc"} <= set(r["model"]["validation_shift"])
    assert r["model"]["family_basis"] in (
        "validation",
        "shift_weighted_validation",
        "no_overlap_with_scoring_population",
    )
    assert r["model"]["gate"]["forced"] == (r["model"]["gate"]["first_version"] == "reject")
    assert backtest[0]["roc_auc"] == pytest.approx(r["figures"]["non_lapsed"]["model"]["roc_auc"], abs=1e-9)
    assert result["data"]["licence"] and "lifetimes" in result["data"]["shipped_in"]
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(BENCHMARK_EXPERIMENT)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    run = client.get_run(result["mlflow_run_id"])
    assert run.data.tags["crm.purpose"] == "benchmark"
    assert "non_lapsed.model.roc_auc" in run.data.metrics and "all.rfm_lr.roc_auc" in run.data.metrics
