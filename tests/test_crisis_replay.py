"""The multi-night crisis replay gives the RP-03 list KPIs data (issue 13; `demo.crisis_replay`).

Demo data for 3,000 customers whose outage starts on the first night -> `crisis_replay.replay` runs
two nights, each publishing its lists and having the demo CRM work them into the next landing folders
-> `marts.crisis_kpis` as of each night. Real PostgreSQL and dbt, no Airflow. As in test_uplift, the
churn scores are a stand-in (one low probability) written by the test's night instead of a trained
model (training costs more than the whole test; scoring has its own tests), and each night runs dbt
`run` (no data tests) of what the lists need: the replay's own default night is the full in-process
crm_nightly (`demo.replay.nightly_in_process`), which `crm demo crisis-replay` runs.

Extended tier (Makefile EXTENDED_TESTS): two nights of dbt runs (the list models and their parents) and
two builds of the crisis marts took 642 s on two shared, busy cores (load average ~20).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest
from support.scores import stand_in_scores

from crm_scoring import dbt_invoke, settings, warehouse
from crm_scoring.demo import crisis_replay
from crm_scoring.ingest import load_export_date
from crm_scoring.lists.publish import publish

PLAN = crisis_replay.ReplayPlan(
    start=date(2025, 5, 5), nights=2, outage_night=0, customers=3000, seed=7, history_days=400
)
FIRST, LAST = PLAN.start, PLAN.end
STAND_IN_PROBABILITY = 0.001  # below any churn band, as in test_uplift


def _stand_in_night(run_date: date, url: str) -> None:
    """One night without a trained model: load, marts the lists need, stand-in scores, lists, publish."""
    load_export_date(url, settings.landing_dir(), run_date)
    if run_date == FIRST:
        dbt_invoke.invoke(["seed", "--quiet"], url, run_date)
    dbt_invoke.invoke(["run", "--select", "+tag:lists", "--exclude", "tag:lists", "--quiet"], url, run_date)
    stand_in_scores(url, run_date, STAND_IN_PROBABILITY)
    dbt_invoke.invoke(["run", "--select", "tag:lists", "--quiet"], url, run_date)
    publish(run_date, url)


def _kpis(url: str, run_date: date) -> list[dict]:
    return [r for r in crisis_replay.scoreboard(run_date, url) if r["kpi"] in crisis_replay.LIST_KPIS]


@pytest.fixture(scope="module")
def replayed(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("crisis_replay")
    project = root / "dbt_project"
    shutil.copytree(
        settings.dbt_project_dir(), project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    mp = pytest.MonkeyPatch()
    mp.setattr(settings, "dbt_project_dir", lambda: project)
    name = warehouse.create_database(server_url, "crm_crisis_replay_test")
    url = warehouse.with_database(server_url, name)
    try:
        with crisis_replay.isolated(root, url):
            landing = settings.landing_dir()
            assert crisis_replay.ensure_landing(PLAN, landing)
            assert not crisis_replay.ensure_landing(PLAN, landing)  # generated once
            result = crisis_replay.replay(PLAN, landing, url, night=_stand_in_night)
            again = crisis_replay.replay(PLAN, landing, url, night=_stand_in_night)
            for day in (FIRST, LAST):
                dbt_invoke.invoke(["run", "--select", "+crisis_kpis", "--quiet"], url, day)
            yield {"url": url, "result": result, "again": again}
    finally:
        mp.undo()
        if not os.environ.get("CRM_KEEP_TEST_DB"):
            warehouse.drop_database(server_url, name)


def test_every_night_publishes_and_a_rerun_resumes(replayed) -> None:
    assert sorted(replayed["result"].seconds) == PLAN.dates() and not replayed["result"].skipped
    assert replayed["again"].skipped == PLAN.dates() and not replayed["again"].seconds
    with psycopg.connect(replayed["url"]) as conn:
        published = conn.execute("select distinct run_date from lists.retention_list order by 1").fetchall()
        executed = conn.execute(
            "select count(*) from raw.contacts where list_run_date = %s", (FIRST,)
        ).fetchone()[0]
    assert [r[0] for r in published] == PLAN.dates()
    assert executed > 0  # the first night's lists were worked into the second night's folder


def test_the_outage_is_in_the_replay(replayed) -> None:
    with psycopg.connect(replayed["url"]) as conn:
        started = conn.execute(
            "select min(started_at)::date from raw.crisis_events where crisis_type = 'service_outage'"
        ).fetchone()[0]
    assert started == PLAN.outage_start


def test_list_kpis_get_values_once_lists_were_published(replayed) -> None:
    """Before any earlier list no list-based KPI has a value; after one replayed night at least one has
    a value on a non-empty base, so its status is no longer 'not enough data'."""
    url = replayed["url"]
    before = _kpis(url, FIRST)
    assert before and all(r["value"] is None for r in before)
    after = [r for r in _kpis(url, LAST) if r["value"] is not None]
    assert after, _kpis(url, LAST)
    assert all(r["n_measured"] > 0 and r["status"] != "not enough data" for r in after), after
    rendered = crisis_replay.render_scoreboard(LAST, crisis_replay.scoreboard(LAST, url))
    assert all(f"{r['kpi']}*" in rendered for r in after)


def test_replay_plan_rejects_an_outage_outside_its_nights() -> None:
    with pytest.raises(ValueError):
        crisis_replay.ReplayPlan(start=date(2025, 5, 5), nights=2, outage_night=2)
    assert PLAN.end == FIRST + timedelta(days=1)


def test_landing_of_another_plan_is_never_mixed(tmp_path: Path) -> None:
    (tmp_path / "2020-01-01").mkdir()
    with pytest.raises(RuntimeError):
        crisis_replay.ensure_landing(PLAN, tmp_path)
