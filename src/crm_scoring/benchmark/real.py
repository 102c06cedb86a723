"""`make bench-real` / `crm evaluate real`: the whole platform on CDNOW, against the classical baselines.

For each as-of date A (never later than 1997-06-30, see `cdnow.MAX_AS_OF`), in a throw-away database
and a throw-away MLflow store:

1. the CDNOW log is exported into the landing contract as two folders, A (history) and
   R = A + churn horizon (the delta that holds the labels);
2. folder A is ingested; dbt builds the scoring features and the training snapshots as of A, so the
   model only learns from cutoffs whose labels had matured by A (cutoff + horizon <= A): exactly what
   the nightly training of a production platform knows on A. No label window of a training row
   overlaps the evaluation window (A, A + horizon] (purged / strict protocol: a cutoff A - 7 labelled
   on (A - 7, A + 83] would be nearly the same event as its own test label, which flexible models
   exploit and a 3-parameter regression cannot);
3. the model is trained (`crm train` path: search, calibration, MLflow, registry), promoted, and
   scores every customer as of A (`scoring.churn_scores`); folder R is ingested afterwards;
4. the scores are compared with the truth from the source file (churned = no purchase in
   (A, A + horizon]) and with (a) a logistic regression on recency, frequency and monetary value and
   (b) recency alone, both fitted on the model's own training split: same cutoffs, same rows.

Figures: ROC AUC, PR AUC, ECE, lift and capture at the top decile, for all customers and for the
non-lapsed ones (last purchase < winback_min_inactive_days before A, the CH-02 scoring population).
They go to a JSON file and to one MLflow run per benchmark (tag crm.purpose = benchmark) in the
project's tracking store, experiment `crm-churn-benchmark`, with the same metric names per
(population, scorer): `<population>.<scorer>.<metric>` keyed by as-of date.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crm_scoring import settings, warehouse
from crm_scoring.benchmark import cdnow

log = logging.getLogger(__name__)

DEFAULT_AS_OF = (date(1997, 4, 30), date(1997, 5, 31), date(1997, 6, 30))
BENCHMARK_EXPERIMENT = "crm-churn-benchmark"
REPORTED = ("roc_auc", "pr_auc", "ece", "lift_top_decile", "capture_top_decile", "positive_rate")
SCORERS = ("model", "rfm_lr", "recency")
POPULATIONS = ("all", "non_lapsed")


class AsOfError(ValueError):
    """An as-of date the benchmark may not use: kept unseen (CDNOW), or its labels are not in the log."""


def _policy_int(url: str, key: str) -> int:
    with warehouse.connect(url) as conn:
        row = conn.execute(
            "select value from policy.policy_parameters where key = %s limit 1", (key,)
        ).fetchone()
    if row is None or row[0] in (None, ""):
        raise RuntimeError(f"policy parameter {key} is unset")
    return int(float(row[0]))


def _seed_horizon() -> int:
    """churn_label_horizon_days from the policy seed file (needed before any database exists)."""
    seeds = settings.dbt_project_dir() / "seeds" / "policy" / "policy_parameters.csv"
    frame = pd.read_csv(seeds, dtype=str)
    rows = frame[frame["key"] == "churn_label_horizon_days"].sort_values("effective_from")
    return int(float(rows["value"].iloc[-1]))


@dataclass(frozen=True)
class AsOfResult:
    as_of: date
    run_date: date
    figures: dict[str, dict[str, dict[str, float]]]  # population -> scorer -> metric -> value
    rows: dict[str, int]
    model: dict[str, Any]
    seconds: float
    # gain -> DeLong difference, se, 95 % interval, p-value (gain_intervals)
    intervals: dict[str, dict[str, float]] = field(default_factory=dict)


def _scores_frame(url: str, as_of: date, columns: list[str]) -> pd.DataFrame:
    from crm_scoring.model.config import load_config
    from crm_scoring.model.dataset import load_scoring_frame

    cfg = load_config()
    features = load_scoring_frame(url, as_of, columns, config=cfg)
    with warehouse.connect(url) as conn:
        rows = conn.execute(
            f"select customer_id::text, churn_probability from {cfg.scores_table} where run_date = %s",
            (as_of,),
        ).fetchall()
    scores = pd.DataFrame(rows, columns=["customer_id", "model"])
    return features.merge(scores, on="customer_id", how="inner", validate="one_to_one")


def _recency_fit(train: pd.DataFrame, target: str, seed: int):  # noqa: ANN202 - sklearn pipeline
    """Recency alone as a probability (one-feature logistic regression: same ranking as recency)."""
    from crm_scoring.model.baseline import fit_rfm_baseline

    return fit_rfm_baseline(train, ["recency_days"], target, seed)


def _population_rows(frame: pd.DataFrame, lapsed_days: int) -> dict[str, pd.DataFrame]:
    """Each reported population's rows: everyone, and the non-lapsed (recency below lapsed_days)."""
    return {"all": frame, "non_lapsed": frame[frame["recency_days"] < lapsed_days]}


