"""`make bench`: wall time and rows per second of every nightly stage on a generated dataset.

It works in a throw-away database on the warehouse server, a throw-away landing folder and a
throw-away MLflow store, so it never touches the data `make run` uses. The scoring stage is timed
twice on the same data: the platform's bulk path (COPY + one vectorised predict) and the naive
pandas `read_sql` / `to_sql` path, and the ratio is printed. Timings are reported, never asserted.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg

from crm_scoring import settings, warehouse

BENCH_DATE = date(2026, 11, 26)


@dataclass
class Stage:
    name: str
    seconds: float
    rows: int
    # peak resident memory of the bench process and its children while the stage ran (issue 12: < 8 GB)
    peak_rss_mb: float = 0.0
    # CPU seconds of the bench process (+ children) and of the PostgreSQL server (postmaster + backends,
    # live and exited) during the stage: on a shared machine wall time measures the neighbours too
    cpu_seconds: float = 0.0
    pg_cpu_seconds: float = 0.0
    # I/O of the PostgreSQL server during the stage (server-wide, from its statistics): WAL written, data
    # blocks read from the kernel (page cache or disk: the buffer pool's misses) and temporary files. At
    # 1M customers the night is I/O-bound, and these, unlike wall time, do not move with the neighbours.
    wal_mb: float = 0.0
    read_mb: float = 0.0
    temp_mb: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


class RssSampler:
    """Peak RSS (process + children) per stage, sampled by a daemon thread.

    ru_maxrss only ever grows over the process's life, so it cannot tell which stage peaked; sampling
    every 50 ms misses only spikes shorter than that, and a stage's peak is what sizing needs.
    """

    def __init__(self, interval: float = 0.05) -> None:
        import psutil

        self._process = psutil.Process()
        self._interval = interval
        self._peak = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bench-rss", daemon=True)
        self._thread.start()

    def _rss(self) -> int:
        import psutil

        total = 0
        try:
            total = self._process.memory_info().rss
            for child in self._process.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    pass
        except psutil.Error:
            pass
        return total

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            rss = self._rss()
            with self._lock:
                self._peak = max(self._peak, rss)

    def reset(self) -> None:
        with self._lock:
            self._peak = self._rss()

    def peak_mb(self) -> float:
        rss = self._rss()
        with self._lock:
            return max(self._peak, rss) / 2**20

    def close(self) -> None:
        self._stop.set()


def _own_cpu() -> float:
    """CPU seconds of this process and its reaped children (dbt, GX and XGBoost run in process)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _pg_cpu() -> float:
    """CPU seconds of the embedded PostgreSQL: postmaster, live backends and the exited ones it reaped.
    0 when the warehouse is an external server (its CPU is not visible from here)."""
    import psutil

    pid_file = warehouse.embedded_pgdata() / "postmaster.pid"
    if os.environ.get(warehouse.ENV_URL) or not pid_file.exists():
        return 0.0
    try:
        master = psutil.Process(int(pid_file.read_text().split()[0]))
        t = master.cpu_times()
        total = t.user + t.system + t.children_user + t.children_system
        for child in master.children():
            try:
                c = child.cpu_times()
                total += c.user + c.system
            except psutil.Error:
                pass
        return total
    except (psutil.Error, ValueError, IndexError):
        return 0.0


def _pg_io(url: str | None) -> tuple[float, float, float]:
    """MB of WAL, of blocks read and of temporary files the server has written / read since its start: WAL
    for the whole server, reads and temporary files of the bench's database (pg_stat_database; the dbt
    threads and the bench all work in it) and of the shared catalogs. Not a sum over every database: a
    database another client drops takes its counters out of such a sum, and a stage's figure would go
    negative (seen when `make test` runs the bench beside other tests on one server). Zeros without `url`
    or when the statistics are not readable."""
    if url is None:
        return 0.0, 0.0, 0.0
    try:
        with warehouse.connect(url) as conn:
            row = conn.execute(
                "select (pg_current_wal_lsn() - '0/0'::pg_lsn)::float8,"
                " sum(blks_read)::float8 * current_setting('block_size')::int, sum(temp_bytes)::float8"
                " from pg_stat_database where datname = current_database() or datid = 0"
            ).fetchone()
    except psycopg.Error:
        return 0.0, 0.0, 0.0
    return tuple(float(v or 0) / 2**20 for v in row)  # type: ignore[return-value]


class Timer:
    def __init__(
        self, sampler: RssSampler | None = None, partial: Path | None = None, io_url: str | None = None
    ) -> None:
        self.stages: list[Stage] = []
        self.sampler = sampler
        self.io_url = io_url
        # every finished stage is also written here at once: a run at 1M that is stopped (or dies)
        # after an hour still leaves its figures
        self.partial = partial

    def run(self, name: str, fn: Callable[[], Any], rows: Callable[[Any], int] | int) -> Any:
        if self.sampler is not None:
            self.sampler.reset()
        io0 = _pg_io(self.io_url)
        cpu0, pg0 = _own_cpu(), _pg_cpu()
        start = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - start
        # a backend whose connection the stage just closed counts only once the postmaster has reaped it
        # (before that it is a zombie whose CPU psutil cannot read): give it a moment, outside `elapsed`
        time.sleep(0.5)
        cpu, pg = _own_cpu() - cpu0, _pg_cpu() - pg0
        wal, read, temp = (round(b - a, 1) for a, b in zip(io0, _pg_io(self.io_url), strict=True))
        count = rows(result) if callable(rows) else rows
        peak = self.sampler.peak_mb() if self.sampler is not None else 0.0
        self.stages.append(
            Stage(name, elapsed, int(count), round(peak, 1), round(cpu, 2), round(pg, 2), wal, read, temp)
        )
        if self.partial is not None:
            self.partial.parent.mkdir(parents=True, exist_ok=True)
            self.partial.write_text(json.dumps([asdict(s) for s in self.stages], indent=2))
        print(
            f"  {name:40} {elapsed:9.2f} s {count:>12,} rows {peak:7,.0f} MB cpu {cpu:8.1f} s pg {pg:8.1f} s"
            + (f" wal {wal:8,.0f} MB read {read:8,.0f} MB temp {temp:7,.0f} MB" if self.io_url else ""),
            flush=True,
        )
        return result

    def seconds(self, name: str) -> float:
        return next(s.seconds for s in self.stages if s.name == name)


