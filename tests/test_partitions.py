"""History that does not explode: per-date tables partitioned by month of run_date, pruned by whole months.

Against a real PostgreSQL (and, for the marts, a real dbt build of the hand-made fixture): the writers'
partitions, the DEFAULT partition path, the in-place conversion of a plain table (all or nothing, also
when its session is killed half-way), the retention dropping whole months (checked in pg_inherits) and
deleting only inside the boundary month, and the dbt per-date models built partitioned.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest
from support.dbt_project import D1, FIXTURE, _dbt, _load_raw, module_warehouse

from crm_scoring import partitions, warehouse
from crm_scoring.model.score import ensure_reasons_table, ensure_scores_table
from crm_scoring.orchestration import history


def children(conn: psycopg.Connection, table: str) -> list[str]:
    """The partitions of `table` from the catalogue itself (pg_inherits), sorted."""
    return [
        r[0]
        for r in conn.execute(
            "select inhrelid::regclass::text from pg_inherits where inhparent = %s::regclass order by 1",
            (table,),
        ).fetchall()
    ]


def one(conn: psycopg.Connection, query: str) -> object:
    return conn.execute(query).fetchone()[0]


def digest(conn: psycopg.Connection, table: str) -> str:
    return conn.execute(
        f"select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from {table} t"
    ).fetchone()[0]


def insert_scores(conn: psycopg.Connection, days: list[date], table: str = "scoring.churn_scores") -> None:
    conn.cursor().executemany(
        f"insert into {table} (run_date, customer_id, churn_probability, model_name, model_version)"
        " values (%s, %s, 0.5, 'm', '1')",
        [(d, f"c{i}") for d in days for i in range(3)],
    )


def test_the_scores_are_partitioned_by_month_idempotently(fresh_db: str) -> None:
    """The writer's DDL makes a partitioned parent with a DEFAULT partition; each night's month partition
    exists before its rows; a rerun creates nothing more."""
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        ensure_scores_table(conn, "scoring.churn_scores")
        ensure_reasons_table(conn, "scoring.churn_reasons")
        assert children(conn, "scoring.churn_scores") == ["partitions.scoring__churn_scores__default"]
        for day in (date(2026, 11, 30), date(2026, 12, 1)):
            partitions.ensure(conn, "scoring.churn_scores", day)
        insert_scores(conn, [date(2026, 11, 30), date(2026, 12, 1)])
        expected = [
            "partitions.scoring__churn_scores__default",
            "partitions.scoring__churn_scores__p202611",
            "partitions.scoring__churn_scores__p202612",
        ]
        assert children(conn, "scoring.churn_scores") == expected
        assert dict(
            conn.execute(
                "select run_date::text, tableoid::regclass::text from scoring.churn_scores group by 1, 2"
            ).fetchall()
        ) == {"2026-11-30": expected[1], "2026-12-01": expected[2]}
        ensure_scores_table(conn, "scoring.churn_scores")
        partitions.ensure(conn, "scoring.churn_scores", date(2026, 12, 15))
        assert children(conn, "scoring.churn_scores") == expected  # idempotent
        # the parents' schema holds only the parents: the partitions live in schema `partitions`
        assert one(
            conn,
            "select array_agg(relname order by relname) from pg_class"
            " where relnamespace = 'scoring'::regnamespace and relkind in ('r', 'p')",
        ) == ["churn_reasons", "churn_scores"]


def test_a_month_created_after_its_rows_moves_them_out_of_default(fresh_db: str) -> None:
    """Rows inserted directly before their month exists land in DEFAULT; creating the month moves them."""
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        ensure_scores_table(conn, "scoring.churn_scores")
        insert_scores(conn, [date(2026, 7, 4), date(2026, 8, 1)])
        before = digest(conn, "scoring.churn_scores")
        where = "select distinct tableoid::regclass::text from scoring.churn_scores where run_date = %s"
        assert conn.execute(where, (date(2026, 7, 4),)).fetchall() == [
            ("partitions.scoring__churn_scores__default",)
        ]
        partitions.ensure(conn, "scoring.churn_scores", date(2026, 7, 31))
        assert conn.execute(where, (date(2026, 7, 4),)).fetchall() == [
            ("partitions.scoring__churn_scores__p202607",)
        ]
        assert conn.execute(where, (date(2026, 8, 1),)).fetchall() == [
            ("partitions.scoring__churn_scores__default",)
        ]
        assert digest(conn, "scoring.churn_scores") == before
        # the moved partition carries the parent's constraints
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "insert into scoring.churn_scores (run_date, customer_id, churn_probability, model_name,"
                " model_version) values ('2026-07-05', 'x', 2, 'm', '1')"
            )


def _plain_lists_table(conn: psycopg.Connection) -> None:
    conn.execute("create schema lists")
    conn.execute("create table lists.retention_list (run_date date, customer_id text, score numeric(6,2))")
    conn.execute("create index on lists.retention_list (run_date)")
    conn.execute(
        "insert into lists.retention_list select date '2025-12-20' + (i % 70), 'c' || i, i / 7.0"
        " from generate_series(1, 700) i"
    )
    conn.execute(
        "create view lists.retention_list_latest with (security_invoker = true) as select * from"
        " lists.retention_list where run_date = (select max(run_date) from lists.retention_list)"
    )
    conn.execute("grant select on lists.retention_list to public")
    conn.execute("alter table lists.retention_list enable row level security")


def test_a_plain_table_is_converted_in_place(fresh_db: str) -> None:
    """A warehouse of an earlier release: the same rows, views, index, grants and row-level security flag,
    now partitioned by month; the old table is gone."""
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        _plain_lists_table(conn)
        before = digest(conn, "lists.retention_list")
        latest = digest(conn, "lists.retention_list_latest")
        partitions.ensure(conn, "lists.retention_list", date(2026, 3, 1))
        assert children(conn, "lists.retention_list") == [
            "partitions.lists__retention_list__default",
            "partitions.lists__retention_list__p202512",
            "partitions.lists__retention_list__p202601",
            "partitions.lists__retention_list__p202602",
            "partitions.lists__retention_list__p202603",
        ]
        assert digest(conn, "lists.retention_list") == before
        assert digest(conn, "lists.retention_list_latest") == latest
        row = conn.execute(
            "select c.relkind, c.relrowsecurity, c.relacl::text[],"
            " (select array_agg(i.relname::text) from pg_index x join pg_class i on i.oid = x.indexrelid"
            "  where x.indrelid = c.oid),"
            " (select reloptions from pg_class where oid = 'lists.retention_list_latest'::regclass)"
            " from pg_class c where c.oid = 'lists.retention_list'::regclass"
        ).fetchone()
        assert row[0] == "p" and row[1] is True
        assert "=r/postgres" in row[2]
        assert row[3] == ["retention_list_run_date_idx"]
        assert row[4] == ["security_invoker=true"]
        assert conn.execute("select to_regclass('lists.retention_list__unpartitioned')").fetchone()[0] is None
        partitions.ensure(conn, "lists.retention_list", date(2026, 3, 1))  # a rerun: nothing to do
        assert digest(conn, "lists.retention_list") == before


def test_a_conversion_killed_half_way_leaves_the_table_as_it_was(fresh_db: str) -> None:
    """The conversion is one transaction: its session killed between two statements (here: holding the
    renamed table, blocked on a lock) rolls everything back; the next writer converts it."""
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        _plain_lists_table(conn)
        before = digest(conn, "lists.retention_list")
        partitions.install(conn)
    blocker = psycopg.connect(fresh_db)
    blocker.execute("lock table lists.retention_list_latest in access exclusive mode")  # the view
    victim = psycopg.connect(fresh_db)
    pid = victim.info.backend_pid
    failure: list[BaseException] = []

    def convert() -> None:
        try:
            victim.execute("select ops.crm_partition_month('lists', 'retention_list', '2026-03-01')")
        except psycopg.Error as exc:
            failure.append(exc)

    worker = threading.Thread(target=convert)
    worker.start()
    with psycopg.connect(fresh_db, autocommit=True) as watcher:
        for _ in range(200):  # wait until the victim waits on the view's lock, mid-conversion
            waiting = watcher.execute(
                "select wait_event_type from pg_stat_activity where pid = %s", (pid,)
            ).fetchone()
            if waiting and waiting[0] == "Lock":
                break
            threading.Event().wait(0.05)
        else:
            pytest.fail("the conversion never blocked on the view")
        watcher.execute("select pg_terminate_backend(%s)", (pid,))
        worker.join(30)
        blocker.rollback()
        blocker.close()
        assert failure, "the killed conversion did not fail"
        assert watcher.execute("select relkind from pg_class where oid = 'lists.retention_list'::regclass"
                               ).fetchone()[0] == "r"  # fmt: skip
        assert digest(watcher, "lists.retention_list") == before
        assert children(watcher, "lists.retention_list") == []
        partitions.ensure(watcher, "lists.retention_list", date(2026, 3, 1))
        assert digest(watcher, "lists.retention_list") == before
        assert len(children(watcher, "lists.retention_list")) == 5


def test_retention_drops_whole_months_and_deletes_only_in_the_boundary_month(fresh_db: str) -> None:
    """Scores kept 400 days (policy seed): the months entirely older than the cutoff are dropped (gone from
    pg_inherits), the boundary month keeps its dates from the cutoff on, DEFAULT rows older than the
    cutoff are deleted; a rerun removes nothing; a backfill of an older date drops no newer month."""
    day = date(1998, 6, 2)
    cutoff = day - timedelta(days=400)  # 1997-04-28
    tables = [history.PerDateTable("scoring", "churn_scores", history.SCORES)]
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        ensure_scores_table(conn, "scoring.churn_scores")
        days = [date(1997, 1, 15), date(1997, 3, 31), date(1997, 4, 27), date(1997, 4, 28), date(1998, 6, 2)]
        for d in days[1:]:
            partitions.ensure(conn, "scoring.churn_scores", d)
        insert_scores(conn, days)  # 1997-01-15 has no month: it sits in DEFAULT
        assert (cutoff, len(children(conn, "scoring.churn_scores"))) == (date(1997, 4, 28), 4)

        backfill = history.prune(conn, day - timedelta(days=60), tables)  # an older night: older cutoff
        assert backfill == {"history:scoring.churn_scores": 3}  # only the DEFAULT row of 1997-01-15
        assert len(children(conn, "scoring.churn_scores")) == 4

        first = history.prune(conn, day, tables)
        assert first == {"history:scoring.churn_scores": 6}  # March dropped (3), 04-27 deleted (3)
        assert children(conn, "scoring.churn_scores") == [
            "partitions.scoring__churn_scores__default",
            "partitions.scoring__churn_scores__p199704",
            "partitions.scoring__churn_scores__p199806",
        ]
        kept = conn.execute("select distinct run_date from scoring.churn_scores order by 1").fetchall()
        assert [r[0] for r in kept] == [date(1997, 4, 28), date(1998, 6, 2)]
        again = history.prune(conn, day, tables)
        assert again == {"history:scoring.churn_scores": 0}
        assert len(children(conn, "scoring.churn_scores")) == 3
        logged = conn.execute(
            "select run_date, rows_purged from ops.retention_purges order by run_date"
        ).fetchall()
        assert logged == [(day - timedelta(days=60), 3), (day, 6)]


def test_published_lists_are_partitioned(fresh_db: str) -> None:
    """publish creates `lists.<name>` partitioned, with the night's month before its rows."""
    from crm_scoring.lists import LIST_NAMES
    from crm_scoring.lists.publish import publish

    day = date(2026, 11, 26)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("create schema lists_build")
        for name in LIST_NAMES:
            conn.execute(f"create table lists_build.{name} (run_date date, customer_id text)")
            conn.execute(f"insert into lists_build.{name} values (%s, 'c1'), (%s, 'c2')", (day, day))
    assert publish(day, fresh_db).rows == dict.fromkeys(LIST_NAMES, 2)
    with psycopg.connect(fresh_db) as conn:
        for name in LIST_NAMES:
            assert children(conn, f"lists.{name}") == [
                f"partitions.lists__{name}__default",
                f"partitions.lists__{name}__p202611",
            ]
            assert conn.execute(f"select count(*) from partitions.lists__{name}__p202611").fetchone()[0] == 2


