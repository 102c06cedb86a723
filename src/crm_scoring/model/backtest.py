"""Backtests of the champion over time (CH-07, AL-14): each scored night, once its label has matured.

A night S scored by model version v matures on S + churn_label_horizon_days. On any later run date D,
`backtest(url, D)` evaluates every matured (v, S) not evaluated yet: the customers v scored on S that
were in the CH-02 population (not lapsed at S, from marts.churn_features of run date S), labelled
exactly like the training set (no order, nor interaction when churn_activity_includes_interactions,
in the horizon after S). Metrics: ROC AUC, ECE, PR AUC, lift and capture at list capacity
(list_capacity_per_day, else the model config's stand-in). Each evaluation is one row of
scoring.model_performance (read by dbt into marts.model_performance, which raises AL-14 through the
alerts models when AUC < model_min_auc or the drop from the version's own out-of-time test AUC exceeds
model_max_auc_drop) and one MLflow run in the `crm-churn-backtests` experiment, same metric names as
training. Idempotent: a (version, cutoff) is evaluated once; `force` re-evaluates.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa
from psycopg import sql

from crm_scoring import warehouse
from crm_scoring.model.config import ModelConfig, load_config
from crm_scoring.model.dataset import copy_to_arrow
from crm_scoring.model.metrics import evaluate

log = logging.getLogger(__name__)

TABLE = "scoring.model_performance"
EXPERIMENT = "crm-churn-backtests"
REPORTED = ("roc_auc", "pr_auc", "ece", "lift_at_capacity", "capture_at_capacity", "positive_rate")
COLUMNS = (
    "model_name",
    "model_version",
    "as_of_date",
    "label_matured_on",
    "evaluated_on",
    "rows_evaluated",
    "churned",
    *REPORTED,
    "capacity_rows",
    "reference_roc_auc",
    "mlflow_run_id",
    "evaluated_at",
)


@dataclass(frozen=True)
class BacktestPolicy:
    horizon_days: int
    winback_min_inactive_days: int
    includes_interactions: bool
    capacity_rows: int


def _params(url: str, run_date: date, cfg: ModelConfig) -> BacktestPolicy:
    from crm_scoring.enrich.policy import parameter_values

    with warehouse.connect(url) as conn:
        values = {k: (v or "") for k, v in parameter_values(conn, run_date).items()}
    capacity = values.get("list_capacity_per_day") or ""
    return BacktestPolicy(
        horizon_days=int(float(values["churn_label_horizon_days"])),
        winback_min_inactive_days=int(float(values["winback_min_inactive_days"])),
        includes_interactions=values.get("churn_activity_includes_interactions", "true").lower()
        in ("true", "1"),
        capacity_rows=int(float(capacity)) if capacity else cfg.metrics.list_capacity_rows,
    )


def ensure_table(conn) -> None:  # noqa: ANN001 - psycopg connection
    conn.execute("create schema if not exists scoring")
    conn.execute(
        f"""create table if not exists {TABLE} (
            model_name text not null,
            model_version text not null,
            as_of_date date not null,
            label_matured_on date not null,
            evaluated_on date not null,
            rows_evaluated integer not null,
            churned integer not null,
            roc_auc double precision,
            pr_auc double precision,
            ece double precision,
            lift_at_capacity double precision,
            capture_at_capacity double precision,
            positive_rate double precision,
            capacity_rows integer,
            reference_roc_auc double precision,
            mlflow_run_id text,
            evaluated_at timestamptz not null,
            primary key (model_name, model_version, as_of_date))"""
    )


_PENDING = """
select distinct s.model_name, s.model_version, s.run_date
from scoring.churn_scores as s
where s.run_date + {horizon} <= {run_date}
  and ({force} or not exists (
      select 1 from scoring.model_performance as p
      where p.model_name = s.model_name and p.model_version = s.model_version and p.as_of_date = s.run_date))
order by s.run_date, s.model_version
"""

_LABELLED = """
with active as (
    select distinct ev.customer_id
    from intermediate.int_customers__activity_events as ev
    where ev.activity_ts >= ({as_of}::date + 1)::timestamp at time zone 'UTC'
      and ev.activity_ts < ({as_of}::date + 1 + {horizon})::timestamp at time zone 'UTC'
      and (ev.activity_type = 'order' or ({interactions} and ev.activity_type = 'interaction'))
)
select s.customer_id::text as customer_id,
       s.churn_probability::float8 as p,
       (case when a.customer_id is null then 1 else 0 end)::float8 as churned
from scoring.churn_scores as s
join marts.churn_features as f
  on f.run_date = s.run_date and f.customer_id = s.customer_id and f.days_inactive < {winback}
