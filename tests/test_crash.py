"""Crash safety of the nightly: SIGKILL at every stage boundary and inside every long stage.

Baseline (built once for the module, a 400-customer demo): night D0 is published, then night D1 runs
stage by stage; after each stage the warehouse is copied (`create database ... template`) and digested.
For each stage k the test then works on a copy of the state before k and, in child processes (one
per attempt, each running one stage as an Airflow task process does, forked from a fork server that
has only imported the libraries: see run_child):
  1. kills it at `<k>:before`        -> the warehouse is unchanged;
  2. kills it at `<k>:inside`        -> the published lists are unchanged, nothing half-built is left;
  3. reruns the stage plainly, armed at `<k>:after` -> it succeeds (the kill comes after its commit) and
     the warehouse equals the uninterrupted run's after stage k, byte for byte (table digests);
  4. reruns the stage once more (the task a kill after its commit makes Airflow retry) -> unchanged.
Every stage is deterministic in the warehouse state, so equal states after each recovered stage mean
the rest of the night, and the published lists, come out identical. The last test replays the whole
date plainly after a kill inside dbt and compares the entire warehouse with the uninterrupted run.

Wall-clock columns are left out of the digests (see WALL_CLOCK and docs/reliability.md). The monthly
partitions of the per-date tables (schema `partitions`) are digested too, each under its parent's rules.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import psycopg
import pytest

from crm_scoring import dbt_invoke, failpoints, warehouse
from crm_scoring.demo import generate
from crm_scoring.orchestration.dbt_selectors import MARTS, build_args

D0, D1 = date(2024, 3, 4), date(2024, 3, 5)
CUSTOMERS, SEED = 400, 5  # D1's export changes some customers (the required file is not empty)

# Columns that record when something ran, not what: they differ between any two runs.
WALL_CLOCK = {
    "_loaded_at",
    "loaded_at",
    "published_at",
    "scored_at",
    "enriched_at",
    "computed_at",
    "built_at",
    "evaluated_at",
    "raised_at",
    "failed_at",
    "quarantined_at",
    "created_at_run",
    "seconds",
    "model_seconds",
    "dbt_updated_at",
    "texts_per_second",  # enrichment.model_quality: the measured scoring speed of the run
    "decided_at",  # ops.dsr_outcomes
}
# Logs of attempts, not of results: every try (killed or not) adds its own row, by design.
# ops.login_log_files belongs with them: how far the reads got in the server's connection log, which every
# connection to any database of the server lengthens (privacy/logins.py), not anything of the date.
ATTEMPT_LOGS = {
    "ops.stage_runs",
    "ops.retention_purges",
    "ops.task_failures",
    "ops.login_log_reads",
    "ops.login_log_files",
}
# Tables digested with some columns replaced by what in them does not depend on the wall clock. The AL-20
# mart pipeline_health is digested (which stages and lists, their rows, the latest attempt's status, the
# thresholds, the list-size verdicts), but not the attempts' measured durations, their trailing median,
# nor a stage row's verdict when it comes from the ratio of those durations (a killed or slower try changes
# it between any two runs; a failed stage's verdict and every list row's verdict stay in). `None` drops
# the column.
DERIVED: dict[str, dict[str, str | None]] = {
    "marts.pipeline_health": {
        "duration_s": None,
        "baseline_duration_s": None,
        "status": "case when stage like 'list:%' or stage_status = 'failed' then status end",
    },
}
LIST_TABLES = ("lists.retention_list", "lists.compensation_list", "lists.publication_log")
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")


def _stage_fn(stage: str, ds: str, url: str) -> Callable[[], object]:
    from crm_scoring.orchestration import tasks

    if stage == "dbt_marts":
        return lambda: dbt_invoke.invoke([*build_args(MARTS), "--quiet"], url, date.fromisoformat(ds))
    if stage == "dbt_lists":  # candidates -> their reason codes -> lists, as the DAG's task runs it
        return lambda: tasks.build_lists_in_process(ds)
    return lambda: getattr(tasks, stage)(ds)


def run_stage(stage: str, ds: str, url: str) -> object:
    """One stage of crm_nightly, as its Airflow task runs it, between its boundary fail-points."""
    os.environ["CRM_WAREHOUSE_URL"] = url
    return failpoints.boundary(stage)(_stage_fn(stage, ds, url))


# What a stage's child process needs, imported ONCE in a fork server (multiprocessing "forkserver": a
# fresh interpreter that only imports, then forks a child per attempt). Importing these costs 15 s of CPU
# and 1-2 minutes of wall time on a loaded 2-core box, which 33 attempts paid one by one. The server
# never runs dbt, XGBoost or MLflow, so no child inherits a thread pool or a lock (see run_child).
PRELOAD = [
    "numpy",
    "pandas",
    "pyarrow",
    "psycopg",
    "xgboost",
    "mlflow",
    "great_expectations",
    "dbt.cli.main",
    "crm_scoring.failpoints",
    "crm_scoring.dbt_invoke",
    "crm_scoring.orchestration.tasks",
    "crm_scoring.orchestration.dbt_selectors",
    "crm_scoring.ingest",
    "crm_scoring.quality",
    "crm_scoring.enrich",
    "crm_scoring.model.score",
    "crm_scoring.model.explain",
    "crm_scoring.model.backtest",
    "crm_scoring.lists.publish",
    "crm_scoring.privacy.nightly",
]
CHILD = """
import os, sys, traceback
os.environ.clear()
os.environ.update({env!r})
sys.path.insert(0, {tests!r})
try:
    import test_crash
    test_crash.run_stage({stage!r}, {ds!r}, {url!r})
