"""The day's published lists: size by rule, channel and team, hold-out share, over-capacity rows, top
reasons, and the measured uplift of earlier lists (RP-15)."""

from __future__ import annotations

from datetime import date

import psycopg

from crm_scoring.report import charts
from crm_scoring.report.panels import Panel, SectionSpec, exists, fmt, key_figures, missing, pct, query, table

TOP_REASONS = 10


def _panels(conn: psycopg.Connection, run_date: date) -> list[Panel]:
    if not exists(conn, "lists.retention_list"):
        return [missing("Retention list", "lists.retention_list", run_date, "no list published yet")]
    ret = query(
        conn,
        """select count(*) as rows_total,
                  count(*) filter (where holdout_flag) as holdout_rows,
                  count(*) filter (where contact_status = 'over_capacity') as over_capacity_rows,
                  count(*) filter (where contact_status = 'ready') as ready_rows,
                  sum(expected_value_at_risk) filter (where contact_status = 'ready') as value_at_risk_ready
           from lists.retention_list where run_date = %s""",
        (run_date,),
    )[0]
    comp = (
        query(
            conn,
            "select count(*) as n, sum(amount) as amount, sum(points) as points, "
            "count(*) filter (where red_flag) as red_flags "
            "from lists.compensation_list where run_date = %s",
            (run_date,),
        )[0]
        if exists(conn, "lists.compensation_list")
        else {"n": None, "amount": None, "points": None, "red_flags": None}
    )
    total = ret["rows_total"]
    if not total and not comp["n"]:
        return [missing("Lists", "lists.retention_list", run_date, "no list rows published for it")]
    panels: list[Panel] = []
    panels.append(
        key_figures(
            ("retention rows", fmt(total)),
            ("ready to contact", fmt(ret["ready_rows"])),
            ("hold-out share", pct(ret["holdout_rows"] / total) if total else "–"),
            ("over capacity (CH-09)", fmt(ret["over_capacity_rows"])),
            ("value at risk, ready rows", fmt(ret["value_at_risk_ready"])),
            ("compensation rows", fmt(comp["n"])),
            ("compensation amount", fmt(comp["amount"])),
            ("red-flagged compensations", fmt(comp["red_flags"])),
        )
    )
    groups = []
    for column, label in (("rule_code", "by rule"), ("channel", "by channel"), ("team", "by team")):
        items = query(
            conn,
            f"select coalesce({column}, '(none)') as k, count(*) as n from lists.retention_list "
            f"where run_date = %s group by 1 order by 2 desc, 1 limit 12",
            (run_date,),
        )
        groups.append((f"Retention rows {label}", [(r["k"], r["n"]) for r in items]))
    if total:
        panels.append(Panel("Retention list size", "chart", image=charts.barh_panels(groups)))
        by_rule = query(
            conn,
            """select rule_code,
                      count(*) as rows,
                      count(*) filter (where holdout_flag) as holdout,
                      round(avg(holdout_flag::int), 3) as holdout_share,
                      count(*) filter (where contact_status = 'over_capacity') as over_capacity,
                      round(avg(churn_probability)::numeric, 3) as mean_churn_p
               from lists.retention_list where run_date = %s group by 1 order by 1""",
            (run_date,),
        )
        panels.append(table("Retention rows per rule", by_rule))
        reasons = query(
            conn,
            """select reason, count(*) as rows
               from lists.retention_list as l,
                    lateral regexp_split_to_table(trim(both '{}' from l.reasons), '\\s*;\\s*') as reason
               where l.run_date = %s and reason <> ''
               group by 1 order by 2 desc, 1 limit %s""",
            (run_date, TOP_REASONS),
        )
        panels.append(table(f"Top {TOP_REASONS} churn reasons on the list (CH-06)", reasons))
    if comp["n"]:
        by_rule = query(
            conn,
            """select rule_code, count(*) as rows, sum(amount) as amount, sum(points) as points,
                      count(*) filter (where requires_approval) as need_approval
               from lists.compensation_list where run_date = %s group by 1 order by 1""",
            (run_date,),
        )
        panels.append(table("Compensation rows per rule", by_rule))
    if exists(conn, "marts.list_outcomes"):
        outcomes = query(
            conn,
            """select list_date, rule_code, n_treated, n_holdout, reactivation_treated,
                      reactivation_holdout, reactivation_uplift, uplift_ci_low, uplift_ci_high,
                      uplift_significant
               from marts.list_outcomes where run_date = %s order by list_date desc, rule_code limit 20""",
            (run_date,),
        )
        if outcomes:
            panels.append(table("Measured uplift of earlier lists vs hold-out (RP-15)", outcomes))
        else:
            panels.append(missing("Uplift of earlier lists (RP-15)", "marts.list_outcomes", run_date))
    return panels


section = SectionSpec("lists", "Today's lists", "RL-*, CP-*, CH-08, CH-09, RP-15", (_panels,))
