"""`crm lists export`: a published list of one run date as CSV, Parquet or Excel for the CRM teams.

Rows are read in bulk with COPY (CSV text) and parsed by Arrow, never row by row. Hold-out rows (CH-08
control group) are excluded unless asked for: a hold-out customer must never be contacted.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from psycopg import sql

from crm_scoring import warehouse
from crm_scoring.lists.publish import PUBLISH_SCHEMA

LISTS = {"retention": "retention_list", "compensation": "compensation_list"}
FORMATS = ("csv", "parquet", "xlsx")


@dataclass(frozen=True)
class ExportResult:
    path: Path
    rows: int
    columns: list[str]


def _query(table: str, run_date: date, include_holdout: bool, columns: list[str]) -> sql.Composed:
    where = sql.SQL("run_date = {}").format(sql.Literal(run_date))
    if not include_holdout and "holdout_flag" in columns:
        where = sql.SQL("{} and not coalesce(holdout_flag, false)").format(where)
    order = "priority_rank" if "priority_rank" in columns else "customer_id"
    return sql.SQL("select * from {} where {} order by {}, customer_id").format(
        sql.Identifier(PUBLISH_SCHEMA, table), where, sql.Identifier(order)
    )


def read_list(
    run_date: date, list_name: str, include_holdout: bool = False, url: str | None = None
) -> pa.Table:
    """The published rows of `list_name` for `run_date` as an Arrow table (COPY -> Arrow CSV reader)."""
    table = LISTS[list_name]
    with warehouse.connect(url) as conn:
        cols = [
            r[0]
            for r in conn.execute(
                "select column_name from information_schema.columns where table_schema = %s "
                "and table_name = %s order by ordinal_position",
                (PUBLISH_SCHEMA, table),
            ).fetchall()
        ]
        if not cols:
            raise RuntimeError(f"{PUBLISH_SCHEMA}.{table} is not published yet")
        query = _query(table, run_date, include_holdout, cols)
        buf = io.BytesIO()
        copy_sql = sql.SQL("copy ({}) to stdout with (format csv, header true)").format(query)
        with conn.cursor().copy(copy_sql) as copy:
            for chunk in copy:
                buf.write(chunk)
    if buf.tell() == 0:
        return pa.table({c: pa.array([], pa.string()) for c in cols})
    buf.seek(0)
    # Every column as text: ids like '007' keep their zeros and the file shows what the table holds.
    opts = pa_csv.ConvertOptions(column_types={c: pa.string() for c in cols}, strings_can_be_null=True)
    return pa_csv.read_csv(buf, convert_options=opts)


def _write_xlsx(tbl: pa.Table, out: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("list")
    ws.append(tbl.column_names)
    for batch in tbl.to_batches(max_chunksize=10_000):
        for row in zip(*(col.to_pylist() for col in batch.columns), strict=True):
            ws.append(list(row))
    wb.save(out)


def export_list(
    run_date: date,
    list_name: str,
    fmt: str,
    out: Path,
    include_holdout: bool = False,
    url: str | None = None,
) -> ExportResult:
    """Write one published list of `run_date` to `out` in `fmt` (csv | parquet | xlsx)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    tbl = read_list(run_date, list_name, include_holdout, url)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        pa_csv.write_csv(tbl, out)
    elif fmt == "parquet":
        pq.write_table(tbl, out)
    else:
        _write_xlsx(tbl, out)
    return ExportResult(out, tbl.num_rows, tbl.column_names)
