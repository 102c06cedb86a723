"""Reading a landing file (.csv, .csv.gz, .parquet) as a header plus text records with physical line numbers.

CSV is parsed here (not by COPY's CSV mode) so a bad file is reported with its physical line: a quoted
field may span lines, so a record's line is where it starts, which COPY cannot tell us.
"""

from __future__ import annotations

import csv
import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from crm_scoring.ingest.errors import IngestError

Record = tuple[int, list[str | None]]  # (line number, fields in header order)


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
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise IngestError(
                        f"{label}: line {line_no}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} "
                        f"at column {exc.start + 1}); the contract requires UTF-8"
                    ) from None
                if line_no == 1 and text.startswith("\ufeff"):
                    text = text[1:]
                if "\x00" in text:
                    raise IngestError(f"{label}: line {line_no}: contains a NUL byte; not a text file")
                yield text
    except (OSError, EOFError, zlib.error) as exc:
        raise IngestError(f"{label}: cannot read the file ({exc})") from None


def _open_csv(path: Path, label: str, compressed: bool) -> LandingFile:
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

    def records() -> Iterator[Record]:
        width = len(header)
        while (item := next_row()) is not None:
            line_no, row = item
            if len(row) != width:
                raise IngestError(
                    f"{label}: line {line_no}: expected {width} fields as in the header, found {len(row)} "
                    "(ragged row or broken quoting)"
                )
            yield line_no, row

    return LandingFile(path, label, header, records())


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
                    yield line_no, list(values)
        except (OSError, pa.ArrowException) as exc:
            raise IngestError(f"{label}: cannot read Parquet data after record {line_no} ({exc})") from None

    return LandingFile(path, label, header, records())
