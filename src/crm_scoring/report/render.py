"""Render the daily report of one run date: query the sections, fill the Jinja template, write the file
atomically to `<reports dir>/daily/<date>.html` and store the same bytes in `ops.daily_reports`."""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import jinja2

from crm_scoring import settings, warehouse
from crm_scoring.report import store
from crm_scoring.report.sections import build_sections

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderedReport:
    run_date: date
    path: Path
    sha256: str
    bytes: int
    sections: tuple[str, ...]
    missing_panels: int


def report_path(run_date: date) -> Path:
    return settings.reports_dir() / "daily" / f"{run_date.isoformat()}.html"


def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("crm_scoring.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env.get_template("daily.html.j2")


def render_html(run_date: date, url: str | None = None) -> tuple[str, list]:
    """The HTML of the report and its sections; read-only on the warehouse."""
    with warehouse.connect(url) as conn:
        conn.execute("set transaction read only")
        sections = build_sections(conn, run_date)
    return _template().render(run_date=run_date.isoformat(), sections=sections), sections


def render_report(run_date: date, url: str | None = None, store_in_warehouse: bool = True) -> RenderedReport:
    html, sections = render_html(run_date, url)
    digest = hashlib.sha256(html.encode("utf-8")).hexdigest()
    path = report_path(run_date)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, path)  # a reader never sees half a report
    if store_in_warehouse:
        with warehouse.connect(url) as conn:
            store.save(conn, run_date, html, digest)
    missing = sum(1 for s in sections for p in s.panels if p.kind == "missing")
    log.info("report %s: %s (%d bytes, %d panels not measured)", run_date, path, len(html), missing)
    return RenderedReport(
        run_date=run_date,
        path=path,
        sha256=digest,
        bytes=len(html.encode("utf-8")),
        sections=tuple(s.title for s in sections),
        missing_panels=missing,
    )
