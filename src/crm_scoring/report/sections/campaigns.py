"""Campaigns (RP-11): monthly e-mail delivery / open / response / conversion rates and the channels of the
latest month, the A/B results of the most recent campaigns (difference to the control with its interval,
p-value and verdict at the policy's significance level), and conversion by send hour.

Every figure is computed set-based in the campaign marts (dbt); this module only picks the display
window and draws. The A/B verdicts are not corrected for multiple testing, so the panel says how many
comparisons it shows and how many "significant" ones chance alone would give.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg

from crm_scoring.report import charts
from crm_scoring.report.panels import Panel, SectionSpec, missing, needs, query, table

# Display windows (not policy): months of the rate trend, A/B comparisons and send-time rows shown.
TREND_MONTHS = 12
AB_ROWS = 12
SEND_TIME_ROWS = 25
RATES = (
    ("delivery", "delivered", "with_outcome"),
    ("open", "opened", "delivered"),
    ("response (click)", "responded", "delivered"),
    ("conversion", "converted", "delivered"),
)


def trend_months(run_date: date) -> list[date]:
    """First days of the TREND_MONTHS months up to the run date's month, oldest first."""
    months, y, m = [], run_date.year, run_date.month
    for _ in range(TREND_MONTHS):
        months.append(date(y, m, 1))
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return months[::-1]


def _rate(row: dict[str, Any], num: str, den: str) -> float | None:
    return float(row[num]) / float(row[den]) if row.get(den) else None


@needs("Campaign rates per month (RP-11)", "marts.campaign_rates_monthly")
def _rates(conn: psycopg.Connection, run_date: date, title: str) -> list[Panel]:
    months = trend_months(run_date)
    rows = query(
        conn,
        """select contact_month, contact_channel, sum(contacts) as contacts,
                  sum(with_outcome) as with_outcome, sum(delivered) as delivered, sum(opened) as opened,
                  sum(responded) as responded, sum(converted) as converted
           from marts.campaign_rates_monthly
           where run_date = %s and contact_month between %s and %s
           group by 1, 2 order by 1, 2""",
        (run_date, months[0], months[-1]),
    )
    if not rows:
        return [missing(title, "marts.campaign_rates_monthly", run_date, "no outbound contact in the window")]
    email = [r for r in rows if r["contact_channel"] == "email"]
    scope = "e-mail" if email else "all channels"
    by_month: dict[date, dict[str, float]] = {}
    for r in email or rows:
        agg = by_month.setdefault(r["contact_month"], {})
        for key in ("with_outcome", "delivered", "opened", "responded", "converted"):
            agg[key] = agg.get(key, 0.0) + float(r[key])
    series = [
        (name, [_rate(by_month[m], num, den) if m in by_month else None for m in months])
        for name, num, den in RATES
    ]
    latest = max(r["contact_month"] for r in rows)
    channels = [
        {
            "channel": r["contact_channel"],
            "contacts": int(r["contacts"]),
            "with outcome": int(r["with_outcome"]),
            **{f"{name} rate": _round(_rate(r, num, den)) for name, num, den in RATES},
        }
        for r in rows
        if r["contact_month"] == latest
    ]
    return [
        Panel(
            f"{title}: {scope}, last {TREND_MONTHS} months (delivery over contacts with an outcome; "
            "open, response and conversion over delivered)",
            "chart",
            image=charts.xy_lines([m.isoformat()[:7] for m in months], series, "rate", percent=True),
        ),
        table(f"{title} by channel, {latest.isoformat()[:7]}", channels),
    ]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