def evaluate_scorers(
    frame: pd.DataFrame, lapsed_days: int, *, ece_bins: int, top_share: float
) -> dict[str, dict[str, dict[str, float]]]:
    """population -> scorer -> metric, for every scorer column present in `frame` (label `churned`); a
    column `<population>.<scorer>` (a baseline fitted on that population's rows) wins over `<scorer>`."""
    from crm_scoring.model.metrics import evaluate

    out: dict[str, dict[str, dict[str, float]]] = {}
    for pop, part in _population_rows(frame, lapsed_days).items():
        y = part["churned"].to_numpy()
        out[pop] = {}
        if len(np.unique(y)) < 2:
            continue
        for scorer, column in _scorer_columns(part, pop).items():
            m = evaluate(y, part[column].to_numpy(), ece_bins=ece_bins, lift_top_share=top_share)
            out[pop][scorer] = {k: m[k] for k in REPORTED} | {"rows": float(len(part))}
    return out


def _scorer_columns(part: pd.DataFrame, pop: str) -> dict[str, str]:
    """scorer -> the column holding its scores for population `pop` (`<pop>.<scorer>` when present)."""
    columns = {scorer: f"{pop}.{scorer}" if f"{pop}.{scorer}" in part else scorer for scorer in SCORERS}
    return {scorer: column for scorer, column in columns.items() if column in part}


def gain_intervals(frame: pd.DataFrame, lapsed_days: int) -> dict[str, dict[str, float]]:
    """`<population>.model_minus_<baseline>.roc_auc` -> the AUC difference on the same customers with
    DeLong's standard error, 95 % interval and p-value (`metrics.auc_difference`): whether a gain of a
    few thousandths is more than noise."""
    from crm_scoring.model.metrics import auc_difference

    out: dict[str, dict[str, float]] = {}
    for pop, part in _population_rows(frame, lapsed_days).items():
        columns = _scorer_columns(part, pop)
        if "model" not in columns:
            continue
        y = part["churned"].to_numpy()
        for base in ("rfm_lr", "recency"):
            if base in columns and len(np.unique(y)) == 2:
                out[f"{pop}.model_minus_{base}.roc_auc"] = auc_difference(
                    y, part[columns["model"]].to_numpy(), part[columns[base]].to_numpy()
                )
    return out


def _dump_frames(url: str, as_of: date, training: pd.DataFrame, truth: pd.DataFrame, out: Path) -> None:
    """For model development: the training set and every feature as of A with its label, as Parquet."""
    from crm_scoring.model.config import load_config
    from crm_scoring.model.dataset import load_scoring_frame, numeric_features, table_columns

    cfg = load_config()
    with warehouse.connect(url) as conn:
        columns = numeric_features(table_columns(conn, cfg.features_table), cfg)
    scoring = load_scoring_frame(url, as_of, columns, config=cfg).merge(truth, on="customer_id")
    out.mkdir(parents=True, exist_ok=True)
    training.to_parquet(out / f"training_{as_of}.parquet")
    scoring.to_parquet(out / f"scoring_{as_of}.parquet")