D3 = "2026-12-01"  # the next month


@pytest.fixture(scope="module")
def built(server_url: str, tmp_path_factory: pytest.TempPathFactory, pristine_project: Path):
    with module_warehouse(server_url, tmp_path_factory, "crm_partitions", pristine_project) as (url, project):
        _load_raw(url, FIXTURE)
        yield url, project


def test_dbt_builds_the_per_date_models_partitioned(built) -> None:
    """A per-date mart (incremental by run_date) is built partitioned by the project's hooks: its first
    build converted, each later night's month created before the insert; a full refresh rebuilds it
    partitioned with the same rows; a current-state fact (fct_orders, by order_id) stays a plain table."""
    url, project = built
    select = ["--select", "+survey_scores_daily", "+fct_orders"]
    _dbt(project, "seed", run_date=D1)
    _dbt(project, "run", *select, run_date=D1)
    _dbt(project, "run", *select, run_date=D3)
    with warehouse.connect(url) as conn:
        assert children(conn, "marts.survey_scores_daily") == [
            "partitions.marts__survey_scores_daily__default",
            "partitions.marts__survey_scores_daily__p202611",
            "partitions.marts__survey_scores_daily__p202612",
        ]
        assert one(conn, "select count(*) from partitions.marts__survey_scores_daily__default") == 0
        assert one(conn, "select count(*) from marts.survey_scores_daily") > 0
        assert one(conn, "select relkind from pg_class where oid = 'marts.fct_orders'::regclass") == "r"
        before = digest(conn, "marts.survey_scores_daily")
    _dbt(project, "run", "--select", "survey_scores_daily", "--full-refresh", run_date=D3)
    with warehouse.connect(url) as conn:
        assert (
            conn.execute(
                "select relkind from pg_class where oid = 'marts.survey_scores_daily'::regclass"
            ).fetchone()[0]
            == "p"
        )
        # a full refresh keeps only the run date's rows (as before partitioning); its month is there
        assert "partitions.marts__survey_scores_daily__p202612" in children(conn, "marts.survey_scores_daily")
        assert (
            conn.execute(
                "select count(*) from pg_class where relname like 'survey_scores_daily%%dbt%%'"
            ).fetchone()[0]
            == 0
        )
    assert before


def test_the_hook_decides_nothing_at_compile_time() -> None:
    """The hook's SQL never depends on the warehouse (issue 15): no relation probe in the macros."""
    text = (Path(__file__).parents[1] / "dbt_project" / "macros" / "partitions.sql").read_text()
    assert "get_relation" not in text and "load_relation" not in text and "is_incremental" not in text


def test_the_source_ddl_and_setup_give_every_parent_its_default(fresh_db: str) -> None:
    """dbt's on-run-start (generated source DDL, then partition_setup) leaves the Python-written per-date
    parents partitioned with a DEFAULT partition: a direct insert (a test, a repair) finds a home."""
    from tests.support.raw import create_source_tables

    create_source_tables(fresh_db)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        for table in ("scoring.churn_scores", "scoring.churn_reasons", "lists.retention_list"):
            name = table.replace(".", "__")
            assert children(conn, table) == [f"partitions.{name}__default"], table
        insert_scores(conn, [date(2026, 11, 26)])
        assert partitions.setup(conn) == 0  # a second on-run-start: nothing to do
