"""Streams blocks of rows into the per-date landing folders and writes the manifests.

Rows arrive chunk by chunk (customer chunks); each block is split by export date and appended
to that date's file, so memory is bounded by one chunk, not by the whole history. Headers are
written with `csv.writer`; data rows are joined from fields `fmt` already made CSV-safe, which
gives the same bytes as `csv.writer` (checked by the tests) at a fraction of the cost.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import repeat
from pathlib import Path

import numpy as np

from crm_scoring.contract import MANIFEST, TABLES
from crm_scoring.demo.fmt import Formatter

WRITE_BATCH = 200_000
LINE_END = "\r\n"  # what csv.writer writes, RFC 4180


@dataclass
class Block:
    """Rows of one table: export-date index per row (0 = first folder) and lazy column formatters."""

    table: str
    export_day: np.ndarray
    cols: dict[str, Formatter] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.cols) - set(TABLES[self.table].column_names)
        if unknown:
            raise ValueError(f"{self.table}: columns not in the contract: {sorted(unknown)}")

    def __len__(self) -> int:
        return len(self.export_day)


class LandingWriter:
    """One folder per export date, one CSV per contract table (header always written)."""

    def __init__(self, out_dir: Path, start: date, n_dates: int) -> None:
        self.dates = [start + timedelta(days=i) for i in range(n_dates)]
        self.folders = [Path(out_dir) / d.isoformat() for d in self.dates]
        self.rows = np.zeros((n_dates, len(TABLES)), dtype=np.int64)
        self._table_pos = {name: i for i, name in enumerate(TABLES)}
        for folder in self.folders:
            folder.mkdir(parents=True, exist_ok=True)
            for name, table in TABLES.items():
                with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
                    csv.writer(fh).writerow(table.column_names)

    def write(self, block: Block) -> None:
        if len(block) == 0:
            return
        table = TABLES[block.table]
        order = np.argsort(block.export_day, kind="stable")
        days = block.export_day[order]
        bounds = np.flatnonzero(np.diff(days)) + 1
        starts = np.concatenate(([0], bounds))
        ends = np.concatenate((bounds, [len(days)]))
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            day = int(days[s])
            if not 0 <= day < len(self.folders):
                raise ValueError(f"{block.table}: export day {day} outside the generated dates")
            with open(self.folders[day] / f"{block.table}.csv", "a", newline="", encoding="utf-8") as fh:
                for a in range(s, e, WRITE_BATCH):
                    idx = order[a : min(e, a + WRITE_BATCH)]
                    cols = [
                        block.cols[c](idx) if c in block.cols else repeat("", len(idx))
                        for c in table.column_names
                    ]
                    # fields are CSV-safe already (fmt); joining is ~5x faster than csv.writer
                    fh.write(LINE_END.join(map(",".join, zip(*cols, strict=False))) + LINE_END)
            self.rows[day, self._table_pos[block.table]] += e - s

    def finish(self) -> list[Path]:
        """Write `_manifest.json` per folder (data rows and sha256 of every file)."""
        for i, folder in enumerate(self.folders):
            files = {}
            for name, pos in self._table_pos.items():
                path = folder / f"{name}.csv"
                digest = hashlib.sha256()
                with open(path, "rb") as fh:
                    for piece in iter(lambda fh=fh: fh.read(1 << 20), b""):
                        digest.update(piece)
                files[path.name] = {"rows": int(self.rows[i, pos]), "sha256": digest.hexdigest()}
            manifest = {"export_date": self.dates[i].isoformat(), "files": files}
            (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        return list(self.folders)