def run_as_of(
    tx: cdnow.Transactions, as_of: date, root: Path, server: str, seed: int, dump_dir: Path | None = None
) -> AsOfResult:
    """One as-of date end to end in its own database and MLflow store (see the module docstring)."""
    from crm_scoring import dbt_invoke
    from crm_scoring.ingest import load_export_date
    from crm_scoring.model.backtest import backtest
    from crm_scoring.model.baseline import fit_rfm_baseline, predict_rfm_baseline, rfm_columns
    from crm_scoring.model.config import load_config
    from crm_scoring.model.dataset import load_training_set, split_out_of_time
    from crm_scoring.model.registry import CHAMPION
    from crm_scoring.model.score import score
    from crm_scoring.model.train import train
    from crm_scoring.orchestration.dbt_selectors import (
        BACKTEST_INPUTS,
        BACKTEST_PERFORMANCE,
        SCORING_FEATURES,
        TRAINING,
        build_args,
    )

    horizon = _seed_horizon()
    if tx.max_as_of is not None and as_of > tx.max_as_of:
        raise AsOfError(f"as-of {as_of} is after {tx.max_as_of}: later cutoffs are kept unseen")
    if as_of > (latest := tx.latest_as_of(horizon)):
        raise AsOfError(
            f"as-of {as_of}: its label window ends on {as_of + timedelta(days=horizon)}, after the log's "
            f"last purchase ({latest + timedelta(days=horizon)}); the latest as-of date this log can label "
            f"is {latest}"
        )
    start = time.perf_counter()
    work = root / as_of.isoformat()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    dbname = warehouse.create_database(server, "crm_bench_real")
    url = warehouse.with_database(server, dbname)
    try:
        with settings.isolated(work):
            landing = work / "landing"
            a, r = cdnow.write_landing(tx, landing, as_of, horizon)
            load_export_date(url, landing, a)
            dbt_invoke.invoke([*build_args(SCORING_FEATURES), "--quiet"], url, a)
            # training snapshots as of A: only cutoffs whose label matured by A (purged protocol)
            dbt_invoke.invoke([*build_args(TRAINING), "--quiet"], url, a)
            lapsed_days = _policy_int(url, "winback_min_inactive_days")
            trained = train(url, a, seed=seed)
            # a new MLflow store per as-of date: its first version is champion unless it ranks worse than
            # the RFM baseline (a miss of model_min_auc alone is recorded as pass_below_min_auc); when it
            # is refused, the platform promotes nothing (recorded), and the benchmark forces
            # it through the one gated promote (recorded as forced) only to measure what it would score.
            from crm_scoring.model import registry

            tags = registry.client().get_model_version(trained.model_name, trained.version).tags
            gate = {"first_version": tags.get("first_version_gate", "pass"), "forced": False}
            if CHAMPION not in trained.aliases:
                from crm_scoring.model.promotion import promote

                forced = promote(url, version=trained.version, run_date=a, force=True)
                gate = {"first_version": "reject", "forced": True, "reasons": forced["gate"]["reasons"]}
                log.warning("bench-real %s: the gate refused v%s: %s", a, trained.version, gate["reasons"])
            score(url, a)
            cfg = load_config()
            training = load_training_set(url, a, config=cfg)
            leaky = [c for c in training["as_of_date"].unique() if c + timedelta(days=horizon) > a]
            if leaky:
                raise RuntimeError(
                    f"training cutoffs {leaky} have labels that mature after the as-of date {a}"
                )
            split = split_out_of_time(training, cfg.split, cfg.target)
            # the label window matures: folder R, then the CH-07 backtest of the champion that scored A; its
            # figure must equal the benchmark's own non-lapsed model AUC (same customers, same labels).
            load_export_date(url, landing, r)
            dbt_invoke.invoke([*build_args(BACKTEST_INPUTS), "--quiet"], url, r)
            backtests = backtest(url, r)
            dbt_invoke.invoke([*build_args(BACKTEST_PERFORMANCE), "--quiet"], url, r)
            columns = list(cfg.baseline.columns)
            frame = _scores_frame(url, a, columns)
            truth = cdnow.labels(tx, a, horizon)
            frame = frame.merge(truth[["customer_id", "churned"]], on="customer_id", how="inner")
            if dump_dir is not None:
                _dump_frames(url, a, training, truth, dump_dir)
            rfm_cols = rfm_columns(split.train, cfg.baseline)
            if rfm_cols is None:
                raise RuntimeError("the training set lacks the RFM columns")
            # each population's baselines are fitted on that population's training rows: with
            # churn_training_population = all_purchasers the training split holds lapsed rows too, and a
            # regression pooled over them would be a weaker yardstick for the non-lapsed than the one a
            # user fitting RFM-LR to the non-lapsed would get
            for pop, rows in _population_rows(split.train, lapsed_days).items():
                prefix = "" if pop == "all" else f"{pop}."
                rfm = fit_rfm_baseline(rows, rfm_cols, cfg.target, seed)
                frame[f"{prefix}rfm_lr"] = predict_rfm_baseline(rfm, frame, rfm_cols)
                rec = _recency_fit(rows, cfg.target, seed)
                frame[f"{prefix}recency"] = predict_rfm_baseline(rec, frame, ["recency_days"])
            figures = evaluate_scorers(
                frame, lapsed_days, ece_bins=cfg.metrics.ece_bins, top_share=cfg.metrics.lift_top_share
            )
            intervals = gain_intervals(frame, lapsed_days)
            model = {
                "version": trained.version,
                "n_features": len(trained.features),
                "family": trained.params.get("model_family"),
                "validation_roc_auc": _validation(trained.metrics, "roc_auc"),
                # validation AUC reweighted to the population scored at A (model.family.shift_weights)
                "validation_roc_auc_weighted": _validation(trained.metrics, "roc_auc_weighted"),
                "validation_shift": _validation(trained.metrics, None),
                "family_basis": tags.get("model_family_basis"),
                "family_reason": tags.get("model_family_reason"),
                # how separable the gate's holdout is from the population scored at A: the holdout may
                # overrule the no-overlap guard only below family_choice.no_overlap_domain_auc
                "holdout_shift_domain_auc": trained.metrics.get("test.shift.domain_auc"),
                "gate": gate,
                "features": trained.features,
                "selected_params": {
                    k: v for k, v in trained.params.items() if not isinstance(v, (list, dict))
                },
                "protocol": "purged: trained as of A on cutoffs whose labels matured by A",
                "split": {
                    "train_cutoffs": [str(c) for c in split.train_cutoffs],
                    "valid_cutoffs": [str(c) for c in split.valid_cutoffs],
                    "test_cutoffs": [str(c) for c in split.test_cutoffs],
                    "rows_train": len(split.train),
                    "rows_valid": len(split.valid),
                    "rows_test": len(split.test),
                },
            }
            rows = {"scored": len(frame), "training_rows": len(training)}
            model["backtest"] = [
                {k: (str(v) if isinstance(v, (date, datetime)) else v) for k, v in b.items()}
                for b in backtests
            ]
            with warehouse.connect(url) as conn:
                model["model_performance_rows"] = conn.execute(
                    "select count(*) from marts.model_performance"
                ).fetchone()[0]
    finally:
        warehouse.drop_database(server, dbname)
        shutil.rmtree(work / "landing", ignore_errors=True)
    return AsOfResult(a, r, figures, rows, model, time.perf_counter() - start, intervals)


