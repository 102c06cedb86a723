"""The three dbt steps are the selectors of dbt_project/selectors.yml, and they split the project cleanly.

Listed with the real dbt (`dbt ls`, no warehouse needed): every model and seed is built by exactly one
nightly step or by the training step only, the lists step holds only list models and their tests, and
each name the code uses is a selector dbt knows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crm_scoring import settings
from crm_scoring.orchestration import dbt_selectors

# the selections of one purpose beside the night's steps: `crm train`'s feature mart, the benchmark's backtest
ONE_PURPOSE = (
    dbt_selectors.SCORING_FEATURES,
    dbt_selectors.BACKTEST_INPUTS,
    dbt_selectors.BACKTEST_PERFORMANCE,
)


def _ls(tmp: Path, *args: str) -> set[str]:
    project = settings.dbt_project_dir()
    dbt = Path(sys.executable).parent / "dbt"
    env = {**os.environ, "DBT_TARGET_PATH": str(tmp / "target"), "DBT_LOG_PATH": str(tmp / "logs")}
    out = subprocess.run(
        [str(dbt), "ls", "--project-dir", str(project), "--profiles-dir", str(project), "--quiet",
         "--vars", json.dumps({"run_date": "2026-11-26"}), "--output", "json",
         "--output-keys", "unique_id", "resource_type", "tags", "depends_on", *args],
        capture_output=True, text=True, env=env, check=True, timeout=600,
    )  # fmt: skip
    return {line for line in out.stdout.splitlines() if line.startswith("{")}


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict]]:
    tmp = tmp_path_factory.mktemp("dbt_ls")
    out = {"all": _ls(tmp)}
    for name in (
        dbt_selectors.MARTS,
        dbt_selectors.LISTS,
        dbt_selectors.TRAINING,
        dbt_selectors.CANDIDATES,
        dbt_selectors.LISTS_AFTER_REASONS,
        dbt_selectors.REPORTING,
        dbt_selectors.REPORTING_BEFORE_LISTS,
        dbt_selectors.CANDIDATES_BEFORE_SCORES,
        *ONE_PURPOSE,
    ):
        out[name] = _ls(tmp, "--selector", name)
    return {k: [json.loads(x) for x in v] for k, v in out.items()}


def test_the_code_names_the_selectors_of_the_yaml() -> None:
    names = {
        dbt_selectors.MARTS,
        dbt_selectors.LISTS,
        dbt_selectors.TRAINING,
        dbt_selectors.REPORTING,
        dbt_selectors.CANDIDATES,
        dbt_selectors.LISTS_AFTER_REASONS,
        dbt_selectors.REPORTING_BEFORE_LISTS,
        dbt_selectors.CANDIDATES_BEFORE_SCORES,
        dbt_selectors.BATCHED_COLUMN_TESTS,
        *ONE_PURPOSE,
    }
    assert names == dbt_selectors.selector_names()
    assert dbt_selectors.build_args(dbt_selectors.LISTS) == ["build", "--selector", "nightly_lists"]


def test_the_steps_split_the_project(nodes: dict[str, list[dict]]) -> None:
    def ids(key: str, types: tuple[str, ...] = ("model", "seed")) -> set[str]:
        return {n["unique_id"] for n in nodes[key] if n["resource_type"] in types}

    marts, lists, training = ids(dbt_selectors.MARTS), ids(dbt_selectors.LISTS), ids(dbt_selectors.TRAINING)
    reporting = ids(dbt_selectors.REPORTING)
    assert marts and lists and training and reporting
    assert not marts & lists and not (marts | lists) & reporting, "a node built twice a night"
    # everything is built by a nightly step, except the training snapshots themselves
    training_only = {n["unique_id"] for n in nodes["all"] if "training" in n.get("tags", [])}
    assert ids("all") - training_only == marts | lists | reporting
    assert training_only <= training and not training_only & marts
    assert all("lists" in n["tags"] for n in nodes[dbt_selectors.LISTS] if n["resource_type"] == "model")
    # tests run in the step that builds the last of their parents: none is run twice a night
    steps = (dbt_selectors.MARTS, dbt_selectors.LISTS, dbt_selectors.REPORTING)
    tests = {k: ids(k, ("test", "unit_test")) for k in steps}
    assert all(tests.values())
    assert not tests[steps[0]] & tests[steps[1]] and not (tests[steps[0]] | tests[steps[1]]) & tests[steps[2]]
    # dbt unit tests check the SQL, not the night's data: no platform step runs them (CI's whole-project
    # build in test_dbt_project does), while the data tests stay in the night
    assert {n["unique_id"] for n in nodes["all"] if n["resource_type"] == "unit_test"}
    for key in (*steps, dbt_selectors.TRAINING):
        assert not ids(key, ("unit_test",)), f"{key} runs dbt unit tests"
        assert ids(key, ("test",)), f"{key} lost its data tests"


def test_publish_first_nothing_before_publishing_reads_reporting(nodes: dict[str, list[dict]]) -> None:
    """Issue 12, publish first: the steps before publishing (nightly_marts, nightly_lists) build only what
    the scores and the lists read; nightly_reporting (after publishing) holds the rest of the night, so no
    model built before publishing reads one of it, and the scores' features are built before scoring."""
    models = {n["unique_id"]: n for n in nodes["all"] if n["resource_type"] == "model"}
    reporting = {n["unique_id"] for n in nodes[dbt_selectors.REPORTING] if n["resource_type"] == "model"}
    before = {
        n["unique_id"]
        for key in (dbt_selectors.MARTS, dbt_selectors.LISTS)
        for n in nodes[key]
        if n["resource_type"] == "model"
    }
    assert "model.crm.churn_features" in before and "model.crm.late_arriving_customers" in reporting
    assert {"model.crm.alerts", "model.crm.rule_activity"} <= reporting
    readers = {m: set(models[m].get("depends_on", {}).get("nodes", [])) & reporting for m in before}
    assert not {m: r for m, r in readers.items() if r}, "a model before publishing reads a reporting model"