except BaseException:
    with open({err!r}, "w") as f:
        traceback.print_exc(file=f)
    raise
"""
_FORKSERVER: list = []


def _forkserver():  # noqa: ANN202 - multiprocessing's context type is private
    if not _FORKSERVER:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        _FORKSERVER.append(ctx)
    return _FORKSERVER[0]


def run_child(stage: str, ds: str, url: str, point: str | None) -> int:
    """Run one stage in a fresh child process with `point` armed; return its exit code (-9: SIGKILL).

    A child forked from the fork server, not from this process: this process has already run dbt (its
    static parser's rayon pool), XGBoost (OpenMP) and MLflow, and a child forked from it inherits their
    locks but not their threads, and hangs. The fork server has only imported (its one extra thread, an
    idle allocator / BLAS thread, is fork-safe); each child runs exactly one stage, as a task process
    does, and starts with the warehouse, the fail-point and the environment of this call.
    """
    import tempfile

    env = dict(os.environ, CRM_WAREHOUSE_URL=url)
    env.pop(failpoints.ENV, None)
    if point:
        env[failpoints.ENV] = point
    with tempfile.TemporaryDirectory() as tmp:
        err = os.path.join(tmp, "stderr")
        code = CHILD.format(env=env, tests=str(Path(__file__).parent), stage=stage, ds=ds, url=url, err=err)
        proc = _forkserver().Process(target=exec, args=(code,))
        proc.start()
        proc.join()
        if proc.exitcode not in (0, -signal.SIGKILL) and os.path.exists(err):
            print(Path(err).read_text()[-4000:])
        return proc.exitcode


def killed(code: int) -> bool:
    return code == -signal.SIGKILL


def succeeded(code: int) -> bool:
    return code == 0


def _tables(conn: psycopg.Connection) -> list[tuple[str, str]]:
    return conn.execute(
        """
        select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p', 'm') and n.nspname <> all(%s) and n.nspname not like 'pg_temp%%'
        order by 1, 2
        """,
        (list(SYSTEM_SCHEMAS),),
    ).fetchall()


def _root(conn: psycopg.Connection, schema: str, table: str) -> str:
    """The partitioned table a partition belongs to (schema `partitions`, macros/partitions.sql), else itself.

    A partition holds rows of its parent, so it is digested under the parent's rules (DERIVED): a month of
    marts.pipeline_health has the same wall-clock durations as the parent it is part of."""
    root = conn.execute(
        "select n.nspname || '.' || c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where c.oid = pg_partition_root(format('%%I.%%I', %s::text, %s::text)::regclass)",
        (schema, table),
    ).fetchone()
    return root[0] if root else f"{schema}.{table}"


def _table_digest(conn: psycopg.Connection, schema: str, table: str) -> str:
    derived = DERIVED.get(_root(conn, schema, table), {})
    cols = [
        r[0]
        for r in conn.execute(
            "select column_name from information_schema.columns where table_schema = %s and table_name = %s"
            " order by ordinal_position",
            (schema, table),
        ).fetchall()
        if r[0] not in WALL_CLOCK and not (r[0] in derived and derived[r[0]] is None)
    ]
    if not cols:
        return "no columns"
    row = ", ".join(derived.get(c) or f'"{c}"' for c in cols)
    return conn.execute(
        f"select count(*)::text || ':' || coalesce(md5(string_agg(r, E'\\n' order by r)), '')"
        f' from (select row({row})::text as r from "{schema}"."{table}") t'
    ).fetchone()[0]


def digest(url: str, only: tuple[str, ...] | None = None) -> dict[str, str]:
    """{schema.table: row count and md5 of its ordered rows} of every table (no wall clock).

    Views are left out: their rows follow from the tables and their definitions from the dbt project."""
    with psycopg.connect(url, autocommit=True) as conn:
        names = [f"{s}.{t}" for s, t in _tables(conn) if f"{s}.{t}" not in ATTEMPT_LOGS]
        out = {}
        for name in names if only is None else [n for n in only if n in names]:
            schema, table = name.split(".")
            out[name] = _table_digest(conn, schema, table)
        return out


def diff(a: dict[str, str], b: dict[str, str]) -> list[str]:
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


def clone(server_url: str, source: str, prefix: str) -> tuple[str, str]:
    """A copy of database `source` (CREATE DATABASE ... TEMPLATE: a file copy, about a second)."""
    import uuid

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity"
            " where datname = %s and pid <> pg_backend_pid()",
            (source,),
        )
        conn.execute(f'create database "{name}" template "{source}"')
    return name, warehouse.with_database(server_url, name)


def leftovers(url: str, wait_s: float = 10.0) -> list[str]:
    """Half-built dbt relations, advisory locks and sessions still open in the database.

    A killed client's backend notices the closed socket and ends, rolling back its transaction, but only
    once its current statement has finished: a dbt thread's backend may be in the middle of building
    another model (on a loaded machine that outlasted a fixed 10 s wait, and its `__dbt_backup`, which
    the rollback removes, was reported). So first wait for the killed client's backends to end (the
    question is what is left after them, not how fast they go), then poll as before."""
    import time

    gone_by = time.monotonic() + 600
    while _backends(url) and time.monotonic() < gone_by:
        time.sleep(0.5)
    deadline = time.monotonic() + wait_s
    found = _leftovers(url)
    while found and time.monotonic() < deadline:
        time.sleep(0.2)
        found = _leftovers(url)
    return found


def unexplained_leftovers(url: str) -> list[str]:
    """`leftovers` after a kill, less what dbt itself commits on purpose before it cleans up.

    dbt's table and view materializations swap the new relation in, **commit**, and only then drop
    `<model>__dbt_backup` (global_project `materializations/models/table.sql`: `adapter.commit()`, then
    `drop_relation_if_exists(backup_relation)`). A SIGKILL that lands on one dbt thread while another is
    between those two statements leaves a committed backup beside a complete model: a consistent state,
    not a half-built one. Nothing reads a `__dbt_backup` (no grant, no source, publish copies named tables)
    and the next build of that model drops it first (`preexisting_backup_relation`), so the tests ignore it
    here and require it gone after the rerun (`leftovers(url) == []`). Half-built relations (a `__dbt_tmp`,
    or a backup without its model), advisory locks and open transactions still fail."""
    found = leftovers(url)
    backups = [f for f in found if f.endswith("__dbt_backup")]
    if not backups:
        return found
    with psycopg.connect(url, autocommit=True) as conn:
        swapped = {
            b
            for b in backups
            if conn.execute("select to_regclass(%s)", (b.removesuffix("__dbt_backup"),)).fetchone()[0]
        }
    return [f for f in found if f not in swapped]


def _backends(url: str) -> int:
    """Other client backends on the database, the killed client's included."""
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "select count(*) from pg_stat_activity where datname = current_database()"
            " and pid <> pg_backend_pid() and backend_type = 'client backend'"
        ).fetchone()[0]


