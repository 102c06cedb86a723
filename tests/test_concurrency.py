"""Runs that write the same warehouse never interleave: the warehouse-writer advisory lock, on a real
PostgreSQL, through the DAGs' own task functions in concurrent processes.

Each scenario starts its task functions at the same moment in forked processes (a pause fail-point
inside the ingest transaction widens the race window), records when each one held the lock, and
checks: no two holds overlap, every process succeeded, and the warehouse equals the one the same
tasks leave when run one after another (no lost or doubled rows). A control run without the lock
shows the holds do overlap then, so the check can fail.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest

from crm_scoring import failpoints, locks, warehouse
from crm_scoring.demo import generate
from crm_scoring.orchestration import tasks

START = date(2024, 5, 1)
DATES = [START + timedelta(days=i) for i in range(8)]  # the history folder, then a 7-date backfill
RAW_TABLES = ("customers", "orders", "tickets", "interactions", "surveys", "contacts", "consents")


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("concurrency")
    generate(root / "landing", DATES[0], DATES[-1], 150, 3, history_days=120, progress=False)
    return root


@pytest.fixture
def env(landing: Path, fresh_db: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv("CRM_WAREHOUSE_URL", fresh_db)
    monkeypatch.setenv("CRM_LANDING_DIR", str(landing / "landing"))
    monkeypatch.setenv("CRM_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv(failpoints.ENV, "ingest:inside:pause")
    monkeypatch.setenv(failpoints.ENV_PAUSE, "1.5")
    return fresh_db


def _record_holds(log_path: Path) -> None:
    """In this (child) process, append `owner start end` for every hold of the lock to log_path."""
    real_hold = locks.hold

    @contextmanager
    def hold(owner: str, url: str | None = None, name: str = locks.WAREHOUSE_WRITER) -> Iterator[None]:
        with real_hold(owner, url, name):
            start = time.time()
            try:
                yield
            finally:
                with open(log_path, "a") as f:
                    f.write(f"{owner} {start} {time.time()}\n")

    locks.hold = hold  # the child only: it exits after its jobs


def _unlocked() -> None:
    @contextmanager
    def hold(owner: str, url: str | None = None, name: str = locks.WAREHOUSE_WRITER) -> Iterator[None]:
        yield

    locks.hold = hold


def run_concurrently(jobs: list[Callable[[], object]], log_path: Path, with_lock: bool = True) -> list[int]:
    """Start every job in its own forked process at once; return their exit codes."""
    pids = []
    go = time.time() + 0.5
    for job in jobs:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            code = 0
            try:
                if not with_lock:
                    _unlocked()
                _record_holds(log_path)
                time.sleep(max(0.0, go - time.time()))
                job()
            except BaseException:  # noqa: BLE001
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        pids.append(pid)
    return [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]


def holds(log_path: Path) -> list[tuple[str, float, float]]:
    rows = [line.split() for line in log_path.read_text().splitlines()] if log_path.exists() else []
    return sorted((r[0], float(r[1]), float(r[2])) for r in rows)


def overlaps(spans: list[tuple[str, float, float]]) -> list[tuple[str, str]]:
    spans = sorted(spans, key=lambda s: s[1])
    return [(a[0], b[0]) for a, b in zip(spans, spans[1:], strict=False) if b[1] < a[2]]


def raw_digest(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        out = {}
        for table in (*(f"raw.{t}" for t in RAW_TABLES), "ops.load_audit", "ops.quarantine"):
            cols = [
                r[0]
                for r in conn.execute(
                    "select column_name from information_schema.columns where table_schema || '.' ||"
                    " table_name = %s and column_name not in ('_loaded_at', 'loaded_at', 'quarantined_at')"
                    " order by ordinal_position",
                    (table,),
                ).fetchall()
            ]
            row = ", ".join(f'"{c}"' for c in cols)
            out[table] = conn.execute(
                f"select count(*)::text || ':' || coalesce(md5(string_agg(r, '|' order by r)), '')"
                f" from (select row({row})::text r from {table}) t"
            ).fetchone()[0]
        return out


def sequential_digest(server_url: str, jobs: list[Callable[[], object]], monkeypatch) -> dict[str, str]:
    """The same jobs one after another in a database of their own: the reference warehouse."""
    name = warehouse.create_database(server_url, "crm_seq")
    url = warehouse.with_database(server_url, name)
    try:
        monkeypatch.setenv("CRM_WAREHOUSE_URL", url)
        monkeypatch.delenv(failpoints.ENV)
        for job in jobs:
            job()
        return raw_digest(url)
    finally:
        warehouse.drop_database(server_url, name)


def _nightly_head(ds: str) -> Callable[[], object]:
    """The nightly's writing steps that need no model: ingest (the lock is taken per task)."""
    return lambda: tasks.ingest(ds)


