"""One warehouse writer at a time: a PostgreSQL session advisory lock held by every task that writes.

Why an advisory lock (and not only Airflow settings): `max_active_runs=1` serialises the runs of ONE
DAG, but the weekly churn_training and the daily crm_nightly rebuild the same incremental facts, and
`crm demo nightly`, `crm train`, a backfill from another Airflow or a CLI call never see Airflow's
pools at all. The lock lives in the warehouse that is being protected, so every writer meets it,
whatever started it. It is a *session* lock on a connection of its own: a task killed with SIGKILL
loses its connection and PostgreSQL releases the lock at once, so a crash never leaves it stuck.

The lock is re-entrant within a process (the Airflow task's on_execute callback takes it, and the
task function's own `hold()` then only counts), and a waiter gives up after `CRM_LOCK_TIMEOUT_S`
(default 6 h) with an error naming the holder.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg

from crm_scoring import warehouse

log = logging.getLogger(__name__)

WAREHOUSE_WRITER = "crm:warehouse-writer"
ENV_TIMEOUT = "CRM_LOCK_TIMEOUT_S"
DEFAULT_TIMEOUT_S = 6 * 3600.0
POLL_S = 0.5


class LockTimeout(RuntimeError):
    pass


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for `name` (advisory locks take a bigint)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass
class _Held:
    conn: psycopg.Connection
    depth: int
    shared: bool = False


_held: dict[str, _Held] = {}
_mutex = threading.Lock()


def holder(url: str, name: str = WAREHOUSE_WRITER) -> str | None:
    """application_name of the session holding `name` in this database, or None when it is free.

    Advisory locks are per database: the same key held in another database of the server (another
    warehouse, another test) is not this warehouse's writer and must not be named."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            """
            select coalesce(nullif(a.application_name, ''), 'pid ' || a.pid::text)
            from pg_locks l join pg_stat_activity a on a.pid = l.pid
            where l.locktype = 'advisory' and l.granted
              and l.database = (select oid from pg_database where datname = current_database())
              and l.objsubid = 1 and ((l.classid::bigint << 32) | l.objid::bigint) = %s
            limit 1
            """,
            (lock_key(name),),
        ).fetchone()
    return row[0] if row else None


def acquire(
    owner: str,
    url: str | None = None,
    name: str = WAREHOUSE_WRITER,
    timeout_s: float | None = None,
    shared: bool = False,
) -> None:
    """Take `name` for this process (waiting for another holder), or count one more use if held here.

    `shared=True` takes it in shared mode: shared holders run together (the shards of one night's
    scoring, each writing only its own customers) and exclude every exclusive holder, and back.
    """
    with _mutex:
        if name in _held:
            _held[name].depth += 1
            return
    url = url or warehouse.warehouse_url()
    timeout_s = float(os.environ.get(ENV_TIMEOUT, DEFAULT_TIMEOUT_S)) if timeout_s is None else timeout_s
    conn = psycopg.connect(url, autocommit=True, application_name=owner[:63])
    key = lock_key(name)
    deadline = time.monotonic() + timeout_s
    waited = False
    try:
        try_lock = "select pg_try_advisory_lock_shared(%s)" if shared else "select pg_try_advisory_lock(%s)"
        while not conn.execute(try_lock, (key,)).fetchone()[0]:
            if not waited:
                log.info("%s: waiting for the lock %s, held by %s", owner, name, holder(url, name))
                waited = True
            if time.monotonic() >= deadline:
                raise LockTimeout(
                    f"{owner}: gave up after {timeout_s:.0f}s waiting for {name}, held by {holder(url, name)}"
                )
            time.sleep(POLL_S)
    except BaseException:
        conn.close()
        raise
    log.info("%s: holds %s", owner, name)
    with _mutex:
        _held[name] = _Held(conn, 1, shared)


def release(name: str = WAREHOUSE_WRITER) -> None:
    """Give one use back; the last one unlocks and closes the connection (a no-op when not held)."""
    with _mutex:
        held = _held.get(name)
        if held is None:
            return
        held.depth -= 1
        if held.depth > 0:
            return
        del _held[name]
    try:
        unlock = "select pg_advisory_unlock_shared(%s)" if held.shared else "select pg_advisory_unlock(%s)"
        held.conn.execute(unlock, (lock_key(name),))
    finally:
        held.conn.close()


def is_held(name: str = WAREHOUSE_WRITER) -> bool:
    with _mutex:
        return name in _held


@contextmanager
def hold(
    owner: str, url: str | None = None, name: str = WAREHOUSE_WRITER, shared: bool = False
) -> Iterator[None]:
    """`with hold("crm_nightly.score 2026-11-26"):` the block is the only warehouse writer
    (`shared=True`: one of several cooperating writers, see `acquire`)."""
    acquire(owner, url, name, shared=shared)
    try:
        yield
    finally:
        release(name)