def _count(url: str, query: str, *params: Any) -> int:
    with warehouse.connect(url) as conn:
        return int(conn.execute(query, params).fetchone()[0])


def _naive_scoring(url: str, run_date: date) -> int:
    """The path the platform avoids: pandas read_sql, predict, DataFrame.to_sql (row-wise INSERTs)."""
    from crm_scoring.model.score import load_champion

    return _naive_with(url, run_date, load_champion())


def _text_model_rate() -> tuple[int, float]:
    """Texts per CPU second of the shipped text model's scoring alone (one process = one core)."""
    from crm_scoring.enrich.evaluate import cpu_scoring_rate
    from crm_scoring.enrich.model import primary_models

    return cpu_scoring_rate(primary_models()[0])


def _text_gate(url: str, run_date: date) -> None:
    """Train the text model(s) and measure them on every labelled set (cached for the enrich stages)."""
    from crm_scoring.enrich.policy import load_policy
    from crm_scoring.enrich.task import _gate

    with warehouse.connect(url) as conn:
        _gate(load_policy(conn, run_date))


def _airflow_night(timer: Timer, server: str, day: date) -> list:
    """The demo night through Airflow with the champion just trained (orchestration/bench_night.py):
    `crm run` as a data engineer runs it (its components started and stopped for the run), then the
    same night triggered on components already running, as in a deployment. Two prepared nights, so the
    second is a first run of its date too. [] when BENCH_AIRFLOW_NIGHT=0."""
    from crm_scoring.orchestration import bench_night

    if not bench_night.enabled():
        return []
    figures = []
    for deployed in (False, True):
        night = bench_night.AirflowNight(bench_night.default_root(), server, day)
        try:
            kind = "on running components" if deployed else "crm run"
            name = f"airflow: {kind}, {night.customers:,}-customer night"
            # only `crm run` is timed: the deployed components start (untimed) before it
            with night.deployed() if deployed else nullcontext():
                figure = timer.run(name, night.run, night.customers)
        finally:
            night.cleanup()
        print(f"  (cpu {figure.cpu_seconds:.1f} s, success={figure.success}, log {figure.log_path})")
        figures.append(figure)
    return figures


def _io_predict_limit(timer: Timer, url: str, run_date: date, model: Any) -> None:
    """The floor scoring is compared with (issue 12): one raw COPY read of the feature table into Arrow,
    one `inplace_predict` on the raw matrix (no DMatrix, no calibration, no pandas), one COPY write of
    (run_date, customer_id, probability) into an unlogged table. Nothing else a night needs."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    from psycopg import sql

    from crm_scoring.model.dataset import copy_to_arrow
    from crm_scoring.model.score import copy_table

    query = sql.SQL("select customer_id, {} from marts.churn_features where run_date = {}").format(
        sql.SQL(", ").join(sql.SQL("{}::float8").format(sql.Identifier(f)) for f in model.features),
        sql.Literal(run_date),
    )
    schema = {"customer_id": pa.string(), **{f: pa.float64() for f in model.features}}
    with warehouse.connect(url) as conn:
        table = timer.run("limit: raw COPY read -> Arrow", lambda: copy_to_arrow(conn, query, schema), len)

    def matrix_predict() -> np.ndarray:
        matrix = np.column_stack(
            [pc.fill_null(table[f], np.nan).to_numpy(zero_copy_only=False) for f in model.features]
        )
        return model.booster.inplace_predict(matrix)

    probs = timer.run("limit: one inplace_predict", matrix_predict, len)
    out = pa.table(
        {
            "run_date": pa.repeat(pa.scalar(run_date, pa.date32()), len(probs)),
            "customer_id": table["customer_id"],
            "p": pa.array(probs, pa.float64()),
        }
    )

    def write() -> int:
        with warehouse.connect(url) as conn:
            conn.execute("create schema if not exists scoring")
            conn.execute(
                "create unlogged table if not exists scoring.limit_scores "
                "(run_date date, customer_id text, p float8)"
            )
            conn.execute("truncate scoring.limit_scores")
            copy_table(conn, "scoring.limit_scores", out, ("run_date", "customer_id", "p"))
        return out.num_rows

    timer.run("limit: one COPY write", write, lambda n: n)


def _listed_customers(url: str, run_date: date) -> list[str]:
    """Customers on the day's built lists: the only ones whose reason codes anyone reads (CH-06)."""
    with warehouse.connect(url) as conn:
        rows = conn.execute(
            "select customer_id from lists_build.retention_list where run_date = %(d)s "
            "union select customer_id from lists_build.compensation_list where run_date = %(d)s",
            {"d": run_date},
        ).fetchall()
    return sorted(str(r[0]) for r in rows)


def _database_size(url: str) -> dict[str, int]:
    """Bytes of the whole database and of each schema (tables + indexes + TOAST), a partition counted in
    its parent's schema (they live in schema `partitions`, crm_scoring/partitions.py), and the number of
    partitions per schema (`partitions:<schema>`)."""
    with warehouse.connect(url) as conn:
        total = int(conn.execute("select pg_database_size(current_database())").fetchone()[0])
        rows = conn.execute(
            "select n.nspname, sum(pg_total_relation_size(c.oid))::bigint,"
            " count(*) filter (where c.relispartition) from pg_class c"
            " join pg_class r on r.oid = coalesce(pg_partition_root(c.oid), c.oid)"
            " join pg_namespace n on n.oid = r.relnamespace where c.relkind in ('r', 'm', 'p')"
            " and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast') group by 1 order by 1"
        ).fetchall()
    return (
        {"database": total}
        | {f"schema:{name}": int(size) for name, size, _ in rows}
        | {f"partitions:{name}": int(parts) for name, _, parts in rows if parts}
    )


# The marts as crm_nightly builds them (dags/crm_nightly.py): dbt_marts builds the models on the critical
# path (what the scores and the lists read) with the data tests excluded; dbt_marts_tests runs the same
# selector's tests beside scoring and the lists; dbt_reporting builds the rest after publishing. The bench
# times them apart, so the marts' incremental-vs-full figures are the path's.
NO_TESTS = ["--exclude-resource-type", "test"]


