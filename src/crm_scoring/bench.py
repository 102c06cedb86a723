"""`make bench`: wall time and rows per second of every nightly stage on a generated dataset.

It works in a throw-away database on the warehouse server, a throw-away landing folder and a
throw-away MLflow store, so it never touches the data `make run` uses. The scoring stage is timed
twice on the same data: the platform's bulk path (COPY + one vectorised predict) and the naive
pandas `read_sql` / `to_sql` path, and the ratio is printed. Timings are reported, never asserted.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from crm_scoring import settings, warehouse

BENCH_DATE = date(2026, 11, 26)


@dataclass
class Stage:
    name: str
    seconds: float
    rows: int

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


class Timer:
    def __init__(self) -> None:
        self.stages: list[Stage] = []

    def run(self, name: str, fn: Callable[[], Any], rows: Callable[[Any], int] | int) -> Any:
        start = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - start
        count = rows(result) if callable(rows) else rows
        self.stages.append(Stage(name, elapsed, int(count)))
        print(f"  {name:34} {elapsed:9.2f} s {count:>12,} rows", flush=True)
        return result


def _count(url: str, query: str, *params: Any) -> int:
    with warehouse.connect(url) as conn:
        return int(conn.execute(query, params).fetchone()[0])


def _naive_scoring(url: str, run_date: date) -> int:
    """The path the platform avoids: pandas read_sql, predict, DataFrame.to_sql (row-wise INSERTs)."""
    import numpy as np
    import pandas as pd
    import sqlalchemy

    from crm_scoring.model.score import load_champion

    model = load_champion()
    engine = sqlalchemy.create_engine(warehouse.sqlalchemy_url(url))
    try:
        frame = pd.read_sql(
            sqlalchemy.text("select * from marts.churn_features where run_date = :d"),
            engine,
            params={"d": run_date},
        )
        probs = model.predict(frame[model.features].to_numpy(dtype=np.float64))
        out = pd.DataFrame(
            {
                "run_date": run_date,
                "customer_id": frame["customer_id"],
                "churn_probability": probs,
                "model_version": model.version,
            }
        )
        out.to_sql("churn_scores_naive", engine, schema="scoring", if_exists="replace", index=False)
    finally:
        engine.dispose()
    return len(out)


def _text_model_rate() -> tuple[int, float]:
    """Texts per CPU second of the shipped text model's scoring alone (one process = one core)."""
    from crm_scoring.enrich.evaluate import cpu_scoring_rate
    from crm_scoring.enrich.model import primary_models

    return cpu_scoring_rate(primary_models()[0])


def _text_gate(url: str, run_date: date) -> None:
    """Train the text model(s) and measure them on every labelled set (cached for the enrich stages)."""
    from crm_scoring.enrich.policy import load_policy
    from crm_scoring.enrich.task import _gate

    with warehouse.connect(url) as conn:
        _gate(load_policy(conn, run_date))


def _airflow_night(timer: Timer, server: str, day: date):  # noqa: ANN202 - bench_night.NightFigure | None
    """One demo night through Airflow with the champion just trained (orchestration/bench_night.py)."""
    from crm_scoring.orchestration import bench_night

    if not bench_night.enabled():
        return None
    night = bench_night.AirflowNight(bench_night.default_root(), server, day)
    try:
        name = f"airflow: crm run, {night.customers:,}-customer night"
        figure = timer.run(name, night.run, night.customers)
    finally:
        night.cleanup()
    print(f"  (cpu {figure.cpu_seconds:.1f} s, success={figure.success}, log {figure.log_path})", flush=True)
    return figure


