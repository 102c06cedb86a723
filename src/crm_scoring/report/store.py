"""`ops.daily_reports`: the rendered HTML of every run date, kept in the warehouse beside the lists.

Why the warehouse rather than an MLflow artifact: the report is a view of the warehouse for CRM leads,
who already have (read) access there and not to MLflow; it is keyed by run date like every mart, a rerun
replaces its row in the same transaction style as the lists, and `sha256` lets anyone check that the file
on disk is the stored one. `rendered_at` is bookkeeping only; it never enters the HTML.
"""

from __future__ import annotations

from datetime import date

import psycopg

from crm_scoring import warehouse

DDL = (
    "create schema if not exists ops",
    """create table if not exists ops.daily_reports (
        run_date date primary key,
        html text not null,
        sha256 text not null check (length(sha256) = 64),
        bytes integer not null,
        rendered_at timestamptz not null default now()
    )""",
)


def save(conn: psycopg.Connection, run_date: date, html: str, sha256: str) -> None:
    warehouse.run_ddl(conn, *DDL)
    conn.execute(
        """insert into ops.daily_reports (run_date, html, sha256, bytes) values (%s, %s, %s, %s)
           on conflict (run_date) do update
           set html = excluded.html, sha256 = excluded.sha256, bytes = excluded.bytes, rendered_at = now()""",
        (run_date, html, sha256, len(html.encode("utf-8"))),
    )


def load(conn: psycopg.Connection, run_date: date) -> tuple[str, str] | None:
    """(html, sha256) stored for the run date, or None."""
    if not conn.execute("select to_regclass('ops.daily_reports') is not null").fetchone()[0]:
        return None
    row = conn.execute(
        "select html, sha256 from ops.daily_reports where run_date = %s", (run_date,)
    ).fetchone()
    return (row[0], row[1]) if row else None
