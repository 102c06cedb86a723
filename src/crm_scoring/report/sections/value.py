"""Value concentration and the seed hypotheses: RP-16 (revenue share of the top 20 %) and RP-17
(elasticity of repurchase to the first-response time)."""

from __future__ import annotations

import math
from datetime import date

import psycopg

from crm_scoring.report import charts
from crm_scoring.report.panels import (
    Panel,
    SectionSpec,
    exists,
    key_figures,
    missing,
    needs,
    pct,
    query,
    table,
)

LORENZ_POINTS = 50
FRT_BUCKETS = 5


def parameter(conn: psycopg.Connection, run_date: date, key: str) -> float | None:
    """A policy parameter as the night's build used it (profile applied), from policy_parameter_status."""
    if not exists(conn, "marts.policy_parameter_status"):
        return None
    rows = query(
        conn,
        "select value_used from marts.policy_parameter_status where run_date = %s and key = %s",
        (run_date, key),
    )
    try:
        return float(rows[0]["value_used"]) if rows and rows[0]["value_used"] not in (None, "") else None
    except ValueError:  # a non-numeric value: the panel says the parameter is not set
        return None


@needs("RP-16: revenue share of the top 20 % of customers", "marts.customer_value")
def _pareto_revenue(conn: psycopg.Connection, run_date: date, title: str) -> list[Panel]:
    curve = query(
        conn,
        """with ranked as (
               select revenue_365d,
                      ntile(%s) over (order by revenue_365d desc, customer_id) as bucket
               from marts.customer_value where run_date = %s and revenue_365d > 0)
           select bucket, sum(revenue_365d) as revenue from ranked group by 1 order by 1""",
        (LORENZ_POINTS, run_date),
    )
    top = query(
        conn,
        """select sum(revenue_365d) filter (where is_top20) / nullif(sum(revenue_365d), 0) as top_share,
                  count(*) filter (where revenue_365d > 0) as buyers
           from marts.customer_value where run_date = %s""",
        (run_date,),
    )[0]
    if not curve or top["top_share"] is None:
        return [missing(title, "marts.customer_value", run_date, "no customer with revenue in the window")]
    total = float(sum(r["revenue"] for r in curve))
    n = len(curve)
    xs, ys, running = [], [], 0.0
    for i, r in enumerate(curve, start=1):
        running += float(r["revenue"])
        xs.append(i / n)
        ys.append(running / total)
    expected = parameter(conn, run_date, "value_top_expected_revenue_share")
    return [
        key_figures(
            ("customers with revenue (365 d)", f"{top['buyers']:,}"),
            ("revenue share of the top 20 %", pct(top["top_share"])),
            ("seed expectation (value_top_expected_revenue_share)", pct(expected)),
        ),
        Panel(title, "chart", image=charts.lorenz(xs, ys, 0.2)),
    ]


@needs("RP-17: repurchase after a ticket by first-response time", "marts.fct_tickets", "marts.fct_orders")
def _frt_elasticity(conn: psycopg.Connection, run_date: date, title: str) -> list[Panel]:
    horizon = parameter(conn, run_date, "churn_label_horizon_days")
    if horizon is None:
        return [
            missing(
                title,
                "marts.policy_parameter_status",
                run_date,
                "churn_label_horizon_days (the repurchase window) is not set",
            )
        ]
    rows = query(
        conn,
        """with t as (
               select t.ticket_id, t.customer_id, t.created_at, t.frt_minutes,
                      ntile(%(b)s) over (order by t.frt_minutes, t.ticket_id) as bucket
               from marts.fct_tickets as t
               where t.run_date = %(d)s and t.frt_minutes is not null
                 and t.created_on <= %(d)s - %(h)s::int),
           r as (
               select t.ticket_id, t.bucket, t.frt_minutes, bool_or(o.order_id is not null) as repurchased
               from t left join marts.fct_orders as o
                 on o.customer_id = t.customer_id and o.order_status = 'completed'
                and o.order_ts > t.created_at
                and o.order_ts <= t.created_at + make_interval(days => %(h)s::int)
               group by 1, 2, 3)
           select bucket as frt_quintile, count(*) as tickets,
                  min(frt_minutes) as frt_min, max(frt_minutes) as frt_max,
                  avg(frt_minutes) as frt_mean, avg(repurchased::int) as repurchase_rate
           from r group by 1 order by 1""",
        {"b": FRT_BUCKETS, "d": run_date, "h": int(horizon)},
    )
    if len(rows) < 2:
        return [
            missing(
                title,
                "marts.fct_tickets",
                run_date,
                f"fewer than {FRT_BUCKETS} tickets answered at least {int(horizon)} days before it",
            )
        ]
    slope = elasticity([float(r["frt_mean"]) for r in rows], [float(r["repurchase_rate"]) for r in rows])
    effect = None if slope is None else 0.9**slope - 1
    note = (
        f"Repurchase = a completed order within {int(horizon)} days (churn_label_horizon_days) after the "
        "ticket. Elasticity = slope of ln(repurchase rate) on ln(mean FRT) across FRT quintiles: "
        + (
            "not estimable (a zero rate or a constant FRT)."
            if slope is None
            else f"{slope:+.3f}, i.e. a 10 % faster first response goes with {effect:+.1%} repurchase "
            "(seed hypothesis: +5 % to +8 %). Observational: tickets are not randomised by speed."
        )
    )
    return [
        Panel(
            title,
            "chart",
            image=charts.xy_lines(
                [f"Q{r['frt_quintile']} ≤{float(r['frt_max']):,.0f} min" for r in rows],
                [("repurchase rate", [r["repurchase_rate"] for r in rows])],
                "repurchase rate",
                percent=True,
            ),
        ),
        table(title, rows, note=note),
    ]


def elasticity(frt: list[float], rate: list[float]) -> float | None:
    """Least-squares slope of ln(rate) on ln(frt); None when a log is undefined or x does not vary."""
    if any(v <= 0 for v in frt + rate):
        return None
    xs, ys = [math.log(v) for v in frt], [math.log(v) for v in rate]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


section = SectionSpec(
    "value", "Value concentration and seed hypotheses", "RP-16, RP-17", (_pareto_revenue, _frt_elasticity)
)
