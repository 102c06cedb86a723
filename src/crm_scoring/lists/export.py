"""`crm lists export`: a published list of one run date as CSV, Parquet or Excel for the CRM teams.

CRM tools sort and filter by number and date, so an export keeps the warehouse's types: the Arrow
type of every column is derived from the published table's own catalogue (`pg_attribute`), never
from a hand-written list, because list models gain columns as the rules grow. Rows are read in bulk
with COPY (CSV text) and parsed by Arrow with those types, never row by row.

- Parquet: the Arrow table as it is (date32, int, decimal128(p, s), float64, bool, timestamp[UTC]).
- XLSX: typed cells (dates, numbers, booleans; timestamps in UTC, since Excel has no time zones), a
  frozen header row, column widths from the content, and a `columns` sheet describing every column
  from the dbt docs of the list model (its YAML: the one source of column descriptions).
- CSV: UTF-8 with a header, ISO 8601 dates and timestamps, `.` as the decimal separator,
  booleans `true` / `false` (the landing contract's own conventions).

Hold-out rows (CH-08 control group) are excluded unless asked for: a hold-out customer must never
be contacted.

Formula injection (CSV / XLSX): a text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage
return is run as a formula by Excel, LibreOffice and Google Sheets when the file is opened (OWASP "CSV
injection"); list texts come from the CRM export (campaign ids, trigger details, names), so a hostile
value would reach the CRM team's desktop. Such cells get a leading `'` (the spreadsheet convention for
"this is text"; the apostrophe is shown in a text editor). Only text columns are touched: numbers,
dates and booleans are typed and a negative amount stays a number. Parquet keeps the values unchanged
(it is read by programs, which never evaluate cells).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import yaml
from psycopg import sql

from crm_scoring import settings, warehouse
from crm_scoring.lists.publish import PUBLISH_SCHEMA

LISTS = {"retention": "retention_list", "compensation": "compensation_list"}
FORMATS = ("csv", "parquet", "xlsx")
DESCRIPTION_SHEET = "columns"
MAX_DECIMAL_PRECISION = 38  # decimal128
MIN_WIDTH, MAX_WIDTH = 8, 60  # XLSX column widths, in characters
WIDTH_SAMPLE_ROWS = 1000  # widths are measured on the header and the first rows
# A text cell starting with one of these is evaluated by spreadsheets (see the module docstring).
FORMULA_TRIGGER = r"^[=+\-@\t\r]"
FORMULA_ESCAPE = "'"


@dataclass(frozen=True)
class Column:
    """One column of a published list: its name, warehouse type and Arrow type."""

    name: str
    pg_type: str
    arrow_type: pa.DataType


@dataclass(frozen=True)
class ExportResult:
    path: Path
    rows: int
    columns: list[str]
    sha256: str = ""
    export_id: int | None = None  # the ops.list_exports row (PS-04)


_SIMPLE = {
    "date": pa.date32(),
    "smallint": pa.int16(),
    "integer": pa.int32(),
    "bigint": pa.int64(),
    "real": pa.float32(),
    "double precision": pa.float64(),
    "boolean": pa.bool_(),
    "timestamp with time zone": pa.timestamp("us", tz="UTC"),
    "timestamp without time zone": pa.timestamp("us"),
}
_NUMERIC = re.compile(r"numeric\((\d+),(\d+)\)")


def arrow_type(pg_type: str, scale: int | None = None) -> pa.DataType:
    """The Arrow type of a PostgreSQL type as `format_type` spells it; text for anything else.

    An unconstrained `numeric` has no declared scale: `scale` is the largest one in the data.
    """
    if pg_type in _SIMPLE:
        return _SIMPLE[pg_type]
    m = _NUMERIC.fullmatch(pg_type.replace(" ", ""))
    if m:
        return pa.decimal128(int(m.group(1)), int(m.group(2)))
    if pg_type == "numeric":
        s = min(scale or 0, MAX_DECIMAL_PRECISION // 2)
        return pa.decimal128(MAX_DECIMAL_PRECISION, s)
    return pa.string()


def _catalogue(conn, table: str) -> list[tuple[str, str]]:  # noqa: ANN001 - psycopg connection
    from crm_scoring.lists.publish import table_columns

    return table_columns(conn, PUBLISH_SCHEMA, table)


def _where(run_date: date, include_holdout: bool, names: list[str]) -> sql.Composed:
    where = sql.SQL("run_date = {}").format(sql.Literal(run_date))
    if not include_holdout and "holdout_flag" in names:
        where = sql.SQL("{} and not coalesce(holdout_flag, false)").format(where)
    return where


def _columns(conn, table: str, where: sql.Composed) -> list[Column]:
    cat = _catalogue(conn, table)
    if not cat:
        raise RuntimeError(f"{PUBLISH_SCHEMA}.{table} is not published yet")
    loose = [name for name, t in cat if t == "numeric"]
    scales: dict[str, int | None] = {}
    if loose:  # unconstrained numeric: the scale the data needs
        q = sql.SQL("select {} from {} where {}").format(
            sql.SQL(", ").join(sql.SQL("max(scale({}))").format(sql.Identifier(n)) for n in loose),
            sql.Identifier(PUBLISH_SCHEMA, table),
            where,
        )
        scales = dict(zip(loose, conn.execute(q).fetchone(), strict=True))
    return [Column(name, t, arrow_type(t, scales.get(name))) for name, t in cat]


def read_list(
    run_date: date, list_name: str, include_holdout: bool = False, url: str | None = None
) -> pa.Table:
    """The published rows of `list_name` for `run_date` as a typed Arrow table (COPY -> Arrow CSV)."""
    table = LISTS[list_name]
    with warehouse.connect(url) as conn:
        conn.execute("set timezone to 'UTC'")
        conn.execute("set datestyle to 'ISO, YMD'")
        conn.execute("set extra_float_digits to 3")  # doubles round-trip exactly
        names = [n for n, _ in _catalogue(conn, table)]
        where = _where(run_date, include_holdout, names)
        cols = _columns(conn, table, where)
        order = "priority_rank" if "priority_rank" in names else "customer_id"
        query = sql.SQL("select * from {} where {} order by {}, customer_id").format(
            sql.Identifier(PUBLISH_SCHEMA, table), where, sql.Identifier(order)
        )
        buf = io.BytesIO()
        copy_sql = sql.SQL("copy ({}) to stdout with (format csv, header true)").format(query)
        with conn.cursor().copy(copy_sql) as copy:
            for chunk in copy:
                buf.write(chunk)
    schema = pa.schema([pa.field(c.name, c.arrow_type) for c in cols])
    buf.seek(0)
    opts = pa_csv.ConvertOptions(
        column_types=schema,
        true_values=["t"],
        false_values=["f"],
        strings_can_be_null=True,  # COPY writes NULL as an empty, unquoted field ...
        quoted_strings_can_be_null=False,  # ... and an empty text as "" (kept as '')
    )
    tbl = pa_csv.read_csv(buf, convert_options=opts)
    return tbl.cast(schema)


def column_descriptions(list_name: str) -> dict[str, str]:
    """Column descriptions of the list model, from its dbt YAML (kept complete by the docs-coverage test)."""
    model = LISTS[list_name]
    for path in sorted((settings.dbt_project_dir() / "models").rglob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for m in doc.get("models") or []:
            if m.get("name") == model:
                return {
                    c["name"]: " ".join(str(c.get("description") or "").split())
                    for c in m.get("columns") or []
                }
    return {}


def neutralise_formulas(tbl: pa.Table) -> pa.Table:
    """Text cells a spreadsheet would evaluate as a formula get a leading `'`; other columns unchanged.

    Set-based (Arrow compute on whole columns). Column names are checked too: a header is a cell."""
    cols = []
    for field, col in zip(tbl.schema, tbl.columns, strict=True):
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            hit = pc.match_substring_regex(col, FORMULA_TRIGGER)
            col = pc.if_else(hit, pc.binary_join_element_wise(FORMULA_ESCAPE, col, ""), col)
        cols.append(col)
    names = [FORMULA_ESCAPE + n if re.match(FORMULA_TRIGGER, n) else n for n in tbl.column_names]
    return pa.table(cols, names=names)


def _csv_table(tbl: pa.Table) -> pa.Table:
    """Timestamps as ISO 8601 text (`2026-11-26T03:00:00Z`); everything else as Arrow writes it."""
    cols = []
    for field, col in zip(tbl.schema, tbl.columns, strict=True):
        if pa.types.is_timestamp(field.type):
            suffix = "Z" if field.type.tz else ""
            col = pc.strftime(col, format="%Y-%m-%dT%H:%M:%S" + suffix)
        cols.append(col)
    return pa.table(cols, names=tbl.column_names)


def _excel_column(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """Excel has no time zones: timestamps are written as UTC wall-clock time (said in the columns sheet)."""
    if pa.types.is_timestamp(col.type) and col.type.tz:
        return col.cast(pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us"))
    return col


def _width(values: list, header: str) -> int:
    longest = max([len(header), *(len(str(v)) for v in values if v is not None)])
    return max(MIN_WIDTH, min(MAX_WIDTH, longest + 2))


def _write_xlsx(tbl: pa.Table, out: Path, descriptions: dict[str, str], pg_types: dict[str, str]) -> None:
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("list")
    ws.freeze_panes = "A2"
    cols = [_excel_column(c) for c in tbl.columns]
    sample = [c.slice(0, WIDTH_SAMPLE_ROWS).to_pylist() for c in cols]
    for i, (name, values) in enumerate(zip(tbl.column_names, sample, strict=True), start=1):
        ws.column_dimensions[get_column_letter(i)].width = _width(values, name)
    ws.append(tbl.column_names)
    typed = pa.table(cols, names=tbl.column_names)
    for batch in typed.to_batches(max_chunksize=10_000):
        for row in zip(*(c.to_pylist() for c in batch.columns), strict=True):
            ws.append(list(row))

    doc = wb.create_sheet(DESCRIPTION_SHEET)
    doc.freeze_panes = "A2"
    for letter, width in zip("ABCD", (28, 28, 18, 100), strict=True):
        doc.column_dimensions[letter].width = width
    doc.append(["column", "warehouse type", "file type", "description"])
    for field in tbl.schema:
        ftype = str(field.type)
        if pa.types.is_timestamp(field.type) and field.type.tz:
            ftype = "timestamp (UTC)"
        doc.append([field.name, pg_types.get(field.name, ""), ftype, descriptions.get(field.name, "")])
    wb.save(out)


def export_list(
    run_date: date,
    list_name: str,
    fmt: str,
    out: Path,
    include_holdout: bool = False,
    url: str | None = None,
) -> ExportResult:
    """Write one published list of `run_date` to `out` in `fmt` (csv | parquet | xlsx), typed."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    from crm_scoring.privacy.audit import file_sha256, record_export

    tbl = read_list(run_date, list_name, include_holdout, url)
    out.parent.mkdir(parents=True, exist_ok=True)
    # written beside the target and renamed only once audited: no unaudited (or half-written) export
    tmp = out.with_name(f".{out.name}.partial")
    try:
        if fmt == "csv":
            pa_csv.write_csv(
                _csv_table(neutralise_formulas(tbl)), tmp, pa_csv.WriteOptions(quoting_style="needed")
            )
        elif fmt == "parquet":
            pq.write_table(tbl, tmp)
        else:
            with warehouse.connect(url) as conn:
                pg_types = dict(_catalogue(conn, LISTS[list_name]))
            _write_xlsx(neutralise_formulas(tbl), tmp, column_descriptions(list_name), pg_types)
        with warehouse.connect(url) as conn:  # PS-04: who, when, which list and date, rows, file hash
            export_id = record_export(conn, list_name, run_date, fmt, out, tmp, tbl.num_rows, include_holdout)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return ExportResult(out, tbl.num_rows, tbl.column_names, file_sha256(out), export_id)


