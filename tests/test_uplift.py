"""Uplift measured on the demo (issue 9; CH-08, RP-15): planted effects are recovered by list_outcomes.

Demo data for 3,000 customers -> ingest, dbt and publish the lists of D0 -> the demo CRM executes them
into the landing folders D0+1..D0+3 (`demo.execute`, with the planted effects of `demo.effects`) ->
ingest those folders -> `marts.list_outcomes` as of D0+3. All in process on a real PostgreSQL and dbt,
no Airflow. Two choices keep it cheap and sharp:

- the test's experiment design gives RL-01 and RL-17 a 50 % hold-out (a policy seed of the copied
  project; the shipped 10 % needs a larger population for the same power);
- the churn scores are written by a stand-in (one constant, low probability, model name `stand-in`)
  instead of a trained model: RL-01 and RL-17 select on inactivity, not on the model, and training would
  cost more than the whole test. Scoring itself has its own tests. The team capacities (CH-09) are set
  out of reach, so the treated groups are every non-hold-out row.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from math import sqrt
from pathlib import Path

import psycopg
import pyarrow.parquet as pq
import pytest
from psycopg.rows import dict_row
from support.dbt_project import _set_csv
from support.scores import stand_in_scores

from crm_scoring import dbt_invoke, settings, warehouse
from crm_scoring.demo import effects, generate
from crm_scoring.demo.execute import execute_lists
from crm_scoring.ingest import load_export_date
from crm_scoring.lists.export import arrow_type, export_list
from crm_scoring.lists.publish import publish

D0 = date(2025, 3, 3)  # a historic date on purpose
MEASURE = D0 + timedelta(days=3)
CUSTOMERS, SEED, HISTORY_DAYS = 3000, 7, 400
TEST_HOLDOUT_SHARE = "0.5"
NO_CAP = "1000000"
CAPACITY_KEYS = (
    "list_capacity_per_day",
    "capacity_per_day:vip_desk",
    "capacity_per_day:senior_cs",
    "capacity_per_day:cs_callback",
    "capacity_per_day:automated",
)
STAND_IN_PROBABILITY = 0.001  # below any churn band: band rules (RL-03/RL-04) never take the customers


def _q(url: str, query: str, *params) -> list[dict]:
    with psycopg.connect(url) as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return cur.fetchall()


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def measured(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("uplift")
    project = root / "dbt_project"
    shutil.copytree(
        settings.dbt_project_dir(), project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    seeds = project / "seeds" / "policy"
    for rule in effects.PLANTED_EFFECTS:
        _set_csv(seeds / "retention_rules.csv", "rule_code", rule, holdout_share=TEST_HOLDOUT_SHARE)
    for key in CAPACITY_KEYS:  # no CH-09 cap: every non-hold-out row is contacted
        _set_csv(seeds / "policy_parameters.csv", "key", key, value=NO_CAP)
    mp.setattr(settings, "dbt_project_dir", lambda: project)
    landing = root / "landing"
    generate(landing, D0, MEASURE, CUSTOMERS, SEED, history_days=HISTORY_DAYS, progress=False)
    name = warehouse.create_database(server_url, "crm_uplift")
    url = warehouse.with_database(server_url, name)
    try:
        load_export_date(url, landing, D0)
        dbt_invoke.invoke(["seed", "--select", "+tag:lists", "--quiet"], url, D0)
        dbt_invoke.invoke(["run", "--select", "+tag:lists", "--exclude", "tag:lists", "--quiet"], url, D0)
        stand_in_scores(url, D0, STAND_IN_PROBABILITY)
        dbt_invoke.invoke(["run", "--select", "tag:lists", "--quiet"], url, D0)
        publish(D0, url)

        before = _digest(landing)
        first = execute_lists(D0, landing, url, seed=42)
        executed = _digest(landing)
        for day in (D0 + timedelta(days=i) for i in (1, 2, 3)):
            load_export_date(url, landing, day)
        again = execute_lists(D0, landing, url, seed=42)  # same rows; the loaded folders are reloaded
        dbt_invoke.invoke(["run", "--select", "+list_outcomes", "--quiet"], url, MEASURE)
        yield {
            "url": url,
            "landing": landing,
            "first": first,
            "again": again,
            "before": before,
            "executed": executed,
            "rerun": _digest(landing),
        }
    finally:
        mp.undo()
        if not os.environ.get("CRM_KEEP_TEST_DB"):
            warehouse.drop_database(server_url, name)


def _outcome(url: str, rule: str) -> dict:
    rows = _q(
        url,
        "select * from marts.list_outcomes where run_date = %s and list_date = %s and rule_code = %s",
        MEASURE,
        D0,
        rule,
    )
    assert len(rows) == 1, f"no list_outcomes row for {rule}"
    return rows[0]


def test_execution_contacts_ready_rows_only_and_is_idempotent(measured) -> None:
    url, landing = measured["url"], measured["landing"]
    listed = _q(url, "select customer_id, rule_code, contact_status from lists.retention_list")
    ready = {r["customer_id"] for r in listed if r["contact_status"] == "ready"}
    holdout = {r["customer_id"] for r in listed if r["contact_status"] == "holdout"}
    assert holdout and ready
    with (landing / (D0 + timedelta(days=1)).isoformat() / "contacts.csv").open(newline="") as fh:
        executed = [r for r in csv.DictReader(fh) if r["list_run_date"] == D0.isoformat()]
    contacted = [r["customer_id"] for r in executed if r["purpose"] != "compensation_notice"]
    assert sorted(contacted) == sorted(ready)  # every ready row once, never a hold-out
    assert not holdout & set(contacted)
    first = measured["first"]
    assert first.contacts == len(executed) and first.not_contacted.get("holdout") == len(holdout)
    assert first.orders > 0 and first.beyond_landing == 0
    # re-executing rewrites the same bytes; the generator's own rows are untouched
    assert measured["rerun"] == measured["executed"] != measured["before"]
    assert measured["again"].reloaded == [D0 + timedelta(days=i) for i in (1, 2, 3)]
    # the warehouse loaded the executed rows (ingest validated them against the contract)
    n = _q(url, "select count(*) as n from raw.contacts where list_run_date = %s", D0)[0]["n"]
    assert n == len(executed)


def _newcombe(p1: float, n1: int, p2: float, n2: int, z: float) -> tuple[float, float]:
    """Reference implementation (Newcombe 1998, method 10) to check the SQL."""

    def wilson(p: float, n: int) -> tuple[float, float]:
        c, h, d = p + z * z / (2 * n), z * sqrt(p * (1 - p) / n + z * z / (4 * n * n)), 1 + z * z / n
        return (c - h) / d, (c + h) / d

    (l1, u1), (l2, u2) = wilson(p1, n1), wilson(p2, n2)
    diff = p1 - p2
    return diff - sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), diff + sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def test_newcombe_reference_matches_the_published_example() -> None:
    low, high = _newcombe(56 / 70, 70, 48 / 80, 80, 1.96)  # Newcombe (1998), table II, example (a)
    assert round(low, 4) == 0.0524 and round(high, 4) == 0.3339


def test_planted_effect_is_recovered(measured) -> None:
    r = _outcome(measured["url"], "RL-01")
    assert r["n_treated"] >= 100 and r["n_holdout"] >= 100
    truth = effects.expected_uplift("RL-01", r["reactivation_holdout"])
    assert truth > 0.05
    assert r["uplift_ci_low"] <= truth <= r["uplift_ci_high"], r
    assert r["uplift_significant"] and r["uplift_ci_low"] > 0
    z = float(_q(measured["url"], "select outcome_ci_z as z from intermediate.int_lists__params")[0]["z"])
    low, high = _newcombe(
        r["reactivation_treated"], r["n_treated"], r["reactivation_holdout"], r["n_holdout"], z
    )
    assert r["uplift_ci_low"] == pytest.approx(low) and r["uplift_ci_high"] == pytest.approx(high)
    assert r["uptake_treated"] >= effects.effect_of("RL-01") / 2  # conversions answer `accepted`


def test_no_effect_rule_is_not_called_significant(measured) -> None:
    r = _outcome(measured["url"], "RL-17")
    assert r["n_treated"] >= 100 and r["n_holdout"] >= 100
    assert r["uplift_ci_low"] is not None and r["uplift_ci_low"] <= 0 <= r["uplift_ci_high"], r
    assert r["uplift_significant"] is False


def test_export_of_the_published_list_keeps_warehouse_types(measured, tmp_path: Path) -> None:
    url = measured["url"]
    types = {
        r["name"]: r["type"]
        for r in _q(
            url,
            "select a.attname as name, format_type(a.atttypid, a.atttypmod) as type from pg_attribute a"
            " where a.attrelid = 'lists.retention_list'::regclass and a.attnum > 0 and not a.attisdropped",
        )
    }
    out = tmp_path / "retention.parquet"
    result = export_list(D0, "retention", "parquet", out, url=url)
    schema = pq.read_schema(out)
    contactable = _q(
        url, "select count(*) as n from lists.retention_list where run_date = %s and not holdout_flag", D0
    )[0]["n"]
    assert result.rows == pq.read_table(out).num_rows == contactable
    assert [f.name for f in schema] == list(types)
    for field in schema:
        if types[field.name] != "numeric":  # unconstrained numeric takes the data's scale
            assert field.type == arrow_type(types[field.name]), field.name