def test_the_lists_step_splits_at_the_reason_codes(nodes: dict[str, list[dict]]) -> None:
    """dbt_lists builds nightly_lists in two parts with the candidates' reasons between them
    (tasks.build_lists): together exactly nightly_lists, nothing twice, the candidates in the first part
    and nothing there that reads scoring.churn_reasons (it would read them before they are written)."""

    def ids(key: str) -> set[str]:
        return {n["unique_id"] for n in nodes[key]}

    first, second = ids(dbt_selectors.CANDIDATES), ids(dbt_selectors.LISTS_AFTER_REASONS)
    assert first | second == ids(dbt_selectors.LISTS) and not first & second
    assert {"model.crm.retention_candidates", "model.crm.compensation_candidates"} <= first
    assert {"model.crm.retention_list", "model.crm.compensation_list"} <= second
    parents = {n["unique_id"]: set(n.get("depends_on", {}).get("nodes", [])) for n in nodes["all"]}
    reads = {"model.crm.stg_scoring__churn_reasons"}
    while grown := {n for n, ps in parents.items() if ps & reads} - reads:
        reads |= grown
    assert len(reads) > 1 and not first & reads


def test_reporting_before_lists_reads_no_list_model(nodes: dict[str, list[dict]]) -> None:
    """A warehouse's day before its first lists (the bench's day 0) builds the reporting models that read
    nothing of the lists build, directly or not; rule_activity, which counts the candidates, waits."""
    parents = {n["unique_id"]: set(n.get("depends_on", {}).get("nodes", [])) for n in nodes["all"]}
    # the list models and everything downstream of them, to a fixed point
    readers = {n["unique_id"] for n in nodes["all"] if "lists" in n.get("tags", [])}
    while new := {uid for uid, ps in parents.items() if uid not in readers and ps & readers}:
        readers |= new

    before = {
        n["unique_id"] for n in nodes[dbt_selectors.REPORTING_BEFORE_LISTS] if n["resource_type"] == "model"
    }
    reporting = {n["unique_id"] for n in nodes[dbt_selectors.REPORTING] if n["resource_type"] == "model"}
    assert before < reporting
    assert "model.crm.rule_activity" in reporting - before
    assert not before & readers
    assert reporting - before <= readers, "only readers of the lists wait"


def test_candidates_before_scores_reads_no_score(nodes: dict[str, list[dict]]) -> None:
    """A warehouse's day before its first scores (the bench's day 0) builds the candidates' models that
    read no score, directly or not: int_lists__consent among them (incremental by customer: the first night
    with scores then extends it), the candidates themselves not."""
    parents = {n["unique_id"]: set(n.get("depends_on", {}).get("nodes", [])) for n in nodes["all"]}
    readers = {"source.crm.scoring.churn_scores", "source.crm.scoring.churn_reasons"}
    while new := {uid for uid, ps in parents.items() if uid not in readers and ps & readers}:
        readers |= new

    def models(key: str) -> set[str]:
        return {n["unique_id"] for n in nodes[key] if n["resource_type"] == "model"}

    before, candidates = models(dbt_selectors.CANDIDATES_BEFORE_SCORES), models(dbt_selectors.CANDIDATES)
    assert "model.crm.int_lists__consent" in before < candidates
    assert "model.crm.retention_candidates" in candidates - before
    assert not before & readers
    assert candidates - before <= readers, "only readers of the scores wait"


def test_one_purpose_selections_build_the_nights_models(nodes: dict[str, list[dict]]) -> None:
    """`crm train`'s feature mart and the real-data benchmark's backtest build parts of the night, never
    another selection of it: the same models the night's first step (and, for the backtests' mart, its
    reporting step) builds, with their data tests and without dbt unit tests."""

    def ids(key: str, types: tuple[str, ...] = ("model", "seed")) -> set[str]:
        return {n["unique_id"] for n in nodes[key] if n["resource_type"] in types}

    marts, reporting = ids(dbt_selectors.MARTS), ids(dbt_selectors.REPORTING)
    assert "model.crm.churn_features" in ids(dbt_selectors.SCORING_FEATURES)
    assert ids(dbt_selectors.SCORING_FEATURES) <= marts
    assert "model.crm.int_customers__activity_events" in ids(dbt_selectors.BACKTEST_INPUTS)
    assert ids(dbt_selectors.BACKTEST_INPUTS) <= marts
    assert "model.crm.model_performance" in ids(dbt_selectors.BACKTEST_PERFORMANCE)
    assert ids(dbt_selectors.BACKTEST_PERFORMANCE) <= marts | reporting
    for key in ONE_PURPOSE:
        assert not ids(key, ("unit_test",)), f"{key} runs dbt unit tests"
        assert ids(key, ("test",)), f"{key} lost its data tests"