def _marts_args() -> list[str]:
    from crm_scoring.orchestration.dbt_selectors import MARTS, build_args

    return [*build_args(MARTS), *NO_TESTS]


def _reporting_args() -> list[str]:
    """dbt_reporting as crm_nightly runs it after publishing: a `dbt build` (models and their data tests)."""
    from crm_scoring.orchestration.dbt_selectors import REPORTING, build_args

    return build_args(REPORTING)


def _reporting_day0_args() -> list[str]:
    """Day 0 has no lists (no champion yet): the reporting models that do not read the lists build get
    their first build, so the night's reporting build extends them as a real night does."""
    from crm_scoring.orchestration.dbt_selectors import REPORTING_BEFORE_LISTS, build_args

    return build_args(REPORTING_BEFORE_LISTS)


def _candidates_day0_args() -> list[str]:
    """Day 0 has no scores: the candidates' models that do not read them get their first build, so the
    night's candidates step extends int_lists__consent (incremental by customer) as a real night does."""
    from crm_scoring.orchestration.dbt_selectors import CANDIDATES_BEFORE_SCORES, build_args

    return build_args(CANDIDATES_BEFORE_SCORES)


def _marts_test_args() -> list[str]:
    from crm_scoring.orchestration.dbt_selectors import MARTS

    return ["test", "--selector", MARTS]


def _landing_marker(landing: Path, customers: int, first: date, last: date) -> Path:
    """Written after a complete generation: an interrupted one is never mistaken for a landing folder."""
    return landing / f".bench-complete-{customers}-{first}-{last}"


def _landing_ready(landing: Path, customers: int, first: date, last: date) -> bool:
    return _landing_marker(landing, customers, first, last).exists()


def _prepare_landing(timer: Timer, landing: Path, customers: int, first: date, last: date) -> bool:
    """Generate the export into `landing` unless it already holds every date (then skip: reused)."""
    from crm_scoring.demo import generate

    if _landing_ready(landing, customers, first, last):
        print(f"  reusing the landing folder {landing} (generation skipped)", flush=True)
        return True
    shutil.rmtree(landing, ignore_errors=True)
    timer.run(
        "generate demo export",
        lambda: generate(landing, first, last, customers, seed=42, history_days=400, progress=False),
        customers,
    )
    _landing_marker(landing, customers, first, last).touch()
    return False


def _train_on_sample(timer: Timer, server: str, sample_landing: Path, sample: int, day0: date, day1: date):  # noqa: ANN202, E501
    """Train the champion on the first `sample` customers of the same export (whole generator chunks, so
    byte-identical to those customers in the full folder), in a database of their own: at 1M customers the
    weekly training snapshots would cost more than the whole night, and the model needs no more rows."""
    from crm_scoring import dbt_invoke
    from crm_scoring.enrich import enrich_texts
    from crm_scoring.ingest import load_export_date
    from crm_scoring.model.train import train
    from crm_scoring.orchestration.dbt_selectors import TRAINING, build_args

    dbname = warehouse.create_database(server, "crm_bench_sample")
    url = warehouse.with_database(server, dbname)
    # dbt's partial-parse state is keyed on the profile it resolves, database name included: parsing the
    # project for the sample's database discarded the night database's state, so the night's next dbt
    # step (the candidates, after scoring) parsed the whole project again, 5.4 s at 300k that a night
    # without a training in between does not pay. The sample keeps a target folder of its own.
    with settings.environment(DBT_TARGET_PATH=str(settings.dbt_target_dir() / "bench_sample")):
        try:
            _prepare_landing(timer, sample_landing, sample, day0, day1)
            timer.run(
                f"train sample: ingest {sample:,} customers",
                lambda: (
                    load_export_date(url, sample_landing, day0),
                    load_export_date(url, sample_landing, day1),
                ),
                lambda r: r[0].rows_read + r[1].rows_read,
            )
            timer.run(
                "train sample: enrich texts",
                lambda: (enrich_texts(url, day0), enrich_texts(url, day1)),
                lambda r: r[0]["enriched"] + r[1]["enriched"],
            )
            timer.run(
                "dbt build: training snapshots (sample)",
                lambda: dbt_invoke.invoke([*build_args(TRAINING), "--quiet"], url, day1),
                lambda _: _count(url, "select count(*) from marts.churn_training_set"),
            )
            return timer.run(
                "train + MLflow log (weekly, sample)",
                lambda: train(url, day1),
                lambda _: _count(url, "select count(*) from marts.churn_training_set"),
            )
        finally:
            warehouse.drop_database(server, dbname)


def _use_champion_store(store: Path) -> str | None:
    """Point MLflow at `store` (a folder: mlflow.db + artifacts, used in place so the artifact URIs the
    store records stay valid) and return its @champion version, or None when it has none yet.

    At 100k the weekly training is the longest stage of the bench by far (934 CPU s, session 10) and says
    nothing about the nightly path: a second run with the same store reuses the champion the first trained.
    Called inside `settings.isolated`, which restores the environment afterwards."""
    from crm_scoring.model.registry import champion_version

    store.mkdir(parents=True, exist_ok=True)
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{store / 'mlflow.db'}"
    os.environ["CRM_MLFLOW_ARTIFACT_ROOT"] = (store / "artifacts").as_uri()
    return champion_version()


def _dbt_stage(
    timer: Timer,
    url: str,
    results: Path,
    name: str,
    args: list[str],
    day: date,
    rows: Callable[[Any], int] | int,
) -> None:
    """One timed dbt invocation of a bench stage, its run_results.json kept in `results` (slowest nodes)."""
    from crm_scoring import dbt_invoke

    timer.run(name, lambda: dbt_invoke.invoke([*args, "--quiet"], url, day), rows)
    _keep_run_results(results, name)


def _keep_run_results(folder: Path, stage: str, top: int = 8) -> None:
    """Copy the dbt invocation's run_results.json to `folder` and print its slowest nodes: the per-model
    figures that say where a marts build spends its time (issue 12: incremental vs full refresh)."""
    source = settings.dbt_target_dir() / "run_results.json"
    if not source.exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    slug = "".join(c if c.isalnum() else "_" for c in stage).strip("_")
    shutil.copyfile(source, folder / f"{slug}.json")
    results = json.loads(source.read_text())["results"]
    nodes = sorted(results, key=lambda r: -float(r.get("execution_time") or 0))
    total = sum(float(r.get("execution_time") or 0) for r in results)
    print(f"    dbt nodes: {len(results)}, {total:,.1f} s summed; slowest:", flush=True)
    for r in nodes[:top]:
        print(f"      {float(r.get('execution_time') or 0):8.1f} s  {r['unique_id']}", flush=True)