def _validation(metrics: dict[str, float], metric: str | None) -> dict[str, float]:
    """`validation.<family>.<metric>` as {family: value}; metric None: the `validation.shift.*` ones."""
    if metric is None:
        return {k.split(".", 2)[2]: v for k, v in metrics.items() if k.startswith("validation.shift.")}
    parts = {k: k.split(".") for k in metrics if k.startswith("validation.")}
    return {p[1]: metrics[k] for k, p in parts.items() if len(p) == 3 and p[1] != "shift" and p[2] == metric}


def _gains(figures: dict[str, dict[str, dict[str, float]]]) -> dict[str, float]:
    out = {}
    for pop, by in figures.items():
        if "model" in by:
            for base in ("rfm_lr", "recency"):
                if base in by:
                    out[f"{pop}.model_minus_{base}.roc_auc"] = by["model"]["roc_auc"] - by[base]["roc_auc"]
    return out


def _slug(benchmark: str) -> str:
    """Run names and work folders: `bench-real` for CDNOW (as since the first benchmark), `bench-log`."""
    return "bench-real" if benchmark == "cdnow" else f"bench-{benchmark}"


def _log_mlflow(result: dict[str, Any], tracking_uri: str) -> str:
    """One run in the benchmark experiment; metrics `<population>.<scorer>.<metric>` stepped by as-of."""
    import mlflow

    from crm_scoring.model import registry

    os.environ["MLFLOW_TRACKING_URI"] = tracking_uri
    experiment_id = registry.ensure_experiment(BENCHMARK_EXPERIMENT, purpose="benchmark")
    name = f"{_slug(result['benchmark'])}-{result['variant']}-" + "_".join(
        r["as_of"] for r in result["as_of_dates"]
    )
    with mlflow.start_run(experiment_id=experiment_id, run_name=name) as run:
        mlflow.set_tags(
            {
                "crm.purpose": "benchmark",
                "benchmark": result["benchmark"],
                "data_variant": result["variant"],
                "data_source": result["data"]["shipped_in"],
                "data_licence": result["data"]["licence"],
                "as_of_dates": ",".join(r["as_of"] for r in result["as_of_dates"]),
                "mlflow.note.content": (
                    f"Real-data benchmark ({result['data']['name']}): the platform's churn model vs an RFM "
                    "logistic regression and recency alone, same out-of-time split; metrics "
                    "<population>.<scorer>.<metric>, one step per as-of date (step = yyyymmdd)."
                ),
            }
        )
        for r in result["as_of_dates"]:
            step = int(r["as_of"].replace("-", ""))
            metrics = {
                f"{pop}.{scorer}.{k}": v
                for pop, by in r["figures"].items()
                for scorer, m in by.items()
                for k, v in m.items()
            }
            metrics.update(r["gains"])
            for gain, interval in r.get("gain_intervals", {}).items():
                metrics.update({f"{gain}.{k}": v for k, v in interval.items() if k != "diff"})
            for family, auc in r["model"].get("validation_roc_auc", {}).items():
                metrics[f"validation.{family}.roc_auc"] = auc
            mlflow.log_metrics({k: float(v) for k, v in metrics.items() if np.isfinite(v)}, step=step)
        mlflow.log_dict(result, "bench_real.json")
        return run.info.run_id


