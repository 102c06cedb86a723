"""Crisis: the events in force, affected customers, the complaint spike against its baseline, the
compensation issued vs due, and each event's recovery: repurchase, complaints and CSAT of its affected
customers before vs after (CM-14, CM-15, CP-11, RP-03)."""

from __future__ import annotations

from datetime import date

import psycopg

from crm_scoring.report import charts
from crm_scoring.report.panels import Panel, Section, absent, missing, query, section_of, table
from crm_scoring.report.sections.alerts import trend_days


def section(conn: psycopg.Connection, run_date: date) -> Section:
    return section_of(
        "crisis",
        "Crisis",
        "CM-14, CM-15, CP-11, RP-03",
        conn,
        run_date,
        _events,
        _spike,
        _compensation,
        _recovery,
    )


def _events(conn: psycopg.Connection, run_date: date) -> list[Panel]:
    title = "Crisis events and their feedback (CM-15)"
    if gone := absent(conn, title, run_date, "marts.crisis_feedback_linkage"):
        return gone
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
        Panel(
            "Key figures",
            "kpis",
            kpis=[
                ("active crisis events", str(len(active))),
                ("customers affected (active)", f"{sum(r['affected_customers'] or 0 for r in active):,}"),
                ("complaints linked (active)", f"{sum(r['linked_complaints'] or 0 for r in active):,}"),
            ],
        ),
        table(title, rows),
    ]


def _spike(conn: psycopg.Connection, run_date: date) -> list[Panel]:
    """Complaints created per day (tickets as of the run date) against today's CM-14 trailing baseline."""
    title = "Complaint spike (CM-14)"
    if gone := absent(conn, title, run_date, "marts.complaint_concentration_daily", "marts.fct_tickets"):
        return gone
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


def _compensation(conn: psycopg.Connection, run_date: date) -> list[Panel]:
    title = "Compensation issued vs due (CP-11, RP-03)"
    if gone := absent(conn, title, run_date, "marts.compensation_notifications"):
        return gone
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


def _recovery(conn: psycopg.Connection, run_date: date) -> list[Panel]:
    """RP-03 per event: repurchase before vs after against the recovery target, complaints and CSAT."""
    title = "Crisis recovery (RP-03)"
    if gone := absent(conn, title, run_date, "marts.crisis_recovery"):
        return gone
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
            "the resolution has passed. Churn uplift, win-back revival and recurrence are not measured.",
        )
    ]
