"""DDL of the privacy bookkeeping in `ops` (idempotent; created by whichever step needs it first)."""

from __future__ import annotations

import psycopg

from crm_scoring import warehouse

DDL = [
    "create schema if not exists ops",
    # One row per erased customer: the pseudonym only (the original id is gone with the data).
    """
    create table if not exists ops.erasures (
        pseudonym text primary key,
        request_id text,
        request_source text not null,
        requested_at timestamptz,
        erased_at timestamptz not null default now(),
        erased_by text not null default session_user,
        rows_affected jsonb not null default '{}'::jsonb,
        mlflow_examples_scrubbed integer not null default 0
    )""",
    # Exported list files that held an erased customer: rewritten, or whom to notify (GDPR art. 19).
    # (a warehouse erased in before it existed gains it; checked first: ALTER takes an exclusive lock)
    """
    do $$ begin
        if not exists (select 1 from information_schema.columns where table_schema = 'ops'
                        and table_name = 'erasures' and column_name = 'exported_files') then
            alter table ops.erasures add column exported_files jsonb not null default '[]'::jsonb;
        end if;
    end $$""",
    # PS-04: one row per `crm lists export`.
    """
    create table if not exists ops.list_exports (
        export_id bigint generated always as identity primary key,
        exported_at timestamptz not null default now(),
        db_user text not null default session_user,
        os_user text,
        list_name text not null,
        run_date date not null,
        file_format text not null,
        file_name text not null, -- the absolute path on the exporting host
        row_count bigint not null,
        file_sha256 text not null,
        include_holdout boolean not null
    )""",
    # PS-04: one row per session of a list reader / CRM operator (see privacy.login_audit).
    """
    create table if not exists ops.reader_logins (
        login_id bigint generated always as identity primary key,
        db_user text not null,
        backend_pid integer not null,
        backend_start timestamptz not null,
        client_addr text,
        application_name text,
        first_object text,
        objects_read text[],
        logged_at timestamptz not null default now(),
        unique (db_user, backend_pid, backend_start)
    )""",
    # a warehouse whose audit table predates objects_read (every list the session read, in order)
    """
    do $$ begin
        if not exists (select 1 from information_schema.columns where table_schema = 'ops'
                         and table_name = 'reader_logins' and column_name = 'objects_read') then
            alter table ops.reader_logins add column objects_read text[];
        end if;
    end $$""",
    # PS-04: one row per login of a reader or operator, whether or not the session read anything, from
    # the server's connection log (privacy/logins.py)
    """
    create table if not exists ops.logins (
        session_id text not null,        -- the server log's %c: backend start (hex) . pid
        db_user text not null,
        role_group text not null,        -- crm_list_reader / crm_list_operator at ingestion
        login_at timestamptz not null,   -- the time of the 'connection authorized' line
        database_name text not null,
        backend_pid integer not null,
        connection_from text,            -- host:port, or [local]
        application_name text,
        log_file text not null,
        ingested_at timestamptz not null default now(),
        primary key (session_id, db_user)
    )""",
    # PS-04: how far each server log file was read (a file is read again only when it has grown)
    """
    create table if not exists ops.login_log_files (
        file_name text primary key,
        bytes_read bigint not null,
        modified_at timestamptz not null,
        read_at timestamptz not null default now()
    )""",
    # PS-04: one row per read of the connection log: what it read, or why it read nothing
    """
    create table if not exists ops.login_log_reads (
        read_id bigint generated always as identity primary key,
        run_date date,
        read_at timestamptz not null default now(),
        status text not null check (status in ('ingested', 'partial', 'skipped')),
        reason text,
        files_read integer not null default 0,
        lines_read bigint not null default 0,
        logins_added integer not null default 0
    )""",
    # PS-08: the outcome of every data-subject request of dsr_requests.csv (privacy/dsr.py).
    """
    create table if not exists ops.dsr_outcomes (
        request_id text primary key,
        request_type text not null,
        export_date date not null,
        requested_at timestamptz,
        outcome text not null,
        reason text,
        decided_at timestamptz not null default now()
    )""",
    # PS-09: what each nightly purge removed.
    """
    create table if not exists ops.retention_purges (
        run_date date not null,
        target text not null,
        cutoff timestamptz not null,
        rows_purged bigint not null,
        purged_at timestamptz not null default now(),
        primary key (run_date, target)
    )""",
]


def ensure(conn: psycopg.Connection) -> None:
    warehouse.run_ddl(conn, *DDL)