def run_bench_real(
    as_of_dates: tuple[date, ...] = DEFAULT_AS_OF, *, variant: str = "full", **options: Any
) -> dict[str, Any]:
    """The CDNOW benchmark (`make bench-real`): `run_benchmark` on the log the lifetimes package ships."""
    tx = cdnow.load(variant)
    return run_benchmark(tx, {**cdnow.SOURCE, "file": str(tx.path)}, "cdnow", as_of_dates, **options)


def run_bench_log(
    tx: cdnow.Transactions, as_of_dates: tuple[date, ...] = (), **options: Any
) -> dict[str, Any]:
    """`crm evaluate log`: the same benchmark on any transaction log (benchmark/translog.py); without
    as-of dates, the latest one whose label window the log covers."""
    from crm_scoring.benchmark import translog

    dates = as_of_dates or (tx.latest_as_of(_seed_horizon()),)
    return run_benchmark(tx, translog.source(tx), "log", dates, **options)


def run_benchmark(
    tx: cdnow.Transactions,
    data: dict[str, Any],
    benchmark: str,
    as_of_dates: tuple[date, ...],
    *,
    out_json: Path | None = None,
    seed: int = 42,
    log_to_mlflow: bool = True,
    dump_dir: Path | None = None,
    work_root: Path | None = None,
) -> dict[str, Any]:
    """Run every as-of date, print the comparison table, write JSON (default
    `<reports>/bench_real_<variant>.json` for CDNOW, `bench_log_<file stem>.json`) and the MLflow run."""
    tracking_uri = settings.mlflow_tracking_uri()
    root = work_root or settings.state_dir() / _slug(benchmark)
    out_json = out_json or settings.reports_dir() / f"{_slug(benchmark).replace('-', '_')}_{tx.variant}.json"
    server = warehouse.warehouse_url()
    results = []
    for as_of in sorted(as_of_dates):
        print(f"bench: {data['name']} ({tx.variant}), as-of {as_of} ...", flush=True)
        r = run_as_of(tx, as_of, root, server, seed, dump_dir)
        results.append(
            {
                "as_of": r.as_of.isoformat(),
                "label_matured_on": r.run_date.isoformat(),
                "figures": r.figures,
                "gains": _gains(r.figures),
                "gain_intervals": r.intervals,
                "rows": r.rows,
                "model": r.model,
                "seconds": round(r.seconds, 1),
            }
        )
        print(format_table(results[-1]), flush=True)
    result = {
        "benchmark": benchmark,
        "variant": tx.variant,
        "data": {
            **data,
            "transactions": len(tx.frame),
            "customers": int(tx.frame["customer_id"].nunique()),
        },
        "seed": seed,
        "as_of_dates": results,
    }
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(result, indent=2, default=str))
    print(f"figures written to {out_json}")
    if log_to_mlflow:
        run_id = _log_mlflow(result, tracking_uri)
        print(f"MLflow run {run_id} in experiment {BENCHMARK_EXPERIMENT} ({tracking_uri})")
        result["mlflow_run_id"] = run_id
    return result


