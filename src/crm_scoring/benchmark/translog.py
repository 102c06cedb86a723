"""Any transaction log as a benchmark's data: `crm evaluate log FILE`.

Why: the real-data benchmark (benchmark/real.py) proves the churn model against an RFM logistic
regression and recency alone on CDNOW, the one real log a registry package ships. A data team's own log,
or another public one, is the figure they will trust: this module reads any CSV with one row per purchase
(or per order line) into the same `Transactions` the CDNOW benchmark uses, so the same protocol (landing
export as of A, ingest, dbt, training on matured cutoffs, scoring, truth from the file) runs on it.

Reading: a CSV (UTF-8 by default, a byte-order mark allowed; `--encoding` for Latin-1 or cp1252
exports) or an Excel workbook (.xlsx / .xlsm: every sheet, or the ones named, with one header), so the
UCI Online Retail files read as published: with `quantity_col`, a line is worth quantity x the amount
column (its unit price).

Mapping, as for CDNOW (customers and orders only):
- an order is one row, or, with `order_col`, every row of one (customer, order id) (line items of an
  invoice), dated by its first row and worth the sum of its amounts;
- an order worth less than 0 (a return or credit note on its own) is left out of the export *and* of the
  truth (a purchase is a kept order), and counted in the result (`negative_orders_left_out`); the
  contract requires net_amount >= 0;
- customer ids are kept as written (stripped); order_ts is the order's date at 12:00 UTC (the daily
  features and the labels use the date only); registered_at is the customer's first purchase.
- Bad rows (empty customer id, a date, amount or quantity that does not parse) stop the run with the
  file, the row and the reason of each (up to 10 listed): a benchmark on silently dropped rows would
  measure another log. With a quarantine file (`--quarantine`), they are written there instead (line,
  the sheet of a workbook, reason, the row as read) and counted in the result, and the run goes on
  without them: real logs hold guest purchases without a customer id, which a churn benchmark cannot
  use.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pandas as pd

from crm_scoring.benchmark.cdnow import Transactions

MAX_LISTED = 10
EXCEL_SUFFIXES = (".xlsx", ".xlsm")


class TransactionLogError(ValueError):
    """The file cannot serve as a benchmark log: missing columns or bad rows (each named)."""


def _bad_rows(path: Path, reasons: pd.Series, position: pd.DataFrame) -> str:
    """`file row N (line L): reason` (a CSV) or `file sheet S row N (line L)` (a workbook) for the first
    rows with a reason; row 1 = the first data row of its file or sheet (`position`: `_read_rows`)."""
    bad = reasons[reasons != ""]
    listed = []
    for i, why in bad.head(MAX_LISTED).items():
        line = int(position.at[i, "line"])
        sheet = f"sheet {position.at[i, 'sheet']!r} " if "sheet" in position else ""
        listed.append(f"{path.name} {sheet}row {line - 1} (line {line}): {why}")
    more = f"\n... and {len(bad) - MAX_LISTED} more" if len(bad) > MAX_LISTED else ""
    return f"{len(bad)} bad row(s) in {path}:\n" + "\n".join(listed) + more


def _decoded(path: Path, encoding: str) -> str:
    """The file's text; a byte the encoding cannot read stops the run with its line and offset.

    Why: exports of spreadsheets (the UCI Online Retail files among them) are often Latin-1 or
    Windows-1252, and pandas' own error names neither the file nor the line."""
    data = path.read_bytes()
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise TransactionLogError(
            f"{path} line {line} (byte {exc.start}): {data[exc.start : exc.start + 1]!r} is not "
            f"{encoding} ({exc.reason}); name the file's encoding with --encoding, e.g. latin-1 or cp1252"
        ) from exc
    except LookupError as exc:
        raise TransactionLogError(f"{path}: unknown encoding {encoding!r}") from exc


