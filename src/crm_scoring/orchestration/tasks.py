"""Task bodies of the DAGs, as plain functions of the run date so they can be tested without Airflow.

Each function takes the logical date as `YYYY-MM-DD` (Airflow's `ds`) and returns a small,
JSON-serialisable summary that Airflow keeps as the task's XCom.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import date

from crm_scoring import settings, warehouse

log = logging.getLogger(__name__)


def _date(ds: str) -> date:
    return date.fromisoformat(ds)


def ingest(ds: str) -> dict:
    from crm_scoring.ingest import load_export_date

    result = load_export_date(warehouse.warehouse_url(), settings.landing_dir(), _date(ds))
    return {
        "export_date": ds,
        "files": [asdict(f) for f in result.files],
    }


def ingest_pending(ds: str) -> list[str]:
    """Load every landing folder up to `ds` not loaded yet (training needs the history)."""
    from crm_scoring.ingest import load_export_date, pending_dates

    url = warehouse.warehouse_url()
    done = []
    for day in pending_dates(url, settings.landing_dir(), _date(ds)):
        load_export_date(url, settings.landing_dir(), day)
        done.append(day.isoformat())
    return done


def validate_raw(ds: str) -> dict:
    from crm_scoring.quality import validate_raw as run

    report = run(warehouse.warehouse_url(), _date(ds), settings.reports_dir() / "gx")
    return {"success": report.success, "warnings": len(report.warnings), "report": str(report.report_path)}


def enrich_texts(ds: str) -> dict:
    """Sentiment, emotion and PII redaction of ticket texts and survey comments, before dbt (ST-04..06)."""
    from crm_scoring.enrich import enrich_texts as run

    return run(warehouse.warehouse_url(), _date(ds))


def score(ds: str) -> dict:
    """Score the night, then backtest (CH-07) every earlier scored night whose label has matured by now.

    The backtest runs here, after the night's marts, because the labels read this night's activity; its
    rows reach marts.model_performance (and AL-14 in marts.alerts) with the next marts build.
    """
    from crm_scoring.model import score as run
    from crm_scoring.model.backtest import backtest

    url = warehouse.warehouse_url()
    result = run(url, _date(ds))
    evaluated = backtest(url, _date(ds))
    return {
        "rows": result.rows,
        "model_version": result.model_version,
        "reason_rows": result.reason_rows,
        "backtests": len(evaluated),
    }


def validate_lists(ds: str) -> dict:
    from crm_scoring.quality import validate_lists as run

    report = run(warehouse.warehouse_url(), _date(ds), settings.reports_dir() / "gx")
    return {"success": report.success, "warnings": len(report.warnings), "report": str(report.report_path)}


def publish_lists(ds: str) -> dict:
    from crm_scoring.lists.publish import publish

    return publish(_date(ds)).rows


def render_report(ds: str) -> dict:
    """The night's morning report (issue 13), once the lists are published: file and ops.daily_reports."""
    from crm_scoring.report import render_report as run

    result = run(_date(ds))
    return {"path": str(result.path), "sha256": result.sha256, "missing_panels": result.missing_panels}


def train(ds: str) -> dict:
    from crm_scoring.model import train as run

    result = run(warehouse.warehouse_url(), _date(ds))
    return {"run_id": result.run_id, "version": result.version, "metrics": result.metrics}


def gate_promotion(ds: str) -> dict:
    """Compare @challenger with @champion on the same out-of-time holdout and promote if it passes."""
    from crm_scoring.model import gate_and_promote

    return gate_and_promote(warehouse.warehouse_url(), _date(ds))