def test_training_started_during_a_nightly_waits(
    env: str, server_url: str, tmp_path: Path, monkeypatch
) -> None:
    """churn_training's ingest_pending (every folder up to its date) against crm_nightly's ingest."""
    day = DATES[3].isoformat()
    jobs = [_nightly_head(day), lambda: tasks.ingest_pending(DATES[-1].isoformat())]
    codes = run_concurrently(jobs, tmp_path / "holds")
    assert codes == [0, 0]
    spans = holds(tmp_path / "holds")
    assert {s[0] for s in spans} == {f"crm:ingest:{day}", f"crm:ingest_pending:{DATES[-1].isoformat()}"}
    assert overlaps(spans) == []
    got = raw_digest(env)
    assert got == sequential_digest(server_url, jobs, monkeypatch)


def test_two_nightly_dates_at_once(env: str, server_url: str, tmp_path: Path, monkeypatch) -> None:
    jobs = [_nightly_head(DATES[0].isoformat()), _nightly_head(DATES[1].isoformat())]
    assert run_concurrently(jobs, tmp_path / "holds") == [0, 0]
    spans = holds(tmp_path / "holds")
    assert len(spans) == 2 and overlaps(spans) == []
    assert raw_digest(env) == sequential_digest(server_url, jobs, monkeypatch)


def test_backfill_of_seven_dates(env: str, server_url: str, tmp_path: Path, monkeypatch) -> None:
    """Seven nightly dates started together (a backfill with no max_active_runs): one writer at a time."""
    jobs = [_nightly_head(d.isoformat()) for d in DATES[1:]]
    assert len(jobs) == 7
    assert run_concurrently(jobs, tmp_path / "holds") == [0] * 7
    spans = holds(tmp_path / "holds")
    assert len(spans) == 7 and overlaps(spans) == []
    assert raw_digest(env) == sequential_digest(server_url, jobs, monkeypatch)


def test_without_the_lock_the_runs_do_overlap(env: str, tmp_path: Path) -> None:
    """Control: the same race with the lock removed overlaps, so the assertions above can fail."""
    jobs = [_nightly_head(DATES[0].isoformat()), _nightly_head(DATES[1].isoformat())]
    run_concurrently(jobs, tmp_path / "holds", with_lock=False)
    assert overlaps(holds(tmp_path / "holds")) != []


def test_a_killed_holder_frees_the_lock_and_a_waiter_names_the_holder(fresh_db: str) -> None:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child holds the lock, then dies without cleaning up
        try:
            locks.acquire("crm:test-holder", fresh_db)
            time.sleep(3)
        finally:
            os.kill(os.getpid(), 9)
    time.sleep(1.0)
    with pytest.raises(locks.LockTimeout, match="crm:test-holder"):
        locks.acquire("crm:test-waiter", fresh_db, timeout_s=0.5)
    os.waitpid(pid, 0)
    # freed by PostgreSQL when the holder died (a stuck lock would raise LockTimeout here)
    locks.acquire("crm:test-after-kill", fresh_db, timeout_s=20)
    try:
        assert locks.is_held()
        locks.acquire("crm:nested", fresh_db)  # re-entrant within the process
        locks.release()
        assert locks.is_held()
    finally:
        locks.release()
    assert not locks.is_held()
    assert locks.holder(fresh_db) is None


def test_dbt_writes_outside_airflow_wait_for_the_lock(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`crm demo nightly` / `crm train` run dbt through dbt_invoke: a writing command meets the lock too."""
    import signal

    from dbt.cli.main import dbtRunner  # noqa: F401 - imported before the clock starts

    from crm_scoring import dbt_invoke

    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child holds the lock until it is killed
        try:
            locks.acquire("crm:nightly-elsewhere", fresh_db)
            time.sleep(600)
        finally:
            os._exit(0)
    try:
        deadline = time.monotonic() + 60
        while locks.holder(fresh_db) is None and time.monotonic() < deadline:
            time.sleep(0.2)
        monkeypatch.setenv(locks.ENV_TIMEOUT, "0.5")
        with pytest.raises(locks.LockTimeout, match="crm:nightly-elsewhere"):
            dbt_invoke.invoke(["build", "--select", "policy_parameters"], fresh_db, START)
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def test_the_writer_lock_of_another_database_is_not_this_warehouses(fresh_db: str, server_url: str) -> None:
    """Advisory locks are per database: a writer of another warehouse on the same server is neither
    waited for nor named as the holder (found on the shared test server: a benchmark's dbt build in its
    own database was reported as this warehouse's holder)."""
    name = warehouse.create_database(server_url, "crm_other")
    other = warehouse.with_database(server_url, name)
    try:
        with psycopg.connect(other, autocommit=True) as conn:
            conn.execute("set application_name = 'crm:other-warehouse'")
            conn.execute("select pg_advisory_lock(%s)", (locks.lock_key(locks.WAREHOUSE_WRITER),))
            assert locks.holder(other) == "crm:other-warehouse"
            assert locks.holder(fresh_db) is None
            locks.acquire("crm:this-warehouse", fresh_db, timeout_s=5)  # not blocked by the other one
            try:
                assert locks.holder(fresh_db) == "crm:this-warehouse"
            finally:
                locks.release()
    finally:
        warehouse.drop_database(server_url, name)
