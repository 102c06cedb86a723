"""Policy seeds as enrichment reads them: the dbt-loaded `policy` schema when it exists, else the CSVs.

The Python task runs before dbt, so on a fresh warehouse the seeds are not loaded yet; the CSV files in
dbt_project/seeds/policy are the same data. Rows in force on the run date win, like the dbt macro
`policy_in_force_order` (a date before the first effective_from uses the first version).
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import psycopg
from psycopg.rows import dict_row

from crm_scoring import settings


def seeds_dir() -> Path:
    return settings.dbt_project_dir() / "seeds" / "policy"


def _table_exists(conn: psycopg.Connection, schema: str, table: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (f"{schema}.{table}",)).fetchone()[0]


def load_rows(conn: psycopg.Connection, seed: str) -> list[dict]:
    """All rows of a policy seed, as text values (effective_from as date)."""
    if _table_exists(conn, "policy", seed):
        with conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(f"select * from policy.{seed}").fetchall()
        return [{k: (v if isinstance(v, date) or v is None else str(v)) for k, v in r.items()} for r in rows]
    return _csv_rows(seed)


def _csv_rows(seed: str) -> list[dict]:
    with open(seeds_dir() / f"{seed}.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["effective_from"] = date.fromisoformat(r["effective_from"])
    return rows


def version_key(version: str) -> tuple[int, ...]:
    """A policy_version ordered as a version, not as text (2026.9 < 2026.10): its runs of digits as
    numbers, like the dbt macro `policy_version_key` ('v1' -> (1,)). Seed versions are dot-separated
    whole numbers (DQ-17)."""
    return tuple(int(part) for part in re.split(r"[^0-9]+", str(version)) if part)


def in_force_rank(row: dict, run_date: date) -> tuple:
    """Sort key putting the row in force on run_date first: the dbt macro `policy_in_force_order`
    (effective rows, latest first; else the earliest future row), then the highest version."""
    eff = row["effective_from"]
    when = (0, -eff.toordinal()) if eff <= run_date else (1, eff.toordinal())
    return (*when, tuple(-p for p in version_key(row["policy_version"])))


def in_force(rows: list[dict], key_columns: tuple[str, ...], run_date: date) -> list[dict]:
    """Per business key, the version in force on run_date (else the earliest version)."""
    best: dict[tuple, dict] = {}
    for r in rows:
        k = tuple(r[c] for c in key_columns)
        if k not in best or in_force_rank(r, run_date) < in_force_rank(best[k], run_date):
            best[k] = r
    return list(best.values())


def policy_version_in_force(rows: list[dict], run_date: date) -> str:
    """The policy version stamped on the run date's outputs: the dbt macro `policy_version()`
    (the policy_parameters row first in force order, the highest version among equals)."""
    return min(rows, key=lambda r: in_force_rank(r, run_date))["policy_version"]


def policy_profile() -> str:
    """The policy profile as the dbt macro `policy_profile` reads it (env CRM_POLICY_PROFILE; starter)."""
    from crm_scoring.policy import PROFILE_ENV, PROFILES

    value = (os.environ.get(PROFILE_ENV) or "starter").strip().lower()
    if value not in PROFILES:
        raise ValueError(f"policy profile must be one of {PROFILES}, got {value!r} ({PROFILE_ENV})")
    return value


def parameter_values(conn: psycopg.Connection, run_date: date) -> dict[str, str | None]:
    """policy_parameters in force on run_date under the profile: key -> value (None = unset).

    The Python twin of the dbt macro `policy_value`: under `strict` a row tagged `starter` counts as unset,
    so the gate, CLV, backtests and enrichment see the same parameters as the marts and lists.
    """
    return _profile_values(in_force(load_rows(conn, "policy_parameters"), ("key",), run_date))


def seed_parameter_values(as_of: date | None = None) -> dict[str, str | None]:
    """`parameter_values` from the seed CSV, for code that runs where no warehouse exists (DAG parsing,
    model selection). `as_of` None = the newest version (such code has no run date)."""
    rows = _csv_rows("policy_parameters")
    return _profile_values(in_force(rows, ("key",), as_of or max(r["effective_from"] for r in rows)))


def _profile_values(rows_in_force: list[dict]) -> dict[str, str | None]:
    strict = policy_profile() == "strict"
    values: dict[str, str | None] = {}
    for r in rows_in_force:
        value = None if r["value"] is None or str(r["value"]).strip() == "" else str(r["value"]).strip()
        values[r["key"]] = None if strict and r.get("tag") == "starter" else value
    return values


def retention_days(params: dict[str, str | None], key: str, minimum: int, unset: str = "") -> int | None:
    """A retention period in whole days from policy parameter `key` of `params` (parameter_values); None
    when unset, which each caller gives its own meaning (`unset`, words for the error). Below `minimum`
    the policy is mis-set: ValueError rather than a purge or a prune of the wrong length."""
    value = params.get(key)
    if value is None:
        return None
    days = int(float(value))
    if days < minimum:
        unit = "day" if minimum == 1 else "days"
        raise ValueError(f"policy_parameters.csv: {key} must be >= {minimum} {unit}{unset}, got {value!r}")
    return days


@dataclass(frozen=True)
class EnrichPolicy:
    negative_max_score: float
    positive_min_score: float
    negative_accuracy_min: float | None  # None = unset: the gate cannot pass (DQ-17 style, loud)
    gate_fail_action: str  # flag | withhold
    policy_version: str
    keywords: dict[tuple[str, str], list[str]]  # (list_name, language) -> keywords
    triage: dict[str, str] = field(default_factory=dict)  # emotion_class -> crisis_triage (sentiment_actions)


def _num(params: dict[str, str | None], key: str) -> float | None:
    value = params.get(key)
    return None if value is None or str(value).strip() == "" else float(value)


def load_policy(conn: psycopg.Connection, run_date: date) -> EnrichPolicy:
    params_rows = in_force(load_rows(conn, "policy_parameters"), ("key",), run_date)
    params = _profile_values(params_rows)
    required = ("sentiment_negative_max_score", "sentiment_positive_min_score")
    missing = [k for k in required if _num(params, k) is None]
    if missing:
        raise ValueError(f"policy error: enrichment needs parameter(s) {missing} in policy_parameters")
    keywords: dict[tuple[str, str], list[str]] = {}
    for r in in_force(load_rows(conn, "keyword_lists"), ("list_name", "language", "keyword"), run_date):
        keywords.setdefault((r["list_name"], r["language"]), []).append(r["keyword"])
    triage = {
        r["emotion_class"]: r["crisis_triage"]
        for r in in_force(load_rows(conn, "sentiment_actions"), ("emotion_class",), run_date)
    }
    return EnrichPolicy(
        negative_max_score=_num(params, "sentiment_negative_max_score"),
        positive_min_score=_num(params, "sentiment_positive_min_score"),
        negative_accuracy_min=_num(params, "nlp_negative_accuracy_min"),
        gate_fail_action=(params.get("nlp_gate_fail_action") or "withhold").strip(),
        policy_version=policy_version_in_force(load_rows(conn, "policy_parameters"), run_date),
        keywords={k: sorted(v) for k, v in keywords.items()},
        triage=triage,
    )
