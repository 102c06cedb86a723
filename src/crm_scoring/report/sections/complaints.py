"""Complaint health: SLA compliance by priority and channel, the FRT / TTR trend, the top problem
categories as a Pareto chart, and the CSAT / NPS trend by region (CM-04, CM-07, RP-01, RP-02)."""

from __future__ import annotations

from datetime import date

import psycopg

from crm_scoring.report import charts
from crm_scoring.report.panels import Panel, SectionSpec, missing, needs, query, table
from crm_scoring.report.sections.alerts import trend_days

PARETO_TOP = 12
SLA_CLOCKS = ("first_response", "solution", "resolution", "closure")


@needs("SLA compliance (CM-04)", "marts.sla_compliance_daily")
def _sla(conn: psycopg.Connection, run_date: date, title: str) -> list[Panel]:
    panels = []
    for dim in ("priority", "channel"):
        rows = query(
            conn,
            f"""select coalesce({dim}::text, '(none)') as k, metric,
                       sum(met) as met, sum(breached) as breached,
                       sum(met)::numeric / nullif(sum(met) + sum(breached), 0) as compliance,
                       max(compliance_target) as target
                from marts.sla_compliance_daily where run_date = %s
                group by 1, 2 order by 1, 2""",
            (run_date,),
        )
        if not rows:
            return [missing(title, "marts.sla_compliance_daily", run_date)]
        keys = sorted({r["k"] for r in rows})
        metrics = [m for m in SLA_CLOCKS if any(r["metric"] == m for r in rows)]
        metrics += sorted({r["metric"] for r in rows} - set(metrics))
        cell = {(r["k"], r["metric"]): r for r in rows}
        targets = {float(r["target"]) for r in rows if r["target"] is not None}
        pivot = []
        for k in keys:
            line: dict = {dim: k}
            for m in metrics:
                c = cell.get((k, m))
                line[m] = None if c is None or c["compliance"] is None else round(float(c["compliance"]), 3)
                line[f"{m} n"] = None if c is None else int(c["met"] + c["breached"])
            pivot.append(line)
        panels.append(
            Panel(
                f"SLA compliance by {dim} (share of tickets meeting each clock, creation days restated)",
                "chart",
                image=charts.grouped_bars(
                    keys,
                    [
                        (m, [cell[(k, m)]["compliance"] if (k, m) in cell else None for k in keys])
                        for m in metrics
                    ],
                    "compliance",
                    target=("target", min(targets)) if len(targets) == 1 else None,
                ),
            )
        )
        columns = [dim] + [c for m in metrics for c in (m, f"{m} n")]
        panels.append(
            table(f"SLA compliance by {dim}: rate and tickets with a verdict per clock", pivot, columns)
        )
    return panels


@needs("First-response and resolution time", "marts.fct_tickets")
def _frt_ttr(conn: psycopg.Connection, run_date: date, title: str) -> list[Panel]:
    days = trend_days(run_date)
    rows = query(
        conn,
        """select created_on,
                  percentile_cont(0.5) within group (order by frt_minutes) as frt_median,
                  percentile_cont(0.5) within group (order by ttr_minutes) as ttr_median,
                  count(*) as tickets
           from marts.fct_tickets
           where run_date = %s and created_on between %s and %s
           group by 1 order by 1""",
        (run_date, days[0], run_date),
    )
    if not rows:
        return [missing(title, "marts.fct_tickets", run_date, "no ticket created in the trailing window")]
    by_day = {r["created_on"]: r for r in rows}
    series = [
        ("median FRT (min)", [by_day[d]["frt_median"] if d in by_day else None for d in days]),
        ("median TTR (min)", [by_day[d]["ttr_median"] if d in by_day else None for d in days]),
    ]
    return [
        Panel(
            f"{title}, tickets by creation day (median minutes, log scale)",
            "chart",
            image=charts.lines_by_day([d.isoformat() for d in days], series, "minutes", log=True),
        )
    ]


