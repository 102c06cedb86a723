"""`crm evaluate log`: any transaction log in the real-data benchmark's protocol (benchmark/translog.py).

Pure logic on small files (the whole benchmark on a log runs in tests/test_benchmark_real_e2e.py): the
mapping (orders from line items, returns left out and counted), bad rows named by file, row and reason,
and the as-of dates the log can label.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from crm_scoring.benchmark import cdnow, translog
from crm_scoring.benchmark.real import AsOfError, run_as_of

# the column names of an online-retail invoice-line export (UCI Online Retail II style)
RETAIL_COLUMNS = {
    "customer_col": "Customer ID",
    "date_col": "InvoiceDate",
    "amount_col": "Total",
    "order_col": "Invoice",
}


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_line_items_become_orders_and_returns_are_left_out(tmp_path: Path) -> None:
    log = _write(
        tmp_path / "retail.csv",
        "Invoice;Customer ID;InvoiceDate;Total\n"
        "536365;17850;2010-12-01 08:26:00;15.30\n"
        "536365;17850;2010-12-01 08:26:00;20.34\n"
        "C536379;17850;2010-12-01 09:41:00;-27.50\n"
        "536520; 12431 ;2010-12-01 12:43:00;2.10\n"
        "536600;17850;2010-12-09 10:00:00;0\n",
    )
    tx = translog.load_log(log, **RETAIL_COLUMNS, sep=";")
    rows = tx.frame.to_dict("records")
    assert [(r["customer_id"], r["order_date"], round(r["amount"], 2), r["line_no"]) for r in rows] == [
        ("12431", date(2010, 12, 1), 2.10, 1),
        ("17850", date(2010, 12, 1), 35.64, 1),
        ("17850", date(2010, 12, 9), 0.0, 2),
    ]
    assert tx.variant == "retail" and tx.max_as_of is None
    assert tx.notes == {
        "rows": 5,
        "quarantined_rows": 0,
        "quarantine_file": None,
        "orders": 4,
        "negative_orders_left_out": 1,
        "order_col": "Invoice",
        "quantity_col": None,
    }
    source = translog.source(tx)
    assert source["negative_orders_left_out"] == 1 and len(source["sha256"]) == 64
    # the export follows the landing contract: net_amount >= 0, one folder per side of the as-of date
    a, r = cdnow.write_landing(tx, tmp_path / "landing", date(2010, 12, 1), 10)
    orders = (tmp_path / "landing" / a.isoformat() / "orders.csv").read_text().splitlines()
    assert orders[1:] == [
        "12431-0001,12431,2010-12-01T12:00:00Z,completed,2.10,USD,online",
        "17850-0001,17850,2010-12-01T12:00:00Z,completed,35.64,USD,online",
    ]
    later = (tmp_path / "landing" / r.isoformat() / "orders.csv").read_text().splitlines()
    assert later[1:] == ["17850-0002,17850,2010-12-09T12:00:00Z,completed,0.00,USD,online"]


def test_without_an_order_column_each_row_is_an_order(tmp_path: Path) -> None:
    log = _write(
        tmp_path / "log.csv",
        "customer_id,order_date,amount\nb,1997-01-03,5\na,1997-01-02,10\nb,1997-01-01,7\nb,1997-01-03,1\n",
    )
    tx = translog.load_log(log)
    assert list(tx.frame["customer_id"]) == ["a", "b", "b", "b"]
    assert list(tx.frame["line_no"]) == [1, 1, 2, 3]
    assert tx.notes["orders"] == 4 and tx.notes["negative_orders_left_out"] == 0


def test_bad_rows_are_named_by_file_row_and_reason(tmp_path: Path) -> None:
    log = _write(
        tmp_path / "bad.csv",
        "customer_id,order_date,amount\na,1997-01-02,10\n,1997-01-02,3\nb,1997-02-30,4\nc,1997-01-05,ten\n",
    )
    with pytest.raises(translog.TransactionLogError) as err:
        translog.load_log(log, date_format="%Y-%m-%d")
    message = str(err.value)
    assert f"3 bad row(s) in {log}" in message
    assert "bad.csv row 2 (line 3): empty customer id" in message
    assert "bad.csv row 3 (line 4): order_date '1997-02-30' is not a date (format %Y-%m-%d)" in message
    assert "bad.csv row 4 (line 5): amount 'ten' is not a number" in message
    assert "bad.csv row 1 " not in message


def test_a_quarantine_file_keeps_the_bad_rows_and_the_run_goes_on(tmp_path: Path) -> None:
    """Guest purchases without a customer id are common in real logs: with a quarantine file each bad row
    is written there with its line and reason, counted, and the good rows make the log."""
    log = _write(
        tmp_path / "guests.csv",
        "Invoice,Customer ID,InvoiceDate,Total\n"
        "1,a,2010-12-01,5\n2,,2010-12-01,3\n3,a,2010-12-0x,4\n4,b,2010-12-02,1\n",
    )
    quarantine = tmp_path / "out" / "guests.rejected.csv"
    tx = translog.load_log(log, **RETAIL_COLUMNS, quarantine=quarantine)
    assert list(tx.frame["customer_id"]) == ["a", "b"]
    assert tx.notes["rows"] == 4 and tx.notes["quarantined_rows"] == 2 and tx.notes["orders"] == 2
    assert quarantine.read_text().splitlines() == [
        "line,reason,Invoice,Customer ID,InvoiceDate,Total",
        "3,empty customer id,2,,2010-12-01,3",
        "4,\"InvoiceDate '2010-12-0x' is not a date (format inferred from the first rows; --date-format "
        'sets it, e.g. ISO8601 or mixed)",3,a,2010-12-0x,4',
    ]


def test_many_bad_rows_are_counted_beyond_the_listed_ones(tmp_path: Path) -> None:
    body = "".join(f"c{i},not-a-date,1\n" for i in range(25))
    log = _write(tmp_path / "many.csv", "customer_id,order_date,amount\n" + body)
    with pytest.raises(translog.TransactionLogError, match=r"25 bad row\(s\)") as err:
        translog.load_log(log)
    assert "... and 15 more" in str(err.value)
    assert str(err.value).count("is not a date") == translog.MAX_LISTED


def test_missing_columns_and_empty_logs_are_refused(tmp_path: Path) -> None:
    log = _write(tmp_path / "cols.csv", "cust,day,paid\na,1997-01-02,10\n")
    with pytest.raises(translog.TransactionLogError, match=r"column\(s\) \['customer_id', 'order_date'"):
        translog.load_log(log, amount_col="paid")
    returns = _write(tmp_path / "returns.csv", "customer_id,order_date,amount\na,1997-01-02,-10\n")
    with pytest.raises(translog.TransactionLogError, match="no order with an amount >= 0"):
        translog.load_log(returns)


def test_as_of_dates_must_have_their_labels_in_the_log(tmp_path: Path) -> None:
    log = _write(tmp_path / "short.csv", "customer_id,order_date,amount\na,1997-01-02,10\nb,1997-06-30,4\n")
    tx = translog.load_log(log)
    assert tx.latest_as_of(90) == date(1997, 4, 1)
    # refused before any database is touched: the label window (as-of, as-of + horizon] leaves the log
    with pytest.raises(AsOfError, match="latest as-of date this log can label"):
        run_as_of(tx, date(1997, 6, 1), tmp_path, "postgresql://unused", 42)


def test_dates_are_utc_dates_and_one_format_is_inferred(tmp_path: Path) -> None:
    """Purchase dates are UTC dates, as the platform dates events; a row in another format than the
    inferred one is a bad row with a hint, and `date_format="ISO8601"` reads every ISO variant."""
    log = _write(
        tmp_path / "tz.csv",
        "customer_id,order_date,amount\n"
        "a,2010-12-01T23:30:00-05:00,5\nb,2010-12-01T08:00:00+01:00,3\nc,2010-12-02 10:00,1\n",
    )
    with pytest.raises(translog.TransactionLogError, match="row 3 .* --date-format sets it"):
        translog.load_log(log)
    tx = translog.load_log(log, date_format="ISO8601")
    days = dict(zip(tx.frame["customer_id"], tx.frame["order_date"], strict=True))
    assert days == {"a": date(2010, 12, 2), "b": date(2010, 12, 1), "c": date(2010, 12, 2)}


def test_the_synthetic_multi_cohort_log_reads_as_a_user_log(tmp_path: Path) -> None:
    """benchmark/synthetic_log.py: the same seed gives the same bytes; its guest lines go to quarantine,
    its returns are left out and counted, and its customers join over 18 months (a multi-cohort log)."""
    from crm_scoring.benchmark import synthetic_log

    first, again = tmp_path / "a.csv", tmp_path / "b.csv"
    rows = synthetic_log.write(first, customers=300, seed=3)
    assert synthetic_log.write(again, customers=300, seed=3) == rows
    assert first.read_bytes() == again.read_bytes()
    synthetic_log.write(tmp_path / "c.csv", customers=300, seed=4)
    assert (tmp_path / "c.csv").read_bytes() != first.read_bytes()
    tx = translog.load_log(first, **RETAIL_COLUMNS, quarantine=tmp_path / "guests.csv")
    data = translog.source(tx)
    assert data["rows"] == rows and data["quarantined_rows"] == synthetic_log.GUEST_LINES
    assert data["negative_orders_left_out"] > 0 and tx.frame["amount"].min() >= 0
    firsts = tx.frame.groupby("customer_id")["order_date"].min()
    assert firsts.nunique() > 100 and (firsts.max() - firsts.min()).days > 365


def _retail_sheet(rows: list[tuple[object, ...]]) -> pd.DataFrame:
    """Rows laid out as the UCI Online Retail II workbook: invoice lines with a quantity and a unit
    price, no line total."""
    return pd.DataFrame(
        rows, columns=["Invoice", "StockCode", "Quantity", "InvoiceDate", "Price", "Customer ID"]
    )


def test_an_online_retail_workbook_reads_as_published(tmp_path: Path) -> None:
    """One sheet per year, a line worth quantity x unit price, a cancelled invoice (negative quantity)
    left out and counted; a bad row is named by its sheet and row."""
    book = tmp_path / "online_retail_II.xlsx"
    with pd.ExcelWriter(book) as writer:
        _retail_sheet(
            [
                ("489434", "85048", 12, "2009-12-01 07:45:00", 6.95, 13085),
                ("489434", "79323P", 12, "2009-12-01 07:45:00", 6.75, 13085),
                ("C489449", "22087", -12, "2009-12-01 10:33:00", 2.95, 16321),
            ]
        ).to_excel(writer, sheet_name="Year 2009-2010", index=False)
        _retail_sheet(
            [
                ("536365", "85123A", 6, "2010-12-01 08:26:00", 2.55, 17850),
                ("536366", "22633", 6, "2010-12-01 08:28:00", 1.85, 13085),
            ]
        ).to_excel(writer, sheet_name="Year 2010-2011", index=False)
    columns = {**RETAIL_COLUMNS, "amount_col": "Price", "quantity_col": "Quantity"}
    tx = translog.load_log(book, **columns)
    rows = [(r["customer_id"], r["order_date"], round(r["amount"], 2)) for r in tx.frame.to_dict("records")]
    assert rows == [
        ("13085", date(2009, 12, 1), 164.40),
        ("13085", date(2010, 12, 1), 11.10),
        ("17850", date(2010, 12, 1), 15.30),
    ]
    assert tx.notes["rows"] == 5 and tx.notes["negative_orders_left_out"] == 1
    assert tx.notes["quantity_col"] == "Quantity"
    # the second sheet's second data row has no quantity: named by sheet, row and reason
    with pd.ExcelWriter(book) as writer:
        _retail_sheet([("1", "a", 1, "2010-01-04", 1.0, 1)]).to_excel(writer, sheet_name="A", index=False)
        _retail_sheet([("2", "b", 1, "2010-01-05", 1.0, 2), ("3", "c", "", "2010-01-05", 1.0, 2)]).to_excel(
            writer, sheet_name="B", index=False
        )
    with pytest.raises(translog.TransactionLogError) as err:
        translog.load_log(book, **columns)
    assert "online_retail_II.xlsx sheet 'B' row 2 (line 3): Quantity '' is not a number" in str(err.value)
    quarantine = tmp_path / "rejected.csv"
    assert translog.load_log(book, **columns, quarantine=quarantine).notes["quarantined_rows"] == 1
    assert quarantine.read_text().splitlines()[:2] == [
        "sheet,line,reason,Invoice,StockCode,Quantity,InvoiceDate,Price,Customer ID",
        "B,3,Quantity '' is not a number,3,c,,2010-01-05,1,2",
    ]
    # one sheet chosen by name; sheets whose headers differ are refused
    assert translog.load_log(book, **columns, sheets=("A",)).notes["rows"] == 1
    with pd.ExcelWriter(book) as writer:
        _retail_sheet([("1", "a", 1, "2010-01-04", 1.0, 1)]).to_excel(writer, sheet_name="A", index=False)
        pd.DataFrame({"notes": ["about this file"]}).to_excel(writer, sheet_name="README", index=False)
    with pytest.raises(translog.TransactionLogError, match="headers differ.*--sheet"):
        translog.load_log(book, **columns)
    with pytest.raises(translog.TransactionLogError, match="Worksheet named 'Nope' not found"):
        translog.load_log(book, **columns, sheets=("Nope",))


def test_the_encoding_is_named_or_the_bad_byte_is(tmp_path: Path) -> None:
    """A Latin-1 export read as UTF-8 stops with its line; --encoding reads it; a UTF-8 byte-order mark
    does not hide the first column's name."""
    text = "customer_id,order_date,amount,note\na,2010-12-01,5,ok\nb,2010-12-02,3,caf\u00e9\n"
    latin = tmp_path / "latin.csv"
    latin.write_bytes(text.encode("latin-1"))
    with pytest.raises(translog.TransactionLogError, match=r"latin.csv line 3 \(byte \d+\).*--encoding"):
        translog.load_log(latin)
    assert list(translog.load_log(latin, encoding="latin-1").frame["customer_id"]) == ["a", "b"]
    bom = tmp_path / "bom.csv"
    bom.write_bytes(text.encode("utf-8-sig"))
    assert list(translog.load_log(bom).frame["customer_id"]) == ["a", "b"]
    with pytest.raises(translog.TransactionLogError, match="unknown encoding 'klingon'"):
        translog.load_log(bom, encoding="klingon")