def run_bench(
    customers: int,
    out_json: Path | None = None,
    keep: bool = False,
    *,
    landing: Path | None = None,
    train_customers: int | None = None,
    nights: int = 1,
    champion_store: Path | None = None,
) -> dict:
    """Time every stage; `landing` keeps (and reuses) the generated export, `train_customers` trains on
    that many first customers instead of all, `nights` > 1 runs that many nightly dates (database size),
    `champion_store` keeps the trained champion in that MLflow store and reuses it (training skipped)."""
    from crm_scoring import dbt_invoke
    from crm_scoring.benchmark.night_changes import night_changes, summary
    from crm_scoring.enrich import enrich_texts
    from crm_scoring.ingest import load_export_date
    from crm_scoring.lists.publish import publish
    from crm_scoring.model import explain
    from crm_scoring.model.config import load_config
    from crm_scoring.model.dataset import load_scoring_frame
    from crm_scoring.model.registry import CHAMPION
    from crm_scoring.model.score import load_champion, write_scores
    from crm_scoring.model.train import train
    from crm_scoring.orchestration.dbt_selectors import (
        CANDIDATES,
        LISTS_AFTER_REASONS,
        TRAINING,
        build_args,
    )
    from crm_scoring.quality import validate_lists, validate_raw

    root = settings.state_dir() / "bench"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    server = warehouse.warehouse_url()
    dbname = warehouse.create_database(server, "crm_bench")
    url = warehouse.with_database(server, dbname)
    day0, day1 = BENCH_DATE - timedelta(days=1), BENCH_DATE
    last = day1 + timedelta(days=max(nights, 1) - 1)
    sample = train_customers if train_customers and train_customers < customers else None
    keep_landing = landing is not None
    landing = (landing or root / "landing").resolve()
    sampler = RssSampler()
    target = out_json or settings.reports_dir() / "bench.json"
    timer = Timer(sampler, partial=target.with_name(target.stem + ".partial.json"), io_url=url)
    nights_report: list[dict] = []
    reused = False
    reused_champion: str | None = None
    changes: dict[str, int] | None = None
    dbt_results = target.with_name(target.stem + "-dbt")
    shutil.rmtree(dbt_results, ignore_errors=True)

    def dbt_stage(name: str, args: list[str], day: date, rows: Callable[[Any], int] | int) -> None:
        _dbt_stage(timer, url, dbt_results, name, args, day, rows)

    print(f"crm bench: {customers:,} customers, run date {day1}, database {dbname}, landing {landing}")
    try:
        with settings.isolated(root):
            reused = _prepare_landing(timer, landing, customers, day0, last)
            backfill = timer.run(
                "ingest: backfill folder",
                lambda: load_export_date(url, landing, day0),
                lambda r: r.rows_read,
            )
            timer.run(
                "ingest: nightly delta", lambda: load_export_date(url, landing, day1), lambda r: r.rows_read
            )
            reports = root / "reports"
            timer.run(
                "validate raw: backfill (GX)", lambda: validate_raw(url, day0, reports), backfill.rows_read
            )
            timer.run(
                "validate raw: nightly delta (GX)",
                lambda: validate_raw(url, day1, reports),
                lambda _: _count(url, "select count(*) from raw.orders where _export_date = %s", day1),
            )
            timer.run("enrich: text model + DQ-06 report", lambda: _text_gate(url, day1), 1)
            text_backfill = timer.run(
                "enrich texts: backfill (all texts)",
                lambda: enrich_texts(url, day0),
                lambda r: r["enriched"],
            )
            text_delta = timer.run(
                "enrich texts: nightly delta", lambda: enrich_texts(url, day1), lambda r: r["enriched"]
            )
            text_model_rate = _text_model_rate()
            # the night before: the first build of every mart (the history a nightly run extends)
            dbt_stage("dbt build: marts, first build (day 0)", _marts_args(), day0, customers)
            dbt_stage("dbt build: reporting, first build (day 0)", _reporting_day0_args(), day0, 0)
            dbt_stage("dbt build: candidates, first build (day 0)", _candidates_day0_args(), day0, 0)
            dbt_stage("dbt build: marts (incremental night)", _marts_args(), day1, customers)
            dbt_stage("dbt test: marts (beside scoring, off the path)", _marts_test_args(), day1, 0)
            if champion_store is not None:
                reused_champion = _use_champion_store(champion_store.resolve())
            if reused_champion is not None:
                print(f"  reusing @champion version {reused_champion} of {champion_store} (training skipped)")
            elif sample is None:
                timer.run(
                    "dbt build: training snapshots",
                    lambda: dbt_invoke.invoke([*build_args(TRAINING), "--quiet"], url, day1),
                    lambda _: _count(url, "select count(*) from marts.churn_training_set"),
                )
                trained = timer.run(
                    "train + MLflow log (weekly)",
                    lambda: train(url, day1),
                    lambda _: _count(url, "select count(*) from marts.churn_training_set"),
                )
            else:
                sample_landing = landing.parent / f"{landing.name}-first{sample}"
                trained = _train_on_sample(timer, server, sample_landing, sample, day0, day1)
                if not keep_landing:
                    shutil.rmtree(sample_landing, ignore_errors=True)
            # the bench's MLflow store is new: its first version is champion by the one promotion rule
            # (train: nothing to beat); no second, ungated promote
            if reused_champion is None and CHAMPION not in trained.aliases:
                raise RuntimeError(f"bench: version {trained.version} is not @champion in a fresh store")
            cfg = load_config()
            model = load_champion(cfg)
            _io_predict_limit(timer, url, day1, model)
            frame = timer.run(
                "score: read features (COPY)",
                lambda: load_scoring_frame(url, day1, model.features, config=cfg),
                len,
            )
            import numpy as np
            import pyarrow as pa

            probs = timer.run(
                "score: predict",
                lambda: model.predict(frame[model.features].to_numpy(dtype=np.float64)),
                len,
            )
            ids = pa.array(frame["customer_id"].to_numpy(dtype=object), pa.string())
            timer.run(
                "score: write scores (COPY)",
                lambda: write_scores(url, day1, ids, probs, model, cfg),
                len(probs),
            )
            timer.run("score: naive read_sql + to_sql", lambda: _naive_scoring(url, day1), lambda n: n)
            # the lists step as the night runs it (tasks.build_lists), its three parts timed apart: the
            # candidates' reason codes are the only reasons on the path to the lists (CH-06)
            dbt_stage(
                "dbt build: candidates",
                build_args(CANDIDATES),
                day1,
                lambda _: _count(url, "select count(*) from lists_build.retention_candidates"),
            )
            timer.run(
                "reasons: candidates (critical path)",
                lambda: explain.explain(url, day1, explain.CANDIDATES, config=cfg),
                lambda r: r.customers,
            )
            dbt_stage(
                "dbt build: lists (after reasons)",
                build_args(LISTS_AFTER_REASONS),
                day1,
                lambda _: _count(url, "select count(*) from lists_build.retention_list"),
            )
            list_rows = _count(url, "select count(*) from lists_build.retention_list") + _count(
                url, "select count(*) from lists_build.compensation_list"
            )
            timer.run("validate lists (GX)", lambda: validate_lists(url, day1, reports), list_rows)
            published = timer.run("publish lists", lambda: publish(day1, url), lambda r: sum(r.rows.values()))
            timer.run(
                "reasons: the rest (after publishing)",
                lambda: explain.explain(url, day1, explain.REST, config=cfg),
                lambda r: r.customers,
            )
            # publish first: every model the scores and the lists do not read, after publishing
            dbt_stage("dbt build: reporting (after publishing)", _reporting_args(), day1, 0)
            listed = len(_listed_customers(url, day1))
            # an Airflow retry of dbt_marts, or `crm run` of the same date again: the same loads, so the
            # incremental tables move from their marks to themselves over an empty delta (their load
            # digests match) and only the per-date marts are written again
            dbt_stage("dbt build: marts (same-date rerun)", _marts_args(), day1, customers)
            dbt_stage(
                "dbt build: marts --full-refresh (same night)",
                [*_marts_args(), "--full-refresh"],
                day1,
                customers,
            )
            dbt_stage(
                "dbt build: reporting --full-refresh (same night)",
                [*_reporting_args(), "--full-refresh"],
                day1,
                0,
            )
            # the candidates' step has a model incremental by customer too (int_lists__consent): a full
            # refresh of the night rebuilds it (after publishing: it replaces only the candidates of day1)
            dbt_stage(
                "dbt build: candidates --full-refresh (same night)",
                [*build_args(CANDIDATES), "--full-refresh"],
                day1,
                lambda _: _count(url, "select count(*) from lists_build.retention_candidates"),
            )
            for i in range(1, max(nights, 1)):
                nights_report.append(
                    _one_night(timer, url, landing, day1 + timedelta(days=i), reports, dbt_results)
                )
            # the last two nights' differences (counts, no timing): what an incremental lists' step could
            # skip. From the third night on: the bench's first night follows no published list, so the
            # second one's cooldowns would all be new (at 300,000 customers 84.7 % of the hits changed
            # only their decision between nights 1 and 2, against 31.8 % at 100,000 between nights 2 and 3)
            changes = night_changes(url, last - timedelta(days=1), last) if nights > 2 else None
            size = _database_size(url)
            night = _airflow_night(timer, server, day1)
    finally:
        sampler.close()
        if not keep:
            warehouse.drop_database(server, dbname)
        if not keep_landing:
            shutil.rmtree(root / "landing", ignore_errors=True)
    by_name = {s.name: s for s in timer.stages}

    def secs(*names: str) -> float:
        return sum(by_name[n].seconds for n in names)

    def cpu(*names: str) -> float:
        return sum(by_name[n].cpu_seconds + by_name[n].pg_cpu_seconds for n in names)

    bulk = secs("score: read features (COPY)", "score: predict", "score: write scores (COPY)")
    limit = secs("limit: raw COPY read -> Arrow", "limit: one inplace_predict", "limit: one COPY write")
    naive = secs("score: naive read_sql + to_sql")
    night_common = (
        "ingest: nightly delta",
        "validate raw: nightly delta (GX)",
        "enrich texts: nightly delta",
        "score: read features (COPY)",
        "score: predict",
        "score: write scores (COPY)",
        "reasons: candidates (critical path)",
        "dbt build: lists (after reasons)",
        "validate lists (GX)",
        "publish lists",
    )
    # the two dbt steps with models incremental by customer, as the night builds them and as a full refresh
    night_incremental = (*night_common, "dbt build: marts (incremental night)", "dbt build: candidates")
    night_full = (
        *night_common,
        "dbt build: marts --full-refresh (same night)",
        "dbt build: candidates --full-refresh (same night)",
    )
    nightly_incremental = secs(*night_incremental)
    nightly_full = secs(*night_full)
    result = {
        "customers": customers,
        "run_date": day1.isoformat(),
        "landing_reused": reused,
        "train_customers": sample or customers,
        # the champion reused from --champion-store (training skipped), else None
        "reused_champion": reused_champion,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "stages": [asdict(s) | {"rows_per_second": s.rows_per_second} for s in timer.stages],
        "peak_rss_mb": max(s.peak_rss_mb for s in timer.stages),
        "scoring_bulk_seconds": bulk,
        "scoring_limit_seconds": limit,
        "scoring_bulk_over_limit": bulk / limit if limit else None,
        "scoring_naive_seconds": naive,
        "naive_over_bulk": naive / bulk if bulk else None,
        "listed_customers": listed,
        # CH-06: reason codes on the path to the lists (the candidates') and after publishing (the rest)
        "candidate_customers": by_name["reasons: candidates (critical path)"].rows,
        "reasons_critical_path_seconds": secs("reasons: candidates (critical path)"),
        "reasons_after_publish_seconds": secs("reasons: the rest (after publishing)"),
        "reasons_after_publish_customers": by_name["reasons: the rest (after publishing)"].rows,
        # the nightly path (issue 12): delta ingest -> GX -> enrich -> marts -> score -> candidates ->
        # their reasons -> lists -> validate -> publish; once as the night runs it, once with a full refresh
        # of the marts and of the candidates' step (their models incremental by customer)
        "nightly_incremental_seconds": nightly_incremental,
        "nightly_full_refresh_seconds": nightly_full,
        "nightly_incremental_over_full": nightly_incremental / nightly_full if nightly_full else None,
        # the same paths in CPU seconds (bench process + PostgreSQL): robust to a shared machine
        "nightly_incremental_cpu_seconds": cpu(*night_incremental),
        "nightly_full_refresh_cpu_seconds": cpu(*night_full),
        "marts_incremental_over_full": secs("dbt build: marts (incremental night)")
        / secs("dbt build: marts --full-refresh (same night)"),
        # the same two marts builds in CPU seconds (bench process + PostgreSQL) and their ratio
        "marts_incremental_cpu_seconds": cpu("dbt build: marts (incremental night)"),
        "marts_full_refresh_cpu_seconds": cpu("dbt build: marts --full-refresh (same night)"),
        "marts_incremental_over_full_cpu": cpu("dbt build: marts (incremental night)")
        / cpu("dbt build: marts --full-refresh (same night)"),
        # the same night's marts built again over the same loads (a retry), against the night's build
        "marts_rerun_seconds": secs("dbt build: marts (same-date rerun)"),
        "marts_rerun_over_night": secs("dbt build: marts (same-date rerun)")
        / secs("dbt build: marts (incremental night)"),
        # the marts' data tests, off the path (dbt_marts_tests beside scoring and the lists)
        "marts_tests_seconds": secs("dbt test: marts (beside scoring, off the path)"),
        "marts_tests_cpu_seconds": cpu("dbt test: marts (beside scoring, off the path)"),
        # publish first: the rest of the night's models after publishing (dbt_reporting), off the lists'
        # path, incremental and full refresh of the same night; and the whole night, path + after publishing
        "reporting_seconds": secs("dbt build: reporting (after publishing)"),
        "reporting_full_refresh_seconds": secs("dbt build: reporting --full-refresh (same night)"),
        "reporting_cpu_seconds": cpu("dbt build: reporting (after publishing)"),
        "reporting_full_refresh_cpu_seconds": cpu("dbt build: reporting --full-refresh (same night)"),
        "whole_night_incremental_seconds": nightly_incremental
        + secs("dbt build: reporting (after publishing)", "reasons: the rest (after publishing)"),
        "database_bytes": size,
        "nights": nights_report,
        # --nights >= 3: what differs between the last two nights (benchmark/night_changes.py)
        "night_changes": changes,
        "published_rows": published.rows,
        # text model throughput inside the task (redaction + scoring + emotion), one process = one core
        "text_backfill_texts_per_second": text_backfill["texts_per_second"],
        "text_delta_texts": text_delta["enriched"],
        "text_delta_seconds": text_delta["seconds"],
        # the model's scoring alone, CPU time of one process (per core, robust to a shared machine)
        "text_model_cpu_texts_per_second": text_model_rate[1],
        "text_model_cpu_texts": text_model_rate[0],
        # `crm run` of a 5,000-customer demo night on a real scheduler (issue 12: <= 60 s on two cores)
        "airflow_demo_night": asdict(night[0]) if night else None,
        # the same night on a scheduler that was already running (a deployment; no components' start)
        "airflow_demo_night_deployed": asdict(night[1]) if night else None,
    }
    print()
    print(f"{'stage':44} {'seconds':>9} {'rows':>12} {'rows/s':>12} {'peak MB':>9} {'cpu s':>8} {'pg s':>8}")
    for s in timer.stages:
        print(
            f"{s.name:44} {s.seconds:9.2f} {s.rows:12,} {s.rows_per_second:12,.0f} {s.peak_rss_mb:9,.0f}"
            f" {s.cpu_seconds:8.1f} {s.pg_cpu_seconds:8.1f}"
        )
    print(
        f"\nscoring: bulk {bulk:.2f} s = {result['scoring_bulk_over_limit']:.2f}x the I/O + predict limit "
        f"{limit:.2f} s; naive {naive:.2f} s ({result['naive_over_bulk']:.1f}x the bulk path)"
    )
    print(
        f"nightly path: incremental {nightly_incremental:.1f} s, with a full refresh of the marts and "
        f"candidates {nightly_full:.1f} s ({result['nightly_incremental_over_full']:.0%}); "
        f"reasons on it: {result['reasons_critical_path_seconds']:.1f} s for "
        f"{result['candidate_customers']:,} candidates ({result['listed_customers']:,} listed), "
        f"{result['reasons_after_publish_seconds']:.1f} s after publishing for the other "
        f"{result['reasons_after_publish_customers']:,}; "
        f"peak RSS {result['peak_rss_mb']:,.0f} MB"
    )
    print(
        f"marts: incremental night {secs('dbt build: marts (incremental night)'):.1f} s, full refresh of the"
        f" same night {secs('dbt build: marts --full-refresh (same night)'):.1f} s"
        f" ({result['marts_incremental_over_full']:.0%}); CPU s (bench + PostgreSQL)"
        f" {result['marts_incremental_cpu_seconds']:.1f} vs {result['marts_full_refresh_cpu_seconds']:.1f}"
        f" ({result['marts_incremental_over_full_cpu']:.0%}); data tests off the path"
        f" {result['marts_tests_seconds']:.1f} s; a same-date rerun {result['marts_rerun_seconds']:.1f} s"
        f" ({result['marts_rerun_over_night']:.0%} of the night's)"
    )
    print(
        f"after publishing: dbt reporting {result['reporting_seconds']:.1f} s (full refresh"
        f" {result['reporting_full_refresh_seconds']:.1f} s), the rest's reasons"
        f" {result['reasons_after_publish_seconds']:.1f} s; whole night (incremental)"
        f" {result['whole_night_incremental_seconds']:.1f} s"
    )
    if changes is not None:
        print(summary(changes))
    print(f"database size: {size['database'] / 2**20:,.0f} MB after {max(nights, 1) + 1} dates")
    for key, value in size.items():
        if key.startswith("schema:"):
            parts = size.get(f"partitions:{key[7:]}", 0)
            print(f"  {key[7:]:24} {value / 2**20:10,.1f} MB" + (f"  {parts} partitions" if parts else ""))
    print(
        f"text model: {result['text_backfill_texts_per_second']:,.0f} texts/s on one core (backfill);"
        f" nightly delta {result['text_delta_texts']:,} texts in {result['text_delta_seconds']:.2f} s;"
        f" model scoring alone {text_model_rate[1]:,.0f} texts per CPU second ({text_model_rate[0]:,} texts)"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, indent=2))
    print(f"figures written to {target}")
    return result