@needs("Top problem categories (CM-07)", "marts.complaint_problems_monthly")
def _pareto(conn: psycopg.Connection, run_date: date, title: str) -> list[Panel]:
    rows = query(
        conn,
        """with m as (select max(month) as month from marts.complaint_problems_monthly where run_date = %s)
           select coalesce(p.module_l2, '(none)') || ' / ' || coalesce(p.complaint_type, '(none)') as problem,
                  p.complaints, p.share_of_month, p.reopen_rate, p.is_top_problem, p.month
           from marts.complaint_problems_monthly as p join m on p.month = m.month
           where p.run_date = %s
           order by p.complaints desc, problem""",
        (run_date, run_date),
    )
    if not rows:
        return [missing(title, "marts.complaint_problems_monthly", run_date)]
    top = rows[:PARETO_TOP]
    month = rows[0]["month"]
    return [
        Panel(
            f"{title}: Pareto of complaints in {str(month)[:7]}",
            "chart",
            image=charts.pareto(
                [r["problem"] for r in top],
                [r["complaints"] for r in top],
                f"complaints by module / type, {str(month)[:7]} (line: cumulative share)",
            ),
        ),
        table(
            f"{title}, {str(month)[:7]}",
            top,
            ["problem", "complaints", "share_of_month", "reopen_rate", "is_top_problem"],
        ),
    ]


@needs("CSAT and NPS (RP-02)", "marts.survey_scores_daily")
def _surveys(conn: psycopg.Connection, run_date: date, title: str) -> list[Panel]:
    """RP-02: CSAT satisfied share and NPS per response day over the trend window, and by region."""
    days = trend_days(run_date)
    rows = query(
        conn,
        """select responded_on, survey_type, sum(responses) as responses, sum(satisfied) as satisfied,
                  sum(promoters) as promoters, sum(detractors) as detractors
           from marts.survey_scores_daily
           where run_date = %s and responded_on between %s and %s
           group by 1, 2 order by 1, 2""",
        (run_date, days[0], run_date),
    )
    if not rows:
        return [missing(title, "marts.survey_scores_daily", run_date, "no survey answered in the window")]
    csat = {r["responded_on"]: r for r in rows if r["survey_type"] == "CSAT"}
    nps = {r["responded_on"]: r for r in rows if r["survey_type"] == "NPS"}
    series = [
        (
            "CSAT: % satisfied",
            [
                100 * float(csat[d]["satisfied"]) / float(csat[d]["responses"]) if d in csat else None
                for d in days
            ],
        ),
        (
            "NPS (promoters - detractors, %)",
            [
                100 * float(nps[d]["promoters"] - nps[d]["detractors"]) / float(nps[d]["responses"])
                if d in nps
                else None
                for d in days
            ],
        ),
    ]
    by_region = query(
        conn,
        """select region,
                  sum(responses) filter (where survey_type = 'CSAT') as csat_responses,
                  sum(satisfied)::numeric / nullif(sum(responses) filter (where survey_type = 'CSAT'), 0)
                      as csat_satisfied_share,
                  sum(responses) filter (where survey_type = 'NPS') as nps_responses,
                  round(100 * (sum(promoters) - sum(detractors))::numeric
                        / nullif(sum(responses) filter (where survey_type = 'NPS'), 0), 1) as nps
           from marts.survey_scores_daily
           where run_date = %s and responded_on between %s and %s
           group by 1 order by 1""",
        (run_date, days[0], run_date),
    )
    return [
        Panel(
            f"{title}: per response day, last {len(days)} days",
            "chart",
            image=charts.lines_by_day([d.isoformat() for d in days], series, "points"),
        ),
        table(f"{title} by region, last {len(days)} days", by_region),
    ]


section = SectionSpec(
    "complaints", "Complaint health", "CM-04, CM-07, RP-01, RP-02", (_sla, _frt_ttr, _pareto, _surveys)
)
