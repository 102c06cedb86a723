"""What a report section is made of, and the warehouse helpers every section query shares.

A section is a list of panels (key figures, a table, a chart, or a "not measured" notice), so the
template stays one generic loop and each section module only says which query feeds which panel.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row


@dataclass
class Panel:
    title: str
    kind: str  # kpis | table | chart | missing | note
    kpis: list[tuple[str, str]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[list[tuple[str, bool]]] = field(default_factory=list)  # (text, is a number)
    image: str | None = None
    note: str = ""


@dataclass
class Section:
    id: str
    title: str
    rules: str
    panels: list[Panel] = field(default_factory=list)


def exists(conn: psycopg.Connection, relation: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (relation,)).fetchone()[0]


def query(conn: psycopg.Connection, sql: str, params: tuple | dict = ()) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql, params).fetchall()  # type: ignore[arg-type]


def missing(title: str, relation: str, run_date: date, why: str = "") -> Panel:
    """The panel shown when a mart is absent or has no row for the date: never a silent blank."""
    reason = why.replace("the mart", f"`{relation}`") if why else f"`{relation}` has no rows for this date"
    return Panel(title=title, kind="missing", note=f"Not measured for {run_date}: {reason}.")


def not_built(title: str, relation: str, run_date: date) -> Panel:
    """The notice for a relation this warehouse has not built yet (a fresh one, a mart of a later issue)."""
    return missing(title, relation, run_date, f"`{relation}` does not exist in this warehouse yet")


PanelBuilder = Callable[[psycopg.Connection, date], list[Panel]]
TitledBuilder = Callable[[psycopg.Connection, date, str], list[Panel]]


def needs(title: str, *relations: str) -> Callable[[TitledBuilder], PanelBuilder]:
    """Declares a panel builder's title and the relations it reads; the check every panel starts with.

    While one of `relations` does not exist yet the panel is the `not_built` notice naming the first
    missing one, so a section says why it is empty instead of failing. Written once here rather than at
    the top of every builder; the builder gets its title as its third argument.
    """

    def wrap(build: TitledBuilder) -> PanelBuilder:
        @functools.wraps(build)
        def builder(conn: psycopg.Connection, run_date: date) -> list[Panel]:
            for relation in relations:
                if not exists(conn, relation):
                    return [not_built(title, relation, run_date)]
            return build(conn, run_date, title)

        return builder

    return wrap


@dataclass(frozen=True)
class SectionSpec:
    """A report section as data: its heading and its panel builders, in order.

    A section module ends with `section = SectionSpec(...)`; calling it (`section(conn, run_date)`)
    builds the Section. One place assembles panels, so each module only writes its builders.
    """

    id: str
    title: str
    rules: str
    builders: tuple[PanelBuilder, ...]

    def __call__(self, conn: psycopg.Connection, run_date: date) -> Section:
        return Section(self.id, self.title, self.rules, [p for b in self.builders for p in b(conn, run_date)])


def rows_or_missing(
    conn: psycopg.Connection, relation: str, run_date: date, title: str, date_column: str = "run_date"
) -> list[dict[str, Any]] | Panel:
    """Rows of `relation` for the run date, or the notice saying why there are none."""
    if not exists(conn, relation):
        return not_built(title, relation, run_date)
    rows = query(conn, f"select * from {relation} where {date_column} = %s", (run_date,))
    return rows if rows else missing(title, relation, run_date)


def fmt(value: Any) -> str:
    """One deterministic text form per value type (no locale, fixed decimals)."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float | Decimal):
        v = float(value)
        if v != v:  # NaN
            return "–"
        if v == int(v) and abs(v) >= 1:
            return f"{int(v):,}"
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.3g}" if abs(v) < 1 else f"{v:,.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def pct(value: Any) -> str:
    return "–" if value is None else f"{float(value):.1%}"


def _numeric(value: Any) -> bool:
    """Right-aligned, unwrapped in tables: numbers and dates, never text that starts with a digit."""
    return isinstance(value, int | float | Decimal | date) and not isinstance(value, bool)


def key_figures(*kpis: tuple[str, str]) -> Panel:
    """The "Key figures" panel of a section: (label, formatted value) pairs in the order given."""
    return Panel("Key figures", "kpis", kpis=list(kpis))


def table(title: str, rows: list[dict[str, Any]], columns: list[str] | None = None, note: str = "") -> Panel:
    columns = columns or (list(rows[0].keys()) if rows else [])
    return Panel(
        title=title,
        kind="table",
        columns=columns,
        rows=[[(fmt(r.get(c)), _numeric(r.get(c))) for c in columns] for r in rows],
        note=note,
    )
