"""Score and per-feature drift of a scored night against the champion's training reference (AL-14).

Why numpy / scipy and not Evidently, NannyML or whylogs (measured with `uv pip compile` against this
lock, see docs/monitoring.md): NannyML does not resolve (pandas < 2), Evidently resolves but adds ~25
packages (litestar, nltk, statsmodels, plotly, a telemetry client) for two formulas, and whylogs
ships a hosted-service client. scipy is already locked and gives the distances.

Two numbers per column, both against the reference stored at training time (monitoring.reference):
- PSI over the reference's decile bins plus a missing-value bin: sum((a - e) * ln(a / e)), shares
  floored at PSI_EPSILON so an empty bin does not make it infinite;
- the Wasserstein-1 distance between the reference and tonight's quantile functions, divided by the
  reference standard deviation ("wasserstein_norm", as Evidently does for large numeric samples): it
  does not saturate with sample size like a KS p-value does.
Statuses (ok / warn / breach) are decided in SQL from policy parameters (marts.monitoring_drift).
"""

from __future__ import annotations

import io
import json
import logging
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import wasserstein_distance

from crm_scoring import warehouse
from crm_scoring.monitoring.reference import (
    IMPORTANCE_FILE,
    IMPORTANCE_KEY,
    QUANTILE_POINTS,
    REFERENCE_FILE,
    SCORE_COLUMN,
)

log = logging.getLogger(__name__)

PSI_EPSILON = 1e-4
DISTANCE_NAME = "wasserstein_norm"

DDL = [
    "create schema if not exists scoring",
    """
    create table if not exists scoring.drift_reference (
        model_name text not null,
        model_version text not null,
        mlflow_run_id text,
        reference jsonb not null,
        primary key (model_name, model_version)
    )""",
    """
    create table if not exists scoring.drift_metrics (
        run_date date not null,
        model_name text not null,
        model_version text not null,
        scope text not null check (scope in ('score', 'feature')),
        feature text not null,
        rows_current bigint not null,
        rows_reference bigint not null,
        missing_share_current double precision,
        psi double precision,
        distance_name text not null,
        distance double precision,
        primary key (run_date, model_version, scope, feature)
    )""",
]


class DriftError(RuntimeError):
    """The night cannot be compared with a reference (no scores, no reference for its model version)."""


@dataclass(frozen=True)
class DriftRow:
    run_date: date
    model_name: str
    model_version: str
    scope: str
    feature: str
    rows_current: int
    rows_reference: int
    missing_share_current: float | None
    psi: float | None
    distance_name: str
    distance: float | None


