"""Earlier demo nights in one process: the crm_nightly steps without Airflow, and the list outcomes.

`make run` shows the uplift of the lists (RP-15), which needs a list published some nights before the
run date, executed by the CRM (`demo.execute`) and measured later. One night through Airflow takes
minutes, so the earlier night runs here: the same task functions the DAG calls
(`orchestration.tasks`), and dbt with the DAG's own selections (one `dbt build` per step, as its
cosmos tasks run). Nothing here is a second implementation of a step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date

from crm_scoring import dbt_invoke, warehouse
from crm_scoring.orchestration.dbt_selectors import MARTS, REPORTING, build_args

log = logging.getLogger(__name__)


def nightly_in_process(run_date: date, url: str | None = None) -> dict[str, object]:
    """One crm_nightly run for `run_date` in this process; returns each step's summary."""
    from crm_scoring.orchestration import tasks

    ds = run_date.isoformat()
    url = url or warehouse.warehouse_url()
    # one `dbt parse` for the night's four builds, which would each load dbt's parse state again (a full
    # parse, 13.5 CPU s on a 2026-12-03 host, when the state was left by another database)
    parsed = dbt_invoke.manifest(url)

    def build(selector: str) -> object:
        return dbt_invoke.invoke([*build_args(selector), "--quiet"], url, run_date, manifest=parsed)

    steps: list[tuple[str, Callable[[], object]]] = [
        ("ingest", lambda: tasks.ingest(ds)),
        ("validate_raw", lambda: tasks.validate_raw(ds)),
        ("enrich_texts", lambda: tasks.enrich_texts(ds)),
        ("dbt_marts", lambda: build(MARTS)),
        ("score", lambda: tasks.score(ds)),
        ("dbt_lists", lambda: tasks.build_lists_in_process(ds, url, parsed)),
        ("validate_lists", lambda: tasks.validate_lists(ds)),
        ("publish_lists", lambda: tasks.publish_lists(ds)),
        ("explain_rest", lambda: tasks.explain_rest(ds)),
        ("dbt_reporting", lambda: build(REPORTING)),
    ]
    out: dict[str, object] = {}
    for name, step in steps:
        log.info("nightly %s (in process): %s", ds, name)
        out[name] = step()
        if isinstance(out[name], dict) and out[name].get("success") is False:
            raise RuntimeError(f"nightly {ds}: {name} failed: {out[name]}")
    return out


def is_published(run_date: date, url: str | None = None) -> bool:
    """True when the retention list of `run_date` has been published."""
    with warehouse.connect(url) as conn:
        if conn.execute("select to_regclass('lists.retention_list')").fetchone()[0] is None:
            return False
        return bool(
            conn.execute(
                "select exists (select 1 from lists.retention_list where run_date = %s)", (run_date,)
            ).fetchone()[0]
        )


OUTCOME_COLUMNS = (
    "list_date",
    "rule_code",
    "n_treated",
    "n_holdout",
    "reactivation_treated",
    "reactivation_holdout",
    "reactivation_uplift",
    "uplift_ci_low",
    "uplift_ci_high",
    "uptake_treated",
)


def render_outcomes(run_date: date, url: str | None = None) -> str:
    """marts.list_outcomes of `run_date` as a small table (RP-15): uplift and interval per rule."""
    with warehouse.connect(url) as conn:
        if conn.execute("select to_regclass('marts.list_outcomes')").fetchone()[0] is None:
            return "marts.list_outcomes: not built yet"
        rows = conn.execute(
            f"select {', '.join(OUTCOME_COLUMNS)} from marts.list_outcomes where run_date = %s"
            " order by list_date, rule_code",
            (run_date,),
        ).fetchall()
    if not rows:
        return f"marts.list_outcomes for {run_date}: no published list in the outcome window yet"
    lines = [
        f"marts.list_outcomes for {run_date} (RP-15: reactivation, treated vs hold-out)",
        f"  {'list date':10} {'rule':6} {'treated':>7} {'holdout':>7} {'react.T':>7} {'react.H':>7}"
        f" {'uplift':>7} {'95% interval':>17} {'uptake':>6}",
    ]

    def pct(v: float | None) -> str:
        return "" if v is None else f"{100 * v:.1f}"

    for r in rows:
        ci = "" if r[7] is None else f"[{pct(r[7])}, {pct(r[8])}]"
        lines.append(
            f"  {r[0]!s:10} {r[1]:6} {r[2]:7d} {r[3]:7d} {pct(r[4]):>7} {pct(r[5]):>7}"
            f" {pct(r[6]):>7} {ci:>17} {pct(r[9]):>6}"
        )
    lines.append("  (percent / percentage points; no interval below outcome_min_group_size per group)")
    return "\n".join(lines)