def _one_night(timer: Timer, url: str, landing: Path, day: date, reports: Path, dbt_results: Path) -> dict:
    """One more nightly date through the platform's own task functions (history growth, retention)."""
    from crm_scoring import dbt_invoke
    from crm_scoring.enrich import enrich_texts
    from crm_scoring.ingest import load_export_date
    from crm_scoring.lists.publish import publish
    from crm_scoring.model.explain import REST, explain
    from crm_scoring.model.score import score
    from crm_scoring.orchestration import tasks
    from crm_scoring.quality import validate_lists, validate_raw

    start = time.perf_counter()
    n = len(timer.stages)
    tag = f"night {day}:"
    timer.run(f"{tag} ingest", lambda: load_export_date(url, landing, day), lambda r: r.rows_read)
    timer.run(f"{tag} GX raw", lambda: validate_raw(url, day, reports), 0)
    timer.run(f"{tag} enrich", lambda: enrich_texts(url, day), lambda r: r["enriched"])
    _dbt_stage(timer, url, dbt_results, f"{tag} dbt marts", _marts_args(), day, 0)
    timer.run(
        f"{tag} dbt test marts", lambda: dbt_invoke.invoke([*_marts_test_args(), "--quiet"], url, day), 0
    )
    timer.run(f"{tag} score", lambda: score(url, day), lambda r: r.rows)
    timer.run(
        f"{tag} dbt lists (+ candidates' reasons)",
        lambda: tasks.build_lists_in_process(day.isoformat(), url),
        0,
    )
    timer.run(f"{tag} GX lists", lambda: validate_lists(url, day, reports), 0)
    timer.run(f"{tag} publish", lambda: publish(day, url), lambda r: sum(r.rows.values()))
    timer.run(f"{tag} reasons, the rest", lambda: explain(url, day, REST), lambda r: r.customers)
    _dbt_stage(timer, url, dbt_results, f"{tag} dbt reporting", _reporting_args(), day, 0)
    timer.run(f"{tag} prune history", lambda: _prune_history(url, day), lambda r: sum(r.values()))
    size = _database_size(url)
    print(  # growth per night, visible while the bench runs
        f"{tag} database {size['database'] / 2**20:,.0f} MB; "
        + ", ".join(f"{k[7:]} {v / 2**20:,.0f} MB" for k, v in size.items() if k.startswith("schema:"))
        + f"; {sum(v for k, v in size.items() if k.startswith('partitions:'))} partitions",
        flush=True,
    )
    return {
        "run_date": day.isoformat(),
        "seconds": time.perf_counter() - start,
        "peak_rss_mb": max(s.peak_rss_mb for s in timer.stages[n:]),
        "database_bytes": size["database"],
        "size": size,
    }


