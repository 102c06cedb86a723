"""Landing folder -> raw schema loader (manifest check, COPY, validation, quarantine, load audit)."""

from crm_scoring.ingest.errors import IngestError
from crm_scoring.ingest.loader import FileResult, LoadResult, load_export_date, loaded_dates, pending_dates
from crm_scoring.ingest.schema import ensure_schema

__all__ = [
    "FileResult",
    "IngestError",
    "LoadResult",
    "ensure_schema",
    "load_export_date",
    "loaded_dates",
    "pending_dates",
]
