"""Customer-value and churn-feature marts (issue 3, CV / CF rules) against a real PostgreSQL.

Reuses the hand-made landing history (tests/support) and adds an `enrichment.text_sentiment` table as
the text-enrichment task would leave it (support.dbt_project.create_enrichment), so CV-11/CV-12 and CF-07
have input.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.dbt_project import (
    D1,
    D2,
    D3,
    D3_ROWS,
    FIXTURE,
    SELECT,
    _dbt,
    _load_raw,
    _rows,
    _set_csv,
    create_enrichment,
    module_warehouse,
)

from crm_scoring import warehouse

# Incremental current-state facts (key) and per-run marts (key) compared with a full refresh.
FACTS = {
    "marts.fct_orders": "order_id",
    "marts.fct_interactions": "event_id",
    "intermediate.int_complaints__tickets_latest": "ticket_id",
}
RUN_MARTS = {
    "customer_value": "customer_id",
    "churn_features": "customer_id",
    "customer_complaints": "customer_id",
    "fct_tickets": "ticket_id",
}


def _load_d3(url: str) -> None:
    from support.dbt_project import _insert

    with warehouse.connect(url) as conn:
        _insert(conn, D3_ROWS)


def _by_customer(url: str, mart: str, run_date: str) -> dict[str, dict]:
    return {
        r["customer_id"]: r for r in _rows(url, f"select * from marts.{mart} where run_date = %s", run_date)
    }


@pytest.fixture(scope="module")
def built(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The hand-made fixture with enriched texts, the value, complaint and churn-feature marts built for
    D1 once; the tests below read it, the point-in-time test (last) moves it on to D2."""
    with module_warehouse(server_url, tmp_path_factory, "crm_value") as (url, project):
        _load_raw(url, FIXTURE)
        create_enrichment(url)
        _dbt(project, "build", *SELECT, run_date=D1)
        yield url, project


def test_customer_value_follows_the_rules(built) -> None:
    """CV-05..CV-16 on the customer-value mart; CV-08 crisis sensitivity equals the complaint mart's."""
    url = built[0]
    cv = _by_customer(url, "customer_value", D1)
    # CV-11: c5 = 4 complaints (-4), t1/t2 answered within 4 h and resolved (+2), t4/t5 never answered
    # (2 breaches, -2), compensation k1 (+1), NPS 3 = detractor (-1)
    assert cv["c5"]["emotional_balance"] == pytest.approx(-4)
    assert (cv["c5"]["emotional_deposits"], cv["c5"]["emotional_overdrafts"]) == (3, 7)
    # CV-12 / CV-13
    assert cv["c5"]["dominant_emotion_90d"] == "angry" and cv["c5"]["satisfaction_level"] == "low"
    assert cv["c5"]["preferred_channel"] in ("chat", "phone") and cv["c1"]["preferred_channel"] == "email"
    # CV-16: cr1 started 2026-11-23
    assert cv["c7"]["affected_by_crisis"] and cv["c7"]["last_crisis_event_id"] == "cr1"
    assert cv["c7"]["days_since_crisis_exposure"] == 3 and cv["c7"]["in_trust_repair_window"]
    assert not cv["c2"]["affected_by_crisis"] and cv["c2"]["days_since_crisis_exposure"] is None
    # CV-08 crisis_sensitive equals the complaint mart's CM-06 flag
    cc = _by_customer(url, "customer_complaints", D1)
    assert {c: r["is_crisis_sensitive"] for c, r in cv.items()} == {
        c: r["is_crisis_sensitive"] for c, r in cc.items()
    }
    # CV-05, CV-06 (clv_horizon_months [U] -> null), lifecycle with [U] branches disabled
    assert float(cv["c1"]["aov_365d"]) == 65000
    assert float(cv["c1"]["retention_rate_12m"]) == pytest.approx(2 / 12, abs=1e-4)
    assert all(r["clv_estimate"] is None and r["is_potential"] is None for r in cv.values())
    assert {r["lifecycle_stage"] for r in cv.values()} <= {"active", "silent", "lapsed"}


def test_churn_features_follow_the_rules(built) -> None:
    """CF-01..CF-11 on the churn-feature mart of D1; every column but the id and version is numeric."""
    url = built[0]
    cf = _by_customer(url, "churn_features", D1)
    c5, c1 = cf["c5"], cf["c1"]
    assert c5["is_crisis_sensitive"] == 1 and c5["open_complaints"] == 0 and c5["complaints_365d"] == 4
    assert c5["angry_count_90d"] == 2 and c5["negative_share_90d"] == pytest.approx(1.0)
    assert c5["sentiment_mean_30d"] == pytest.approx((-0.8 - 0.5) / 2) and c5["emotional_balance"] == -4
    assert c5["compensations_365d"] == 1 and c5["mean_hours_to_compensation_365d"] == pytest.approx(
        55 * 24 + 22
    )
    assert c5["last_nps_detractor"] == 1 and c5["days_since_last_survey"] == 5
    assert c1["is_high_value"] == 1 and c1["open_tickets"] == 1 and c1["median_purchase_cycle_days"] == 264
    assert cf["c4"]["current_no_login_streak_days"] == 7 and cf["c4"]["flag_no_login_streak"] == 1
    assert cf["c4"]["flag_silence_day7"] == 1 and cf["c3"]["flag_inactive_90"] == 1
    assert cf["c4"]["longest_no_login_streak_30d"] == 22  # 10-28..11-18 before the 11-19 login
    assert (
        cf["c2"]["current_no_login_streak_days"] is None and cf["c2"]["longest_no_login_streak_30d"] is None
    )
    assert cf["c7"]["in_trust_repair_window"] == 1 and cf["c7"]["crisis_affected"] == 1
    for row in cf.values():  # the model treats every numeric column as a feature
        assert all(
            not isinstance(v, (bool, str))
            for k, v in row.items()
            if k not in ("customer_id", "policy_version")
        )