def test_the_cli_passes_the_reading_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`crm evaluate log` wires --quantity-col, --sheet and --encoding to the reader: a bad row of the
    chosen sheet is named, and a readable log reaches the as-of check (refused before any database)."""
    from click.testing import CliRunner

    from crm_scoring.cli import main

    monkeypatch.setenv("CRM_WAREHOUSE_URL", "postgresql://unused")
    book = tmp_path / "retail.xlsx"
    with pd.ExcelWriter(book) as writer:
        _retail_sheet([("1", "a", 2, "2010-01-04", 1.5, 1), ("2", "b", 1, "2010-06-30", 1.0, 2)]).to_excel(
            writer, sheet_name="Good", index=False
        )
        _retail_sheet([("3", "c", "x", "2010-01-05", 1.0, 2)]).to_excel(writer, sheet_name="Bad", index=False)
    args = ["evaluate", "log", str(book), "--customer-col", "Customer ID", "--date-col", "InvoiceDate"]
    args += ["--order-col", "Invoice", "--quantity-col", "Quantity", "--amount-col", "Price"]
    runner = CliRunner()
    bad = runner.invoke(main, [*args, "--as-of", "2010-06-01"])
    assert bad.exit_code == 1 and "retail.xlsx sheet 'Bad' row 1 (line 2): Quantity 'x'" in bad.output
    late = runner.invoke(main, [*args, "--sheet", "Good", "--as-of", "2010-06-01", "--encoding", "latin-1"])
    assert late.exit_code == 1 and "latest as-of date this log can label" in late.output, late.output
