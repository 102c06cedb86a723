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


@pytest.fixture
def dbt_env(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """dbt's connection settings (profiles.yml reads CRM_PG_*) pointed at an empty database."""
    for key, value in warehouse.parse_url(fresh_db).dbt_env().items():
        monkeypatch.setenv(key, value)
    yield fresh_db