def psi(reference: dict[str, Any], values: np.ndarray) -> float | None:
    """Population stability index of `values` over the reference's bins (plus a missing bin)."""
    values = np.asarray(values, dtype=np.float64)
    edges = np.asarray(reference["edges"], dtype=np.float64)
    expected = np.asarray([*reference["counts"], reference["missing"]], dtype=np.float64)
    if values.size == 0 or expected.sum() == 0:
        return None
    present = values[~np.isnan(values)]
    actual = np.bincount(np.searchsorted(edges, present, side="left"), minlength=edges.size + 1).astype(float)
    actual = np.append(actual, values.size - present.size)
    e = np.maximum(expected / expected.sum(), PSI_EPSILON)
    a = np.maximum(actual / actual.sum(), PSI_EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


def wasserstein_norm(reference: dict[str, Any], values: np.ndarray) -> float | None:
    """W1 between the reference and current quantile functions, in reference standard deviations."""
    present = np.asarray(values, dtype=np.float64)
    present = present[~np.isnan(present)]
    ref_q = np.asarray(reference["quantiles"], dtype=np.float64)
    if present.size == 0 or ref_q.size == 0:
        return None
    cur_q = np.quantile(present, np.linspace(0.0, 1.0, QUANTILE_POINTS))
    distance = float(wasserstein_distance(ref_q, cur_q))
    std = float(reference.get("std") or 0.0)
    # a constant reference column: any shift is infinitely many deviations; report the raw shift instead
    return distance / std if std > 0 else distance


def column_drift(reference: dict[str, Any], values: np.ndarray) -> tuple[float | None, float | None]:
    return psi(reference, values), wasserstein_norm(reference, values)


def load_reference(model_name: str, version: str, url: str | None = None) -> tuple[dict[str, Any], str]:
    """The version's reference: the warehouse copy if any, else the MLflow artifact (then cached)."""
    with warehouse.connect(url) as conn:
        _ensure(conn)
        row = conn.execute(
            "select reference, mlflow_run_id from scoring.drift_reference"
            " where model_name = %s and model_version = %s",
            (model_name, version),
        ).fetchone()
    if row is not None:
        return row[0], row[1] or ""
    from mlflow.artifacts import download_artifacts

    from crm_scoring.model import registry

    mv = registry.client().get_model_version(model_name, version)
    run_id = mv.run_id or ""
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = download_artifacts(run_id=run_id, artifact_path=REFERENCE_FILE, dst_path=tmp)
            reference = json.loads(Path(path).read_text())
    except Exception as exc:  # noqa: BLE001 - any MLflow error means "no reference"
        raise DriftError(
            f"{model_name} v{version} (run {run_id}) has no {REFERENCE_FILE}: "
            f"retrain to monitor its drift ({exc})"
        ) from exc
    importance = _importance(run_id)
    if importance:
        reference[IMPORTANCE_KEY] = importance
    with warehouse.connect(url) as conn:
        _ensure(conn)
        conn.execute(
            """
            insert into scoring.drift_reference (model_name, model_version, mlflow_run_id, reference)
            values (%s, %s, %s, %s::jsonb) on conflict (model_name, model_version) do nothing
            """,
            (model_name, version, run_id, json.dumps(reference)),
        )
    return reference, run_id


def _importance(run_id: str) -> dict[str, float]:
    """The version's feature importance (`feature_importance.json` of its training run), or {}.

    Cached with the reference so the morning report can show the drift of the model's most important
    features (issue 13: "drift of the top features") from the warehouse alone, without MLflow access."""
    from mlflow.artifacts import download_artifacts

    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = download_artifacts(run_id=run_id, artifact_path=IMPORTANCE_FILE, dst_path=tmp)
            raw = json.loads(Path(path).read_text())
    except Exception:  # noqa: BLE001 - an older run without it: the report falls back to PSI order
        return {}
    return {str(k): float(v) for k, v in raw.items()}


def compute(
    run_date: date, model_name: str, version: str, reference: dict[str, Any], frame, scores: np.ndarray
) -> list[DriftRow]:
    """Drift rows of one night: the score, then every feature present in both reference and frame."""
    ref_rows = int(reference.get("rows", 0))
    rows = []
    columns = reference["columns"]
    targets = [("score", SCORE_COLUMN, scores)] + [
        ("feature", name, frame[name].to_numpy(dtype=np.float64)) for name in sorted(columns) if name in frame
    ]
    for scope, name, values in targets:
        values = np.asarray(values, dtype=np.float64)
        p, d = column_drift(columns[name], values)
        missing = float(np.isnan(values).mean()) if values.size else None
        label = "churn_probability" if name == SCORE_COLUMN else name
        rows.append(
            DriftRow(
                run_date,
                model_name,
                version,
                scope,
                label,
                int(values.size),
                ref_rows,
                missing,
                p,
                DISTANCE_NAME,
                d,
            )
        )
    return rows


def monitor_night(run_date: date, url: str | None = None) -> list[DriftRow]:
    """Compute and store (replace) the night's drift rows for the model version that scored it."""
    import pandas as pd

    from crm_scoring.model.dataset import load_scoring_frame

    url = url or warehouse.warehouse_url()
    with warehouse.connect(url) as conn:
        _ensure(conn)
        found = conn.execute(
            """
            select model_name, model_version, count(*) from scoring.churn_scores
             where run_date = %s group by 1, 2 order by 3 desc
            """,
            (run_date,),
        ).fetchall()
    if not found:
        raise DriftError(f"scoring.churn_scores has no rows for {run_date}: score the night first")
    model_name, version, _ = found[0]
    reference, _ = load_reference(model_name, version, url)
    features = [c for c in reference["columns"] if c != SCORE_COLUMN]
    frame = load_scoring_frame(url, run_date, features)
    with warehouse.connect(url) as conn:
        scored = conn.execute(
            "select customer_id::text, churn_probability from scoring.churn_scores"
            " where run_date = %s and model_version = %s",
            (run_date, version),
        ).fetchall()
    scores = pd.DataFrame(scored, columns=["customer_id", "p"])
    frame = frame.merge(scores, on="customer_id", how="inner")
    rows = compute(run_date, model_name, version, reference, frame, frame["p"].to_numpy(dtype=np.float64))
    write(run_date, rows, url)
    log.info("drift for %s (%s v%s): %d rows", run_date, model_name, version, len(rows))
    return rows


def write(run_date: date, rows: list[DriftRow], url: str | None = None) -> None:
    """Replace the run date's rows in one transaction (COPY), so a rerun leaves exactly one set."""
    buffer = io.StringIO()
    for r in rows:
        values = [
            r.run_date.isoformat(),
            r.model_name,
            r.model_version,
            r.scope,
            r.feature,
            r.rows_current,
            r.rows_reference,
            r.missing_share_current,
            r.psi,
            r.distance_name,
            r.distance,
        ]
        buffer.write("\t".join("\\N" if v is None else str(v) for v in values) + "\n")
    with warehouse.connect(url) as conn:
        _ensure(conn)
        conn.execute("delete from scoring.drift_metrics where run_date = %s", (run_date,))
        with conn.cursor().copy(
            "copy scoring.drift_metrics (run_date, model_name, model_version, scope, feature, rows_current,"
            " rows_reference, missing_share_current, psi, distance_name, distance) from stdin"
        ) as copy:
            copy.write(buffer.getvalue())
        conn.execute("analyze scoring.drift_metrics")


def _ensure(conn) -> None:
    for statement in DDL:
        conn.execute(statement)
