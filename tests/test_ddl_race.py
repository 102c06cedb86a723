"""Idempotent DDL under concurrency on a real PostgreSQL: `create ... if not exists` is not race-free.

Two sessions creating the same schema at once both pass the `if not exists` check; the second waits for
the first's catalogue row and fails on its unique index once the first commits. `warehouse.run_ddl`
retries that statement (it then finds the object). The control test shows the race is real, so the first
test can fail: without the retry the same interleaving raises. Seen in tests/test_concurrency.py (extended
suite): a nightly's stage log and a training run's ingest creating `ops` at the same moment.
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from crm_scoring import warehouse

SCHEMA = "ddl_race"


def _waiting_on_a_lock(url: str, timeout_s: float = 30.0) -> bool:
    """True once another session of this database waits on a lock (the second creator)."""
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "select count(*) from pg_stat_activity where datname = current_database()"
                " and wait_event_type = 'Lock' and pid <> pg_backend_pid()"
            ).fetchone()
            if row[0]:
                return True
            time.sleep(0.05)
    return False


def _race(url: str, create) -> list[BaseException]:  # noqa: ANN001
    """Session A creates SCHEMA and holds its transaction open while session B runs `create(conn_b)`;
    A commits once B waits on it. Returns what B raised."""
    raised: list[BaseException] = []

    def second() -> None:
        with psycopg.connect(url) as b:
            try:
                create(b)
                b.commit()
            except BaseException as exc:  # noqa: BLE001 - handed to the test
                raised.append(exc)

    with psycopg.connect(url) as a:
        a.execute(f"create schema if not exists {SCHEMA}")  # not committed yet
        thread = threading.Thread(target=second)
        thread.start()
        assert _waiting_on_a_lock(url), "the second session never waited on the first"
        a.commit()
        thread.join(30)
    assert not thread.is_alive()
    return raised


def test_a_lost_create_race_is_retried_and_the_schema_exists(fresh_db: str) -> None:
    raised = _race(fresh_db, lambda b: warehouse.run_ddl(b, f"create schema if not exists {SCHEMA}"))
    assert raised == []
    with psycopg.connect(fresh_db) as conn:
        row = conn.execute("select count(*) from pg_namespace where nspname = %s", (SCHEMA,)).fetchone()
    assert row[0] == 1


def test_without_the_retry_the_same_race_fails(fresh_db: str) -> None:
    raised = _race(fresh_db, lambda b: b.execute(f"create schema if not exists {SCHEMA}"))
    assert len(raised) == 1
    assert isinstance(raised[0], psycopg.errors.UniqueViolation)


def test_a_real_ddl_error_is_not_swallowed(fresh_db: str) -> None:
    with psycopg.connect(fresh_db) as conn, pytest.raises(psycopg.errors.SyntaxError):
        warehouse.run_ddl(conn, "create schema if not exists")
