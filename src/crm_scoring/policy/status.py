"""`crm policy status`: starter defaults still in use and rules that are off, from the marts of a run.

It prints what the nightly dbt_lists step recorded for the date (marts.policy_parameter_status and
marts.rule_activity), so the answer is the one the lists were built with, under that run's profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import psycopg
from psycopg.rows import dict_row

from crm_scoring import warehouse


class NoRunError(RuntimeError):
    """The marts hold no rule activity for the requested date (the nightly run did not build it)."""


@dataclass(frozen=True)
class PolicyStatus:
    run_date: date
    policy_profile: str
    policy_version: str
    starter_params: list[dict]
    rules_off: list[dict]
    rules_fired: int
    rules_total: int


def _exists(conn: psycopg.Connection, table: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (table,)).fetchone()[0]


def load_status(run_date: date | None = None, url: str | None = None) -> PolicyStatus:
    """The status of DATE (default: the latest date marts.rule_activity holds)."""
    with warehouse.connect(url) as conn, conn.cursor(row_factory=dict_row) as cur:
        for table in ("marts.rule_activity", "marts.policy_parameter_status"):
            if not _exists(conn, table):
                raise NoRunError(f"{table} does not exist yet: run `crm run --date D` first")
        if run_date is None:
            run_date = cur.execute("select max(run_date) as d from marts.rule_activity").fetchone()["d"]
            if run_date is None:
                raise NoRunError("marts.rule_activity is empty: run `crm run --date D` first")
        rules = cur.execute(
            "select * from marts.rule_activity where run_date = %s order by rule_code", (run_date,)
        ).fetchall()
        if not rules:
            raise NoRunError(f"no rule activity for {run_date}: run `crm run --date {run_date}` first")
        params = cur.execute(
            "select * from marts.policy_parameter_status where run_date = %s and is_starter order by key",
            (run_date,),
        ).fetchall()
    # which rules rely on each starter parameter: the rules' own starter_params (rule_activity)
    relying: dict[str, list[str]] = {}
    for r in rules:
        for key in filter(None, (k.strip() for k in (r.get("starter_params") or "").split(","))):
            relying.setdefault(key, []).append(r["rule_code"])
    for p in params:
        p["rules"] = relying.get(p["key"], [])
    return PolicyStatus(
        run_date=run_date,
        policy_profile=rules[0].get("policy_profile") or "starter",
        policy_version=rules[0]["policy_version"],
        starter_params=params,
        rules_off=[r for r in rules if r.get("off_reason")],
        rules_fired=sum(1 for r in rules if r["has_fired"]),
        rules_total=len(rules),
    )


def _why(rule: dict) -> str:
    detail = rule.get("blocked_reason") or ""
    strict = rule.get("policy_profile") == "strict"
    if rule["off_reason"] == "disabled" and rule.get("starter_params") and strict:
        detail = f"strict profile: starter default(s) {rule['starter_params']} count as unset"
    elif rule["off_reason"] == "no data":
        detail = "runnable, nothing matched on the run date"
    return "" if detail == rule["off_reason"] else detail


def render(status: PolicyStatus) -> str:
    lines = [
        f"policy status for {status.run_date}: profile {status.policy_profile}, "
        f"policy version {status.policy_version}; {status.rules_fired} of {status.rules_total} rules fired",
        "",
    ]
    used = "in use" if status.policy_profile == "starter" else "counted as unset (strict profile)"
    lines.append(
        f"parameters on a starter default, not business-approved ({len(status.starter_params)}, {used}):"
    )
    width = max((len(p["key"]) for p in status.starter_params), default=10)
    for p in status.starter_params:
        rules = ", ".join(p["rules"]) or "-"
        lines.append(
            f"  {p['key']:<{width}}  {p['value'] or '':>8} {p['unit'] or '':<12} rules: {rules:<24}"
            f" cited by: {p['used_by'] or '-'}"
        )
    lines += ["", f"rules that are off ({len(status.rules_off)}):"]
    for r in status.rules_off:
        lines.append(f"  {r['rule_code']:<6} {r['off_reason']:<9} {_why(r)}")
    lines += [
        "",
        "to approve a starter default: set its value, tag (S or D), approved_by and notes in "
        "dbt_project/seeds/policy/policy_parameters.csv (docs/policy.md)",
    ]
    return "\n".join(lines)
