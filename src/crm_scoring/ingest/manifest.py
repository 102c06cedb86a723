"""`_manifest.json`: row counts and sha256 checksums written by the exporter, verified before loading."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from crm_scoring import contract
from crm_scoring.ingest.errors import IngestError

CHUNK = 1 << 20


@dataclass(frozen=True)
class ManifestEntry:
    rows: int | None
    sha256: str | None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(folder: Path, export_date: date) -> dict[str, ManifestEntry] | None:
    """The manifest's file entries keyed by file name, or None when the folder has no manifest."""
    path = folder / contract.MANIFEST
    label = f"{folder.name}/{contract.MANIFEST}"
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IngestError(f"{label}: not valid JSON ({exc})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("files"), dict):
        raise IngestError(f"{label}: expected an object with a 'files' object")
    declared = doc.get("export_date")
    if declared is not None and str(declared) != export_date.isoformat():
        raise IngestError(f"{label}: export_date {declared!r} does not match the folder {folder.name}")
    entries = {}
    for name, meta in doc["files"].items():
        # Only a plain name of a file in this folder: a hostile manifest must not make the loader read
        # (and checksum) files elsewhere on the host.
        if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
            raise IngestError(f"{label}: entry {name!r} is not the name of a file in the folder")
        if not isinstance(meta, dict):
            raise IngestError(f"{label}: entry for {name} is not an object")
        rows = meta.get("rows")
        if rows is not None and (not isinstance(rows, int) or isinstance(rows, bool) or rows < 0):
            raise IngestError(f"{label}: rows for {name} is not a non-negative integer ({rows!r})")
        entries[name] = ManifestEntry(rows=rows, sha256=meta.get("sha256"))
    return entries


def verify_checksums(folder: Path, entries: dict[str, ManifestEntry]) -> dict[str, str]:
    """Check every listed file exists and matches its sha256; returns the computed digests by file name."""
    digests = {}
    for name, entry in entries.items():
        path = folder / name
        label = f"{folder.name}/{name}"
        if not path.is_file():
            raise IngestError(f"{label}: listed in {contract.MANIFEST} but the file is missing")
        digest = sha256_of(path)
        if entry.sha256 is not None and digest.lower() != str(entry.sha256).lower():
            raise IngestError(
                f"{label}: sha256 mismatch with {contract.MANIFEST} (manifest {entry.sha256}, file {digest})"
            )
        digests[name] = digest
    return digests


def verify_rows(label: str, entry: ManifestEntry | None, rows_read: int) -> None:
    if entry is not None and entry.rows is not None and entry.rows != rows_read:
        raise IngestError(
            f"{label}: row count mismatch with {contract.MANIFEST} (manifest {entry.rows}, file {rows_read})"
        )
