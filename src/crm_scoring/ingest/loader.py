"""Load one export date's landing folder into `raw.*`, quarantining bad rows and auditing every file.

The whole date runs in one transaction: every file is first streamed (COPY) into a temp landing table
and checked against the manifest, and only then are the date's old rows replaced. Any error rolls the
date back entirely, so a date is either fully loaded or untouched.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import psycopg

from crm_scoring import contract, failpoints
from crm_scoring.ingest import validate_sql
from crm_scoring.ingest.discover import export_dates, export_folder, find_table_file
from crm_scoring.ingest.errors import IngestError
from crm_scoring.ingest.manifest import ManifestEntry, read_manifest, sha256_of, verify_checksums, verify_rows
from crm_scoring.ingest.reader import open_file
from crm_scoring.ingest.schema import ensure_schema, server_major

log = logging.getLogger(__name__)

WORK_MEM_ENV = "CRM_INGEST_WORK_MEM"
DEFAULT_WORK_MEM = "256MB"  # the duplicate-key hash of a 1M-row file fits without spilling
LOCK_NAMESPACE = 48_151  # first key of pg_advisory_xact_lock(ns, date): one loader per export date


@dataclass
class FileResult:
    table: str
    source_file: str | None
    status: str  # loaded | missing
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    extra_columns: list[str] = field(default_factory=list)
    sha256: str | None = None


@dataclass
class LoadResult:
    export_date: date
    files: list[FileResult]

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    def totals(self) -> dict[str, int]:
        return {"read": self.rows_read, "loaded": self.rows_loaded, "quarantined": self.rows_quarantined}

    def by_table(self) -> dict[str, FileResult]:
        return {f.table: f for f in self.files}


@dataclass
class _Staged:
    """A file already streamed into its temp landing table, waiting for validation."""

    layout: validate_sql.Layout
    result: FileResult


def work_mem() -> str:
    value = os.environ.get(WORK_MEM_ENV, DEFAULT_WORK_MEM)
    if not value.replace(" ", "").isalnum():
        raise ValueError(f"{WORK_MEM_ENV}={value!r} is not a PostgreSQL memory size like 256MB")
    return value


def _label(export_date: date, path: Path) -> str:
    return f"{export_date.isoformat()}/{path.name}"


def _stage_file(
    conn: psycopg.Connection,
    table: contract.Table,
    path: Path,
    export_date: date,
    manifest: dict[str, ManifestEntry] | None,
    digest: str | None,
) -> _Staged:
    label = _label(export_date, path)
    landing = open_file(path, label)
    layout = validate_sql.plan_layout(table, landing.header, label)
    conn.execute(validate_sql.land_ddl(layout))
    rows = 0
    with conn.cursor() as cur, cur.copy(validate_sql.copy_sql(layout)) as copy:
        for line_no, fields, reason in landing.records:
            copy.write_row((line_no, reason, *fields))
            rows += 1
    if manifest is not None:
        verify_rows(label, manifest.get(path.name), rows)
    result = FileResult(
        table=table.name,
        source_file=label,
        status="loaded",
        rows_read=rows,
        extra_columns=list(layout.extras),
        sha256=digest or sha256_of(path),
    )
    return _Staged(layout, result)


def _replace_date(conn: psycopg.Connection, export_date: date) -> None:
    for name in contract.TABLES:
        conn.execute(f"delete from raw.{name} where _export_date = %s", (export_date,))
    conn.execute("delete from ops.quarantine where export_date = %s", (export_date,))
    conn.execute("delete from ops.load_audit where export_date = %s", (export_date,))


def _validate_and_insert(conn: psycopg.Connection, staged: _Staged, export_date: date) -> None:
    conn.execute(validate_sql.typed_sql(staged.layout, export_date, server_major(conn)))
    conn.execute(validate_sql.duplicates_sql(staged.layout))
    row = conn.execute(validate_sql.load_sql(staged.layout, export_date)).fetchone()
    assert row is not None
    staged.result.rows_loaded, staged.result.rows_quarantined = int(row[0]), int(row[1])
    if staged.result.rows_loaded + staged.result.rows_quarantined != staged.result.rows_read:
        raise IngestError(f"{staged.result.source_file}: internal error, loaded + quarantined != read")


def _audit(conn: psycopg.Connection, export_date: date, res: FileResult) -> None:
    conn.execute(
        "insert into ops.load_audit (export_date, table_name, source_file, status, rows_read, rows_loaded,"
        " rows_quarantined, extra_columns, sha256) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            export_date,
            res.table,
            res.source_file,
            res.status,
            res.rows_read,
            res.rows_loaded,
            res.rows_quarantined,
            res.extra_columns,
            res.sha256,
        ),
    )


def _log(export_date: date, res: FileResult) -> None:
    """One line per file; counts and column names only, never values (they may be PII)."""
    log.info(
        "ingest %s %s: %s file=%s read=%d loaded=%d quarantined=%d extra_columns=%s",
        export_date,
        res.table,
        res.status,
        res.source_file or "-",
        res.rows_read,
        res.rows_loaded,
        res.rows_quarantined,
        ",".join(res.extra_columns) or "-",
    )
    if res.extra_columns:
        log.warning(
            "ingest %s: unknown extra column(s) kept in raw.%s._extra: %s",
            res.source_file,
            res.table,
            ", ".join(res.extra_columns),
        )


def load_export_date(url: str, landing_root: Path, export_date: date) -> LoadResult:
    """Load `<landing_root>/<export_date>/` into raw.*; reloading a date replaces it (idempotent)."""
    folder = export_folder(Path(landing_root), export_date)
    if not folder.is_dir():
        raise IngestError(f"{export_date.isoformat()}/: landing folder {folder} does not exist")
    paths = {name: find_table_file(folder, name) for name in contract.TABLES}
    for name in contract.REQUIRED_FILES:
        if paths[name] is None:
            raise IngestError(
                f"{export_date.isoformat()}/{name}.csv: required file is missing "
                f"(also looked for {name}.csv.gz and {name}.parquet)"
            )
    manifest = read_manifest(folder, export_date)
    digests = verify_checksums(folder, manifest) if manifest is not None else {}
    if manifest is not None:
        unlisted = [p.name for p in paths.values() if p is not None and p.name not in manifest]
        if unlisted:
            log.warning(
                "ingest %s: file(s) not listed in %s: %s", export_date, contract.MANIFEST, ", ".join(unlisted)
            )

    with psycopg.connect(url) as conn:
        conn.execute("set local timezone to 'UTC'")
        conn.execute("set local standard_conforming_strings to on")
        conn.execute("set local datestyle to 'ISO, YMD'")
        conn.execute(f"set local work_mem to '{work_mem()}'")
        ensure_schema(conn)
        conn.execute("select pg_advisory_xact_lock(%s, %s)", (LOCK_NAMESPACE, export_date.toordinal()))
        staged: list[_Staged] = []
        results: list[FileResult] = []
        for name, table in contract.TABLES.items():
            path = paths[name]
            if path is None:
                results.append(FileResult(table=name, source_file=None, status="missing"))
                continue
            item = _stage_file(conn, table, path, export_date, manifest, digests.get(path.name))
            staged.append(item)
            results.append(item.result)
        # Everything parsed and matches the manifest: only now touch the date's data.
        _replace_date(conn, export_date)
        failpoints.hit("ingest:inside")  # the date's old rows deleted, the new ones not yet inserted
        for item in staged:
            _validate_and_insert(conn, item, export_date)
        for res in results:
            _audit(conn, export_date, res)
        # Fresh planner statistics: dbt's set-based queries over raw are planned badly without them.
        for item in staged:
            if item.result.rows_loaded:
                conn.execute(f"analyze raw.{item.result.table}")
        # psycopg's context manager commits here; an exception anywhere above rolled everything back.
    for res in results:
        _log(export_date, res)
    return LoadResult(export_date, results)


def loaded_dates(url: str) -> list[date]:
    """Export dates whose load completed (every contract table audited as loaded or missing)."""
    with psycopg.connect(url) as conn:
        if conn.execute("select to_regclass('ops.load_audit')").fetchone()[0] is None:
            return []
        rows = conn.execute(
            "select export_date from ops.load_audit group by export_date"
            " having count(*) filter (where status in ('loaded', 'missing')) = %s"
            " and bool_and(status <> 'failed') order by export_date",
            (len(contract.TABLES),),
        ).fetchall()
    return [r[0] for r in rows]


def pending_dates(url: str, landing_root: Path, through: date) -> list[date]:
    """Landing folders dated on or before `through` that have no complete load yet, oldest first."""
    done = set(loaded_dates(url))
    return [d for d in export_dates(Path(landing_root)) if d <= through and d not in done]
