"""The churn-model fixtures shared by the model tests (test_model, test_model_promotion, test_privacy,
test_score_shards): a learnable synthetic `marts.churn_training_set` (four monthly cutoffs) and
`marts.churn_features` (the run date) in a fresh database, and a throw-away MLflow store."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from crm_scoring import warehouse

RUN_DATE = date(2026, 11, 26)
CUTOFFS = [date(2026, 5, 1), date(2026, 6, 1), date(2026, 7, 1), date(2026, 8, 1)]
N_CUSTOMERS = 500

FEATURE_DDL = """
    days_since_last_login integer, orders_90d integer, complaints_90d smallint,
    sentiment_mean_90d double precision, revenue_365d numeric(12,2), is_vip boolean,
    age integer, recency_days integer, orders_365d integer
"""


def _synthetic(rng: np.random.Generator, n: int, as_of: date) -> pd.DataFrame:
    """Learnable churn: silence, complaints and negative sentiment raise it; orders lower it."""
    silence = rng.integers(0, 120, n)
    orders = rng.poisson(3, n)
    complaints = rng.poisson(0.6, n)
    sentiment = rng.normal(0.1, 0.4, n)
    revenue = np.round(rng.gamma(2.0, 400.0, n), 2)
    vip = rng.random(n) < 0.1
    age = rng.integers(18, 80, n)
    logit = -1.2 + 0.03 * silence - 0.35 * orders + 0.6 * complaints - 1.5 * sentiment - 0.5 * vip
    churned = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    sentiment_with_gaps = np.where(rng.random(n) < 0.05, np.nan, sentiment)
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "as_of_date": as_of,
            "days_since_last_login": silence,
            "orders_90d": orders,
            "complaints_90d": complaints,
            "sentiment_mean_90d": sentiment_with_gaps,
            "revenue_365d": revenue,
            "is_vip": vip,
            "age": age,
            "recency_days": np.array(
                [
                    int(r) if o else None
                    for r, o in zip(silence + rng.integers(0, 30, n), orders, strict=True)
                ],
                dtype=object,
            ),
            "orders_365d": orders + rng.poisson(6, n),
            "churned": churned,
        }
    )


def _copy_frame(conn, table: str, frame: pd.DataFrame) -> None:
    cols = ", ".join(frame.columns)
    with conn.cursor() as cur, cur.copy(f"copy {table} ({cols}) from stdin") as copy:
        for row in frame.itertuples(index=False):
            copy.write_row([None if isinstance(v, float) and np.isnan(v) else v for v in row])


@pytest.fixture
def churn_db(fresh_db: str) -> str:
    """marts.churn_training_set (4 monthly cutoffs) and marts.churn_features (run_date), learnable."""
    return load_churn_marts(fresh_db)


def load_churn_marts(url: str) -> str:
    """Write the synthetic churn marts into the (empty) database at `url`; the same rows every time
    (seeded), so a module-scoped database holds what the per-test `churn_db` holds. Returns `url`."""
    rng = np.random.default_rng(7)
    training = pd.concat([_synthetic(rng, N_CUSTOMERS, c) for c in CUTOFFS], ignore_index=True)
    training["policy_version"] = "v1"
    features = _synthetic(rng, N_CUSTOMERS, RUN_DATE).drop(columns="churned")
    features["run_date"] = RUN_DATE
    features["lapsed_flag_text"] = "n"  # non-numeric extra column: never a feature
    with warehouse.connect(url) as conn:
        conn.execute("create schema marts")
        conn.execute(
            f"""create table marts.churn_training_set (customer_id text, as_of_date date, {FEATURE_DDL},
                churned integer, policy_version text)"""
        )
        conn.execute(
            f"""create table marts.churn_features (customer_id text, as_of_date date, {FEATURE_DDL},
                run_date date, lapsed_flag_text text)"""
        )
        _copy_frame(conn, "marts.churn_training_set", training)
        _copy_frame(conn, "marts.churn_features", features)
    return url


@pytest.fixture
def mlflow_store(tmp_path, monkeypatch) -> MlflowClient:
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("CRM_MLFLOW_ARTIFACT_ROOT", (tmp_path / "artifacts").as_uri())
    return MlflowClient(tracking_uri=uri, registry_uri=uri)
