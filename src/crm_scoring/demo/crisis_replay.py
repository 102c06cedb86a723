"""`crm demo crisis-replay`: consecutive demo nights across a crisis, so the RP-03 list KPIs have data.

The crisis scoreboard (`marts.crisis_kpis`) judges win-back revival (RL-01 lists while a crisis is
active), loyalty uplift (CP-05 lists after it) and recurrence (RL-11 lists after it) from lists that
were published and worked by the CRM on earlier nights. A one-night demo has none, so those KPIs say
"not enough data". This replays N nights in a row: demo landing folders whose network-wide outage
starts a few nights into the range (before, during and after it), then per night the crm_nightly steps
in process (`demo.replay.nightly_in_process`: the DAG's own task functions and dbt selectors, no
Airflow) and the demo CRM working the night's lists into the following folders (`demo.execute`), so
later nights measure them. Whatever the KPIs come out at is what the generator's planted behaviour
gives: nothing here tunes it.

It keeps its own landing folders, MLflow registry, reports and warehouse database (`crm_crisis_replay`
on the warehouse's server), so it never mixes with `make run`'s demo. A published night is skipped, so
an interrupted replay resumes where it stopped.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from unittest import mock

import psycopg

from crm_scoring import contract, settings, warehouse

log = logging.getLogger(__name__)

DATABASE = "crm_crisis_replay"
LIST_KPIS = ("winback_revival_uplift", "loyalty_uplift", "recurrence_reduction")

Night = Callable[[date, str], object]  # runs one night for (run date, warehouse url), lists published


@dataclass(frozen=True)
class ReplayPlan:
    """Which demo data and which nights: `nights` run dates from `start`, the outage from `outage_night`."""

    start: date
    nights: int
    outage_night: int = 0
    customers: int = 5000
    seed: int = 42
    history_days: int = 540

    def __post_init__(self) -> None:
        if self.nights < 1 or not 0 <= self.outage_night < self.nights:
            raise ValueError("need nights >= 1 and 0 <= outage_night < nights")

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.nights - 1)

    @property
    def outage_start(self) -> date:
        return self.start + timedelta(days=self.outage_night)

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.nights)]


@dataclass
class ReplayResult:
    plan: ReplayPlan
    seconds: dict[date, float] = field(default_factory=dict)  # run date -> wall time of its night
    skipped: list[date] = field(default_factory=list)  # already published

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


def ensure_landing(plan: ReplayPlan, landing: Path) -> bool:
    """Generate the plan's landing folders unless its last one exists; True when generated now."""
    from crm_scoring.demo import generate

    if (landing / plan.end.isoformat() / contract.MANIFEST).exists():
        return False
    if landing.is_dir() and any(landing.iterdir()):  # another plan's folders: never mix two generations
        raise RuntimeError(f"{landing} holds another replay's landing folders: remove it to start over")
    generate(
        landing,
        plan.start,
        plan.end,
        plan.customers,
        plan.seed,
        history_days=plan.history_days,
        progress=False,
        outage_start=plan.outage_start,
    )
    return True


def in_process_night(run_date: date, url: str) -> object:
    """The default night: crm_nightly's steps in this process (`demo.replay`), as `crm demo nightly`."""
    from crm_scoring.demo.replay import nightly_in_process

    return nightly_in_process(run_date, url)


def replay(plan: ReplayPlan, landing: Path, url: str, night: Night = in_process_night) -> ReplayResult:
    """Run every night of `plan` not published yet, each followed by the demo CRM working its lists."""
    from crm_scoring.demo.execute import execute_lists
    from crm_scoring.demo.replay import is_published

    result = ReplayResult(plan)
    for run_date in plan.dates():
        if is_published(run_date, url):
            result.skipped.append(run_date)
            continue
        began = time.perf_counter()
        night(run_date, url)
        execute_lists(run_date, landing, url, seed=plan.seed)
        result.seconds[run_date] = time.perf_counter() - began
        log.info("crisis replay: night %s in %.0f s", run_date, result.seconds[run_date])
    return result


SCOREBOARD_COLUMNS = ("crisis_event_id", "kpi", "value", "target", "n_measured", "n_baseline", "status")


def scoreboard(run_date: date, url: str) -> list[dict]:
    """`marts.crisis_kpis` of `run_date`, one dict per event and KPI (empty before the mart exists)."""
    with psycopg.connect(url) as conn:
        if conn.execute("select to_regclass('marts.crisis_kpis')").fetchone()[0] is None:
            return []
        cur = conn.execute(
            f"select {', '.join(SCOREBOARD_COLUMNS)} from marts.crisis_kpis where run_date = %s"
            " order by crisis_event_id, kpi_order",
            (run_date,),
        )
        return [dict(zip(SCOREBOARD_COLUMNS, row, strict=True)) for row in cur.fetchall()]


def render_scoreboard(run_date: date, rows: list[dict]) -> str:
    """The scoreboard as a plain-text table (list-based KPIs marked with *)."""
    if not rows:
        return f"marts.crisis_kpis for {run_date}: no row"

    def num(v: object) -> str:
        return "" if v is None else f"{float(v):+.3f}"

    lines = [
        f"marts.crisis_kpis for {run_date} (RP-03; * = measured on published lists)",
        f"  {'event':8} {'kpi':26} {'value':>8} {'target':>8} {'n':>6} {'n base':>6}  status",
    ]
    for r in rows:
        mark = "*" if r["kpi"] in LIST_KPIS else " "
        lines.append(
            f"  {r['crisis_event_id']:8} {r['kpi'] + mark:26} {num(r['value']):>8} {num(r['target']):>8}"
            f" {r['n_measured'] or 0:6d} {r['n_baseline'] or 0:6d}  {r['status']}"
        )
    return "\n".join(lines)


@contextmanager
def isolated(root: Path, url: str) -> Iterator[None]:
    """Landing, MLflow and reports under `root`, the warehouse at `url`, for this process; restored after.

    The nightly task functions read their locations from the environment (`settings`), as under
    Airflow, so the replay points the environment at its own state rather than passing it down.
    """
    own = {warehouse.ENV_URL: url, "CRM_REPORTS_DIR": str(root / "reports")}
    with mock.patch.dict(os.environ, own), settings.isolated(root):
        yield


def replay_database(server_url: str, name: str = DATABASE) -> str:
    """The URL of the replay's own database on the warehouse's server, created when missing."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
        if exists is None:
            conn.execute(f'create database "{name}"')
    return warehouse.with_database(server_url, name)


__all__ = [
    "ReplayPlan",
    "ReplayResult",
    "ensure_landing",
    "in_process_night",
    "isolated",
    "render_scoreboard",
    "replay",
    "replay_database",
    "scoreboard",
]
