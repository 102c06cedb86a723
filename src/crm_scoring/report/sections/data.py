"""Data health: the night's load audit (volumes, quarantine share, freshness), the volume trend per file,
and the monitoring marts `marts.data_health` (DQ-07, DQ-08, DQ-12) and `marts.pipeline_health`."""

from __future__ import annotations

from datetime import date

import psycopg

from crm_scoring.report import charts, panels
from crm_scoring.report.panels import (
    Panel,
    exists,
    fmt,
    key_figures,
    missing,
    pct,
    query,
    rows_or_missing,
    table,
)
from crm_scoring.report.sections.alerts import trend_days

TOP_QUARANTINE_REASONS = 10


def _panels(conn: psycopg.Connection, run_date: date) -> list[Panel]:
    out: list[Panel] = []
    out += _load(conn, run_date)
    for relation, title, columns in (
        (
            "marts.data_health",
            "Data checks (DQ-07, DQ-08, DQ-12)",
            ["check_name", "table_name", "metric", "value", "baseline", "threshold", "status"],
        ),
        (
            "marts.pipeline_health",
            "Pipeline stages and list sizes against the trailing baseline (AL-20)",
            ["stage", "stage_status", "duration_s", "baseline_duration_s", "rows", "baseline_rows", "status"],
        ),
    ):
        rows = rows_or_missing(conn, relation, run_date, title)
        if isinstance(rows, Panel):
            out.append(rows)
        else:
            rows.sort(key=lambda r: tuple(str(r.get(c)) for c in columns))  # a total order: same bytes
            out.append(table(title, rows, columns))
    return out


def _load(conn: psycopg.Connection, run_date: date) -> list[Panel]:
    title = "Load audit of the night's export"
    if not exists(conn, "ops.load_audit"):
        return [missing(title, "ops.load_audit", run_date, "nothing was ever loaded into this warehouse")]
    audit = query(
        conn,
        """select a.table_name, a.status, a.rows_read, a.rows_loaded, a.rows_quarantined,
                  round(a.rows_quarantined::numeric / nullif(a.rows_read, 0), 4) as quarantine_share,
                  (select max(b.export_date) from ops.load_audit as b
                   where b.table_name = a.table_name and b.status = 'loaded' and b.export_date <= %s)
                      as last_loaded_export
           from ops.load_audit as a where a.export_date = %s order by a.table_name""",
        (run_date, run_date),
    )
    out: list[Panel] = []
    if not audit:
        last = query(
            conn, "select max(export_date) as d from ops.load_audit where export_date <= %s", (run_date,)
        )[0]["d"]
        lag = f"; the latest export loaded is {last} ({(run_date - last).days} days old)" if last else ""
        return [missing(title, "ops.load_audit", run_date, f"no export was loaded for this date{lag}")]
    read = sum(r["rows_read"] for r in audit)
    quarantined = sum(r["rows_quarantined"] for r in audit)
    stale = [r["table_name"] for r in audit if r["status"] != "loaded"]
    out.append(
        key_figures(
            ("files", fmt(len(audit))),
            ("rows read", fmt(read)),
            ("rows quarantined", fmt(quarantined)),
            ("quarantine share", pct(quarantined / read) if read else "–"),
            ("files not loaded", ", ".join(stale) if stale else "none"),
        )
    )
    for r in audit:
        last = r.pop("last_loaded_export")
        r["freshness_days"] = (run_date - last).days if last else None
    out.append(
        table(title + " (freshness: days between the run date and the file's last loaded export)", audit)
    )
    days = trend_days(run_date)
    trend = query(
        conn,
        """select export_date, table_name, rows_loaded from ops.load_audit
           where export_date between %s and %s and status = 'loaded'
             and export_date > (select min(export_date) from ops.load_audit)
           order by table_name, export_date""",
        (days[0], run_date),  # the first export ever holds the history backfill: left out of the trend
    )
    tables = sorted({t["table_name"] for t in trend})
    if trend:
        loaded = {(t["export_date"], t["table_name"]): t["rows_loaded"] for t in trend}
        shown = days
        series = [(name, [loaded.get((d, name)) for d in shown]) for name in tables]
        out.append(
            Panel(
                "Rows loaded per file and export date (log scale; the first, backfill export left out)",
                "chart",
                image=charts.lines_by_day([d.isoformat() for d in shown], series, "rows", log=True),
            )
        )
    reasons = query(
        conn,
        """select table_name, reason, count(*) as rows from ops.quarantine where export_date = %s
           group by 1, 2 order by 3 desc, 1, 2 limit %s""",
        (run_date, TOP_QUARANTINE_REASONS),
    )
    if reasons:
        out.append(table("Quarantine reasons", reasons))
    return out


section = panels.SectionSpec("data", "Data health", "DQ-07, DQ-08, DQ-12, ST-01", (_panels,))
