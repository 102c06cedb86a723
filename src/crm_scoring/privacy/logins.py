"""PS-04: every login of a list reader or CRM operator, read from the server's connection log.

PostgreSQL 15/16 has no login trigger, so a session that logs in and reads nothing leaves no trace in
the database itself (the row-level-security audit of privacy/audit.py sees reads only). The server does
see every login: with `log_connections = on` it logs a `connection authorized: user=... database=...`
line per session, and with `logging_collector = on` and `csvlog` in `log_destination` it writes those
lines as CSV files in a fixed column layout that COPY loads as they stand (the PostgreSQL manual's
"Using CSV-Format Log Output"). So the nightly (privacy/nightly.py) and `crm privacy logins` run
`ingest`:

1. the server's settings are checked; when a setting is missing, or the ingesting user may not list or
   read the server's log files (superuser, or `pg_monitor` + `pg_read_server_files`), nothing is read
   and `ops.login_log_reads` gets a `skipped` row naming what to change (never a silent no-op);
2. each CSV log file that is new or has grown since it was last read (`ops.login_log_files`) is COPYed
   server-side into a temporary table (set-based, no row passes through Python);
3. its `connection authorized` lines of this database, by a login that is a member of the reader or
   operator group, go into `ops.logins`, keyed by the server's session id (`%c`: backend start and pid)
   and user, so reading the same file again adds nothing.

The embedded server is started with these settings (warehouse.start_embedded);
an external server needs them from its administrator (docs/privacy.md, "Login audit").
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date

import psycopg
from psycopg import sql

from crm_scoring import warehouse

log = logging.getLogger(__name__)

# The server settings the route needs (the embedded server is given them by warehouse.start_embedded).
SERVER_SETTINGS = warehouse.CONNECTION_LOG_SETTINGS
# A database's first read takes the log files modified in this many days before it (a new warehouse
# has no logins older than itself worth a full scan of the server's log history).
FIRST_READ_DAYS = 7
# The CSV log's columns, PostgreSQL 15 to 17 (the manual's `postgres_log` table), all read as text.
CSVLOG_COLUMNS = (
    "log_time",
    "user_name",
    "database_name",
    "process_id",
    "connection_from",
    "session_id",
    "session_line_num",
    "command_tag",
    "session_start_time",
    "virtual_transaction_id",
    "transaction_id",
    "error_severity",
    "sql_state_code",
    "message",
    "detail",
    "hint",
    "internal_query",
    "internal_query_pos",
    "context",
    "query",
    "query_pos",
    "location",
    "application_name",
    "backend_type",
    "leader_pid",
    "query_id",
)


@dataclass
class LoginRead:
    """What one `ingest` did: `status` ingested / partial (a file could not be read now: it is read
    next time) / skipped (the server or the user cannot provide the log: `reason` says what to change)."""

    status: str
    reason: str | None = None
    files_read: int = 0
    lines_read: int = 0
    logins_added: int = 0
    problems: list[str] = field(default_factory=list)


def ensure(conn: psycopg.Connection) -> None:
    """ops.logins, ops.login_log_files and ops.login_log_reads (privacy/schema.py holds their DDL)."""
    from crm_scoring.privacy import schema

    schema.ensure(conn)


def missing_settings(conn: psycopg.Connection) -> list[str]:
    """The server settings the route needs that are not in force, as `name = wanted (is: now)`."""
    now = dict(
        conn.execute(
            "select name, setting from pg_settings where name = any(%s)", (list(SERVER_SETTINGS),)
        ).fetchall()
    )
    out = []
    for name in ("log_connections", "logging_collector"):
        if now.get(name) != "on":
            out.append(f"{name} = on (is: {now.get(name)})")
    if "csvlog" not in [d.strip() for d in (now.get("log_destination") or "").split(",")]:
        out.append(f"log_destination including csvlog (is: {now.get('log_destination')})")
    return out


def _groups() -> tuple[str, ...]:
    from crm_scoring.lists.roles import GROUPS

    return GROUPS


def _skip(conn: psycopg.Connection, run_date: date | None, reason: str) -> LoginRead:
    log.warning("login audit skipped: %s", reason)
    conn.execute(
        "insert into ops.login_log_reads (run_date, status, reason) values (%s, 'skipped', %s)",
        (run_date, reason),
    )
    return LoginRead("skipped", reason)


def ingest(conn: psycopg.Connection, run_date: date | None = None) -> LoginRead:
    """Read the server's CSV connection log into ops.logins (idempotent); one ops.login_log_reads row.

    Runs in the caller's transaction: the logins, the files' read marks and the read row commit
    together, so a kill in between reads the same files again next time and adds nothing twice."""
    ensure(conn)
    missing = missing_settings(conn)
    if missing:
        return _skip(
            conn,
            run_date,
            "the server does not log connections as CSV: set " + "; ".join(missing)
            + " (docs/privacy.md, Login audit)",
        )  # fmt: skip
    members = conn.execute(
        "select count(*) from pg_roles r join pg_roles g on g.rolname = any(%s)"
        " where r.rolcanlogin and not r.rolsuper and pg_has_role(r.oid, g.oid, 'member')",
        (list(_groups()),),
    ).fetchone()[0]
    if members == 0:
        conn.execute(
            "insert into ops.login_log_reads (run_date, status, reason) values (%s, 'ingested', %s)",
            (run_date, f"no login is a member of {' or '.join(_groups())}: no login to audit"),
        )
        return LoginRead("ingested", "no reader or operator login exists")
    try:
        with conn.transaction():
            files = conn.execute(
                """
                select d.name, d.size, d.modification,
                       current_setting('log_directory') || '/' || d.name as path,
                       d.name = regexp_replace(coalesce(pg_current_logfile('csvlog'), ''), '^.*/', '')
                from pg_ls_logdir() d
                left join ops.login_log_files f on f.file_name = d.name
                where d.name like '%%.csv'
                  and (f.file_name is null or f.bytes_read <> d.size)
                  and (f.file_name is not null
                       or d.modification >= coalesce((select max(modified_at) from ops.login_log_files),
                                                     now() - make_interval(days => %s)))
                order by d.modification, d.name
                """,
                (FIRST_READ_DAYS,),
            ).fetchall()
    except psycopg.errors.InsufficientPrivilege as err:
        return _skip(
            conn,
            run_date,
            f"{conn.info.user} may not list the server's log files ({err.diag.message_primary}):"
            " grant it pg_monitor and pg_read_server_files",
        )
    except psycopg.DatabaseError as err:  # e.g. the collector has not created its directory yet
        why = err.diag.message_primary
        return _skip(conn, run_date, f"the server's log directory cannot be listed: {why}")
    conn.execute(
        sql.SQL("create temporary table if not exists crm_csvlog ({})").format(
            sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in CSVLOG_COLUMNS)
        )
    )
    conn.execute("truncate crm_csvlog")
    result = LoginRead("ingested")
    for name, size, modified, path, current in files:
        loaded = _copy_file(conn, path, retry=current)
        if isinstance(loaded, str):
            result.problems.append(f"{name}: {loaded}")
            continue
        result.files_read += 1
        result.lines_read += loaded
        result.logins_added += conn.execute(
            """
            insert into ops.logins (session_id, db_user, role_group, login_at, database_name, backend_pid,
                                    connection_from, application_name, log_file)
            select l.session_id, l.user_name, min(g.rolname), min(l.log_time::timestamptz), l.database_name,
                   min(l.process_id::integer), min(l.connection_from),
                   min(coalesce(nullif(l.application_name, ''),
                                substring(l.message from 'application_name=(\\S+)'))),
                   %s
            from crm_csvlog l
            join pg_roles r on r.rolname = l.user_name
            join pg_roles g on g.rolname = any(%s) and not r.rolsuper and pg_has_role(r.oid, g.oid, 'member')
            where l.message like 'connection authorized:%%' and l.database_name = current_database()
            group by l.session_id, l.user_name, l.database_name
            on conflict (session_id, db_user) do nothing
            """,
            (name, list(_groups())),
        ).rowcount
        conn.execute(
            "insert into ops.login_log_files (file_name, bytes_read, modified_at) values (%s, %s, %s)"
            " on conflict (file_name) do update set bytes_read = excluded.bytes_read,"
            " modified_at = excluded.modified_at, read_at = now()",
            (name, size, modified),
        )
        conn.execute("truncate crm_csvlog")
    if result.problems:
        result.status, result.reason = "partial", "; ".join(result.problems)
    conn.execute(
        "insert into ops.login_log_reads (run_date, status, reason, files_read, lines_read, logins_added)"
        " values (%s, %s, %s, %s, %s, %s)",
        (run_date, result.status, result.reason, result.files_read, result.lines_read, result.logins_added),
    )
    return result


def _copy_file(conn: psycopg.Connection, path: str, retry: bool) -> int | str:
    """COPY one CSV log file into crm_csvlog; its line count, or why it could not be read now.

    The file the server is writing may end in a line being written: that one is read again after a
    moment, and failing that left for the next read (its read mark is not advanced)."""
    for attempt in range(3 if retry else 1):
        try:
            with conn.transaction():
                return conn.execute(
                    sql.SQL("copy crm_csvlog from {} with (format csv)").format(sql.Literal(path))
                ).rowcount
        except psycopg.errors.InsufficientPrivilege as err:
            why = err.diag.message_primary
            return f"{conn.info.user} may not read it ({why}): grant it pg_read_server_files"
        except (psycopg.errors.BadCopyFileFormat, psycopg.errors.DataException) as err:
            if attempt == 2 or not retry:
                return f"not a complete CSV log ({err.diag.message_primary})"
            time.sleep(0.5)
        except psycopg.DatabaseError as err:  # e.g. removed by the server's log rotation since listed
            return f"cannot be read ({err.diag.message_primary})"
    return "unreadable"
