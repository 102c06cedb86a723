"""Sharded scoring (issue 12): N shard calls of `score` write exactly the rows of one unsharded call, and
the reason codes (CH-06), computed in parts (the candidates', the rest, per shard), exactly those of one call.

Real PostgreSQL and a real MLflow store (the fixtures of test_model); the shard split is the SQL hash
of `dataset.shard_predicate`, checked against an independent Python twin (md5, first 60 bits).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from support.churn import N_CUSTOMERS, RUN_DATE, churn_db, mlflow_store  # noqa: F401 - fixtures

from crm_scoring import warehouse
from crm_scoring.model.dataset import shard_predicate
from crm_scoring.model.explain import CANDIDATES, REST, explain
from crm_scoring.model.score import score
from crm_scoring.model.train import train

SCORE_SQL = """select customer_id, churn_probability, model_version, clv_estimate
               from scoring.churn_scores where run_date = %s order by customer_id"""
REASON_SQL = """select customer_id, reason_rank, feature, feature_value, contribution, reason_text
                from scoring.churn_reasons where run_date = %s order by customer_id, reason_rank"""


def _night(url: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    with warehouse.connect(url) as conn:
        scores = pd.DataFrame(conn.execute(SCORE_SQL, (RUN_DATE,)).fetchall())
        reasons = pd.DataFrame(conn.execute(REASON_SQL, (RUN_DATE,)).fetchall())
    return scores, reasons


def _python_shard(customer_id: str, count: int) -> int:
    return int(hashlib.md5(customer_id.encode()).hexdigest()[:15], 16) % count


def test_sharded_scores_and_reasons_equal_the_single_shard_result(churn_db: str, mlflow_store) -> None:  # noqa: F811
    train(churn_db, RUN_DATE, seed=42)
    whole = score(churn_db, RUN_DATE)
    explain(churn_db, RUN_DATE, REST)  # no candidates tables: every scored customer at once
    single_scores, single_reasons = _night(churn_db)
    assert whole.rows == N_CUSTOMERS and len(single_reasons) > 0

    count = 4
    with warehouse.connect(churn_db) as conn:
        # stale rows of an earlier attempt must go: every shard replaces exactly its customers
        conn.execute("update scoring.churn_scores set churn_probability = 0 where run_date = %s", (RUN_DATE,))
    rows = [score(churn_db, RUN_DATE, shard=(i, count)).rows for i in reversed(range(count))]
    assert sum(rows) == N_CUSTOMERS and all(0 < r < N_CUSTOMERS for r in rows)
    assert _night(churn_db)[1].empty  # each shard's scores took their stale reasons with them
    explained = [explain(churn_db, RUN_DATE, REST, shard=(i, count)).customers for i in range(count)]
    assert explained == rows[::-1]

    sharded_scores, sharded_reasons = _night(churn_db)
    pd.testing.assert_frame_equal(sharded_scores, single_scores)
    pd.testing.assert_frame_equal(sharded_reasons, single_reasons)

    # the SQL hash is the documented one (md5, first 60 bits), so the split is stable and reproducible
    with warehouse.connect(churn_db) as conn:
        ids = [r[0] for r in conn.execute(SCORE_SQL, (RUN_DATE,)).fetchall()]
        in_sql = {
            i: {
                r[0]
                for r in conn.execute(warehouse_query(shard_predicate((i, count))), (RUN_DATE,)).fetchall()
            }
            for i in range(count)
        }
    for i in range(count):
        assert in_sql[i] == {c for c in ids if _python_shard(c, count) == i}
    assert np.array_equal(np.array(rows[::-1]), np.array([len(in_sql[i]) for i in range(count)]))

    # a shard may be empty (more shards than a small night fills): it writes nothing, deletes nothing
    many = 1000
    used = {_python_shard(c, many) for c in ids}
    empty = next(i for i in range(many) if i not in used)
    assert score(churn_db, RUN_DATE, shard=(empty, many)).rows == 0
    pd.testing.assert_frame_equal(_night(churn_db)[0], single_scores)


def test_reasons_in_parts_equal_the_reasons_of_one_call(churn_db: str, mlflow_store) -> None:  # noqa: F811
    """The night explains the list candidates inside the lists step and the rest after publishing: the two
    parts are disjoint, cover every scored customer, and write the very rows of one call (byte for byte);
    rerunning either part replaces its rows with the same ones."""
    train(churn_db, RUN_DATE, seed=42)
    score(churn_db, RUN_DATE)
    explain(churn_db, RUN_DATE, REST)  # no candidates table yet: everyone at once
    _, whole = _night(churn_db)
    with warehouse.connect(churn_db) as conn:
        conn.execute("create schema if not exists lists_build")
        conn.execute("drop table if exists lists_build.retention_candidates")
        # a third of the customers, one of them twice and one unscored id: candidates are rows, not customers
        conn.execute(
            """create table lists_build.retention_candidates as
               select run_date, customer_id from scoring.churn_scores
               where run_date = %s and mod(abs(hashtext(customer_id)), 3) = 0
               union all (select run_date, customer_id from scoring.churn_scores where run_date = %s
                          order by customer_id limit 1)
               union all select %s::date, 'NOT-SCORED'
               union all select %s::date - 1, customer_id from scoring.churn_scores where run_date = %s""",
            (RUN_DATE, RUN_DATE, RUN_DATE, RUN_DATE, RUN_DATE),
        )
        stale = "update scoring.churn_reasons set reason_text = 'stale' where run_date = %s"
        conn.execute(stale, (RUN_DATE,))
    try:
        first = explain(churn_db, RUN_DATE, CANDIDATES)
        rest = explain(churn_db, RUN_DATE, REST)
        assert 0 < first.customers < N_CUSTOMERS and first.customers + rest.customers == N_CUSTOMERS
        pd.testing.assert_frame_equal(_night(churn_db)[1], whole)
        assert explain(churn_db, RUN_DATE, CANDIDATES) == first  # a rerun of a part: same rows again
        pd.testing.assert_frame_equal(_night(churn_db)[1], whole)
    finally:
        with warehouse.connect(churn_db) as conn:
            conn.execute("drop table lists_build.retention_candidates")


def warehouse_query(predicate):  # noqa: ANN001, ANN201 - psycopg Composable in and out
    from psycopg import sql

    return sql.SQL("select customer_id from scoring.churn_scores where run_date = %s and {}").format(
        predicate
    )


def test_shard_arguments_are_checked() -> None:
    for bad in [(0, 0), (2, 2), (-1, 3)]:
        with pytest.raises(ValueError, match="shard"):
            shard_predicate(bad)
