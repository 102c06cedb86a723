"""Atomic publication of validated candidate lists (lists_build -> lists).

dbt writes candidates to `lists_build`; only after Great Expectations passes does this module
swap a run date's rows into `lists`, in one transaction, so a reader sees yesterday's list or
today's full list, never half of one and never one that failed validation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import psycopg
from psycopg import sql

from crm_scoring import failpoints, partitions, warehouse
from crm_scoring.lists import LIST_NAMES

log = logging.getLogger(__name__)

BUILD_SCHEMA = "lists_build"
PUBLISH_SCHEMA = "lists"


@dataclass(frozen=True)
class PublishResult:
    run_date: date
    rows: dict[str, int]


def table_columns(conn: psycopg.Connection, schema: str, table: str) -> list[tuple[str, str]]:
    """(name, SQL type) of a table's columns in order, from the catalogue (publish and export share it)."""
    rows = conn.execute(
        """
        select a.attname, format_type(a.atttypid, a.atttypmod)
        from pg_attribute a
        join pg_class c on c.oid = a.attrelid
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = %s and c.relname = %s and a.attnum > 0 and not a.attisdropped
        order by a.attnum
        """,
        (schema, table),
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def ensure_publish_schema(conn: psycopg.Connection) -> None:
    conn.execute(f"create schema if not exists {PUBLISH_SCHEMA}")
    conn.execute(
        f"""
        create table if not exists {PUBLISH_SCHEMA}.publication_log (
            run_date date not null,
            list_name text not null,
            row_count bigint not null,
            published_at timestamptz not null default now(),
            primary key (run_date, list_name)
        )
        """
    )


def _sync_table(conn: psycopg.Connection, name: str) -> list[str]:
    """Create the published table from the candidate's shape, adding columns the candidate gained."""
    build_cols = table_columns(conn, BUILD_SCHEMA, name)
    if not build_cols:
        raise RuntimeError(f"{BUILD_SCHEMA}.{name} does not exist: the dbt list models did not run")
    target = sql.Identifier(PUBLISH_SCHEMA, name)
    existing = dict(table_columns(conn, PUBLISH_SCHEMA, name))
    if not existing:
        cols = sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in build_cols
        )
        # partitioned by month of run_date like every per-date table (crm_scoring/partitions.py)
        conn.execute(sql.SQL("create table {} ({}) partition by range (run_date)").format(target, cols))
        conn.execute(sql.SQL("create index on {} (run_date)").format(target))
    else:
        for col, typ in build_cols:
            if col not in existing:
                conn.execute(
                    sql.SQL("alter table {} add column {} {}").format(
                        target, sql.Identifier(col), sql.SQL(typ)
                    )
                )
    conn.execute(
        sql.SQL(
            "create or replace view {} as select * from {} where run_date = (select max(run_date) from {})"
        ).format(sql.Identifier(PUBLISH_SCHEMA, f"{name}_latest"), target, target)
    )
    return [c for c, _ in build_cols]


def publish(run_date: date, url: str | None = None) -> PublishResult:
    """Replace `run_date`'s rows of every list with the validated candidates, atomically."""
    counts: dict[str, int] = {}
    with warehouse.connect(url) as conn:
        ensure_publish_schema(conn)
        for name in LIST_NAMES:
            cols = _sync_table(conn, name)
            col_list = sql.SQL(", ").join(sql.Identifier(c) for c in cols)
            target = sql.Identifier(PUBLISH_SCHEMA, name)
            # the night's month (a plain table of an earlier release is converted in place first)
            partitions.ensure(conn, f"{PUBLISH_SCHEMA}.{name}", run_date)
            conn.execute(sql.SQL("delete from {} where run_date = %s").format(target), (run_date,))
            cur = conn.execute(
                sql.SQL("insert into {} ({}) select {} from {} where run_date = %s").format(
                    target, col_list, col_list, sql.Identifier(BUILD_SCHEMA, name)
                ),
                (run_date,),
            )
            counts[name] = cur.rowcount
            failpoints.hit("publish_lists:inside")  # one list swapped, the transaction still open
            conn.execute(
                f"""
                insert into {PUBLISH_SCHEMA}.publication_log (run_date, list_name, row_count)
                values (%s, %s, %s)
                on conflict (run_date, list_name)
                do update set row_count = excluded.row_count, published_at = now()
                """,
                (run_date, name, counts[name]),
            )
        from crm_scoring.lists.roles import protect_published

        protect_published(conn)  # PS-04: readers' access stays audited (the _latest views were recreated)
    log.info("published lists for %s: %s", run_date, counts)
    return PublishResult(run_date, counts)