def run_bench(customers: int, out_json: Path | None = None, keep: bool = False) -> dict:
    from crm_scoring import dbt_invoke
    from crm_scoring.demo import generate
    from crm_scoring.enrich import enrich_texts
    from crm_scoring.ingest import load_export_date
    from crm_scoring.lists.publish import publish
    from crm_scoring.model.config import load_config
    from crm_scoring.model.dataset import load_scoring_frame
    from crm_scoring.model.reasons import compute_reason_codes
    from crm_scoring.model.registry import CHAMPION
    from crm_scoring.model.score import load_champion, write_scores
    from crm_scoring.model.train import train
    from crm_scoring.orchestration.dbt_selectors import LISTS, MARTS, TRAINING, build_args
    from crm_scoring.quality import validate_lists, validate_raw

    root = settings.state_dir() / "bench"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    server = warehouse.warehouse_url()
    dbname = warehouse.create_database(server, "crm_bench")
    url = warehouse.with_database(server, dbname)
    day0, day1 = BENCH_DATE - timedelta(days=1), BENCH_DATE
    timer = Timer()
    print(f"crm bench: {customers:,} customers, run date {day1}, database {dbname}")
    try:
        with settings.isolated(root):
            landing = root / "landing"
            timer.run(
                "generate demo export",
                lambda: generate(landing, day0, day1, customers, seed=42, history_days=400, progress=False),
                customers,
            )
            backfill = timer.run(
                "ingest: backfill folder",
                lambda: load_export_date(url, landing, day0),
                lambda r: r.rows_read,
            )
            timer.run(
                "ingest: nightly delta", lambda: load_export_date(url, landing, day1), lambda r: r.rows_read
            )
            reports = root / "reports"
            timer.run(
                "validate raw: backfill (GX)", lambda: validate_raw(url, day0, reports), backfill.rows_read
            )
            timer.run("validate raw: nightly delta (GX)", lambda: validate_raw(url, day1, reports), 0)
            timer.stages[-1].rows = _count(
                url, "select count(*) from raw.orders where _export_date = %s", day1
            )
            timer.run("enrich: text model + DQ-06 report", lambda: _text_gate(url, day1), 1)
            text_backfill = timer.run(
                "enrich texts: backfill (all texts)",
                lambda: enrich_texts(url, day0),
                lambda r: r["enriched"],
            )
            text_delta = timer.run(
                "enrich texts: nightly delta", lambda: enrich_texts(url, day1), lambda r: r["enriched"]
            )
            text_model_rate = _text_model_rate()
            timer.run(
                "dbt build: marts",
                lambda: dbt_invoke.invoke([*build_args(MARTS), "--quiet"], url, day1),
                customers,
            )
            timer.run(
                "dbt build: training snapshots",
                lambda: dbt_invoke.invoke([*build_args(TRAINING), "--quiet"], url, day1),
                lambda _: _count(url, "select count(*) from marts.churn_training_set"),
            )
            trained = timer.run(
                "train + MLflow log (weekly)",
                lambda: train(url, day1),
                lambda _: _count(url, "select count(*) from marts.churn_training_set"),
            )
            # the bench's MLflow store is new: its first version is champion by the one promotion rule
            # (train: nothing to beat); no second, ungated promote
            if CHAMPION not in trained.aliases:
                raise RuntimeError(f"bench: version {trained.version} is not @champion in a fresh store")
            cfg = load_config()
            model = load_champion(cfg)
            frame = timer.run(
                "score: read features (COPY)",
                lambda: load_scoring_frame(url, day1, model.features, config=cfg),
                len,
            )
            import numpy as np
            import pyarrow as pa

            probs = timer.run(
                "score: predict",
                lambda: model.predict(frame[model.features].to_numpy(dtype=np.float64)),
                len,
            )
            ids = pa.array(frame["customer_id"].to_numpy(dtype=object), pa.string())
            matrix = frame[model.features].to_numpy(dtype=np.float64)
            reasons = timer.run(
                "score: reason codes (top 3)",
                lambda: compute_reason_codes(model, frame, day1, matrix=matrix),
                len(frame),
            )
            timer.run(
                "score: write scores+reasons (COPY)",
                lambda: write_scores(url, day1, ids, probs, model, cfg, reasons=reasons),
                len(probs) + reasons.num_rows,
            )
            timer.run("score: naive read_sql + to_sql", lambda: _naive_scoring(url, day1), lambda n: n)
            timer.run(
                "dbt build: lists",
                lambda: dbt_invoke.invoke([*build_args(LISTS), "--quiet"], url, day1),
                lambda _: _count(url, "select count(*) from lists_build.retention_list"),
            )
            list_rows = _count(url, "select count(*) from lists_build.retention_list") + _count(
                url, "select count(*) from lists_build.compensation_list"
            )
            timer.run("validate lists (GX)", lambda: validate_lists(url, day1, reports), list_rows)
            published = timer.run("publish lists", lambda: publish(day1, url), lambda r: sum(r.rows.values()))
            night = _airflow_night(timer, server, day1)
    finally:
        if not keep:
            warehouse.drop_database(server, dbname)
            shutil.rmtree(root / "landing", ignore_errors=True)
    by_name = {s.name: s for s in timer.stages}
    bulk = sum(
        by_name[n].seconds
        for n in ("score: read features (COPY)", "score: predict", "score: write scores+reasons (COPY)")
    )
    naive = by_name["score: naive read_sql + to_sql"].seconds
    result = {
        "customers": customers,
        "run_date": day1.isoformat(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "stages": [asdict(s) | {"rows_per_second": s.rows_per_second} for s in timer.stages],
        "scoring_bulk_seconds": bulk,
        "scoring_naive_seconds": naive,
        "naive_over_bulk": naive / bulk if bulk else None,
        "published_rows": published.rows,
        # text model throughput inside the task (redaction + scoring + emotion), one process = one core
        "text_backfill_texts_per_second": text_backfill["texts_per_second"],
        "text_delta_texts": text_delta["enriched"],
        "text_delta_seconds": text_delta["seconds"],
        # the model's scoring alone, CPU time of one process (per core, robust to a shared machine)
        "text_model_cpu_texts_per_second": text_model_rate[1],
        "text_model_cpu_texts": text_model_rate[0],
        # `crm run` of a 5,000-customer demo night on a real scheduler (issue 12: <= 60 s on two cores)
        "airflow_demo_night": asdict(night) if night else None,
    }
    print()
    print(f"{'stage':36} {'seconds':>9} {'rows':>12} {'rows/s':>12}")
    for s in timer.stages:
        print(f"{s.name:36} {s.seconds:9.2f} {s.rows:12,} {s.rows_per_second:12,.0f}")
    print(
        f"\nscoring: bulk {bulk:.2f} s, naive {naive:.2f} s: "
        f"the naive path is {result['naive_over_bulk']:.1f}x slower"
    )
    print(
        f"text model: {result['text_backfill_texts_per_second']:,.0f} texts/s on one core (backfill);"
        f" nightly delta {result['text_delta_texts']:,} texts in {result['text_delta_seconds']:.2f} s;"
        f" model scoring alone {text_model_rate[1]:,.0f} texts per CPU second ({text_model_rate[0]:,} texts)"
    )
    target = out_json or settings.reports_dir() / "bench.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, indent=2))
    print(f"figures written to {target}")
    return result
