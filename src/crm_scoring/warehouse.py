"""The PostgreSQL warehouse: `CRM_WAREHOUSE_URL` when set, else an embedded server (pgserver) kept in `.crm/`.

Everything that talks to the warehouse gets its URL from `warehouse_url()`, so one environment
variable moves the whole platform to another server.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlencode, urlparse, urlunparse

import psycopg
from psycopg import sql

from crm_scoring import settings

log = logging.getLogger(__name__)

ENV_URL = "CRM_WAREHOUSE_URL"


def embedded_pgdata() -> Path:
    return Path(os.environ.get("CRM_PGDATA", settings.state_dir() / "pgdata"))


def start_embedded() -> str:
    """Start (or reuse) the embedded PostgreSQL 16 and return its URL. It keeps running for later commands."""
    runtime = settings.state_dir() / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    import pgserver  # imported lazily: only the embedded path needs it

    logging.getLogger("pgserver").setLevel(logging.WARNING)

    # Parallel processes (pytest-xdist workers, a DAG run beside a CLI call) may all be first on a fresh
    # clone: pgserver's initdb / start is not safe to race, so one process at a time does it.
    with open(settings.state_dir() / "pgserver.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        server = pgserver.get_server(embedded_pgdata(), cleanup_mode=None)
        if server.pgdata not in _LOGGING_CHECKED:
            _log_connections(server)
    url = server.get_uri()
    # pgserver's URL has an empty password component; normalise to a plain libpq URL.
    return url.replace("postgres:@", "postgres@")


_LOGGING_CHECKED: set[Path] = set()


def _log_connections(server: object) -> None:
    """PS-04: the embedded server logs every connection as CSV (privacy/logins.py reads it). Set once per
    process; the restart logging_collector needs happens only while no other session is open (else it
    waits for a later start, and meanwhile the login audit records that it skipped, and why)."""
    from pgserver._commands import pg_ctl

    url = server.get_uri().replace("postgres:@", "postgres@")
    with psycopg.connect(url, autocommit=True) as conn:
        restart = configure_connection_log(conn)
        others = conn.execute(
            "select count(*) from pg_stat_activity"
            " where backend_type = 'client backend' and pid <> pg_backend_pid()"
        ).fetchone()[0]
    if restart and others == 0:
        log.info("restarting the embedded PostgreSQL to start its log collector (log_connections as CSV)")
        # `restart` keeps the options of the last start (postmaster.opts: socket directory, no TCP); a
        # generous wait, as a loaded machine may take longer than pgserver's own 10 s to start it
        restart_args = ["-w", "-t", "300", "-m", "fast", "-l", str(server.log), "restart"]
        pg_ctl(restart_args, pgdata=server.pgdata, user=server.system_user, timeout=330)
        server.ensure_postgres_running()
    _LOGGING_CHECKED.add(server.pgdata)  # once per process: the next process tries the restart again


# PS-04: the server settings the login audit (privacy/logins.py) reads logins through
CONNECTION_LOG_SETTINGS = {
    "log_connections": "on",
    "logging_collector": "on",
    "log_destination": "stderr,csvlog",
}
EMBEDDED_LOG_DIRECTORY = "pg_log"  # relative to the data directory


def configure_connection_log(conn: psycopg.Connection) -> bool:
    """Give the embedded server (a superuser connection) the connection-log settings of the login audit
    (ALTER SYSTEM, then a reload); True when a restart is still needed (logging_collector is read at
    server start only)."""
    changed = False
    # pgserver writes its own start-up log to the FILE <pgdata>/log: the collector needs another directory
    for name, value in {**CONNECTION_LOG_SETTINGS, "log_directory": EMBEDDED_LOG_DIRECTORY}.items():
        setting = conn.execute("select setting from pg_settings where name = %s", (name,)).fetchone()[0]
        pending = conn.execute(
            "select setting from pg_file_settings where name = %s"
            " and sourcefile like '%%postgresql.auto.conf' order by seqno desc limit 1",
            (name,),
        ).fetchone()
        if value not in (setting, pending[0] if pending else None):
            conn.execute(sql.SQL("alter system set {} = {}").format(sql.Identifier(name), sql.Literal(value)))
            changed = True
    if changed:
        conn.execute("select pg_reload_conf()")
    collector = conn.execute("select setting from pg_settings where name = 'logging_collector'").fetchone()
    return collector[0] != "on"


def warehouse_url() -> str:
    url = os.environ.get(ENV_URL)
    if url:
        return url
    return start_embedded()


@dataclass(frozen=True)
class ConnParts:
    """URL split into the fields dbt profiles and SQLAlchemy need."""

    host: str
    port: int
    user: str
    password: str
    dbname: str

    def dbt_env(self) -> dict[str, str]:
        return {
            "CRM_PG_HOST": self.host,
            "CRM_PG_PORT": str(self.port),
            "CRM_PG_USER": self.user,
            "CRM_PG_PASSWORD": self.password,
            "CRM_PG_DBNAME": self.dbname,
        }


def parse_url(url: str) -> ConnParts:
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    host = parsed.hostname or (query.get("host", [""])[0]) or "localhost"
    if query.get("host"):
        host = query["host"][0]
    return ConnParts(
        host=unquote(host),
        port=parsed.port or int(query.get("port", ["5432"])[0]),
        user=unquote(parsed.username or "postgres"),
        password=unquote(parsed.password or ""),
        dbname=(parsed.path or "/postgres").lstrip("/") or "postgres",
    )


def with_database(url: str, dbname: str) -> str:
    """The same server, another database (tests create throw-away databases this way)."""
    parsed = urlparse(url)
    return urlunparse(parsed._replace(path="/" + quote(dbname)))


def sqlalchemy_url(url: str | None = None) -> str:
    """SQLAlchemy form (psycopg 3 driver), for Great Expectations."""
    parts = parse_url(url or warehouse_url())
    query = {}
    netloc_host = parts.host
    if parts.host.startswith("/"):
        query["host"] = parts.host
        netloc_host = ""
    auth = quote(parts.user, safe="")
    if parts.password:
        auth += ":" + quote(parts.password, safe="")
    netloc = f"{auth}@{netloc_host}" + (f":{parts.port}" if netloc_host else "")
    if not netloc_host and parts.port != 5432:
        query["port"] = str(parts.port)
    return urlunparse(("postgresql+psycopg", netloc, "/" + parts.dbname, "", urlencode(query), ""))


def redact(url: str) -> str:
    """A URL safe for logs: the password is replaced."""
    parsed = urlparse(url)
    if parsed.password:
        netloc = parsed.netloc.replace(":" + parsed.password + "@", ":***@")
        return urlunparse(parsed._replace(netloc=netloc))
    return url


# The errors of a lost `create ... if not exists` race (below).
_DDL_RACES = (
    psycopg.errors.UniqueViolation,
    psycopg.errors.DuplicateObject,
    psycopg.errors.DuplicateTable,
    psycopg.errors.DuplicateSchema,
)


def run_ddl(conn: psycopg.Connection, *statements: str, attempts: int = 3) -> None:
    """Run idempotent DDL (`create ... if not exists`), each statement retried when it loses a race.

    PostgreSQL checks `if not exists` before it inserts the catalogue row, so two sessions creating the same
    schema or table at once can both pass the check; the second then waits for the first and fails on the
    catalogue's unique index (`duplicate key value violates unique constraint
    "pg_namespace_nspname_index"`: tests/test_concurrency.py, a nightly's stage log creating `ops` while a
    training run's ingest created it). By then the winner has committed, so the same statement run again
    finds the object and skips. Each attempt runs in its own savepoint (a transaction when none is open),
    so a lost race leaves the caller's transaction usable. An advisory lock would serialise the writers
    too, but one shared by every writer of DDL would be held for the length of the caller's transaction
    (the loader's holds a whole export) and wait in lock orders no one checks."""
    for statement in statements:
        for attempt in range(attempts):
            try:
                with conn.transaction():
                    conn.execute(statement)
                break
            except _DDL_RACES:
                if attempt == attempts - 1:
                    raise
                log.info("DDL lost a create race, retrying: %s", " ".join(statement.split())[:80])


@contextmanager
def connect(url: str | None = None, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    """A psycopg 3 connection in UTC; committed on success, rolled back on error."""
    conn = psycopg.connect(url or warehouse_url(), autocommit=autocommit)
    try:
        conn.execute("set timezone to 'UTC'")
        yield conn
        if not autocommit:
            conn.commit()
    except BaseException:
        if not autocommit:
            conn.rollback()
        raise
    finally:
        conn.close()


def create_database(server_url: str, prefix: str) -> str:
    """Create a uniquely named database on the server (tests and the benchmark work in throw-away ones)."""
    import uuid

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    return name


def drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
