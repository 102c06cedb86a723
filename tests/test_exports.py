"""Typed list exports (issue 9): each format read back keeps the warehouse types and the row count.

A small published `lists.retention_list` is created by hand in a throw-away database with the column
types the list models use (date, integer, numeric(p, s), unconstrained numeric, double, boolean,
timestamptz, text): the export derives its types from the table itself, so any list shape works.
The same checks run on the real published list in tests/test_uplift.py.
"""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from crm_scoring.lists.export import DESCRIPTION_SHEET, arrow_type, column_descriptions, export_list

D1 = date(2026, 11, 26)
EXPECTED = {
    "run_date": pa.date32(),
    "customer_id": pa.string(),
    "rule_code": pa.string(),
    "priority_rank": pa.int32(),
    "churn_probability": pa.float64(),
    "expected_value_at_risk": pa.decimal128(18, 2),
    "holdout_share": pa.decimal128(6, 4),
    "clv_estimate": pa.decimal128(38, 3),  # unconstrained numeric: the data's largest scale
    "holdout_flag": pa.bool_(),
    "trigger_detail": pa.string(),
    "due_by": pa.date32(),
    "consent_status_ts": pa.timestamp("us", tz="UTC"),
    "team_position": pa.int64(),
}
ROWS = [
    (D1, "c001", "RL-01", 2, 0.0098765432109876, "1234.50", "0.1000", "12.345", False,
     'Wiederkehr, "Kunde" ä\nzweite Zeile', D1, "2026-11-25T10:11:12.5Z", 7),
    (D1, "c002", "RL-17", 1, 0.5, "0.00", "0.1000", None, False, "", None, None, None),
    (D1, "c003", "RL-01", 3, 1e-20, None, "0.1000", "1", True, None, D1, "2026-11-20T00:00:00Z", 1),
    (date(2026, 11, 25), "c001", "RL-01", 1, 0.2, "5.00", "0.1000", "2", False, "old", None, None, 1),
]  # fmt: skip
CONTACTABLE = 2  # D1 rows without the hold-out


@pytest.fixture
def published(fresh_db: str) -> str:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("create schema lists")
        conn.execute(
            "create table lists.retention_list (run_date date, customer_id text, rule_code text,"
            " priority_rank integer, churn_probability double precision,"
            " expected_value_at_risk numeric(18, 2), holdout_share numeric(6, 4), clv_estimate numeric,"
            " holdout_flag boolean, trigger_detail text, due_by date, consent_status_ts timestamptz,"
            " team_position bigint)"
        )
        with conn.cursor().copy("copy lists.retention_list from stdin") as cp:
            for row in ROWS:
                cp.write_row(row)
    return fresh_db


def test_arrow_type_mapping() -> None:
    assert arrow_type("numeric(18,2)") == pa.decimal128(18, 2)
    assert arrow_type("numeric", scale=4) == pa.decimal128(38, 4)
    assert arrow_type("timestamp with time zone") == pa.timestamp("us", tz="UTC")
    assert arrow_type("character varying(20)") == pa.string()
    assert arrow_type("text[]") == pa.string()


def test_parquet_keeps_warehouse_types(published: str, tmp_path: Path) -> None:
    out = tmp_path / "list.parquet"
    result = export_list(D1, "retention", "parquet", out, url=published)
    tbl = pq.read_table(out)
    assert result.rows == tbl.num_rows == CONTACTABLE
    assert {f.name: f.type for f in tbl.schema} == EXPECTED
    first = tbl.to_pylist()[0]  # ordered by priority_rank
    assert first["customer_id"] == "c002" and first["trigger_detail"] == "" and first["due_by"] is None
    second = tbl.to_pylist()[1]
    assert second["expected_value_at_risk"] == Decimal("1234.50")
    assert second["churn_probability"] == 0.0098765432109876  # doubles round-trip exactly
    assert second["consent_status_ts"] == datetime(2026, 11, 25, 10, 11, 12, 500000, tzinfo=UTC)
    assert second["trigger_detail"].endswith("ä\nzweite Zeile") and second["holdout_flag"] is False
    everyone = export_list(
        D1, "retention", "parquet", tmp_path / "all.parquet", include_holdout=True, url=published
    )
    assert everyone.rows == 3


def test_csv_iso_dates_dot_decimals_utf8(published: str, tmp_path: Path) -> None:
    out = tmp_path / "list.csv"
    export_list(D1, "retention", "csv", out, url=published)
    with out.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == CONTACTABLE and list(rows[0]) == list(EXPECTED)
    r = rows[1]
    assert r["run_date"] == "2026-11-26" and r["due_by"] == "2026-11-26"
    assert r["expected_value_at_risk"] == "1234.50" and r["holdout_share"] == "0.1000"
    assert float(r["churn_probability"]) == 0.0098765432109876
    assert r["holdout_flag"] == "false" and r["priority_rank"] == "2"
    assert r["consent_status_ts"] == "2026-11-25T10:11:12.500000Z"
    assert r["trigger_detail"] == 'Wiederkehr, "Kunde" ä\nzweite Zeile'


def test_xlsx_typed_cells_frozen_header_widths_and_column_docs(published: str, tmp_path: Path) -> None:
    out = tmp_path / "list.xlsx"
    export_list(D1, "retention", "xlsx", out, url=published)
    wb = load_workbook(out)
    ws = wb["list"]
    assert ws.freeze_panes == "A2"
    assert ws.max_row == CONTACTABLE + 1
    header = [c.value for c in ws[1]]
    assert header == list(EXPECTED)
    row = {h: c.value for h, c in zip(header, ws[3], strict=True)}
    assert row["run_date"] == datetime(2026, 11, 26) and ws.cell(3, 1).is_date
    assert row["priority_rank"] == 2 and isinstance(row["priority_rank"], int)
    assert row["churn_probability"] == pytest.approx(0.0098765432109876)
    assert row["expected_value_at_risk"] == pytest.approx(1234.5)
    assert row["holdout_flag"] is False
    assert row["consent_status_ts"] == datetime(2026, 11, 25, 10, 11, 12, 500000)  # UTC wall clock
    widths = {k: d.width for k, d in ws.column_dimensions.items()}
    assert widths["A"] >= 10 and widths["J"] > widths["A"] and all(8 <= w <= 60 for w in widths.values())

    doc = wb[DESCRIPTION_SHEET]
    described = {r[0]: r for r in doc.iter_rows(min_row=2, values_only=True)}
    assert list(described) == list(EXPECTED)
    dbt_docs = column_descriptions("retention")
    assert dbt_docs, "the retention_list model's YAML was not found"
    for name, (_, pg_type, _, text) in described.items():
        assert pg_type
        if name in dbt_docs:  # columns the real model has: described from its dbt docs
            assert text == dbt_docs[name] and text
    assert described["consent_status_ts"][2] == "timestamp (UTC)"
