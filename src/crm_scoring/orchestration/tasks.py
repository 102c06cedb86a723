"""Task bodies of the DAGs, as plain functions of the run date so they can be tested without Airflow.

Each function takes the logical date as `YYYY-MM-DD` (Airflow's `ds`) and returns a small,
JSON-serialisable summary that Airflow keeps as the task's XCom.

Every task that writes the warehouse runs under `_step`: it holds the warehouse-writer advisory lock
(crm_scoring.locks; one writer at a time, whoever started it) and passes the stage's fail-points
`<stage>:before` / `<stage>:after` (crm_scoring.failpoints; inert unless a test arms one).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from typing import Any, TypeVar

from crm_scoring import failpoints, locks, settings, warehouse
from crm_scoring.orchestration.stage_log import logged_stage

log = logging.getLogger(__name__)
T = TypeVar("T")


def _date(ds: str) -> date:
    return date.fromisoformat(ds)


def _read_step(stage: str, ds: str, fn: Callable[[], T]) -> T:
    """A read-only stage: its two fail-points, and no writer lock (see callbacks.on_execute_reader)."""
    failpoints.hit(f"{stage}:before")
    out = fn()
    failpoints.hit(f"{stage}:after")
    return out


def _step(stage: str, ds: str, fn: Callable[[], T]) -> T:
    """Run one stage as the only warehouse writer, between its two fail-points."""
    with locks.hold(f"crm:{stage}:{ds}"):
        return _read_step(stage, ds, fn)


def _validate(stage: str, ds: str, run: Callable, *, read_only: bool = False) -> dict:
    """A GX checkpoint stage (validate_raw, validate_lists): reports under reports_dir()/gx, a summary.

    `read_only`: the stage reads a slice no concurrent task of the night writes (validate_raw: the
    night's raw rows, written by ingest before it), so it runs without the writer lock, beside
    enrich_texts."""
    reports = settings.reports_dir() / "gx"
    step = _read_step if read_only else _step
    report = step(stage, ds, lambda: run(warehouse.warehouse_url(), _date(ds), reports))
    return {"success": report.success, "warnings": len(report.warnings), "report": str(report.report_path)}


@logged_stage("ingest")
def ingest(ds: str) -> dict:
    from crm_scoring.ingest import load_export_date
    from crm_scoring.privacy.nightly import after_load

    url = warehouse.warehouse_url()

    def load() -> tuple:
        # PS-08 erasures and PS-09 retention run right after the load, before anything reads the new rows
        return load_export_date(url, settings.landing_dir(), _date(ds)), after_load(url, _date(ds))

    result, privacy = _step("ingest", ds, load)
    return {
        "export_date": ds,
        "files": [asdict(f) for f in result.files],
        "privacy": privacy,
    }


def ingest_pending(ds: str) -> list[str]:
    """Load every landing folder up to `ds` not loaded yet (training needs the history)."""
    from crm_scoring.ingest import load_export_date, pending_dates
    from crm_scoring.privacy.nightly import after_load

    url = warehouse.warehouse_url()

    def load() -> list[str]:
        done = []
        for day in pending_dates(url, settings.landing_dir(), _date(ds)):
            load_export_date(url, settings.landing_dir(), day)
            after_load(url, day, purge=False)  # PS-08: erased customers never re-enter through a backfill
            done.append(day.isoformat())
        return done

    return _step("ingest_pending", ds, load)


@logged_stage("validate_raw")
def validate_raw(ds: str) -> dict:
    from crm_scoring.quality import validate_raw as run

    return _validate("validate_raw", ds, run, read_only=True)


@logged_stage("enrich_texts")
def enrich_texts(ds: str) -> dict:
    """Sentiment, emotion and PII redaction of ticket texts and survey comments, before dbt (ST-04..06)."""
    from crm_scoring.enrich import enrich_texts as run

    return _step("enrich_texts", ds, lambda: run(warehouse.warehouse_url(), _date(ds)))


@logged_stage("score")
def score(ds: str) -> dict:
    """Score the night, then backtest (CH-07) every earlier scored night whose label has matured by now.

    The backtest runs here, after the night's marts, because the labels read this night's activity; its
    rows reach marts.model_performance (and AL-14 in marts.alerts) with the next marts build.
    """
    from crm_scoring.model.backtest import backtest
    from crm_scoring.model.score import score as run

    url = warehouse.warehouse_url()

    def body() -> tuple:
        result = run(url, _date(ds))
        return result, backtest(url, _date(ds))

    result, evaluated = _step("score", ds, body)
    return {"rows": result.rows, "model_version": result.model_version, "backtests": len(evaluated)}


def score_shard(ds: str, index: int, count: int) -> dict:
    """Score shard `index` of `count` (one mapped task of a sharded night; reasons come later, see
    `build_lists` and `explain_rest`).

    The shards of a night write disjoint customers, so they share the warehouse-writer lock
    (shared mode: together, but never beside another writer). The backtest runs once, in
    `score_shards_done`, after all of them.
    """
    from crm_scoring.model.score import score as run
    from crm_scoring.orchestration.sharding import worker_name

    with locks.hold(f"crm:score_shard:{index}/{count}:{ds}", shared=True):
        result = run(warehouse.warehouse_url(), _date(ds), shard=(index, count))
    return {
        "shard": index,
        "shards": count,
        "rows": result.rows,
        "model_version": result.model_version,
        "worker": worker_name(),
    }


@logged_stage("score")
def score_shards_done(ds: str, shards: list[dict]) -> dict:
    """After the shards of a night: check they are complete and of one model version, then backtest.

    A promotion between two shards would mix two models in one night: that fails here, and a rerun
    of the night scores every shard with the new champion.
    """
    from crm_scoring.model.backtest import backtest

    count = shards[0]["shards"] if shards else 0
    if sorted(s["shard"] for s in shards) != list(range(count)):
        raise RuntimeError(f"score: shards {sorted(s['shard'] for s in shards)} of {count} are not all there")
    versions = sorted({s["model_version"] for s in shards})
    if len(versions) != 1:
        raise RuntimeError(f"score: the shards of {ds} were scored by different model versions {versions}")
    evaluated = _step("score", ds, lambda: backtest(warehouse.warehouse_url(), _date(ds)))
    return {
        "rows": sum(s["rows"] for s in shards),
        "model_version": versions[0],
        "backtests": len(evaluated),
        "shards": count,
        "workers": sorted({s["worker"] for s in shards}),
    }


def build_lists(ds: str, run_dbt: Callable[[str], None], url: str | None = None) -> dict:
    """The dbt_lists step: dbt builds the candidates, the candidates' customers get their reason codes
    (CH-06, with the scores' model version), then dbt builds the list models that carry them.

    Why one step in three parts: the lists only carry the reasons of the customers they name, and every
    list row is a candidate row, so exact TreeSHAP for the candidates is all the lists wait for; the
    other scored customers are explained after publishing (`explain_rest`). `run_dbt(selector)` runs
    one `dbt build --selector` (cosmos in the DAG, `build_lists_in_process` elsewhere): a failing model
    fails the step with its name, and each model's line stays in the log.
    """
    from crm_scoring.model import explain
    from crm_scoring.orchestration import dbt_selectors

    with locks.hold(f"crm:dbt_lists:{ds}"):
        run_dbt(dbt_selectors.CANDIDATES)
        result = explain.explain(
            url or warehouse.warehouse_url(), _date(ds), explain.CANDIDATES, failpoint="dbt_lists:reasons"
        )
        run_dbt(dbt_selectors.LISTS_AFTER_REASONS)
    return {
        "explained": result.customers,
        "reason_rows": result.reason_rows,
        "model_version": result.model_version,
    }


def build_lists_in_process(ds: str, url: str | None = None, parsed: Any = None) -> dict:
    """`build_lists` with dbt run in this process (dbtRunner): the demo night, the bench, the crash tests.
    `parsed`: a manifest of the caller's (`dbt_invoke.manifest`), else one parse here for both builds."""
    from crm_scoring import dbt_invoke
    from crm_scoring.orchestration.dbt_selectors import build_args

    url = url or warehouse.warehouse_url()
    parsed = parsed if parsed is not None else dbt_invoke.manifest(url)

    def run_dbt(selector: str) -> None:
        dbt_invoke.invoke([*build_args(selector), "--quiet"], url, _date(ds), manifest=parsed)

    return build_lists(ds, run_dbt, url)


@logged_stage("explain_rest")
def explain_rest(ds: str) -> dict:
    """CH-06 for audit and appeals: the reason codes of every scored customer the lists step did not
    explain, after publishing, so they are never on the path to the lists (`model.explain`)."""
    from crm_scoring.model import explain

    result = _step(
        "explain_rest",
        ds,
        lambda: explain.explain(
            warehouse.warehouse_url(), _date(ds), explain.REST, failpoint="explain_rest:inside"
        ),
    )
    return {
        "explained": result.customers,
        "reason_rows": result.reason_rows,
        "model_version": result.model_version,
    }


@logged_stage("validate_lists")
def validate_lists(ds: str) -> dict:
    from crm_scoring.quality import validate_lists as run

    return _validate("validate_lists", ds, run)


@logged_stage("publish_lists")
def publish_lists(ds: str) -> dict:
    from crm_scoring.lists.publish import publish

    return _step("publish_lists", ds, lambda: publish(_date(ds)).rows)


def render_report(ds: str) -> dict:
    """The night's morning report (issue 13), once the lists are published: file and ops.daily_reports."""
    from crm_scoring.report import render_report as run

    result = run(_date(ds))
    return {"path": str(result.path), "sha256": result.sha256, "missing_panels": result.missing_panels}


def train(ds: str) -> dict:
    from crm_scoring.model.train import train as run

    result = _step("train", ds, lambda: run(warehouse.warehouse_url(), _date(ds)))
    return {"run_id": result.run_id, "version": result.version, "metrics": result.metrics}


def gate_promotion(ds: str) -> dict:
    """Compare @challenger with @champion on the same out-of-time holdout and promote if it passes."""
    from crm_scoring.model.promotion import gate_and_promote

    return _step("gate_promotion", ds, lambda: gate_and_promote(warehouse.warehouse_url(), _date(ds)))


@logged_stage("drift")
def drift(ds: str) -> dict:
    """AL-14: score and feature drift of the night against the champion's training reference."""
    from crm_scoring.monitoring.drift import monitor_night

    rows = _step("drift", ds, lambda: monitor_night(_date(ds), warehouse.warehouse_url()))
    return {"rows": len(rows), "model_version": rows[0].model_version if rows else None}


def prune_history(ds: str) -> dict:
    """Delete the per-date marts, scores and lists older than their retention (orchestration/history.py)."""
    from crm_scoring.orchestration import history
    from crm_scoring.orchestration.environment import dbt_state_dir

    url = warehouse.warehouse_url()

    def body() -> dict[str, int]:
        tables = history.per_date_tables(history.load_manifest(url, dbt_state_dir() / "target"))
        with warehouse.connect(url) as conn:
            return history.prune(conn, _date(ds), tables)

    deleted = _step("prune_history", ds, body)
    return {"tables": len(deleted), "rows_deleted": sum(deleted.values())}


def deliver_alerts(ds: str) -> dict:
    """AL-17: e-mail / webhook delivery of the night's alerts at or above the policy level, once each."""
    from crm_scoring.orchestration.notify import deliver_alerts as run

    return run(_date(ds), warehouse.warehouse_url())
