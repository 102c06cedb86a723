"""Reading a landing file (.csv, .csv.gz, .parquet) as a header plus text records with physical line numbers.

CSV is parsed here (not by COPY's CSV mode) so a bad file is reported with its physical line: a quoted
field may span lines, so a record's line is where it starts, which COPY cannot tell us.

A record the reader can parse but PostgreSQL cannot store as given (a NUL byte; a field over the field
limit) is not a reason to fail the whole file: the reader makes it storable (U+FFFD for NUL, the value cut
to a prefix) and hands the loader a reason, so the row goes to quarantine instead of silently loading.
"""

from __future__ import annotations

import csv
import gzip
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from crm_scoring.ingest.errors import IngestError

# (line number, fields in header order, the reader's reason to quarantine the row or None)
Record = tuple[int, list[str | None], str | None]

MAX_FIELD_ENV = "CRM_INGEST_MAX_FIELD_CHARS"
# A technical guard, not business policy: no contract column carries more than a long free text, and
# the enrichment models read texts whole. A longer field quarantines its row (never loads cut short).
DEFAULT_MAX_FIELD_CHARS = 1_000_000
# The CSV parser's own ceiling (csv.field_size_limit): beyond it a "field" is almost surely a quote that
# never closes, and the file fails with its line. Between the two limits the row is quarantined.
PARSE_LIMIT_FACTOR = 64
SHOWN_PREFIX = 200  # characters of an oversized value kept in the quarantined raw record
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def max_field_chars() -> int:
    value = os.environ.get(MAX_FIELD_ENV, str(DEFAULT_MAX_FIELD_CHARS))
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{MAX_FIELD_ENV}={value!r} is not a positive number of characters")
    return int(value)


def sanitize(header: list[str], fields: list[str | None], limit: int) -> tuple[list[str | None], str | None]:
    """Fields PostgreSQL can store, plus why the row must be quarantined when any had to be changed."""
    reasons = []
    out = list(fields)
    for pos, value in enumerate(fields):
        if value is None:
            continue
        if "\x00" in value:
            value = value.replace("\x00", "\ufffd")
            reasons.append(f"{header[pos]}: contains a NUL byte (shown as U+FFFD in raw_record)")
        if len(value) > limit:
            reasons.append(
                f"{header[pos]}: value of {len(value)} characters exceeds the field limit of {limit} "
                f"({MAX_FIELD_ENV}); raw_record keeps its first {SHOWN_PREFIX}"
            )
            value = value[:SHOWN_PREFIX]
        out[pos] = value
    return out, "; ".join(reasons) or None


@dataclass
class LandingFile:
    path: Path
    label: str  # "<export date>/<file name>", used in every message and in _source_file
    header: list[str]
    records: Iterator[Record]


def open_file(path: Path, label: str) -> LandingFile:
    name = path.name
    if name.endswith(".parquet"):
        return _open_parquet(path, label)
    if name.endswith(".csv.gz"):
        return _open_csv(path, label, compressed=True)
    return _open_csv(path, label, compressed=False)


def _decoded_lines(path: Path, label: str, compressed: bool) -> Iterator[str]:
    """Lines as text; each line is decoded on its own so an encoding error can name its line."""
    opener = gzip.open if compressed else open
    try:
        with opener(path, "rb") as fh:
            for line_no, raw in enumerate(fh, 1):
                if line_no == 1 and raw.startswith(UTF16_BOMS):
                    raise IngestError(
                        f"{label}: line 1: starts with a UTF-16 byte-order mark; the contract requires UTF-8"
                    )
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise IngestError(
                        f"{label}: line {line_no}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} "
                        f"at column {exc.start + 1}); the contract requires UTF-8"
                    ) from None
                if line_no == 1 and text.startswith("\ufeff"):
                    text = text[1:]
                yield text
    except (OSError, EOFError, zlib.error) as exc:
        raise IngestError(f"{label}: cannot read the file ({exc})") from None


def _open_csv(path: Path, label: str, compressed: bool) -> LandingFile:
    limit = max_field_chars()
    # Process-wide setting of the csv module; every caller in this process wants the same ceiling.
    csv.field_size_limit(max(limit * PARSE_LIMIT_FACTOR, csv.field_size_limit()))
    reader = csv.reader(_decoded_lines(path, label, compressed), strict=True)
    last_line = 0

    def next_row() -> tuple[int, list[str]] | None:
        """Next non-blank record and the physical line it starts on."""
        nonlocal last_line
        while True:
            start = last_line + 1
            try:
                row = next(reader)
            except StopIteration:
                return None
            except csv.Error as exc:
                raise IngestError(
                    f"{label}: line {start}: malformed CSV in the record starting here ({exc}); "
                    "check quoting (RFC 4180)"
                ) from None
            last_line = reader.line_num
            if row:  # a blank line is no record
                return start, row

    first = next_row()
    if first is None:
        raise IngestError(f"{label}: empty file, no header row")
    header = [h.strip() for h in first[1]]
    _check_header(label, first[0], header)

    def records() -> Iterator[Record]:
        width = len(header)
        while (item := next_row()) is not None:
            line_no, row = item
            if len(row) != width:
                raise IngestError(
                    f"{label}: line {line_no}: expected {width} fields as in the header, found {len(row)} "
                    "(ragged row or broken quoting)"
                )
            fields, reason = sanitize(header, row, limit)
            yield line_no, fields, reason

    return LandingFile(path, label, header, records())


def _check_header(label: str, line_no: int, header: list[str]) -> None:
    if any("\x00" in name for name in header):
        raise IngestError(
            f"{label}: line {line_no}: the header contains a NUL byte; not UTF-8 text (UTF-16 without a "
            "byte-order mark?)"
        )


def _open_parquet(path: Path, label: str) -> LandingFile:
    """Parquet columns are cast to their text form so one validation path serves every format.

    A Parquet file has no lines; its record number (1-based) stands in for the line number.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise IngestError(f"{label}: not a readable Parquet file ({exc})") from None
    header = [str(n).strip() for n in pf.schema_arrow.names]
    _check_header(label, 1, header)
    limit = max_field_chars()

    def records() -> Iterator[Record]:
        line_no = 0
        try:
            for batch in pf.iter_batches(batch_size=65536):
                cols = []
                for name, col in zip(header, batch.columns, strict=True):
                    try:
                        cols.append(pc.cast(col, pa.string()).to_pylist())
                    except pa.ArrowException as exc:
                        raise IngestError(
                            f"{label}: column {name} of type {col.type} cannot be read as text ({exc})"
                        ) from None
                for values in zip(*cols, strict=True):
                    line_no += 1
                    fields, reason = sanitize(header, list(values), limit)
                    yield line_no, fields, reason
        except (OSError, pa.ArrowException) as exc:
            raise IngestError(f"{label}: cannot read Parquet data after record {line_no} ({exc})") from None

    return LandingFile(path, label, header, records())
