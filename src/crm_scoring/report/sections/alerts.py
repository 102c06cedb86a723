"""Alerts of the day (marts.alerts: every AL / DQ rule that fired) and their trend over the window."""

from __future__ import annotations

from datetime import date, timedelta

import psycopg

from crm_scoring.report import charts
from crm_scoring.report.panels import Panel, SectionSpec, fmt, key_figures, needs, query, table

# A display window, not a business threshold: issue 13 asks for "the last 30 days".
TREND_DAYS = 30
DETAIL_ROWS = 25


def trend_days(run_date: date) -> list[date]:
    return [run_date - timedelta(days=TREND_DAYS - 1 - i) for i in range(TREND_DAYS)]


@needs("Alerts", "marts.alerts")
def _panels(conn: psycopg.Connection, run_date: date, title: str) -> list[Panel]:
    panels: list[Panel] = []
    today = query(
        conn,
        """select alert_code, level, rule_name, scope, metric, metric_value, comparator, threshold, items
           from marts.alerts where run_date = %s
           order by level_rank desc, alert_code, scope nulls first, metric""",
        (run_date,),
    )
    by_level = query(
        conn,
        "select level, max(level_rank) as r, count(*) as n from marts.alerts where run_date = %s "
        "group by 1 order by 2 desc, 1",
        (run_date,),
    )
    panels.append(
        key_figures(
            ("alerts today", fmt(len(today))), *[(f"level {r['level']}", fmt(r["n"])) for r in by_level]
        )
    )
    days = trend_days(run_date)
    trend = query(
        conn,
        """select run_date, level, max(max(level_rank)) over (partition by level) as r, count(*) as n
           from marts.alerts where run_date between %s and %s group by run_date, level""",
        (days[0], run_date),
    )
    if trend:
        levels = sorted({(t["r"], t["level"]) for t in trend})
        counts = {(t["run_date"], t["level"]): t["n"] for t in trend}
        series = [(lvl, [counts.get((d, lvl), 0) for d in days]) for _, lvl in levels]
        panels.append(
            Panel(
                f"Alerts per run date, last {TREND_DAYS} days (dates without a run show none)",
                "chart",
                image=charts.stacked_bars_by_day(
                    [d.isoformat() for d in days], series, "alerts", highlight=run_date.isoformat()
                ),
            )
        )
    if today:
        by_rule = query(
            conn,
            """select alert_code, level, rule_name, metric, count(*) as alerts, sum(items) as items,
                      min(metric_value) as min_value, max(metric_value) as max_value,
                      max(threshold) as threshold
               from marts.alerts where run_date = %s
               group by alert_code, level, level_rank, rule_name, metric
               order by level_rank desc, alert_code, level, metric""",
            (run_date,),
        )
        panels.append(table("Alerts of the day by rule and level", by_rule))
        more = len(today) - DETAIL_ROWS
        panels.append(
            table(
                f"Alerts of the day, most severe first{f' (first {DETAIL_ROWS})' if more > 0 else ''}",
                today[:DETAIL_ROWS],
                note=f"{more} more in marts.alerts (run_date = {run_date})." if more > 0 else "",
            )
        )
    else:
        panels.append(Panel("Alerts of the day", "note", note=f"No alert fired on {run_date}."))
    return panels


section = SectionSpec("alerts", "Alerts", "AL-*, DQ-*", (_panels,))
