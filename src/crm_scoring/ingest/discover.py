"""Finding export folders and the file that carries each contract table."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from crm_scoring import contract
from crm_scoring.ingest.errors import IngestError


def export_folder(landing_root: Path, export_date: date) -> Path:
    return Path(landing_root) / export_date.isoformat()


def find_table_file(folder: Path, table: str) -> Path | None:
    """The one file for `table` (.csv, .csv.gz or .parquet); two variants at once is ambiguous: an error."""
    found = [folder / f"{table}{suffix}" for suffix in contract.FILE_SUFFIXES]
    found = [p for p in found if p.is_file()]
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise IngestError(
            f"{folder.name}/{found[0].name}: {table} arrives in more than one file ({names});"
            " keep exactly one"
        )
    return found[0] if found else None


def export_dates(landing_root: Path) -> list[date]:
    """Dates of the `YYYY-MM-DD` folders under the landing root; anything else there is ignored."""
    root = Path(landing_root)
    if not root.is_dir():
        return []
    dates = []
    for child in root.iterdir():
        if not child.is_dir() or len(child.name) != 10:
            continue
        try:
            dates.append(date.fromisoformat(child.name))
        except ValueError:
            continue
    return sorted(dates)