def _leftovers(url: str) -> list[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        rels = conn.execute(
            "select n.nspname || '.' || c.relname from pg_class c"
            " join pg_namespace n on n.oid = c.relnamespace"
            " where c.relname like '%%\\_\\_dbt\\_tmp%%' or c.relname like '%%\\_\\_dbt\\_backup%%'"
        ).fetchall()
        locks = conn.execute(
            "select 'advisory lock of pid ' || pid from pg_locks where locktype = 'advisory'"
            " and database = (select oid from pg_database where datname = current_database())"
        ).fetchall()
        sessions = conn.execute(
            "select 'session ' || pid || ' ' || state from pg_stat_activity"
            " where datname = current_database() and pid <> pg_backend_pid() and state like 'idle in%%'"
        ).fetchall()
    return [r[0] for r in rels + locks + sessions]


@pytest.fixture(scope="module")
def baseline(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Published D0, then D1 stage by stage with a copy and a digest of the warehouse after each stage."""
    root = tmp_path_factory.mktemp("crash")
    mp = pytest.MonkeyPatch()
    for key, value in {
        "CRM_STATE_DIR": str(root / "state"),
        "CRM_LANDING_DIR": str(root / "landing"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
        "CRM_MLFLOW_ARTIFACT_ROOT": (root / "artifacts").as_uri(),
        "CRM_FAILPOINT_DIR": str(root / "failpoints"),
        "DBT_TARGET_PATH": str(root / "dbt_target"),
        "DBT_LOG_PATH": str(root / "dbt_logs"),
        "GX_ANALYTICS_ENABLED": "False",
    }.items():
        mp.setenv(key, value)
    mp.delenv(failpoints.ENV, raising=False)
    mp.delenv("CRM_PG_HOST", raising=False)
    created: list[str] = []
    base = warehouse.create_database(server_url, "crm_crash")
    created.append(base)
    url = warehouse.with_database(server_url, base)
    mp.setenv("CRM_WAREHOUSE_URL", url)
    try:
        generate(root / "landing", D0, D1, CUSTOMERS, SEED, history_days=400, progress=False)
        from crm_scoring.orchestration.training import ensure_champion_through

        ensure_champion_through(url, D0)
        for stage in failpoints.STAGES:
            run_stage(stage, D0.isoformat(), url)
        states = {"start": (base, url, digest(url))}
        before = "start"
        for stage in failpoints.STAGES:
            name, copy_url = clone(server_url, states[before][0], "crm_crash_s")
            created.append(name)
            run_stage(stage, D1.isoformat(), copy_url)
            states[stage] = (name, copy_url, digest(copy_url))
            before = stage
        yield {"server": server_url, "states": states, "created": created, "root": root}
    finally:
        mp.undo()
        if not os.environ.get("CRM_KEEP_TEST_DB"):
            for name in created:
                warehouse.drop_database(server_url, name)


def _previous(stage: str) -> str:
    i = failpoints.STAGES.index(stage)
    return "start" if i == 0 else failpoints.STAGES[i - 1]


def test_baseline_is_a_real_night(baseline) -> None:
    """The states differ where each stage writes, and D1's lists get published (the test has teeth)."""
    states = baseline["states"]
    assert diff(states["start"][2], states["publish_lists"][2]), "the night changed nothing"
    lists_before = {k: v for k, v in states["start"][2].items() if k in LIST_TABLES}
    lists_after = {k: v for k, v in states["publish_lists"][2].items() if k in LIST_TABLES}
    assert lists_before != lists_after, "D1's lists were not published"
    for stage in (
        "ingest",
        "enrich_texts",
        "dbt_marts",
        "score",
        "dbt_lists",
        "publish_lists",
        "explain_rest",
    ):
        assert diff(states[_previous(stage)][2], states[stage][2]), f"{stage} wrote nothing"


@pytest.mark.parametrize("stage", failpoints.STAGES)
def test_kill_before_inside_after_then_rerun(baseline, stage: str) -> None:
    states = baseline["states"]
    prev_name, _, prev_digest = states[_previous(stage)]
    _, _, want = states[stage]
    name, url = clone(baseline["server"], prev_name, "crm_crash_k")
    baseline["created"].append(name)
    published = {k: v for k, v in prev_digest.items() if k in LIST_TABLES}
    ds = D1.isoformat()

    status = run_child(stage, ds, url, f"{stage}:before")
    assert killed(status), f"{stage}:before did not kill (status {status})"
    assert diff(digest(url), prev_digest) == [], f"a kill before {stage} changed the warehouse"

    status = run_child(stage, ds, url, f"{stage}:inside")
    assert killed(status), f"{stage}:inside was never reached (status {status})"
    assert digest(url, LIST_TABLES) == published, f"a kill inside {stage} changed the published lists"
    assert unexplained_leftovers(url) == [], f"a kill inside {stage} left {leftovers(url)}"

    # the plain rerun: succeeds, and is killed only after its commit
    status = run_child(stage, ds, url, f"{stage}:after")
    assert killed(status), f"the rerun of {stage} after a kill failed (status {status})"
    assert leftovers(url) == []
    assert diff(digest(url), want) == [], f"{stage} rerun after a kill differs from the uninterrupted run"

    # Airflow retries a task killed after its commit: the second run changes nothing
    status = run_child(stage, ds, url, None)
    assert succeeded(status), f"retry of {stage} failed"
    assert diff(digest(url), want) == [], f"{stage} retried after its commit changed the warehouse"


@pytest.mark.parametrize(
    ("stage", "where"), [(k, w) for k, extra in failpoints.INSIDE_EXTRA.items() for w in extra]
)
def test_kill_at_the_other_inside_points_then_rerun(baseline, stage: str, where: str) -> None:
    """dbt_lists killed while it replaces the candidates' reason codes (between its two dbt builds): the
    published lists are unchanged, nothing half-built is left, and the rerun equals the uninterrupted run."""
    states = baseline["states"]
    prev_name, _, prev_digest = states[_previous(stage)]
    name, url = clone(baseline["server"], prev_name, "crm_crash_x")
    baseline["created"].append(name)
    published = {k: v for k, v in prev_digest.items() if k in LIST_TABLES}
    status = run_child(stage, D1.isoformat(), url, f"{stage}:{where}")
    assert killed(status), f"{stage}:{where} was never reached (status {status})"
    assert digest(url, LIST_TABLES) == published, f"a kill at {stage}:{where} changed the published lists"
    assert unexplained_leftovers(url) == [], f"a kill at {stage}:{where} left {leftovers(url)}"
    assert succeeded(run_child(stage, D1.isoformat(), url, None)), f"the rerun of {stage} failed"
    assert leftovers(url) == [], f"the rerun of {stage} after {where} left {leftovers(url)}"
    assert diff(digest(url), states[stage][2]) == [], f"{stage} rerun after {where} differs"


def test_plain_rerun_of_the_date_after_a_kill_inside_dbt(baseline) -> None:
    """Killed mid-transaction in dbt marts, then the whole date again from the top: identical warehouse."""
    states = baseline["states"]
    name, url = clone(baseline["server"], states["enrich_texts"][0], "crm_crash_r")
    baseline["created"].append(name)
    assert killed(run_child("dbt_marts", D1.isoformat(), url, "dbt_marts:inside"))
    for stage in failpoints.STAGES:
        status = run_child(stage, D1.isoformat(), url, None)
        assert succeeded(status), f"plain rerun: {stage} failed"
    assert diff(digest(url), states[failpoints.STAGES[-1]][2]) == []


def test_failpoint_spec_is_checked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(failpoints.ENV, "score:inside:explode")
    with pytest.raises(ValueError, match="score:inside:explode"):
        failpoints.hit("score:inside")
    monkeypatch.setenv(failpoints.ENV, "score:inside:error-once")
    monkeypatch.setenv(failpoints.ENV_DIR, str(tmp_path))
    failpoints.hit("ingest:inside")  # not armed: nothing happens
    with pytest.raises(psycopg.OperationalError, match="score:inside"):
        failpoints.hit("score:inside")
    failpoints.hit("score:inside")  # once only
