"""Model health: the champion's bands tonight, calibration and AUC on matured cutoffs (CH-07 / AL-14
backtests) and the drift of the model's most important features and of the most drifting ones (AL-14,
`marts.monitoring_drift`)."""

from __future__ import annotations

from datetime import date

import psycopg

from crm_scoring.monitoring.reference import IMPORTANCE_KEY
from crm_scoring.report import charts
from crm_scoring.report.panels import (
    Panel,
    SectionSpec,
    exists,
    missing,
    needs,
    query,
    rows_or_missing,
    table,
)

TOP_FEATURES = 12


@needs("Churn bands of tonight's scores (CH-05)", "marts.churn_bands")
def _bands(conn: psycopg.Connection, run_date: date, title: str) -> list[Panel]:
    rows = query(
        conn,
        """select coalesce(churn_band, '(no band)') as churn_band, model_version, count(*) as customers,
                  round(avg(churn_probability)::numeric, 3) as mean_probability,
                  min(band_threshold) as band_threshold
           from marts.churn_bands where run_date = %s
           group by 1, 2 order by min(churn_band_rank) nulls last, 1, 2""",
        (run_date,),
    )
    return [table(title, rows)] if rows else [missing(title, "marts.churn_bands", run_date)]


@needs("AUC and calibration on matured cutoffs (CH-07)", "marts.model_performance")
def _backtests(conn: psycopg.Connection, run_date: date, title: str) -> list[Panel]:
    scores = "scoring.churn_scores" if exists(conn, "scoring.churn_scores") else None
    mean_p = (
        """(select avg(s.churn_probability) from scoring.churn_scores as s
            where s.run_date = p.as_of_date and s.model_version = p.model_version)"""
        if scores
        else "null::double precision"
    )
    rows = query(
        conn,
        f"""select p.as_of_date, p.model_version, p.label_matured_on, p.rows_evaluated, p.roc_auc,
                   p.reference_roc_auc, p.ece, p.positive_rate as observed_churn_rate,
                   {mean_p} as mean_predicted,
                   p.lift_at_capacity, p.model_min_auc, p.below_min_auc, p.auc_drop_exceeded
            from marts.model_performance as p where p.run_date = %s
            order by p.as_of_date, p.model_version""",
        (run_date,),
    )
    if not rows:
        return [
            missing(
                title,
                "marts.model_performance",
                run_date,
                "no scored night has a matured label yet (labels mature after the churn horizon)",
            )
        ]
    xs = [f"{r['as_of_date']} v{r['model_version']}" for r in rows]
    floor = rows[-1]["model_min_auc"]
    return [
        Panel(
            "ROC AUC per matured cutoff",
            "chart",
            image=charts.xy_lines(
                xs,
                [
                    ("ROC AUC", [r["roc_auc"] for r in rows]),
                    ("training reference", [r["reference_roc_auc"] for r in rows]),
                ],
                "ROC AUC",
                hline=("model_min_auc", float(floor)) if floor is not None else None,
            ),
        ),
        Panel(
            "Calibration in the large: mean predicted vs observed churn rate",
            "chart",
            image=charts.xy_lines(
                xs,
                [
                    ("observed churn rate", [r["observed_churn_rate"] for r in rows]),
                    ("mean predicted probability", [r["mean_predicted"] for r in rows]),
                ],
                "churn rate",
                percent=True,
            ),
        ),
        table(title, rows),
    ]


def _drift(conn: psycopg.Connection, run_date: date) -> list[Panel]:
    title = "Score and feature drift against the training reference (AL-14)"
    rows = rows_or_missing(conn, "marts.monitoring_drift", run_date, title)
    if isinstance(rows, Panel):
        return [rows]
    rows.sort(
        key=lambda r: (
            r["scope"] != "score",
            -(float(r["psi"] or 0)),
            str(r["feature"]),
            str(r["model_version"]),
        )
    )
    features = [r for r in rows if r["scope"] == "feature"]
    top = features[:TOP_FEATURES]
    score = [r for r in rows if r["scope"] == "score"]
    columns = [
        "scope",
        "feature",
        "model_version",
        "psi",
        "distance_name",
        "distance",
        "psi_threshold",
        "status",
    ]
    panels = _drift_of_important_features(conn, features, columns)
    if top:
        panels.append(_psi_chart(f"PSI of the top {len(top)} drifting features", top))
    panels.append(table(title, score + top, columns))
    return panels


def _psi_chart(title: str, rows: list[dict]) -> Panel:
    thresholds = {r["psi_threshold"] for r in rows if r["psi_threshold"] is not None}
    return Panel(
        title,
        "chart",
        image=charts.bars_with_threshold(
            [r["feature"] for r in rows],
            [float(r["psi"] or 0) for r in rows],
            float(min(thresholds)) if thresholds else None,
            [r["status"] for r in rows],
            "PSI",
        ),
    )


def _drift_of_important_features(
    conn: psycopg.Connection, features: list[dict], columns: list[str]
) -> list[Panel]:
    """The drift of the scoring model's TOP_FEATURES most important features (issue 13: "drift of the top
    features"): a shift in a feature the model barely uses matters less than one in its main drivers.
    The importance is the training run's, cached with the version's drift reference
    (`scoring.drift_reference`, monitoring.drift); a reference cached before it was kept has none, and
    the panel is left out (the PSI-ordered panels stay)."""
    versions = sorted({str(r["model_version"]) for r in features})
    if not versions or not exists(conn, "scoring.drift_reference"):
        return []
    found = query(
        conn,
        """select model_version, key as feature, value::double precision as importance
           from scoring.drift_reference, jsonb_each_text(reference -> %s)
           where model_version = any(%s) and jsonb_typeof(reference -> %s) = 'object'
             and (%s::text[] is null or model_name = any(%s::text[]))
           order by 1, 3 desc, 2""",
        (IMPORTANCE_KEY, versions, IMPORTANCE_KEY, _names(features), _names(features)),
    )
    importance = {(r["model_version"], r["feature"]): r["importance"] for r in found}
    ranked = sorted(
        (r for r in features if (str(r["model_version"]), r["feature"]) in importance),
        key=lambda r: (
            -importance[(str(r["model_version"]), r["feature"])],
            str(r["feature"]),
            str(r["model_version"]),
        ),
    )[:TOP_FEATURES]
    if not ranked:
        return []
    rows = [{**r, "importance": importance[(str(r["model_version"]), r["feature"])]} for r in ranked]
    return [
        _psi_chart(f"PSI of the model's {len(rows)} most important features", rows),
        table(
            f"Drift of the model's {len(rows)} most important features (importance from its training run)",
            rows,
            ["feature", "model_version", "importance", "psi", "distance", "psi_threshold", "status"],
        ),
    ]


def _names(features: list[dict]) -> list[str] | None:
    """The model names of the drift rows (a mart without the column: any name)."""
    names = sorted({str(r["model_name"]) for r in features if r.get("model_name")})
    return names or None


section = SectionSpec("model", "Model health", "CH-05, CH-07, AL-14", (_bands, _backtests, _drift))