def _read_rows(
    path: Path, sep: str, encoding: str, sheets: tuple[str, ...]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every data row as text, and where each sits (`sheet` for a workbook, `line` as the file or the
    sheet numbers it). A workbook (.xlsx / .xlsm) gives the rows of `sheets`, or of every sheet, in
    order: the UCI Online Retail II workbook holds one sheet per year."""
    if path.suffix.lower() not in EXCEL_SUFFIXES:
        raw = pd.read_csv(io.StringIO(_decoded(path, encoding)), sep=sep, dtype=str, keep_default_na=False)
        return raw, pd.DataFrame({"line": raw.index + 2})
    try:
        book = pd.read_excel(
            path, sheet_name=list(sheets) or None, dtype=str, keep_default_na=False, engine="openpyxl"
        )
    except (ValueError, KeyError) as exc:  # an unknown sheet name, or not a workbook
        raise TransactionLogError(f"{path}: {exc}") from exc
    headers = {name: list(frame.columns) for name, frame in book.items()}
    if len({tuple(h) for h in headers.values()}) > 1:
        raise TransactionLogError(
            f"{path}: the sheets' headers differ ({headers}); choose the sheets with --sheet"
        )
    raw = pd.concat(list(book.values()), ignore_index=True)
    where = pd.concat(
        [pd.DataFrame({"sheet": name, "line": frame.index + 2}) for name, frame in book.items()],
        ignore_index=True,
    )
    return raw, where


def load_log(
    path: Path,
    *,
    customer_col: str = "customer_id",
    date_col: str = "order_date",
    amount_col: str = "amount",
    order_col: str | None = None,
    quantity_col: str | None = None,
    date_format: str | None = None,
    sep: str = ",",
    encoding: str = "utf-8-sig",
    sheets: tuple[str, ...] = (),
    quarantine: Path | None = None,
) -> Transactions:
    """Read and check the log (a CSV, or an Excel workbook); one row per kept order, sorted by customer
    and date (see the module doc). With `quantity_col`, a row is worth quantity x `amount_col` (a unit
    price), as in invoice-line exports that carry no line total."""
    path = Path(path)
    if not path.is_file():
        raise TransactionLogError(f"{path}: no such file")
    wanted = [customer_col, date_col, amount_col, *(c for c in (order_col, quantity_col) if c)]
    raw, position = _read_rows(path, sep, encoding, sheets)
    missing = [c for c in wanted if c not in raw.columns]
    if missing:
        raise TransactionLogError(
            f"{path}: column(s) {missing} not in the header {list(raw.columns)} "
            "(name them with --customer-col / --date-col / --amount-col / --order-col / --quantity-col)"
        )
    customer = raw[customer_col].str.strip()
    # UTC, as the platform dates events (macro utc_date); mixed offsets would otherwise fail to parse
    when = pd.to_datetime(raw[date_col].str.strip(), format=date_format, errors="coerce", utc=True)
    amount = pd.to_numeric(raw[amount_col].str.strip(), errors="coerce")
    quantity = pd.to_numeric(raw[quantity_col].str.strip(), errors="coerce") if quantity_col else None
    expected = (
        f" (format {date_format})"
        if date_format
        else " (format inferred from the first rows; --date-format sets it, e.g. ISO8601 or mixed)"
    )
    reasons = pd.Series("", index=raw.index)
    reasons[customer == ""] = "empty customer id"
    no_date = (reasons == "") & when.isna()
    reasons[no_date] = f"{date_col} " + raw.loc[no_date, date_col].map(repr) + " is not a date" + expected
    for column, values in ((amount_col, amount), (quantity_col, quantity)):
        if values is not None:
            nan = (reasons == "") & values.isna()
            reasons[nan] = f"{column} " + raw.loc[nan, column].map(repr) + " is not a number"
    bad = reasons != ""
    if bad.any() and quarantine is None:
        raise TransactionLogError(_bad_rows(path, reasons, position))
    if quarantine is not None:
        quarantine.parent.mkdir(parents=True, exist_ok=True)
        rejected = raw[bad].copy()
        rejected.insert(0, "reason", reasons[bad])
        for column in reversed(position.columns):  # sheet (a workbook), then line
            rejected.insert(0, column, position.loc[bad, column])
        rejected.to_csv(quarantine, index=False)
    worth = amount * quantity if quantity is not None else amount
    lines = pd.DataFrame(
        {"customer_id": customer, "order_date": when.dt.date, "amount": worth.astype(float)}
    )[~bad]
    if order_col:
        lines["order_key"] = raw.loc[~bad, order_col].str.strip()
        orders = lines.groupby(["customer_id", "order_key"], as_index=False, sort=False).agg(
            order_date=("order_date", "min"), amount=("amount", "sum")
        )
    else:
        orders = lines
    negative = orders["amount"] < 0
    kept = orders.loc[~negative, ["customer_id", "order_date", "amount"]]
    if kept.empty:
        raise TransactionLogError(f"{path}: no order with an amount >= 0")
    kept = kept.sort_values(["customer_id", "order_date", "amount"], kind="stable").reset_index(drop=True)
    kept["cds"] = 1
    kept["line_no"] = kept.groupby("customer_id").cumcount() + 1
    frame = kept[["customer_id", "order_date", "cds", "amount", "line_no"]]
    return Transactions(
        frame,
        variant=path.stem,
        path=path,
        notes={
            "rows": len(raw),
            "quarantined_rows": int(bad.sum()),
            "quarantine_file": str(quarantine) if quarantine is not None else None,
            "orders": len(orders),
            "negative_orders_left_out": int(negative.sum()),
            "order_col": order_col,
            "quantity_col": quantity_col,
        },
    )


def source(tx: Transactions) -> dict[str, object]:
    """Provenance for the result JSON and MLflow: the file, its digest and what the mapping did."""
    digest = hashlib.sha256(tx.path.read_bytes()).hexdigest()
    return {
        "name": f"transaction log {tx.path.name}",
        "file": str(tx.path),
        "sha256": digest,
        "shipped_in": f"user file {tx.path.name} (sha256 {digest[:12]})",
        "licence": "as the file's owner states (not recorded by the platform)",
        **tx.notes,
    }
