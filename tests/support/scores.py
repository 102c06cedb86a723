"""Stand-in churn scores for tests that need lists but not a trained model (training costs more than them).

One constant probability per customer of `marts.customer_value` on the run date, model name `stand-in`;
scoring itself has its own tests (test_model).
"""

from __future__ import annotations

from datetime import date

import psycopg

from crm_scoring.model.config import load_config
from crm_scoring.model.score import ensure_reasons_table, ensure_scores_table


def stand_in_scores(url: str, run_date: date, probability: float) -> None:
    cfg = load_config()
    with psycopg.connect(url, autocommit=True) as conn:
        ensure_scores_table(conn, cfg.scores_table)
        ensure_reasons_table(conn, cfg.reasons.table)
        conn.execute(
            f"insert into {cfg.scores_table} (run_date, customer_id, churn_probability, model_name,"
            " model_version) select %s, customer_id, %s, 'stand-in', '0' from marts.customer_value"
            " where run_date = %s",
            (run_date, probability, run_date),
        )
        conn.execute("analyze")
