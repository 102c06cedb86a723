"""One policy-in-force rule: the dbt macros (policy_in_force_order, policy_version_key, policy_version)
and enrichment's Python (enrich/policy.py) pick the same row, and compare versions as versions.

The SQL side is the project's own macro file rendered with plain Jinja (ref and run_date stubbed) and
run on a real PostgreSQL, so a change to either side that breaks the agreement fails here.
"""

from __future__ import annotations

import itertools
import random
from datetime import date, timedelta

import jinja2
import psycopg
import pytest

from crm_scoring import settings
from crm_scoring.enrich.policy import in_force, policy_version_in_force, version_key

RUN = date(2026, 11, 26)


def _render(call: str, run_date: date, table: str) -> str:
    source = (settings.dbt_project_dir() / "macros" / "policy.sql").read_text()
    env = jinja2.Environment(extensions=["jinja2.ext.do"])
    template = env.from_string(
        source + "{{ " + call + " }}",
        globals={"run_date": lambda: f"date '{run_date.isoformat()}'", "ref": lambda name: table},
    )
    return template.render().strip()


def test_versions_compare_as_versions() -> None:
    assert version_key("2026.9") < version_key("2026.10")
    assert version_key("1.9") < version_key("1.10") < version_key("2")
    assert version_key("v1") == (1,) and version_key("v2") < version_key("v10")


def test_version_1_10_beats_1_9_on_the_same_day() -> None:
    day = date(2026, 1, 1)
    rows = [
        {"key": "k", "policy_version": "1.10", "effective_from": day, "value": "new"},
        {"key": "k", "policy_version": "1.9", "effective_from": day, "value": "old"},
    ]
    assert policy_version_in_force(rows, RUN) == "1.10"
    assert in_force(rows[::-1], ("key",), RUN)[0]["value"] == "new"


def _rows(seed: int) -> list[dict]:
    rnd = random.Random(seed)
    versions = ["1.9", "1.10", "1.2", "2.0", "10.1", "9.11", "v1", "v10", "v2"]
    out = []
    for key, _ in itertools.product("abc", range(4)):
        out.append(
            {
                "key": key,
                "policy_version": rnd.choice(versions),
                "effective_from": RUN + timedelta(days=rnd.randint(-40, 20)),
                "value": str(rnd.random()),
            }
        )
    return out


@pytest.mark.parametrize("seed", range(6))
def test_sql_and_python_pick_the_same_rows(warehouse_db: str, seed: int) -> None:
    rows = _rows(seed)
    with psycopg.connect(warehouse_db, autocommit=True) as conn:
        conn.execute("create temp table pp (key text, policy_version text, effective_from date, value text)")
        with conn.cursor() as cur:
            cur.executemany(
                "insert into pp values (%s, %s, %s, %s)",
                [(r["key"], r["policy_version"], r["effective_from"], r["value"]) for r in rows],
            )
        for run_date in (RUN - timedelta(days=60), RUN, RUN + timedelta(days=30)):
            version_sql = _render("policy_version()", run_date, "pp")
            assert conn.execute(f"select {version_sql}").fetchone()[0] == policy_version_in_force(
                rows, run_date
            )
            in_force_sql = _render("policy_rows('policy_parameters', ['key'])", run_date, "pp")
            picked = conn.execute(f"select key, value from {in_force_sql} as x").fetchall()
            python = {r["key"]: r["value"] for r in in_force(rows, ("key",), run_date)}
            assert dict(picked) == python, run_date
