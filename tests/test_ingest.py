"""Loader tests against a real PostgreSQL: landing folders are written by hand with the csv module."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crm_scoring import contract
from crm_scoring.ingest import IngestError, ensure_schema, load_export_date, loaded_dates, pending_dates

D1 = date(2026, 11, 26)
D2 = date(2026, 11, 27)

CUSTOMERS_HEADER = ["customer_id", "registered_at", "status", "country", "email", "updated_at"]
CUSTOMERS = [
    ["c1", "2025-01-02T10:00:00Z", "active", "DE", "a@example.com", "2026-11-26T08:00:00"],
    ["c2", "2025-03-04 11:30:00+02:00", "closed", "", "", ""],
    ["c3", "2024-12-31", "suspended", "FR", "c@example.com", ""],
]
ORDERS_HEADER = ["order_id", "customer_id", "order_ts", "status", "net_amount", "channel", "coupon_code"]
ORDERS = [
    ["o1", "c1", "2026-11-25T09:00:00Z", "completed", "19.90", "online", 'WINTER, "big" sale'],
    ["o2", "c2", "2026-11-26T23:59:59Z", "cancelled", "0", "app", ""],
    ["o3", "c9", "2026-11-20T12:00:00", "returned", "5.5", "", ""],  # c9: a late-arriving customer
]


def write_csv(folder: Path, name: str, header: list[str], rows: list[list[str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def make_export(root: Path, day: date = D1, customers=None, orders=None) -> Path:
    folder = root / day.isoformat()
    write_csv(folder, "customers.csv", CUSTOMERS_HEADER, CUSTOMERS if customers is None else customers)
    write_csv(folder, "orders.csv", ORDERS_HEADER, ORDERS if orders is None else orders)
    return folder


def query(url: str, sql: str, params=()) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def audit(url: str, day: date) -> dict[str, tuple]:
    rows = query(
        url,
        "select table_name, status, rows_read, rows_loaded, rows_quarantined, extra_columns,"
        " source_file from ops.load_audit where export_date = %s",
        (day,),
    )
    return {r[0]: r[1:] for r in rows}


def quarantine(url: str, table: str) -> list[tuple]:
    return query(
        url,
        "select line_no, reason, raw_record, source_file from ops.quarantine"
        " where table_name = %s order by line_no",
        (table,),
    )


def date_footprint(url: str, day: date) -> int:
    """Rows of any kind the warehouse holds for one export date."""
    total = 0
    with psycopg.connect(url) as conn:
        if conn.execute("select to_regclass('ops.load_audit')").fetchone()[0] is None:
            return 0
        checks = [(f"raw.{name}", "_export_date") for name in contract.TABLES]
        checks += [("ops.quarantine", "export_date"), ("ops.load_audit", "export_date")]
        for table, column in checks:
            total += conn.execute(f"select count(*) from {table} where {column} = %s", (day,)).fetchone()[0]
    return total


def counts(res) -> tuple[int, int, int]:
    return res.rows_read, res.rows_loaded, res.rows_quarantined


def test_happy_path(fresh_db: str, tmp_path: Path) -> None:
    folder = make_export(tmp_path)
    write_csv(
        folder,
        "tickets.csv",
        [
            "ticket_id",
            "customer_id",
            "created_at",
            "ticket_type",
            "status",
            "is_urgent",
            "reopened_count",
            "text",
        ],
        [
            ["t1", "c1", "2026-11-24T10:00:00Z", "complaint", "open", "true", "0", 'late,\n"again"'],
            ["t2", "", "2026-11-25T10:00:00Z", "inquiry", "closed", "0", "", ""],
        ],
    )
    result = load_export_date(fresh_db, tmp_path, D1)

    files = result.by_table()
    assert (files["customers"].rows_read, files["customers"].rows_loaded) == (3, 3)
    assert counts(files["orders"]) == (3, 3, 0)
    assert files["orders"].extra_columns == ["coupon_code"]
    assert files["tickets"].rows_loaded == 2
    assert result.totals() == {"read": 8, "loaded": 8, "quarantined": 0}

    aud = audit(fresh_db, D1)
    assert set(aud) == set(contract.TABLES)
    assert aud["orders"] == ("loaded", 3, 3, 0, ["coupon_code"], "2026-11-26/orders.csv")
    assert aud["surveys"][:4] == ("missing", 0, 0, 0)
    assert all(r[1] == r[2] + r[3] for r in aud.values())

    orders = query(
        fresh_db,
        "select order_id, customer_id, order_ts, net_amount, channel, _extra, _line_no,"
        " _source_file, _export_date from raw.orders order by order_id",
    )
    assert orders[0] == (
        "o1",
        "c1",
        datetime(2026, 11, 25, 9, tzinfo=UTC),
        Decimal("19.90"),
        "online",
        {"coupon_code": 'WINTER, "big" sale'},
        2,
        "2026-11-26/orders.csv",
        D1,
    )
    assert orders[2][2] == datetime(2026, 11, 20, 12, tzinfo=UTC)  # no offset means UTC
    assert orders[2][1] == "c9"  # late-arriving customer kept
    assert orders[1][4] == "app" and orders[2][4] is None
    cust = query(fresh_db, "select customer_id, registered_at, country from raw.customers order by 1")
    assert cust[1][1] == datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
    assert cust[1][2] is None
    tickets = query(
        fresh_db, "select ticket_id, customer_id, is_urgent, text, _line_no from raw.tickets order by 1"
    )
    assert tickets == [("t1", "c1", True, 'late,\n"again"', 2), ("t2", None, False, None, 4)]


def test_gzip_and_parquet_variants(fresh_db: str, tmp_path: Path) -> None:
    folder = tmp_path / D1.isoformat()
    plain = write_csv(folder, "customers.csv", CUSTOMERS_HEADER, CUSTOMERS)
    with open(plain, "rb") as src, gzip.open(folder / "customers.csv.gz", "wb") as dst:
        dst.write(src.read())
    plain.unlink()
    table = pa.table(
        {
            "order_id": ["o1", "o2", "o3"],
            "customer_id": ["c1", "c2", "c3"],
            "order_ts": pa.array(
                [datetime(2026, 11, 25, 9), datetime(2026, 11, 26, 1), datetime(2026, 11, 27, 1)],
                pa.timestamp("us", tz="UTC"),
            ),
            "status": ["completed", "completed", "completed"],
            "net_amount": pa.array(
                [Decimal("1.50"), Decimal("-2.00"), Decimal("3.00")], pa.decimal128(10, 2)
            ),
            "points_earned": pa.array([10, None, 3], pa.int64()),
            "note": ["x", None, "z"],
        }
    )
    pq.write_table(table, folder / "orders.parquet")

    result = load_export_date(fresh_db, tmp_path, D1).by_table()
    assert result["customers"].source_file == "2026-11-26/customers.csv.gz"
    assert result["customers"].rows_loaded == 3
    assert counts(result["orders"]) == (3, 1, 2)
    assert result["orders"].extra_columns == ["note"]
    rows = query(fresh_db, "select order_id, order_ts, net_amount, points_earned, _extra from raw.orders")
    assert rows == [("o1", datetime(2026, 11, 25, 9, tzinfo=UTC), Decimal("1.50"), 10, {"note": "x"})]
    reasons = [r[1] for r in quarantine(fresh_db, "orders")]
    assert reasons == [
        "net_amount: negative amount (-2.00)",
        "order_ts: 2026-11-27 01:00:00+00 is after the end of the export date 2026-11-26",
    ]


def full_state(url: str) -> dict[str, list]:
    """Every loader-written table, minus the load timestamps, in a stable order."""
    state = {}
    with psycopg.connect(url) as conn:
        for name, table in contract.TABLES.items():
            cols = ", ".join(table.column_names + ["_export_date", "_source_file", "_line_no", "_extra"])
            sql = f"select {cols} from raw.{name} order by _export_date, _line_no"
            state[name] = conn.execute(sql).fetchall()
        state["quarantine"] = conn.execute(
            "select export_date, table_name, source_file, line_no, raw_record, reason from ops.quarantine"
            " order by 1, 2, 4"
        ).fetchall()
        state["audit"] = conn.execute(
            "select export_date, table_name, source_file, status, rows_read, rows_loaded, rows_quarantined,"
            " extra_columns, sha256 from ops.load_audit order by 1, 2"
        ).fetchall()
    return state


def test_reload_is_idempotent(fresh_db: str, tmp_path: Path) -> None:
    make_export(tmp_path, orders=ORDERS + [["o4", "c1", "soon", "completed", "1", "", ""]])
    first = load_export_date(fresh_db, tmp_path, D1)
    before = full_state(fresh_db)
    second = load_export_date(fresh_db, tmp_path, D1)
    assert full_state(fresh_db) == before
    assert first.totals() == second.totals() == {"read": 7, "loaded": 6, "quarantined": 1}
    assert len(before["quarantine"]) == 1 and len(before["orders"]) == 3


def test_later_version_kept_for_both_dates(fresh_db: str, tmp_path: Path) -> None:
    make_export(tmp_path, D1)
    later = ["c1", "2025-01-02T10:00:00Z", "closed", "DE", "", "2026-11-27T07:00:00Z"]
    make_export(tmp_path, D2, customers=[later], orders=[])
    load_export_date(fresh_db, tmp_path, D1)
    load_export_date(fresh_db, tmp_path, D2)
    rows = query(
        fresh_db,
        "select _export_date, status, updated_at from raw.customers"
        " where customer_id = 'c1' order by _export_date",
    )
    assert rows == [
        (D1, "active", datetime(2026, 11, 26, 8, tzinfo=UTC)),
        (D2, "closed", datetime(2026, 11, 27, 7, tzinfo=UTC)),
    ]
    # Reloading the first date leaves the second date's rows alone.
    load_export_date(fresh_db, tmp_path, D1)
    assert query(fresh_db, "select count(*) from raw.customers where _export_date = %s", (D2,)) == [(1,)]


def test_contract_violations_go_to_quarantine(fresh_db: str, tmp_path: Path) -> None:
    folder = make_export(
        tmp_path,
        customers=CUSTOMERS + [["c4", "2025-01-01", "foo", "de", "", ""]],
        orders=[
            ["o1", "c1", "2026-11-25T09:00:00Z", "completed", "abc", "", ""],  # line 2 wrong type
            ["o2", "c1", "2026-02-30T09:00:00Z", "completed", "1.00", "", ""],  # line 3 impossible date
            ["o3", "", "2026-11-25T09:00:00Z", "completed", "1.00", "", ""],  # line 4 missing value
            ["o4", "c1", "2026-11-25T09:00:00Z", "shipped", "1.00", "", ""],  # line 5 outside the set
            ["o5", "c1", "2026-11-27T00:00:00Z", "completed", "1.00", "", ""],  # line 6 future
            ["o6", "c1", "2026-11-25T09:00:00Z", "completed", "-5", "", ""],  # line 7 negative
            ["o7", "c1", "2026-11-25T09:00:00Z", "completed", "1.00", "", ""],  # line 8 duplicate
            ["o8", "c1", "2026-11-25T09:00:00Z", "completed", "1.00", "", ""],  # line 9 good
            ["o7", "c2", "2026-11-25T10:00:00Z", "completed", "2.00", "", ""],  # line 10 duplicate
            ["o9", "c1", "2026-11-25T09:00:00Z", "completed", "1.999", "bike", ""],  # line 11 two reasons
        ],
    )
    write_csv(
        folder,
        "tickets.csv",
        ["ticket_id", "created_at", "ticket_type", "status", "text"],
        [
            [
                "t1",
                "2026-11-24T10:00:00Z",
                "complaint",
                "open",
                'first\nsecond, "quoted"\nthird',
            ],  # lines 2-4
            ["t2", "2026-11-24T10:00:00Z", "praise", "open", "private words"],  # line 5
            ["t3", "2026-11-24T10:00:00Z", "inquiry", "open", "ok"],  # line 6
        ],
    )
    write_csv(
        folder,
        "surveys.csv",
        ["survey_id", "customer_id", "survey_type", "trigger_type", "sent_at", "score"],
        [
            ["s1", "c1", "CSAT", "periodic", "2026-11-24T10:00:00Z", "5"],
            ["s2", "c1", "CSAT", "periodic", "2026-11-24T10:00:00Z", "9"],
            ["s3", "c1", "NPS", "periodic", "2026-11-24T10:00:00Z", "9"],
        ],
    )
    result = load_export_date(fresh_db, tmp_path, D1).by_table()

    q = {line: reason for line, reason, _, _ in quarantine(fresh_db, "orders")}
    assert q == {
        2: "net_amount: 'abc' is not a valid decimal with '.' and at most 2 decimals",
        3: "order_ts: '2026-02-30T09:00:00Z' is not a valid ISO 8601 timestamp",
        4: "customer_id: missing required value",
        5: "status: 'shipped' not in {completed, cancelled, returned, partially_returned}",
        6: "order_ts: 2026-11-27 00:00:00+00 is after the end of the export date 2026-11-26",
        7: "net_amount: negative amount (-5.00)",
        8: "order_id: duplicate of line 10",
        10: "order_id: duplicate of line 8",
        11: "net_amount: '1.999' is not a valid decimal with '.' and at most 2 decimals; "
        "channel: 'bike' not in {online, app, store, phone, marketplace}",
    }
    assert counts(result["orders"]) == (10, 1, 9)
    assert query(fresh_db, "select order_id from raw.orders") == [("o8",)]

    line, reason, raw_record, source = quarantine(fresh_db, "orders")[0]
    assert source == "2026-11-26/orders.csv"
    assert raw_record == {
        "order_id": "o1",
        "customer_id": "c1",
        "order_ts": "2026-11-25T09:00:00Z",
        "status": "completed",
        "net_amount": "abc",
        "channel": "",
        "coupon_code": "",
    }

    cust = quarantine(fresh_db, "customers")
    assert [(r[0], r[1]) for r in cust] == [
        (5, "status: 'foo' not in {active, closed, suspended}; country: 'de' does not match ^[A-Z]{2}$")
    ]

    # The multi-line text occupies lines 2-4, so the bad ticket is reported on physical line 5.
    assert [(r[0], r[1]) for r in quarantine(fresh_db, "tickets")] == [
        (5, "ticket_type: 'praise' not in {complaint, inquiry, request, feedback, incident}")
    ]
    assert query(fresh_db, "select ticket_id, _line_no from raw.tickets order by 1") == [("t1", 2), ("t3", 6)]

    assert [(r[0], r[1]) for r in quarantine(fresh_db, "surveys")] == [
        (3, "score out of range for survey_type (CSAT 1-5, NPS 0-10)")
    ]

    aud = audit(fresh_db, D1)
    assert all(r[1] == r[2] + r[3] for r in aud.values())
    assert aud["orders"][1:4] == (10, 1, 9)


def test_pii_values_never_in_reasons(fresh_db: str, tmp_path: Path) -> None:
    make_export(tmp_path, customers=[["c1", "2025-01-02", "active", "", "a@example.com", "2099-01-01"]])
    load_export_date(fresh_db, tmp_path, D1)
    [(_, reason, _, _)] = quarantine(fresh_db, "customers")
    assert reason.startswith("updated_at: 2099-01-01 00:00:00+00 is after the end")
    assert "example.com" not in reason


@pytest.mark.parametrize("name", ["customers", "orders"])
def test_missing_required_file(fresh_db: str, tmp_path: Path, name: str) -> None:
    folder = make_export(tmp_path)
    (folder / f"{name}.csv").unlink()
    with pytest.raises(IngestError, match=rf"{name}\.csv: required file is missing"):
        load_export_date(fresh_db, tmp_path, D1)
    assert date_footprint(fresh_db, D1) == 0


def test_missing_folder(fresh_db: str, tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="2026-11-26"):
        load_export_date(fresh_db, tmp_path, D1)


def test_two_variants_of_one_file_is_an_error(fresh_db: str, tmp_path: Path) -> None:
    folder = make_export(tmp_path)
    write_csv(folder, "tickets.csv", ["ticket_id"], [])
    (folder / "tickets.parquet").write_bytes(b"")
    with pytest.raises(IngestError, match="tickets"):
        load_export_date(fresh_db, tmp_path, D1)


def _raw_lines(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


ORDER_LINE = "o1,c1,2026-11-25T09:00:00Z,completed,1.00,,"
BROKEN = {
    "ragged row": (
        _raw_lines(",".join(ORDERS_HEADER), ORDER_LINE, ORDER_LINE + ",extra"),
        r"orders\.csv: line 3: expected 7 fields",
    ),
    "unterminated quote": (
        _raw_lines(",".join(ORDERS_HEADER), ORDER_LINE, 'o2,c1,"2026,x,1,,', "o3,c1"),
        r"orders\.csv: line 3: malformed CSV",
    ),
    "stray quote": (
        _raw_lines(",".join(ORDERS_HEADER), 'o2,c1,"x"y,completed,1,,'),
        r"orders\.csv: line 2: malformed CSV",
    ),
    "invalid utf-8": (
        _raw_lines(",".join(ORDERS_HEADER), ORDER_LINE) + b"o2,c\xff\xfe,x,y,1,,\n",
        r"orders\.csv: line 3: not valid UTF-8",
    ),
    "missing required column": (
        _raw_lines("order_id,customer_id,status,net_amount", "o1,c1,completed,1"),
        r"orders\.csv: missing required column\(s\) order_ts",
    ),
    "missing header": (_raw_lines(ORDER_LINE, ORDER_LINE), r"orders\.csv: line 1: .*header row missing"),
    "empty file": (b"", r"orders\.csv: empty file"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_unparseable_file_fails_the_date(fresh_db: str, tmp_path: Path, case: str) -> None:
    content, message = BROKEN[case]
    folder = make_export(tmp_path)
    write_csv(
        folder,
        "tickets.csv",
        ["ticket_id", "created_at", "ticket_type", "status"],
        [["t1", "2026-11-24T10:00:00Z", "complaint", "open"]],
    )
    (folder / "orders.csv").write_bytes(content)
    with pytest.raises(IngestError, match=message):
        load_export_date(fresh_db, tmp_path, D1)
    assert date_footprint(fresh_db, D1) == 0


def test_failed_reload_keeps_previous_load(fresh_db: str, tmp_path: Path) -> None:
    folder = make_export(tmp_path)
    load_export_date(fresh_db, tmp_path, D1)
    before = full_state(fresh_db)
    (folder / "customers.csv").write_bytes(_raw_lines(",".join(CUSTOMERS_HEADER), "c1,2025-01-01"))
    with pytest.raises(IngestError, match=r"customers\.csv: line 2"):
        load_export_date(fresh_db, tmp_path, D1)
    assert full_state(fresh_db) == before


def write_manifest(folder: Path, rows: dict[str, int], tamper: dict | None = None) -> None:
    files = {}
    for name, count in rows.items():
        files[name] = {"rows": count, "sha256": hashlib.sha256((folder / name).read_bytes()).hexdigest()}
    for name, change in (tamper or {}).items():
        files[name].update(change)
    (folder / contract.MANIFEST).write_text(json.dumps({"export_date": folder.name, "files": files}))


def test_manifest_verified(fresh_db: str, tmp_path: Path) -> None:
    folder = make_export(tmp_path)
    write_manifest(folder, {"customers.csv": 3, "orders.csv": 3})
    assert load_export_date(fresh_db, tmp_path, D1).rows_loaded == 6


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        ({"orders.csv": {"sha256": "0" * 64}}, r"orders\.csv: sha256 mismatch"),
        ({"customers.csv": {"rows": 4}}, r"customers\.csv: row count mismatch .*manifest 4, file 3"),
    ],
)
def test_manifest_mismatch_fails_before_loading(
    fresh_db: str, tmp_path: Path, tamper: dict, message: str
) -> None:
    folder = make_export(tmp_path)
    write_manifest(folder, {"customers.csv": 3, "orders.csv": 3}, tamper)
    with pytest.raises(IngestError, match=message):
        load_export_date(fresh_db, tmp_path, D1)
    assert date_footprint(fresh_db, D1) == 0


def test_manifest_lists_missing_file(fresh_db: str, tmp_path: Path) -> None:
    folder = make_export(tmp_path)
    write_manifest(folder, {"customers.csv": 3, "orders.csv": 3})
    doc = json.loads((folder / contract.MANIFEST).read_text())
    doc["files"]["tickets.csv"] = {"rows": 1, "sha256": "0" * 64}
    (folder / contract.MANIFEST).write_text(json.dumps(doc))
    with pytest.raises(IngestError, match=r"tickets\.csv: listed in _manifest\.json but the file is missing"):
        load_export_date(fresh_db, tmp_path, D1)


def test_pending_and_loaded_dates(fresh_db: str, tmp_path: Path) -> None:
    assert loaded_dates(fresh_db) == []
    d0 = date(2026, 11, 25)
    for day in (d0, D1, D2):
        make_export(tmp_path, day)
    (tmp_path / "not-a-date").mkdir()
    assert pending_dates(fresh_db, tmp_path, D1) == [d0, D1]
    load_export_date(fresh_db, tmp_path, d0)
    assert loaded_dates(fresh_db) == [d0]
    assert pending_dates(fresh_db, tmp_path, D2) == [D1, D2]


def test_ensure_schema_is_idempotent(fresh_db: str) -> None:
    for _ in range(2):
        with psycopg.connect(fresh_db) as conn:
            ensure_schema(conn)
    tables = query(
        fresh_db,
        "select table_schema || '.' || table_name from information_schema.tables"
        " where table_schema in ('raw', 'ops') order by 1",
    )
    assert ("ops.load_audit",) in tables and ("raw.orders",) in tables
    assert len(tables) == len(contract.TABLES) + 2
    with pytest.raises(psycopg.errors.CheckViolation):
        query(
            fresh_db,
            "insert into ops.load_audit (export_date, table_name, status, rows_read, rows_loaded)"
            " values ('2026-01-01', 'orders', 'loaded', 2, 1)",
        )


def test_bom_crlf_and_header_only_files(fresh_db: str, tmp_path: Path) -> None:
    folder = make_export(tmp_path)
    text = "\ufeff" + ",".join(CUSTOMERS_HEADER) + "\r\n" + "c1,2025-01-02,active,,,\r\n\r\n"
    (folder / "customers.csv").write_bytes(text.encode("utf-8"))
    write_csv(folder, "tickets.csv", ["ticket_id", "created_at", "ticket_type", "status"], [])
    files = load_export_date(fresh_db, tmp_path, D1).by_table()
    assert counts(files["customers"]) == (1, 1, 0)
    assert (files["tickets"].status, counts(files["tickets"])) == ("loaded", (0, 0, 0))
    assert query(fresh_db, "select customer_id, status from raw.customers") == [("c1", "active")]
