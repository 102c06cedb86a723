"""Shared fixtures: a real PostgreSQL (embedded pgserver, or the server in CRM_WAREHOUSE_URL).

Each test session works in its own throw-away database on that server, so tests never touch
the warehouse `make run` uses and parallel sessions never collide.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from crm_scoring import settings, warehouse

# The longest modules (measured with --durations on fresh-clone CI runs, 2026-12-01, re-ranked by the
# 2026-12-04 run's worker seconds per module), longest first.
# `make test` runs `-n 2 --dist loadfile --no-loadscope-reorder`, where each worker takes the next module in
# collection order when it is free (xdist's default reorder is by test count, not time): started last,
# the ~8-minute e2e module alone decided the suite's wall time.
# Session 10 (single-module runs and a `make test-fast --durations` at load ~20, ratios only): test_model
# (603 s) and test_model_promotion (290 s) next to test_dbt_project (659 s) and test_lists (1,211 s).
# After test_model: test-fast's modules by worker CPU (session 11, per-test CPU of a warm `make test-fast`
# selection): model_promotion 26 s, score_shards 22, model_scoring_population 19, architecture 13,
# quality 13, then the dbt modules that share one parsed project (campaigns, incremental_facts,
# partitions, enrich_value: 5-15 s each since).
_LONGEST_FIRST = (
    "test_e2e.py",
    "test_bench_run.py",  # make test-extended: the whole bench at 2,000 customers, ~150 s on one worker
    "test_dbt_project.py",
    "test_incremental_marts.py",  # session 18: 90 s of a worker in make test, collected late before
    "test_lists.py",
    "test_marts_complaints.py",
    "test_dags.py",
    # with test_run_date and test_column_tests: 80, 71 and 69 s (2026-12-04), collected near the end before
    "test_model_leakage.py",
    "test_marts_value.py",
    "test_run_date.py",
    "test_column_tests.py",
    "test_incremental_facts.py",
    "test_uplift.py",
    "test_model.py",
    "test_model_scoring_population.py",
    "test_campaigns.py",
    "test_partitions.py",
    "test_architecture.py",
    "test_quality.py",
    "test_generated.py",
    "test_model_promotion.py",
    "test_score_shards.py",
    "test_enrich_value.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest modules first (a stable sort: the order inside a module and among the rest is kept).
    Deterministic, so every xdist worker collects the same order."""
    rank = {name: i for i, name in enumerate(_LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.fixture(scope="session", autouse=True)
def _private_dbt_target(tmp_path_factory: pytest.TempPathFactory) -> None:
    """dbt's target/ and logs/ per test process, so parallel workers never share partial-parse state."""
    os.environ.setdefault("DBT_TARGET_PATH", str(tmp_path_factory.mktemp("dbt_target")))
    os.environ.setdefault("DBT_LOG_PATH", str(tmp_path_factory.mktemp("dbt_logs")))
    # one text-model cache for every state dir the tests create (the model trains once, not per e2e run)
    from crm_scoring import settings

    os.environ.setdefault("CRM_TEXT_MODEL_CACHE", str(settings.project_root() / ".crm" / "text_models"))


@pytest.fixture(scope="session")
def server_url() -> str:
    return warehouse.warehouse_url()


def _create_db(server_url: str, prefix: str) -> str:
    return warehouse.create_database(server_url, prefix)


def _drop_db(server_url: str, name: str) -> None:
    if not os.environ.get("CRM_KEEP_TEST_DB"):
        warehouse.drop_database(server_url, name)


@pytest.fixture(scope="session")
def warehouse_db(server_url: str) -> Iterator[str]:
    """URL of a database shared by the whole session."""
    name = _create_db(server_url, "crm_test")
    yield warehouse.with_database(server_url, name)
    _drop_db(server_url, name)


@pytest.fixture
def fresh_db(server_url: str) -> Iterator[str]:
    """URL of an empty database for one test."""
    name = _create_db(server_url, "crm_t")
    yield warehouse.with_database(server_url, name)
    _drop_db(server_url, name)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of dbt_project/ for one test, so it may edit policy seeds."""
    dst = tmp_path / "dbt_project"
    shutil.copytree(
        settings.dbt_project_dir(), dst, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    return dst


@pytest.fixture(scope="session")
def pristine_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One unedited copy of dbt_project/ per test process for the tests that only read it: dbt parses a
    copy once (support.dbt_project._manifest, ~7 CPU s a parse), so sharing it saves a parse per module.
    `_set_csv` refuses to edit it (tests that change seeds take `project`), and the teardown proves no
    test changed a byte of it."""
    from support.dbt_project import READ_ONLY_PROJECTS, content_digest, copy_project

    dst = copy_project(tmp_path_factory.mktemp("pristine") / "dbt_project")
    before = content_digest(dst)
    READ_ONLY_PROJECTS.add(dst)
    yield dst
    assert content_digest(dst) == before, f"a test changed the shared project copy {dst}"


@pytest.fixture
def dbt_env(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """dbt's connection settings (profiles.yml reads CRM_PG_*) pointed at an empty database."""
    for key, value in warehouse.parse_url(fresh_db).dbt_env().items():
        monkeypatch.setenv(key, value)
    yield fresh_db
