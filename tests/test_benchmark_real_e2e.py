"""`make bench-real` end to end on the CDNOW 1/10 sample (real data from the `lifetimes` package), one
as-of date: landing contract -> ingest -> dbt -> train -> score -> backtest, JSON and MLflow run. Then
the same sample written as a user's CSV through `crm evaluate log`: the same figures, to the last digit.
Last, two more data shapes through the same protocol (benchmark/synthetic_log.py): a synthetic
multi-cohort log, and a single cohort with a long history (the lapsed fitted apart).

Extended tier (`make test-extended`, Makefile EXTENDED_TESTS): about 5 minutes of a CI worker, kept out
of `make test` for the 15-minute CI budget; the mapping into the landing contract stays in
tests/test_benchmark_real.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from mlflow import MlflowClient

from crm_scoring.benchmark import cdnow
from crm_scoring.benchmark.real import BENCHMARK_EXPERIMENT, POPULATIONS, SCORERS, run_bench_real

AS_OF = date(1997, 6, 30)


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, str]:
    tmp_path = tmp_path_factory.mktemp("bench_real")
    uri = f"sqlite:///{tmp_path}/project-mlflow.db"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        mp.setenv("CRM_MLFLOW_ARTIFACT_ROOT", (tmp_path / "artifacts").as_uri())
        out = tmp_path / "bench.json"
        result = run_bench_real((AS_OF,), variant="sample", out_json=out, work_root=tmp_path / "work")
    return result, out, uri


def test_bench_real_sample_end_to_end(sample_run: tuple[dict, Path, str]) -> None:
    result, out, uri = sample_run
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


def test_a_user_log_through_crm_evaluate_log_gives_the_same_figures(
    sample_run: tuple[dict, Path, str], tmp_path: Path
) -> None:
    """The sample as a user would hand it over (own column names, one row per purchase), through the
    installed `crm evaluate log` in a subprocess: the same landing export, so the same model and the same
    figures as the CDNOW path; the JSON records the file's provenance instead of the package's."""
    frame = cdnow.load("sample").frame
    log = tmp_path / "purchases.csv"
    frame.rename(columns={"customer_id": "cust", "order_date": "day", "amount": "paid"})[
        ["cust", "day", "paid"]
    ].to_csv(log, index=False)
    out = tmp_path / "log.json"
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/mlflow.db",
        "CRM_MLFLOW_ARTIFACT_ROOT": (tmp_path / "artifacts").as_uri(),
        "CRM_STATE_DIR": str(tmp_path / "state"),
    }
    crm = str(Path(sys.executable).parent / "crm")
    args = [
        "evaluate",
        "log",
        str(log),
        "--customer-col",
        "cust",
        "--date-col",
        "day",
        "--amount-col",
        "paid",
    ]
    proc = subprocess.run(
        [crm, *args, "--as-of", AS_OF.isoformat(), "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(out.read_text())
    assert result["benchmark"] == "log" and result["data"]["sha256"] and result["data"]["rows"] == len(frame)
    assert result["as_of_dates"][0]["figures"] == sample_run[0]["as_of_dates"][0]["figures"]
    assert result["as_of_dates"][0]["model"]["split"] == sample_run[0]["as_of_dates"][0]["model"]["split"]
    # an as-of date whose label window leaves the log is refused with the date it could use
    late = subprocess.run(
        [crm, *args, "--as-of", "1998-06-01"], env=env, capture_output=True, text=True, timeout=600
    )
    assert late.returncode == 1 and "the latest as-of date this log can label is 1998-04-01" in late.stderr


def _synthetic_log_figures(tmp_path: Path, as_of: tuple[date, ...] = (), **shape: int) -> dict:
    """`crm evaluate log` on a synthetic log (benchmark/synthetic_log.py, 2,000 customers, `shape` =
    seed / join_days) written as a user's CSV; the one as-of date's result."""
    from crm_scoring.benchmark import synthetic_log, translog
    from crm_scoring.benchmark.real import run_bench_log

    log = tmp_path / "synthetic.csv"
    synthetic_log.write(log, customers=2000, **shape)
    tx = translog.load_log(
        log, customer_col="Customer ID", date_col="InvoiceDate", amount_col="Total", order_col="Invoice",
        quarantine=tmp_path / "guests.csv",
    )  # fmt: skip
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
        mp.setenv("CRM_MLFLOW_ARTIFACT_ROOT", (tmp_path / "artifacts").as_uri())
        result = run_bench_log(tx, as_of, out_json=tmp_path / "log.json", work_root=tmp_path / "work")
    return result["as_of_dates"][0]


def _assert_keeps_up_with_its_baselines(r: dict) -> None:
    """No worse than the RFM regression (within the gate's tolerance) nor than recency alone, for all
    customers and for the non-lapsed."""
    from crm_scoring.enrich.policy import seed_parameter_values

    tolerance = float(seed_parameter_values()["model_max_auc_loss_to_baseline"] or 0)
    for population in POPULATIONS:
        f = {scorer: r["figures"][population][scorer]["roc_auc"] for scorer in SCORERS}
        assert f["model"] >= f["rfm_lr"] - tolerance and f["model"] >= f["recency"], (population, f)


def test_a_multi_cohort_log_overlaps_and_the_model_keeps_up_with_its_baselines(tmp_path: Path) -> None:
    """A second data shape (benchmark/synthetic_log.py: Pareto/NBD customers joining over 18 months, line
    items, returns, guest lines), through the same protocol: the training and scoring populations
    overlap here (unlike CDNOW's single cohort), so the family choice rests on the shift-weighted
    validation, and the registered model ranks no worse than the RFM regression (the gate's tolerance)
    nor than recency alone, for all and for the non-lapsed."""
    from crm_scoring.model.config import load_config

    r = _synthetic_log_figures(tmp_path, seed=1)
    assert r["model"]["holdout_shift_domain_auc"] < load_config().family_choice.no_overlap_domain_auc
    assert r["model"]["family_basis"] == "shift_weighted_validation"
    _assert_keeps_up_with_its_baselines(r)


def test_a_single_cohort_with_a_long_history_ranks_the_lapsed_at_least_as_recency_does(
    tmp_path: Path,
) -> None:
    """The same process as one cohort with a long history (everyone joins in the first quarter, as in
    CDNOW, scored two years on): every training cutoff holds younger customers, the no-overlap guard
    registers the regression, and most scored customers are lapsed. The regression fits the lapsed apart
    (baseline.lapsed_segment_column), so the model ranks all customers no worse than recency alone (a
    pooled regression lost to it here: docs/benchmark_real.md, session 20) and the non-lapsed no worse
    than the RFM regression fitted on the non-lapsed."""
    r = _synthetic_log_figures(tmp_path, (date(2022, 6, 30),), seed=11, join_days=90)
    assert r["model"]["family_basis"] == "no_overlap_with_scoring_population", r["model"]
    _assert_keeps_up_with_its_baselines(r)
