"""Crisis: the events in force, affected customers, the complaint spike against its baseline, the
compensation issued vs due, the RP-03 scoreboard (each crisis KPI against its seeded target, on or off
target), and each event's recovery: repurchase, complaints and CSAT of its affected customers before vs
after (CM-14, CM-15, CP-11, RP-03)."""

from __future__ import annotations

from datetime import date

import psycopg

from crm_scoring.report import charts
from crm_scoring.report.panels import Panel, SectionSpec, fmt, key_figures, missing, needs, query, table
from crm_scoring.report.sections.alerts import trend_days


@needs("Crisis events and their feedback (CM-15)", "marts.crisis_feedback_linkage")
def _events(conn: psycopg.Connection, run_date: date, title: str) -> list[Panel]:
    rows = query(
        conn,
        """select crisis_event_id, crisis_type, opinion_level, is_active, started_at::date as started,
                  resolved_at::date as resolved, affected_customers, linked_complaints, customers_with_ticket,
                  negative_share, linked_surveys
           from marts.crisis_feedback_linkage where run_date = %s
           order by is_active desc, started_at desc, crisis_event_id""",
        (run_date,),
    )
    if not rows:
        return [Panel(title, "note", note=f"No crisis event started by {run_date}.")]
    active = [r for r in rows if r["is_active"]]
    return [
        key_figures(
            ("active crisis events", str(len(active))),
            ("customers affected (active)", f"{sum(r['affected_customers'] or 0 for r in active):,}"),
            ("complaints linked (active)", f"{sum(r['linked_complaints'] or 0 for r in active):,}"),
        ),
        table(title, rows),
    ]


@needs("Complaint spike (CM-14)", "marts.complaint_concentration_daily", "marts.fct_tickets")
def _spike(conn: psycopg.Connection, run_date: date, title: str) -> list[Panel]:
    """Complaints created per day (tickets as of the run date) against today's CM-14 trailing baseline."""
    today = query(
        conn,
        """select complaints_today, baseline_daily_mean, concentration_ratio
           from marts.complaint_concentration_daily where module_l2 = 'all' and run_date = %s""",
        (run_date,),
    )
    if not today:
        return [missing(title, "marts.complaint_concentration_daily", run_date)]
    days = trend_days(run_date)
    rows = query(
        conn,
        """select created_on, count(*) as complaints from marts.fct_tickets
           where run_date = %s and is_complaint and created_on between %s and %s group by 1""",
        (run_date, days[0], run_date),
    )
    per_day = {r["created_on"]: r["complaints"] for r in rows}
    baseline = today[0]["baseline_daily_mean"]
    ratio = today[0]["concentration_ratio"]
    return [
        Panel(
            f"{title}: complaints created per day; today {today[0]['complaints_today']} against a trailing "
            f"daily mean of {float(baseline or 0):.1f} (ratio {float(ratio or 0):.2f})",
            "chart",
            image=charts.lines_by_day(
                [d.isoformat() for d in days],
                [("complaints created", [per_day.get(d, 0) for d in days])],
                "complaints",
                hline=("trailing daily mean (CM-14 baseline)", float(baseline))
                if baseline is not None
                else None,
            ),
        )
    ]


@needs("Compensation issued vs due (CP-11, RP-03)", "marts.compensation_notifications")
def _compensation(conn: psycopg.Connection, run_date: date, title: str) -> list[Panel]:
    rows = query(
        conn,
        """select rule_code, count(*) as due,
                  count(*) filter (where status = 'notified') as notified,
                  count(*) filter (where status = 'pending') as pending,
                  count(*) filter (where status = 'overdue') as overdue,
                  round(avg(hours_to_notify)::numeric, 1) as mean_hours_to_notify
           from marts.compensation_notifications where run_date = %s group by 1 order by 1""",
        (run_date,),
    )
    if not rows:
        return [
            missing(
                title,
                "marts.compensation_notifications",
                run_date,
                "no compensation list was published before it",
            )
        ]
    return [table(title + ": published compensation rows of earlier lists and their notice", rows)]


@needs("Crisis recovery (RP-03)", "marts.crisis_recovery")
def _recovery(conn: psycopg.Connection, run_date: date, title: str) -> list[Panel]:
    """RP-03 per event: repurchase before vs after against the recovery target, complaints and CSAT."""
    rows = query(
        conn,
        """select crisis_event_id, crisis_type, started_at::date as started, resolved_at::date as resolved,
                  is_mature as post_window_passed, affected_customers, repurchase_pre, repurchase_post,
                  repurchase_recovery, meets_recovery_target, complaints_per_customer_pre,
                  complaints_per_customer_post, csat_pre, csat_post, csat_rebound, window_days,
                  recovery_target
           from marts.crisis_recovery where run_date = %s
           order by started_at desc, crisis_event_id""",
        (run_date,),
    )
    if not rows:
        return [missing(title, "marts.crisis_recovery", run_date, "no crisis event started by this date")]
    window, target = rows[0]["window_days"], rows[0]["recovery_target"]
    columns = [c for c in rows[0] if c not in ("window_days", "recovery_target")]
    return [
        table(
            f"{title}: affected customers {window} days before the start vs after the resolution",
            rows,
            columns,
            note=f"Recovery = repurchase after / before; target {target}. Decided once the window after "
            "the resolution has passed, and only on at least outcome_min_group_size affected customers and "
            "pre-crisis buyers, as the scoreboard above judges it.",
        )
    ]


