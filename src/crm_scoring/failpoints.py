"""Named fail-points: deterministic crashes and transient errors at chosen places of a run, for tests.

Crash safety cannot be tested with timers (a kill "some time during dbt" lands somewhere different
on every machine). Instead the code calls `hit("<stage>:<where>")` at its stage boundaries and once
inside each long stage, and a test arms one of them through the environment:

    CRM_FAILPOINT=score:inside              # SIGKILL this process there (no cleanup, no finally)
    CRM_FAILPOINT=publish_lists:inside:error-once   # raise psycopg.OperationalError, the first time only

    CRM_FAILPOINT=ingest:inside:pause       # sleep CRM_FAILPOINT_PAUSE_S (default 2) there: widens a race

Several points may be armed, separated by commas. `error-once` remembers that it fired in a marker
file under `CRM_FAILPOINT_DIR` (default `<state dir>/failpoints`), so the retry, which Airflow runs
in a new process, passes. Unarmed, `hit` is one dictionary lookup: the calls stay in production code.

dbt runs in-process (dbtRunner), so its stages are reached through dbt's event callbacks:
`dbt_callbacks()` returns a callback that fires `dbt_marts:inside` / `dbt_lists:inside` in the middle
of the transaction that builds the stage's designated model (see DBT_INSIDE_MODELS).
"""

from __future__ import annotations

import logging
import os
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

ENV = "CRM_FAILPOINT"
ENV_DIR = "CRM_FAILPOINT_DIR"
ENV_PAUSE = "CRM_FAILPOINT_PAUSE_S"
KILL = "kill"
ERROR_ONCE = "error-once"
PAUSE = "pause"
ACTIONS = (KILL, ERROR_ONCE, PAUSE)

# The nightly's stages, in order, and where a fail-point can sit in each (tests iterate over these).
STAGES = (
    "ingest",
    "validate_raw",
    "enrich_texts",
    "dbt_marts",
    "score",
    "dbt_lists",
    "validate_lists",
    "publish_lists",
    "explain_rest",
)
# Fail-points inside a stage besides `<stage>:inside`: dbt_lists computes the candidates' reason codes
# between its two dbt builds, and crashes there inside the transaction that replaces them.
INSIDE_EXTRA = {"dbt_lists": ("reasons",)}
WHERE = ("before", "inside", "after")

# dbt's stages crash inside the transaction that builds this model, at its `analyze` post-hook: the
# model's new rows are written (churn_features: incremental delete+insert of the date; retention_list:
# a table, `<model>__dbt_tmp` built and renamed over the old one, which became `__dbt_backup`) but
# not committed. dbt-postgres sends delete+insert as one statement, so this is the only moment
# between "written" and "committed" a client can be killed at.
DBT_INSIDE_MODELS = {"dbt_marts": "churn_features", "dbt_lists": "retention_list"}
_DBT_POST_HOOK = re.compile(r"^\s*(?:/\*.*?\*/\s*)?analyze\b", re.S | re.I)


def armed() -> dict[str, str]:
    """{point: action} of the fail-points armed in the environment."""
    spec = os.environ.get(ENV, "").strip()
    out: dict[str, str] = {}
    for item in filter(None, (s.strip() for s in spec.split(","))):
        parts = item.split(":")
        if len(parts) == 2:
            parts.append(KILL)
        if len(parts) != 3 or parts[2] not in ACTIONS:
            raise ValueError(f"{ENV}: '{item}' is not <stage>:<where>[:{'|'.join(ACTIONS)}]")
        out[f"{parts[0]}:{parts[1]}"] = parts[2]
    return out


def _marker(point: str) -> Path:
    from crm_scoring import settings

    root = Path(os.environ.get(ENV_DIR) or settings.state_dir() / "failpoints")
    root.mkdir(parents=True, exist_ok=True)
    return root / (point.replace(":", "__") + ".fired")


def hit(point: str) -> None:
    """Crash or fail here when `point` is armed; otherwise do nothing."""
    action = armed().get(point) if os.environ.get(ENV) else None
    if action is None:
        return
    if action == KILL:
        log.warning("fail-point %s: SIGKILL", point)
        for handler in logging.getLogger().handlers:
            handler.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    if action == PAUSE:
        time.sleep(float(os.environ.get(ENV_PAUSE) or 2))
        return
    marker = _marker(point)
    if marker.exists():
        return
    marker.write_text(point)
    import psycopg

    log.warning("fail-point %s: injected transient psycopg.OperationalError", point)
    raise psycopg.OperationalError(f"fail-point {point}: injected transient error (connection lost)")


def boundary(stage: str) -> Callable[[Callable[[], object]], object]:
    """Run `fn` between `<stage>:before` and `<stage>:after` (the nightly's stage boundaries)."""

    def run(fn: Callable[[], object]) -> object:
        hit(f"{stage}:before")
        out = fn()
        hit(f"{stage}:after")
        return out

    return run


def dbt_callbacks() -> list[Callable]:
    """dbtRunner callbacks: empty unless a dbt stage's `inside` fail-point is armed."""
    if not os.environ.get(ENV):
        return []
    points = armed()
    models = {DBT_INSIDE_MODELS[s]: f"{s}:inside" for s in DBT_INSIDE_MODELS if f"{s}:inside" in points}
    if not models:
        return []

    def callback(event) -> None:  # noqa: ANN001 - dbt's EventMsg
        if event.info.name != "SQLQuery":
            return
        node = event.data.node_info.node_name
        if node in models and _DBT_POST_HOOK.search(event.data.sql or ""):
            hit(models[node])

    return [callback]
