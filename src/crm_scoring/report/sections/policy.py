"""The policy profile in force, parameters still on starter defaults, rules that are off (DQ-17)."""

from __future__ import annotations

from datetime import date

import psycopg

from crm_scoring.report.panels import Panel, SectionSpec, exists, key_figures, missing, needs, query, table


@needs("Policy", "marts.policy_parameter_status")
def _panels(conn: psycopg.Connection, run_date: date, title: str) -> list[Panel]:
    params = query(
        conn,
        """select key, value, value_used, unit, is_starter, used_by, required_by_rules, policy_profile,
                  policy_version
           from marts.policy_parameter_status where run_date = %s order by key""",
        (run_date,),
    )
    if not params:
        return [missing(title, "marts.policy_parameter_status", run_date)]
    starter = [p for p in params if p["is_starter"]]
    rules = (
        query(
            conn,
            """select rule_code, rule_name, enabled, runnable, off_reason, blocked_reason, fired_rows
               from marts.rule_activity where run_date = %s order by rule_code""",
            (run_date,),
        )
        if exists(conn, "marts.rule_activity")
        else []
    )
    off = [r for r in rules if not r["runnable"]]
    panels: list[Panel] = []
    panels.append(
        key_figures(
            ("policy profile", ", ".join(sorted({str(p["policy_profile"]) for p in params}))),
            ("policy version", ", ".join(sorted({str(p["policy_version"]) for p in params}))),
            ("parameters in force", f"{len(params):,}"),
            ("on starter defaults", f"{len(starter):,}"),
            ("rules fired", f"{sum(1 for r in rules if (r['fired_rows'] or 0) > 0):,}"),
            ("rules off", f"{len(off):,}"),
        )
    )
    panels.append(
        table(
            "Parameters still on a starter default (not business-approved)",
            starter,
            ["key", "value_used", "unit", "used_by", "required_by_rules"],
            note="Under the strict profile these count as unset and their rules stay off (docs/policy.md).",
        )
    )
    if off:
        panels.append(
            table(
                "Rules that are off and why",
                off,
                ["rule_code", "rule_name", "enabled", "off_reason", "blocked_reason"],
            )
        )
    return panels


section = SectionSpec("policy", "Policy in force", "DQ-17", (_panels,))
