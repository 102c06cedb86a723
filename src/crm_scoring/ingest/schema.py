"""DDL of the `raw` and `ops` schemas the loader writes to (idempotent)."""

from __future__ import annotations

import psycopg

from crm_scoring import contract, warehouse

LOAD_STATUSES = ("loaded", "missing", "failed")

OPS_DDL = [
    "create schema if not exists raw",
    "create schema if not exists ops",
    """
    create table if not exists ops.load_audit (
        export_date date not null,
        table_name text not null,
        source_file text,
        status text not null check (status in ('loaded', 'missing', 'failed')),
        rows_read bigint not null default 0,
        rows_loaded bigint not null default 0,
        rows_quarantined bigint not null default 0,
        extra_columns text[] not null default '{}',
        sha256 text,
        loaded_at timestamptz not null default now(),
        primary key (export_date, table_name),
        constraint load_audit_balances check (rows_read = rows_loaded + rows_quarantined)
    )""",
    """
    create table if not exists ops.quarantine (
        export_date date not null,
        table_name text not null,
        source_file text not null,
        line_no bigint,
        raw_record jsonb not null,
        reason text not null,
        quarantined_at timestamptz not null default now()
    )""",
    "create index if not exists quarantine_date_table_idx on ops.quarantine (export_date, table_name)",
]

# `ops.ingest_input_ok(value, type)`: would `value::type` succeed? PostgreSQL 16 has a C function for it;
# on 15 a plpgsql fallback pays a subtransaction per call, so the validation SQL only calls it for
# values a strict regex cannot already vouch for (e.g. day 29-31, unusual offsets).
INPUT_OK_PG16 = """
create or replace function ops.ingest_input_ok(v text, typ text) returns boolean
language sql stable parallel safe as $$ select pg_input_is_valid(v, typ) $$"""

INPUT_OK_PG15 = """
create or replace function ops.ingest_input_ok(v text, typ text) returns boolean
language plpgsql stable parallel safe as $$
begin
    if typ = 'timestamptz' then perform v::timestamptz;
    elsif typ = 'date' then perform v::date;
    else raise exception 'ops.ingest_input_ok: unsupported type %', typ;
    end if;
    return true;
exception when others then
    return false;
end $$"""


def server_major(conn: psycopg.Connection) -> int:
    return conn.info.server_version // 10000


def ensure_schema(conn: psycopg.Connection) -> None:
    """Create schemas `raw` and `ops`, every raw table and the ops tables; safe to run every time."""
    with conn.transaction():  # a savepoint when the caller already has a transaction open
        # Serialise concurrent first runs: `create ... if not exists` is not race-free in PostgreSQL.
        conn.execute("select pg_advisory_xact_lock(hashtext('crm_scoring.ingest.ensure_schema'))")
        warehouse.run_ddl(conn, *OPS_DDL)
        conn.execute(INPUT_OK_PG16 if server_major(conn) >= 16 else INPUT_OK_PG15)
        for table in contract.TABLES.values():
            warehouse.run_ddl(conn, *(s for s in contract.raw_table_ddl(table).split(";") if s.strip()))
