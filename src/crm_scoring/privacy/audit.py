"""The audit of who read and who exported which list (PS-04).

Exports: `crm lists export` writes the file, hashes it (SHA-256) and records who (database session user
and OS user), when, which list and run date, the format, the row count and the hash through
`ops.record_list_export(...)`, a SECURITY DEFINER function: operators may call it but can neither read
nor alter `ops`. When the row cannot be written the file is removed and the export fails: no unaudited
export.

Reader reads (logins themselves, also those that read nothing, come from the server's connection log:
privacy/logins.py, ops.logins): every table of schema `lists` has row-level security with
one SELECT policy for the reader and operator groups, `using ((select ops.audit_reader_session(...)))`.
The function (SECURITY DEFINER) writes one `ops.reader_logins` row per backend session (user, backend
start = login time, client address, application, first object read, and `objects_read`: every list table
the session read, in the order first read) and returns true; it is an init-plan, so it runs once per
query, and the unique key makes it one row per session (a list already in `objects_read` changes
nothing). It cannot be skipped from the client: the `_latest` views are `security_invoker`, so they go
through the same policy. A session that only connects and reads nothing is not recorded here (it has
seen no data; its login is in ops.logins). In a read-only transaction the audit row cannot be written
and the read fails (fail closed).
"""

from __future__ import annotations

import getpass
import hashlib
from datetime import date
from pathlib import Path

import psycopg
from psycopg import sql

from crm_scoring.privacy import schema

AUDIT_FUNCTIONS = """
create or replace function ops.audit_reader_session(object_name text) returns boolean
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    started timestamptz;
begin
    select backend_start into started from pg_stat_activity where pid = pg_backend_pid();
    insert into ops.reader_logins as l (db_user, backend_pid, backend_start, client_addr, application_name,
                                        first_object, objects_read)
    select session_user, pg_backend_pid(), coalesce(started, now()), a.client_addr::text,
           a.application_name, object_name, array[object_name]
      from (select 1) as one
      left join pg_stat_activity as a on a.pid = pg_backend_pid()
    on conflict (db_user, backend_pid, backend_start) do update
        set objects_read = coalesce(l.objects_read, array[l.first_object]) || excluded.first_object
      where not (excluded.first_object = any(coalesce(l.objects_read, array[l.first_object])));
    return true;
end
$$;

create or replace function ops.record_list_export(
    p_list_name text, p_run_date date, p_format text, p_file_name text, p_row_count bigint,
    p_file_sha256 text, p_include_holdout boolean, p_os_user text
) returns bigint
language sql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
    insert into ops.list_exports (db_user, os_user, list_name, run_date, file_format, file_name, row_count,
                                  file_sha256, include_holdout)
    values (session_user, p_os_user, p_list_name, p_run_date, p_format, p_file_name, p_row_count,
            p_file_sha256, p_include_holdout)
    returning export_id
$$;

revoke all on function ops.audit_reader_session(text) from public;
revoke all on function ops.record_list_export(text, date, text, text, bigint, text, boolean, text)
    from public;
"""
POLICY = "crm_audited_read"


def ensure_audit_objects(conn: psycopg.Connection) -> None:
    """Audit tables and functions (idempotent); needs the pipeline owner."""
    schema.ensure(conn)
    conn.execute(AUDIT_FUNCTIONS)


def protect_lists(conn: psycopg.Connection, groups: list[str], lists_schema: str = "lists") -> list[str]:
    """Row-level security on every table of `lists_schema`: `groups` read only through the audit policy,
    and the `_latest` views run as the invoker so they cannot bypass it. Idempotent; tables touched."""
    existing = [
        g for g in groups if conn.execute("select 1 from pg_roles where rolname = %s", (g,)).fetchone()
    ]
    if not existing:
        return []
    ensure_audit_objects(conn)
    tables = [
        r[0]
        for r in conn.execute(
            "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = %s and c.relkind in ('r', 'p') order by 1",
            (lists_schema,),
        ).fetchall()
    ]
    views = [
        r[0]
        for r in conn.execute(
            "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = %s and c.relkind = 'v' order by 1",
            (lists_schema,),
        ).fetchall()
    ]
    roles = sql.SQL(", ").join(sql.Identifier(g) for g in existing)
    for g in existing:
        # ops belongs to the owner role in a least-privilege warehouse (docker/init-warehouse.sql), which
        # granted this already; the runtime user could not grant it again (PostgreSQL would warn)
        if not conn.execute("select has_schema_privilege(%s, 'ops', 'USAGE')", (g,)).fetchone()[0]:
            conn.execute(sql.SQL("grant usage on schema ops to {}").format(sql.Identifier(g)))
        conn.execute(
            sql.SQL("grant execute on function ops.audit_reader_session(text) to {}").format(
                sql.Identifier(g)
            )
        )
    in_place = {
        r[0]
        for r in conn.execute(
            "select p.tablename from pg_policies p join pg_class c on c.relname = p.tablename"
            " join pg_namespace n on n.oid = c.relnamespace and n.nspname = p.schemaname"
            " where p.schemaname = %s and p.policyname = %s and c.relrowsecurity"
            " and p.roles::text[] @> %s::text[] and p.roles::text[] <@ %s::text[]",
            (lists_schema, POLICY, existing, existing),
        ).fetchall()
    }
    for t in tables:
        if t in in_place:  # no DDL (and no exclusive lock) when the policy is already as wanted
            continue
        target = sql.Identifier(lists_schema, t)
        conn.execute(sql.SQL("alter table {} enable row level security").format(target))
        conn.execute(sql.SQL("drop policy if exists {} on {}").format(sql.Identifier(POLICY), target))
        conn.execute(
            sql.SQL(
                "create policy {} on {} for select to {} using ((select ops.audit_reader_session({})))"
            ).format(sql.Identifier(POLICY), target, roles, sql.Literal(f"{lists_schema}.{t}"))
        )
    invoker = {
        r[0]
        for r in conn.execute(
            "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = %s and c.relkind = 'v' and 'security_invoker=true' = any(c.reloptions)",
            (lists_schema,),
        ).fetchall()
    }
    for v in views:
        if v in invoker:
            continue
        conn.execute(
            sql.SQL("alter view {} set (security_invoker = true)").format(sql.Identifier(lists_schema, v))
        )
    return tables


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def record_export(
    conn: psycopg.Connection,
    list_name: str,
    run_date: date,
    fmt: str,
    path: Path,
    written: Path,
    rows: int,
    include_holdout: bool,
) -> int:
    """One ops.list_exports row for the file `written` (to be delivered as `path`); its export_id.

    The absolute path is recorded, so an erasure can find the copy and rewrite it (erasure.py)."""
    if conn.execute("select to_regproc('ops.record_list_export') is null").fetchone()[0]:
        ensure_audit_objects(conn)  # first export on a fresh warehouse, as the pipeline owner
    return conn.execute(
        "select ops.record_list_export(%s, %s, %s, %s, %s, %s, %s, %s)",
        (
            list_name,
            run_date,
            fmt,
            str(path.resolve()),
            rows,
            file_sha256(written),
            include_holdout,
            getpass.getuser(),
        ),
    ).fetchone()[0]