def _prune_history(url: str, day: date) -> dict[str, int]:
    """The nightly history retention (orchestration/history.py), on the manifest dbt_invoke just wrote."""
    from crm_scoring.orchestration import history

    tables = history.per_date_tables(history.load_manifest(url, settings.dbt_target_dir()))
    with warehouse.connect(url) as conn:
        return history.prune(conn, day, tables)


def _feature_columns() -> list[str]:
    """The churn feature columns, from the one dbt macro that defines them (names and count are real)."""
    import re

    macros = settings.dbt_project_dir() / "macros"
    columns: list[str] = []
    # churn_feature_columns() returns its own list + churn_family_columns() (the feature families')
    for file, name in (
        ("churn_features.sql", "churn_feature_columns"),
        ("churn_feature_families.sql", "churn_family_columns"),
    ):
        body = re.search(name + r"\(\) -%\}\s*\{\{ return\(\[(.*?)\]", (macros / file).read_text(), re.S)
        if not body:
            raise RuntimeError(f"{name}() not found in macros/{file}")
        columns += re.findall(r"'(\w+)'", body.group(1))
    return columns


def run_scoring_bench(
    customers: int,
    out_json: Path | None = None,
    listed_share: float = 0.39,
    *,
    floor_only: bool = False,
    skip_naive: bool = False,
) -> dict:
    """Scoring alone at `customers` rows, without the hour of stages before it (issue 12, scoring and
    reasons targets): a feature table with the real feature columns and synthetic values (counts, amounts,
    10 % missing), a booster trained on 50,000 of its rows, then in one run the I/O + predict floor, the
    platform's read / predict / write, the night's two reason-code steps (`model.explain`: a synthetic
    candidates table of `listed_share` of the customers, a stable md5 draw, then the rest) and the naive
    pandas path. Synthetic continuous values share few decision patterns: the reason-code time is the
    pessimistic case."""
    import numpy as np
    import pyarrow as pa
    import xgboost as xgb

    from crm_scoring.model import explain
    from crm_scoring.model.artifacts import LoadedModel
    from crm_scoring.model.config import load_config
    from crm_scoring.model.dataset import load_scoring_frame
    from crm_scoring.model.score import write_scores

    features = _feature_columns()
    server = warehouse.warehouse_url()
    dbname = warehouse.create_database(server, "crm_bench_scoring")
    url = warehouse.with_database(server, dbname)
    day = BENCH_DATE
    sampler = RssSampler()
    target = out_json or settings.reports_dir() / "bench_scoring.json"
    timer = Timer(sampler, partial=target.with_name(target.stem + ".partial.json"), io_url=url)
    print(f"crm bench scoring: {customers:,} rows x {len(features)} features, database {dbname}")
    columns = []
    for i, f in enumerate(features):
        kind = i % 3
        expr = (
            "floor(random() * 12)::int"
            if kind == 0
            else "round((random() * 900)::numeric, 2)"
            if kind == 1
            else "case when random() < 0.1 then null else random() end"
        )
        columns.append(f"{expr} as {f}")
    try:

        def build() -> int:
            with warehouse.connect(url) as conn:
                conn.execute("create schema marts")
                conn.execute("select setseed(0.42)")
                conn.execute(
                    f"create table marts.churn_features as select date '{day}' as run_date, "
                    f"'C' || lpad(g::text, 9, '0') as customer_id, {', '.join(columns)} "
                    f"from generate_series(1, {customers}) g"
                )
                conn.execute("analyze marts.churn_features")
            return customers

        timer.run("setup: feature table (SQL)", build, lambda n: n)
        cfg = load_config()
        sample = load_scoring_frame(url, day, features, config=cfg).head(50_000)
        x = sample[features].to_numpy(dtype=np.float64)
        rng = np.random.default_rng(0)
        y = (
            np.nan_to_num(x[:, 1]) / 400 + np.nan_to_num(x[:, 3]) / 6 + rng.normal(size=len(x)) > 1.5
        ).astype(int)
        booster = timer.run(
            "setup: train a booster (50k rows)",
            lambda: xgb.train(
                {"max_depth": 4, "eta": 0.1, "nthread": 2, "objective": "binary:logistic"},
                xgb.DMatrix(x, label=y, feature_names=features),
                150,
            ),
            len(x),
        )
        model = LoadedModel("churn", "bench", "bench", booster, features, {"method": "none"})
        _io_predict_limit(timer, url, day, model)
        frame = timer.run(
            "score: read features (COPY)", lambda: load_scoring_frame(url, day, features, config=cfg), len
        )
        probs = timer.run(
            "score: predict", lambda: model.predict(frame[features].to_numpy(dtype=np.float64)), len
        )
        ids = pa.array(frame["customer_id"].to_numpy(dtype=object), pa.string())
        timer.run(
            "score: write scores (COPY)", lambda: write_scores(url, day, ids, probs, model, cfg), len(probs)
        )
        if not floor_only:  # the floor and the bulk path only: minutes less at 1M, and no 10 GB naive frame
            timer.run(
                "setup: candidates table (SQL)",
                lambda: _synthetic_candidates(url, day, listed_share, cfg.reasons.candidates[0]),
                lambda n: n,
            )
            timer.run(
                "reasons: candidates (critical path)",
                lambda: explain.explain(url, day, explain.CANDIDATES, config=cfg, model=model),
                lambda r: r.customers,
            )
            timer.run(
                "reasons: the rest (after publishing)",
                lambda: explain.explain(url, day, explain.REST, config=cfg, model=model),
                lambda r: r.customers,
            )
            if not skip_naive:
                timer.run("score: naive read_sql + to_sql", lambda: _naive_with(url, day, model), lambda n: n)
    finally:
        sampler.close()
        warehouse.drop_database(server, dbname)
    by_name = {s.name: s for s in timer.stages}

    def secs(*names: str) -> float:
        return sum(by_name[n].seconds for n in names)

    def cpu(*names: str) -> float:
        return sum(by_name[n].cpu_seconds + by_name[n].pg_cpu_seconds for n in names)

    bulk_names = ("score: read features (COPY)", "score: predict", "score: write scores (COPY)")
    limit_names = ("limit: raw COPY read -> Arrow", "limit: one inplace_predict", "limit: one COPY write")
    result = {
        "customers": customers,
        "features": len(features),
        "stages": [asdict(s) | {"rows_per_second": s.rows_per_second} for s in timer.stages],
        "peak_rss_mb": max(s.peak_rss_mb for s in timer.stages),
        "scoring_bulk_seconds": secs(*bulk_names),
        "scoring_limit_seconds": secs(*limit_names),
        "scoring_bulk_over_limit": secs(*bulk_names) / secs(*limit_names),
        "scoring_bulk_over_limit_cpu": cpu(*bulk_names) / cpu(*limit_names),
    }
    if not floor_only and not skip_naive:
        result |= {
            "scoring_naive_seconds": secs("score: naive read_sql + to_sql"),
            "naive_over_bulk": secs("score: naive read_sql + to_sql") / secs(*bulk_names),
        }
    if not floor_only:
        result |= {
            "candidate_customers": by_name["reasons: candidates (critical path)"].rows,
            "reasons_critical_path_seconds": secs("reasons: candidates (critical path)"),
            "reasons_critical_path_cpu_seconds": cpu("reasons: candidates (critical path)"),
            "reasons_after_publish_customers": by_name["reasons: the rest (after publishing)"].rows,
            "reasons_after_publish_seconds": secs("reasons: the rest (after publishing)"),
            "reasons_after_publish_cpu_seconds": cpu("reasons: the rest (after publishing)"),
        }
    print(json.dumps({k: v for k, v in result.items() if k != "stages"}, indent=2))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, indent=2))
    print(f"figures written to {target}")
    return result


