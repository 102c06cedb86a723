"""`crm evaluate log`: any transaction log in the real-data benchmark's protocol (benchmark/translog.py).

Pure logic on small files (the whole benchmark on a log runs in tests/test_benchmark_real_e2e.py): the
mapping (orders from line items, returns left out and counted), bad rows named by file, row and reason,
and the as-of dates the log can label.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

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
    tx = translog.load_csv(log, **RETAIL_COLUMNS, sep=";")
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
    tx = translog.load_csv(log)
    assert list(tx.frame["customer_id"]) == ["a", "b", "b", "b"]
    assert list(tx.frame["line_no"]) == [1, 1, 2, 3]
    assert tx.notes["orders"] == 4 and tx.notes["negative_orders_left_out"] == 0


def test_bad_rows_are_named_by_file_row_and_reason(tmp_path: Path) -> None:
    log = _write(
        tmp_path / "bad.csv",
        "customer_id,order_date,amount\na,1997-01-02,10\n,1997-01-02,3\nb,1997-02-30,4\nc,1997-01-05,ten\n",
    )
    with pytest.raises(translog.TransactionLogError) as err:
        translog.load_csv(log, date_format="%Y-%m-%d")
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
    tx = translog.load_csv(log, **RETAIL_COLUMNS, quarantine=quarantine)
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
        translog.load_csv(log)
    assert "... and 15 more" in str(err.value)
    assert str(err.value).count("is not a date") == translog.MAX_LISTED


def test_missing_columns_and_empty_logs_are_refused(tmp_path: Path) -> None:
    log = _write(tmp_path / "cols.csv", "cust,day,paid\na,1997-01-02,10\n")
    with pytest.raises(translog.TransactionLogError, match=r"column\(s\) \['customer_id', 'order_date'"):
        translog.load_csv(log, amount_col="paid")
    returns = _write(tmp_path / "returns.csv", "customer_id,order_date,amount\na,1997-01-02,-10\n")
    with pytest.raises(translog.TransactionLogError, match="no order with an amount >= 0"):
        translog.load_csv(returns)


def test_as_of_dates_must_have_their_labels_in_the_log(tmp_path: Path) -> None:
    log = _write(tmp_path / "short.csv", "customer_id,order_date,amount\na,1997-01-02,10\nb,1997-06-30,4\n")
    tx = translog.load_csv(log)
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
        translog.load_csv(log)
    tx = translog.load_csv(log, date_format="ISO8601")
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
    tx = translog.load_csv(first, **RETAIL_COLUMNS, quarantine=tmp_path / "guests.csv")
    data = translog.source(tx)
    assert data["rows"] == rows and data["quarantined_rows"] == synthetic_log.GUEST_LINES
    assert data["negative_orders_left_out"] > 0 and tx.frame["amount"].min() >= 0
    firsts = tx.frame.groupby("customer_id")["order_date"].min()
    assert firsts.nunique() > 100 and (firsts.max() - firsts.min()).days > 365