def remove_customers(path: Path, fmt: str, customer_ids: set[str]) -> int:
    """Remove the rows of `customer_ids` from an exported list file in place (PS-08 erasure); rows removed.

    Written beside the file and renamed over it, so a crash leaves the old file or the new one. The
    other rows keep their bytes: CSV is read back as text (no type round trip) and written the way
    `export_list` writes it; an id that was escaped against formula injection is matched escaped too.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    wanted = sorted(customer_ids | {FORMULA_ESCAPE + c for c in customer_ids})
    tmp = path.with_name(f".{path.name}.erasing")
    try:
        if fmt == "xlsx":
            removed = _remove_xlsx_rows(path, tmp, set(wanted))
        else:
            if fmt == "csv":
                with open(path, encoding="utf-8", newline="") as fh:
                    names = next(csv.reader(fh))
                opts = pa_csv.ConvertOptions(
                    column_types={n: pa.string() for n in names},
                    strings_can_be_null=True,  # an empty unquoted field stays null, "" stays ''
                    quoted_strings_can_be_null=False,
                )
                parse = pa_csv.ParseOptions(newlines_in_values=True)  # texts may span lines
                tbl = pa_csv.read_csv(path, parse_options=parse, convert_options=opts)
            else:
                tbl = pq.read_table(path)
            ids = tbl.column(
                "customer_id" if "customer_id" in tbl.column_names else FORMULA_ESCAPE + "customer_id"
            )
            drop = pc.is_in(ids, value_set=pa.array(wanted, pa.string()))
            kept = tbl.filter(pc.invert(pc.fill_null(drop, False)))
            removed = tbl.num_rows - kept.num_rows
            if removed:
                if fmt == "csv":
                    pa_csv.write_csv(kept, tmp, pa_csv.WriteOptions(quoting_style="needed"))
                else:
                    pq.write_table(kept, tmp)
        if removed:
            tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return removed


def _remove_xlsx_rows(path: Path, tmp: Path, wanted: set[str]) -> int:
    from openpyxl import load_workbook

    book = load_workbook(path)
    sheet = book["list"]
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    col = header.index("customer_id") + 1
    rows = [r for r in range(sheet.max_row, 1, -1) if sheet.cell(r, col).value in wanted]
    for r in rows:  # bottom up, so the row numbers still to delete do not move
        sheet.delete_rows(r)
    if rows:
        book.save(tmp)
    return len(rows)