def _synthetic_candidates(url: str, run_date: date, share: float, table: str) -> int:
    """A candidates table holding `share` of the night's customers (a stable md5 draw): what
    `model.explain` reads to choose the customers explained on the path to the lists."""
    with warehouse.connect(url) as conn:
        conn.execute(f"create schema if not exists {table.split('.')[0]}")
        conn.execute(f"drop table if exists {table}")
        conn.execute(
            f"create table {table} as select run_date, customer_id from marts.churn_features"
            " where run_date = %s"
            " and ('x' || substr(md5(customer_id), 1, 15))::bit(60)::bigint / 2.0 ^ 60 < %s",
            (run_date, share),
        )
        conn.execute(f"analyze {table}")  # the reasons' semi/anti-joins are planned on its statistics
        return int(conn.execute(f"select count(*) from {table}").fetchone()[0])


def _naive_with(url: str, run_date: date, model: Any) -> int:
    """The naive path with a given model (the registry's champion, or the scoring-only bench's own)."""
    import numpy as np
    import pandas as pd
    import sqlalchemy

    engine = sqlalchemy.create_engine(warehouse.sqlalchemy_url(url))
    try:
        frame = pd.read_sql(
            sqlalchemy.text("select * from marts.churn_features where run_date = :d"),
            engine,
            params={"d": run_date},
        )
        probs = model.predict(frame[model.features].to_numpy(dtype=np.float64))
        out = pd.DataFrame(
            {
                "run_date": run_date,
                "customer_id": frame["customer_id"],
                "churn_probability": probs,
                "model_version": model.version,
            }
        )
        out.to_sql("churn_scores_naive", engine, schema="scoring", if_exists="replace", index=False)
    finally:
        engine.dispose()
    return len(out)
