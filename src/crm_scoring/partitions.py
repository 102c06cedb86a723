"""Monthly partitions of the per-date tables, for the Python writers and the nightly retention.

The DDL itself is one set of PL/pgSQL functions kept in dbt_project/macros/partitions.sql (dbt's
on-run-start installs them for the dbt-built tables; this module installs the same text for the tables
Python writes), so a month is created, and a plain table converted in place, by one code path whoever
writes first. See that file for the layout (schema `partitions`, <schema>__<table>__pYYYYMM) and
docs/scaling.md for why.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from functools import cache

import psycopg
from psycopg import sql

from crm_scoring import settings

SCHEMA = "partitions"
_MACRO = "partitions.sql"
_BODY = re.compile(r"\{% macro partition_functions\(\) -%\}\n(.*?)\{%- endmacro %\}", re.S)
_BOUNDS = re.compile(r"FOR VALUES FROM \('(\d{4}-\d{2}-\d{2})'\) TO \('(\d{4}-\d{2}-\d{2})'\)")
_MARKER = "ops.crm_partition_month(text,text,date)"


@dataclass(frozen=True)
class Partition:
    """One partition of a parent: `lower`/`upper` bound its run dates (upper exclusive); both are None
    for the DEFAULT partition."""

    name: str
    lower: date | None
    upper: date | None

    @property
    def is_default(self) -> bool:
        return self.lower is None


@cache
def functions_sql() -> str:
    """The body of the `partition_functions` macro: plain SQL, executed as it stands."""
    text = (settings.dbt_project_dir() / "macros" / _MACRO).read_text(encoding="utf-8")
    match = _BODY.search(text)
    if match is None:
        raise RuntimeError(f"macros/{_MACRO}: macro partition_functions() not found")
    return match.group(1)


def _version() -> str:
    return "crm_scoring.partitions " + hashlib.sha256(functions_sql().encode()).hexdigest()[:16]


def install(conn: psycopg.Connection) -> None:
    """Install (or replace) the partition functions unless this version is already there: checked first,
    so a night's writers do not rewrite the catalogue (and queue behind each other) for nothing."""
    current = conn.execute("select obj_description(to_regprocedure(%s), 'pg_proc')", (_MARKER,)).fetchone()[0]
    if current == _version():
        return
    conn.execute(functions_sql())
    conn.execute(sql.SQL("comment on function {} is {}").format(sql.SQL(_MARKER), sql.Literal(_version())))


def setup(conn: psycopg.Connection) -> int:
    """What dbt's on-run-start does after the source DDL (macro `partition_setup`): the functions, and the
    DEFAULT partition of every parent partitioned by run_date that lacks one; parents given one."""
    install(conn)
    return conn.execute("select ops.crm_partition_defaults()").fetchone()[0]


def ensure(conn: object, table: str, day: date | None = None) -> None:
    """`table` ("schema.name") partitioned by month of run_date, with its DEFAULT partition and, given
    `day`, the partition of `day`'s month; a plain table is converted in place first.

    Called from the writers' `ensure_*` DDL functions, which `crm generate` also runs against a recorder
    to generate the source DDL (codegen/source_tables.py). That file cannot hold PL/pgSQL (it is split on
    semicolons) and needs none: dbt's on-run-start installs the functions itself. So only a real
    connection does anything here."""
    if not isinstance(conn, psycopg.Connection):
        return
    install(conn)
    schema, name = table.split(".")
    conn.execute("select ops.crm_partition_month(%s, %s, %s)", (schema, name, day))


def partitions_of(conn: psycopg.Connection, table: str) -> list[Partition] | None:
    """The partitions of `table`, oldest first, DEFAULT last; None when it is not partitioned."""
    schema, name = table.split(".")
    kind = conn.execute(
        "select c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = %s and c.relname = %s",
        (schema, name),
    ).fetchone()
    if kind is None or kind[0] != "p":
        return None
    rows = conn.execute(
        "select n.nspname, c.relname, pg_get_expr(c.relpartbound, c.oid) from pg_inherits i"
        " join pg_class c on c.oid = i.inhrelid join pg_namespace n on n.oid = c.relnamespace"
        " where i.inhparent = to_regclass(%s)",
        (f'"{schema}"."{name}"',),
    ).fetchall()
    out = []
    for part_schema, part_name, bound in rows:
        match = _BOUNDS.fullmatch(bound)
        lower = upper = None
        if match:
            lower, upper = date.fromisoformat(match.group(1)), date.fromisoformat(match.group(2))
        elif bound != "DEFAULT":
            raise RuntimeError(f"{table}: partition {part_name} has unexpected bounds {bound!r}")
        out.append(Partition(f"{part_schema}.{part_name}", lower, upper))
    return sorted(out, key=lambda p: (p.lower is None, p.lower or date.min))


def drop_before(conn: psycopg.Connection, table: str, cutoff: date) -> tuple[list[str], int]:
    """Drop the partitions of `table` whose every run date is before `cutoff` (upper bound <= cutoff):
    whole months, O(1) each, no dead tuples. Returns the partitions dropped and the rows they held
    (counted before the drop, for the audit row)."""
    dropped, rows = [], 0
    for part in partitions_of(conn, table) or []:
        if part.upper is None or part.upper > cutoff:
            continue
        ident = sql.Identifier(*part.name.split("."))
        rows += conn.execute(sql.SQL("select count(*) from {}").format(ident)).fetchone()[0]
        conn.execute(sql.SQL("drop table {}").format(ident))
        dropped.append(part.name)
    return dropped, rows