def format_table(r: dict[str, Any]) -> str:
    lines = [f"as-of {r['as_of']} (labels matured {r['label_matured_on']}, {r['seconds']} s)"]
    lines.append(
        f"  {'population':11} {'scorer':8} {'rows':>7} {'roc_auc':>8} {'pr_auc':>7} {'ece':>6} "
        f"{'lift@10%':>8} {'capt@10%':>8}"
    )
    for pop, by in r["figures"].items():
        for scorer, m in by.items():
            lines.append(
                f"  {pop:11} {scorer:8} {int(m['rows']):7d} {m['roc_auc']:8.4f} {m['pr_auc']:7.4f} "
                f"{m['ece']:6.3f} {m['lift_top_decile']:8.3f} {m['capture_top_decile']:8.3f}"
            )
    intervals = r.get("gain_intervals", {})
    lines.append("  gains (ROC AUC, model minus baseline; DeLong 95 % interval, p):")
    for k, v in r["gains"].items():
        ci = intervals.get(k)
        around = (
            f"  [{ci['ci95_low']:+.4f}, {ci['ci95_high']:+.4f}]  p {ci['p_value']:.3f}"
            if ci and np.isfinite(ci["se"])
            else ""
        )
        lines.append(f"    {k:39} {v:+.4f}{around}")
    model = r.get("model", {})
    if model.get("family"):
        valid = ", ".join(f"{k} {v:.4f}" for k, v in model.get("validation_roc_auc", {}).items())
        gate = model.get("gate", {})
        verdict = "passed" if not gate.get("forced") else "REFUSED, forced for the measurement"
        lines.append(
            f"  family: {model['family']} (validation roc_auc {valid}); first-version gate {verdict}"
        )
        lines += [f"    - {reason}" for reason in gate.get("reasons", [])]
    return "\n".join(lines)