def test_features_are_point_in_time(built) -> None:
    """Features as of D1 recomputed after the D2 export (t3 resolved, a new order, a new customer) through
    the training path (D1 = the D2 run's training cutoff: horizon 1 day, one snapshot) equal the ones the
    D1 nightly run produced: scoring and training read the same int_churn__* models, point in time.
    Moves the module's warehouse to D2: keep it after the tests that read D1."""
    url, project = built
    params = project / "seeds" / "policy" / "policy_parameters.csv"
    _set_csv(params, "key", "churn_label_horizon_days", value="1")
    _set_csv(params, "key", "churn_snapshot_count", value="1")
    scored = _by_customer(url, "churn_features", D1)
    _dbt(project, "seed", run_date=D2)
    _dbt(project, "run", "--select", "+churn_training_set", run_date=D2)
    training = "select as_of_date::text as d from intermediate.int_churn__cutoffs where is_training"
    assert _rows(url, training) == [{"d": D1}]
    replayed = {
        r["customer_id"]: r
        for r in _rows(url, "select * from intermediate.int_churn__features where as_of_date = %s", D1)
    }
    assert set(replayed) == set(scored)
    for cid, row in replayed.items():
        for col, value in row.items():
            if col == "customer_status":
                continue
            expected = scored[cid][col]
            if isinstance(value, float) and expected is not None:
                assert math.isclose(value, expected, rel_tol=1e-9), (cid, col)
            else:
                assert value == expected, (cid, col)


def test_incremental_runs_equal_full_refresh(pristine_project: Path, dbt_env: str) -> None:
    """Runs D1, D2, D3 (incremental facts and marts) give the same D3 state as a full refresh at D3."""
    url, project = dbt_env, pristine_project
    _load_raw(url, FIXTURE)
    _load_d3(url)
    create_enrichment(url)
    _dbt(project, "seed", run_date=D1)
    for run_date in (D1, D2, D3):
        _dbt(project, "run", *SELECT, run_date=run_date)

    def state() -> dict[str, list[dict]]:
        facts = {t: _rows(url, f"select * from {t} order by {k}") for t, k in FACTS.items()}
        marts = {
            m: _rows(url, f"select * from marts.{m} where run_date = %s order by {k}", D3)
            for m, k in RUN_MARTS.items()
        }
        return facts | marts

    incremental = state()
    assert len(_rows(url, "select distinct run_date from marts.customer_value")) == 3
    _dbt(project, "run", *SELECT, "--full-refresh", run_date=D3)
    full = state()
    for name, rows in incremental.items():
        assert rows, name
        assert full[name] == rows, name
    cv = _by_customer(url, "customer_value", D3)
    assert cv["c3"]["lifecycle_stage"] == "active"  # o20 on D3 brings c3 back
    # the re-exported versions replaced the earlier ones: one row each, in the D3 state
    o3 = [r for r in incremental["marts.fct_orders"] if r["order_id"] == "o3"]
    assert [(r["order_status"], r["exported_on"].isoformat()) for r in o3] == [("returned", D3)]
    t3 = [r for r in incremental["fct_tickets"] if r["ticket_id"] == "t3"]
    assert [r["ticket_status"] for r in t3] == ["closed"]
    assert float(cv["c2"]["revenue_365d"]) == 10  # o3 returned: only o11 (D2) is revenue


def test_customers_and_orders_alone_are_enough(pristine_project: Path, dbt_env: str) -> None:
    url, project = dbt_env, pristine_project
    _load_raw(url, {k: v for k, v in FIXTURE.items() if k in ("customers", "orders")})
    _dbt(project, "build", *SELECT, run_date=D1)
    cf = _by_customer(url, "churn_features", D1)
    cv = _by_customer(url, "customer_value", D1)
    assert len(cf) == len(cv) == 7
    assert all(
        r["complaints_lifetime"] == 0 and r["texts_90d"] == 0 and r["emotional_balance"] == 0
        for r in cf.values()
    )
    assert all(r["sentiment_mean_90d"] is None and r["logins_30d"] == 0 for r in cf.values())
    assert cf["c1"]["orders_365d"] == 2 and cv["c1"]["dominant_emotion_90d"] is None