@needs("A/B tests (RP-11)", "marts.campaign_ab_results")
def _ab_results(conn: psycopg.Connection, run_date: date, title: str) -> list[Panel]:
    rows = query(
        conn,
        """select campaign_id, ab_variant, control_variant, with_outcome, conversion_rate,
                  control_conversion_rate, conversion_difference, difference_ci_low, difference_ci_high,
                  p_value, significant, alpha,
                  max(last_contact_on) over (partition by campaign_id) as campaign_last_on
           from marts.campaign_ab_results
           where run_date = %s and not is_control
           order by campaign_last_on desc, campaign_id, ab_variant""",
        (run_date,),
    )
    if not rows:
        return [
            missing(
                title,
                "marts.campaign_ab_results",
                run_date,
                "no contact carries both a campaign_id and an ab_variant (optional columns of contacts.csv)"
                ", or no campaign has two arms",
            )
        ]
    shown = rows[:AB_ROWS]
    tested = [r for r in rows if r["significant"] is not None]
    alpha = next((float(r["alpha"]) for r in rows if r["alpha"] is not None), None)
    hits = sum(1 for r in tested if r["significant"])
    kpis = [
        ("campaigns with an A/B test", f"{len({r['campaign_id'] for r in rows}):,}"),
        ("comparisons with the control", f"{len(rows):,}"),
        ("tested (both arms large enough)", f"{len(tested):,}"),
        ("significant", f"{hits:,}"),
        ("significance level", "unset" if alpha is None else f"{alpha:g}"),
        ("expected by chance alone", "–" if alpha is None else f"{alpha * len(tested):.2f}"),
    ]
    labels = [f"{r['campaign_id']}: {r['ab_variant']} vs {r['control_variant']}" for r in shown]
    level = "" if alpha is None else f" ({1 - alpha:.0%} interval)"
    return [
        Panel(f"{title}: verdicts", "kpis", kpis=kpis),
        Panel(
            f"{title}: conversion difference to the control{level}, most recent campaigns first",
            "chart",
            image=charts.intervals(
                labels,
                [float(r["conversion_difference"] or 0.0) for r in shown],
                [r["difference_ci_low"] for r in shown],
                [r["difference_ci_high"] for r in shown],
                [r["significant"] for r in shown],
                "conversion rate: arm - control (orange: significant)",
            ),
        ),
        table(
            f"{title}: arm against control, most recent campaigns first",
            [
                {
                    "campaign": r["campaign_id"],
                    "arm": r["ab_variant"],
                    "control": r["control_variant"],
                    "n": r["with_outcome"],
                    "conversion": _round(r["conversion_rate"]),
                    "control conversion": _round(r["control_conversion_rate"]),
                    "difference": _round(r["conversion_difference"]),
                    "ci low": _round(r["difference_ci_low"]),
                    "ci high": _round(r["difference_ci_high"]),
                    "p-value": _round(r["p_value"]),
                    "significant": r["significant"],
                }
                for r in shown
            ],
            note="Not tested (–) when an arm or its control has fewer contacts with an outcome than "
            "campaign_ab_min_group_size, or the significance level is unset. No multiple-testing correction.",
        ),
    ]


@needs("Send times (RP-11)", "marts.campaign_send_times")
def _send_times(conn: psycopg.Connection, run_date: date, title: str) -> list[Panel]:
    by_hour = query(
        conn,
        """select send_hour, sum(contacts) as contacts, sum(with_outcome) as with_outcome,
                  sum(opened) as opened, sum(converted) as converted
           from marts.campaign_send_times where run_date = %s
           group by 1 order by 1""",
        (run_date,),
    )
    if not by_hour:
        return [
            missing(
                title, "marts.campaign_send_times", run_date, "no campaign was sent in two different hours"
            )
        ]
    hours = {r["send_hour"]: r for r in by_hour}
    span = range(min(hours), max(hours) + 1)
    series = [
        ("open rate", [_rate(hours[h], "opened", "with_outcome") if h in hours else None for h in span]),
        (
            "conversion rate",
            [_rate(hours[h], "converted", "with_outcome") if h in hours else None for h in span],
        ),
    ]
    detail = query(
        conn,
        """select campaign_id as campaign, ab_variant as arm, send_hour, contacts, with_outcome,
                  round(open_rate::numeric, 3) as open_rate,
                  round(conversion_rate::numeric, 3) as conversion_rate,
                  max(last_contact_on) over (partition by campaign_id) as campaign_last_on
           from marts.campaign_send_times where run_date = %s
           order by campaign_last_on desc, campaign_id, ab_variant, send_hour
           limit %s""",
        (run_date, SEND_TIME_ROWS),
    )
    return [
        Panel(
            f"{title}: open and conversion rate by hour of sending (recipient's time zone), every campaign "
            "sent in two or more hours (hours also differ in campaign mix)",
            "chart",
            image=charts.xy_lines([f"{h:02d}h" for h in span], series, "rate", percent=True),
        ),
        table(
            f"{title}: by campaign, arm and hour, most recent campaigns first",
            detail,
            ["campaign", "arm", "send_hour", "contacts", "with_outcome", "open_rate", "conversion_rate"],
        ),
    ]


section = SectionSpec("campaigns", "Campaigns", "RP-11", (_rates, _ab_results, _send_times))