left join active as a on a.customer_id = s.customer_id
where s.run_date = {as_of} and s.model_name = {model_name} and s.model_version = {version}
"""


def _reference_auc(model_name: str, version: str) -> float | None:
    """The version's own out-of-time test AUC (tag written at training): the yardstick for a drop."""
    from crm_scoring.model import registry

    try:
        tags = registry.client().get_model_version(model_name, version).tags
    except Exception:  # noqa: BLE001 - a version from another registry: no reference
        return None
    value = tags.get("roc_auc")
    return float(value) if value else None


def _log_mlflow(row: dict) -> str:
    import mlflow

    from crm_scoring.model import registry

    experiment_id = registry.ensure_experiment(EXPERIMENT, purpose="backtest")
    name = f"backtest-{row['model_name']}-v{row['model_version']}-{row['as_of_date']}"
    with mlflow.start_run(experiment_id=experiment_id, run_name=name) as run:
        mlflow.set_tags(
            {
                "crm.purpose": "backtest",
                "model_name": row["model_name"],
                "model_version": row["model_version"],
                "as_of_date": str(row["as_of_date"]),
                "label_matured_on": str(row["label_matured_on"]),
                "evaluated_on": str(row["evaluated_on"]),
            }
        )
        metrics = {k: row[k] for k in REPORTED if row[k] is not None and np.isfinite(row[k])}
        metrics["rows_evaluated"] = float(row["rows_evaluated"])
        if row["reference_roc_auc"] is not None:
            metrics["reference_roc_auc"] = row["reference_roc_auc"]
            metrics["roc_auc_drop"] = row["reference_roc_auc"] - row["roc_auc"]
        mlflow.log_metrics(metrics)
        return run.info.run_id


def backtest(
    url: str, run_date: date, *, config: ModelConfig | None = None, force: bool = False
) -> list[dict]:
    """Evaluate every matured, not yet evaluated (model version, scored night); returns the new rows."""
    cfg = config or load_config()
    pol = _params(url, run_date, cfg)
    out: list[dict] = []
    with warehouse.connect(url) as conn:
        ensure_table(conn)
        if conn.execute("select to_regclass('scoring.churn_scores')").fetchone()[0] is None:
            return out
        pending = conn.execute(
            sql.SQL(_PENDING).format(
                horizon=sql.Literal(pol.horizon_days),
                run_date=sql.Literal(run_date),
                force=sql.Literal(force),
            )
        ).fetchall()
    for model_name, version, as_of in pending:
        with warehouse.connect(url) as conn:
            query = sql.SQL(_LABELLED).format(
                as_of=sql.Literal(as_of),
                horizon=sql.Literal(pol.horizon_days),
                interactions=sql.Literal(pol.includes_interactions),
                winback=sql.Literal(pol.winback_min_inactive_days),
                model_name=sql.Literal(model_name),
                version=sql.Literal(version),
            )
            schema = {"customer_id": pa.string(), "p": pa.float64(), "churned": pa.float64()}
            frame = copy_to_arrow(conn, query, schema).to_pandas()
        y = frame["churned"].to_numpy(dtype=float)
        if len(frame) == 0 or len(np.unique(y)) < 2:
            log.warning(
                "backtest %s v%s %s: %d rows, one class only: skipped", model_name, version, as_of, len(y)
            )
            continue
        m = evaluate(
            y,
            frame["p"].to_numpy(dtype=float),
            ece_bins=cfg.metrics.ece_bins,
            lift_top_share=cfg.metrics.lift_top_share,
            list_capacity=pol.capacity_rows,
        )
        row = {
            "model_name": model_name,
            "model_version": version,
            "as_of_date": as_of,
            "label_matured_on": as_of + timedelta(days=pol.horizon_days),
            "evaluated_on": run_date,
            "rows_evaluated": len(frame),
            "churned": int(y.sum()),
            **{k: float(m[k]) for k in REPORTED},
            "capacity_rows": int(m["capacity_rows_evaluated"]),
            "reference_roc_auc": _reference_auc(model_name, version),
            "evaluated_at": datetime.now(UTC),
        }
        row["mlflow_run_id"] = _log_mlflow(row)
        with warehouse.connect(url) as conn:
            conn.execute(
                f"delete from {TABLE} where model_name = %s and model_version = %s and as_of_date = %s",
                (model_name, version, as_of),
            )
            conn.execute(
                f"insert into {TABLE} ({', '.join(COLUMNS)}) values ({', '.join(['%s'] * len(COLUMNS))})",
                tuple(row[c] for c in COLUMNS),
            )
        log.info(
            "backtest %s v%s on %s: roc_auc %.4f (%d rows)",
            model_name,
            version,
            as_of,
            row["roc_auc"],
            len(y),
        )
        out.append(row)
    return out