KPI_LABELS = {
    "repurchase_recovery": "repurchase recovery (after / before)",
    "satisfaction_rebound": "satisfaction rebound (CSAT after - before)",
    "complaint_rate_change": "complaints per customer (after - before)",
    "churn_uplift": "churn uplift (churn after / before - 1)",
    "winback_revival_uplift": "win-back revival, RL-01 (treated / hold-out - 1)",
    "loyalty_uplift": "loyalty uplift, CP-05 recipients (after / before - 1)",
    "recurrence_reduction": "recurrence reduction, RL-11 (1 - treated / hold-out)",
}
VERDICTS = ("on target", "off target", "not enough data", "window open")
SYMBOLS = {"at least": ">=", "at most": "<="}


def _target(row: dict) -> str:
    if row["target_direction"] is None:
        return "none in the seed"
    if row["target"] is None:
        return "unset"
    return f"{SYMBOLS[row['target_direction']]} {float(row['target']):g}"


@needs("Crisis KPIs against their targets (RP-03)", "marts.crisis_kpis")
def _scoreboard(conn: psycopg.Connection, run_date: date, title: str) -> list[Panel]:
    """RP-03: every crisis KPI of every event against its seeded target, as the mart judged it."""
    rows = query(
        conn,
        """select crisis_event_id, kpi, baseline, measured, value, n_measured, n_baseline, target,
                  target_direction, reference, status, min_group_size
           from marts.crisis_kpis where run_date = %s order by crisis_event_id, kpi_order""",
        (run_date,),
    )
    if not rows:
        why = (
            "no crisis event started by this date, or crisis_kpi_window_days is unset in the profile in force"
        )
        return [missing(title, "marts.crisis_kpis", run_date, why)]
    count = {v: sum(r["status"] == v for r in rows) for v in VERDICTS}
    off = [
        f"{r['crisis_event_id']} {KPI_LABELS.get(r['kpi'], r['kpi'])}"
        for r in rows
        if r["status"] == "off target"
    ]
    panels = [
        Panel(
            title,
            "note",
            note=("Off target: " + "; ".join(off) + ".") if off else "No crisis KPI is off target.",
        ),
        key_figures(*[(f"crisis KPIs {v}", str(count[v])) for v in VERDICTS]),
        table(
            f"{title}: per event",
            [
                {
                    "event": r["crisis_event_id"],
                    "KPI": KPI_LABELS.get(r["kpi"], r["kpi"]),
                    "before / hold-out": r["baseline"],
                    "after / treated": r["measured"],
                    "value": r["value"],
                    "target": _target(r),
                    "reference": r["reference"],
                    "customers: measured / baseline": f"{fmt(r['n_measured'])} / {fmt(r['n_baseline'])}",
                    "status": r["status"],
                }
                for r in rows
            ],
            note=f"Before / after = the affected customers around the crisis; hold-out / treated = the "
            f"CH-08 groups of RL-01 lists during the crisis and of RL-11 lists after it. No verdict below "
            f"{rows[0]['min_group_size']} customers in either base (outcome_min_group_size) or before the "
            "window has passed. The targets are the seed's claimed effects (seed_spec 3.13), and churn and "
            "loyalty compare the same customers over time, so they are observations, not causal effects.",
        ),
    ]
    groups = _chart_groups(rows)
    if groups:
        panels.append(
            Panel(
                f"{title}: values against the target line (green on, red off target, grey not judged yet)",
                "chart",
                image=charts.against_targets(groups),
            )
        )
    return panels


def _chart_groups(
    rows: list[dict],
) -> list[tuple[str, float | None, float | None, list[tuple[str, float, str]]]]:
    """One chart group per KPI that has a target and at least one value: (title, target, reference, bars)."""
    groups = []
    for kpi, label in KPI_LABELS.items():
        judged = [r for r in rows if r["kpi"] == kpi and r["target_direction"] and r["value"] is not None]
        if not judged:
            continue
        target = next((float(r["target"]) for r in judged if r["target"] is not None), None)
        reference = next((float(r["reference"]) for r in judged if r["reference"] is not None), None)
        bars = [(r["crisis_event_id"], float(r["value"]), r["status"]) for r in judged]
        groups.append((label.split(" (")[0], target, reference, bars))
    return groups


section = SectionSpec(
    "crisis", "Crisis", "CM-14, CM-15, CP-11, RP-03", (_events, _spike, _compensation, _scoreboard, _recovery)
)
