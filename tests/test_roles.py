"""Least privilege (issue 14 part B), on a real PostgreSQL: the list reader and the CRM operator are each
refused everything outside their grants, every reading session and every export is audited (PS-04), and
the pipeline's runtime user cannot drop a schema it does not own."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pytest

from crm_scoring import warehouse
from crm_scoring.lists.export import export_list
from crm_scoring.lists.publish import publish
from crm_scoring.lists.roles import OPERATOR_GROUP, READER_GROUP, grant_operator, grant_reader

D1, D2 = date(2026, 11, 26), date(2026, 11, 27)
DENIED = psycopg.errors.InsufficientPrivilege
OUTSIDE = (
    "raw.customers",
    "staging.stg_crm__customers",
    "marts.customer_value",
    "scoring.churn_scores",
    "policy.policy_parameters",
    "lists_build.retention_list",
    "ops.load_audit",
    "ops.list_exports",
    "ops.reader_logins",
    "ops.erasures",
    "ops.dsr_outcomes",
)


def _setup(url: str) -> None:
    """A warehouse in miniature: every pipeline schema holds a table, the lists are published for D1."""
    with psycopg.connect(url, autocommit=True) as conn:
        for schema in ("raw", "staging", "marts", "scoring", "policy", "lists_build", "ops"):
            conn.execute(f"create schema {schema}")
        conn.execute("create table raw.customers (customer_id text, email text)")
        conn.execute("insert into raw.customers values ('c1', 'c1@example.com')")
        conn.execute("create view staging.stg_crm__customers as select customer_id from raw.customers")
        conn.execute("create table marts.customer_value (customer_id text, revenue numeric)")
        conn.execute("create table scoring.churn_scores (customer_id text, p float8)")
        conn.execute("create table policy.policy_parameters (key text, value text)")
        conn.execute("create table ops.load_audit (export_date date)")
        conn.execute(
            "create table lists_build.retention_list (run_date date, customer_id text, priority_rank int,"
            " holdout_flag boolean, rule_code text)"
        )
        conn.execute(
            "create table lists_build.compensation_list (run_date date, customer_id text,"
            " amount numeric(18,2), rule_code text)"
        )
        for day in (D1, D2):
            conn.execute(
                "insert into lists_build.retention_list select %s, 'c' || i, i, i = 3, 'RL-03'"
                " from generate_series(1, 5) i",
                (day,),
            )
            conn.execute(
                "insert into lists_build.compensation_list values (%s, 'c2', 20.00, 'CP-01')", (day,)
            )
    publish(D1, url)


@pytest.fixture
def logins(fresh_db: str) -> Iterator[tuple[str, str, str]]:
    """(url, reader dsn, operator dsn) on a published miniature warehouse; the logins are dropped after."""
    _setup(fresh_db)
    suffix = uuid.uuid4().hex[:8]
    reader, operator = f"reader_{suffix}", f"operator_{suffix}"
    dsns = []
    try:
        for name, grant in ((reader, grant_reader), (operator, grant_operator)):
            password = grant(fresh_db, name)
            dsns.append(psycopg.conninfo.make_conninfo(fresh_db, user=name, password=password))
        yield fresh_db, dsns[0], dsns[1]
    finally:
        with psycopg.connect(fresh_db, autocommit=True) as conn:
            for name in (reader, operator):
                if conn.execute("select 1 from pg_roles where rolname = %s", (name,)).fetchone():
                    conn.execute(f'drop owned by "{name}"')
                    conn.execute(f'drop role "{name}"')


def _refused_outside(conn: psycopg.Connection, other_group: str) -> None:
    for table in OUTSIDE:
        with pytest.raises(DENIED):
            conn.execute(f"select 1 from {table} limit 1")
    for statement in (
        "delete from lists.retention_list",
        "update lists.retention_list set priority_rank = 0",
        "insert into lists.compensation_list (run_date, customer_id) values ('2026-11-26', 'x')",
        "truncate lists.retention_list",
        "create table lists.x (a int)",
        "create table public.x (a int)",
        "create temporary table x (a int)",
        "drop table lists.retention_list",
        "alter table lists.retention_list disable row level security",
        "insert into ops.list_exports (list_name, run_date, file_format, file_name, row_count, file_sha256,"
        " include_holdout) values ('retention', '2026-11-26', 'csv', 'f', 1, 'x', false)",
        "insert into ops.reader_logins (db_user, backend_pid, backend_start) values ('x', 1, now())",
        f"set role {other_group}",  # the other group's grants are not reachable
        "create schema x",
    ):
        with pytest.raises(DENIED):
            conn.execute(statement)


def _logins(url: str, name: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select backend_pid, backend_start, first_object from ops.reader_logins where db_user = %s"
            " order by login_id",
            (name,),
        ).fetchall()


def test_reader_reads_lists_only_and_each_session_is_audited(logins) -> None:
    url, reader, _ = logins
    name = psycopg.conninfo.conninfo_to_dict(reader)["user"]
    with psycopg.connect(reader, autocommit=True) as conn:
        assert conn.execute("select count(*) from lists.retention_list").fetchone()[0] == 5
        assert conn.execute("select count(*) from lists.retention_list_latest").fetchone()[0] == 5
        assert conn.execute("select count(*) from compensation_list").fetchone()[0] == 1  # search_path
        pid = conn.info.backend_pid
        _refused_outside(conn, OPERATOR_GROUP)
        with pytest.raises(DENIED):  # a reader cannot record (hence not perform) an export
            conn.execute(
                "select ops.record_list_export('retention', '2026-11-26', 'csv', 'f', 1, 'x', false, 'me')"
            )
    (row,) = _logins(url, name)  # one row for the session, however many reads
    assert row[0] == pid and row[2] == "lists.retention_list"
    # a new session through the _latest view, after another night was published (views recreated)
    publish(D2, url)
    with psycopg.connect(reader, autocommit=True) as conn:
        assert conn.execute("select count(*) from lists.retention_list_latest").fetchone()[0] == 5
        assert conn.execute("select max(run_date) from lists.retention_list").fetchone()[0] == D2
    assert len(_logins(url, name)) == 2
    # a read-only transaction cannot write its audit row: the read fails rather than go unaudited
    with psycopg.connect(reader) as conn:
        conn.execute("set transaction read only")
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("select count(*) from lists.retention_list")


def test_operator_exports_with_audit_and_sees_no_raw_data(logins, tmp_path: Path) -> None:
    url, reader, operator = logins
    name = psycopg.conninfo.conninfo_to_dict(operator)["user"]
    with psycopg.connect(operator, autocommit=True) as conn:
        _refused_outside(conn, READER_GROUP)
    out = tmp_path / "retention.csv"
    result = export_list(D1, "retention", "csv", out, url=operator)
    assert result.rows == 4  # the hold-out row stays out
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select export_id, db_user, os_user, list_name, run_date, file_format, file_name, row_count,"
            " file_sha256, include_holdout from ops.list_exports"
        ).fetchall()
    assert rows == [
        (result.export_id, name, rows[0][2], "retention", D1, "csv", str(out.resolve()), 4, digest, False)
    ]
    assert rows[0][2] and result.sha256 == digest
    assert [r[2] for r in _logins(url, name)] == ["lists.retention_list"]
    # the same export by a reader is refused and leaves no file behind
    denied = tmp_path / "by_reader.csv"
    with pytest.raises(DENIED):
        export_list(D1, "retention", "csv", denied, url=reader)
    assert not denied.exists() and list(tmp_path.iterdir()) == [out]
    # the pipeline owner's exports are audited too
    export_list(D1, "compensation", "parquet", tmp_path / "c.parquet", url=url)
    with psycopg.connect(url) as conn:
        assert conn.execute("select count(*) from ops.list_exports").fetchone()[0] == 2


def test_group_roles_are_nologin_and_logins_have_one_group(logins) -> None:
    url, reader, _ = logins
    name = psycopg.conninfo.conninfo_to_dict(reader)["user"]
    with psycopg.connect(url) as conn:
        groups = dict(
            conn.execute(
                "select rolname, rolcanlogin from pg_roles where rolname = any(%s)",
                ([READER_GROUP, OPERATOR_GROUP],),
            ).fetchall()
        )
        assert groups == {READER_GROUP: False, OPERATOR_GROUP: False}
    grant_operator(url, name)  # a reader promoted to operator leaves the reader group
    with psycopg.connect(url) as conn:
        member_of = {
            r[0]
            for r in conn.execute(
                "select g.rolname from pg_auth_members m join pg_roles g on g.oid = m.roleid"
                " join pg_roles u on u.oid = m.member where u.rolname = %s",
                (name,),
            ).fetchall()
        }
    assert member_of == {OPERATOR_GROUP}


def test_runtime_user_cannot_drop_a_schema_it_does_not_own(fresh_db: str) -> None:
    """The DAGs' runtime user (crm_app in docker/init-warehouse.sql) owns the pipeline schemas, not the
    database: it may drop its own schemas but no other (audit schemas of another owner, public)."""
    runtime = f"runtime_{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(f"create role {runtime} login nosuperuser nocreatedb nocreaterole password '{password}'")
    try:
        with psycopg.connect(fresh_db, autocommit=True) as conn:
            conn.execute(f"grant connect on database {warehouse.parse_url(fresh_db).dbname} to {runtime}")
            conn.execute(f"create schema pipeline authorization {runtime}")
            conn.execute("create schema audit")
            conn.execute("create table audit.trail (a int)")
        dsn = psycopg.conninfo.make_conninfo(fresh_db, user=runtime, password=password)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("create table pipeline.t (a int)")
            for statement in (
                "drop schema audit cascade",
                "drop schema audit",
                "drop schema public cascade",
                "drop table audit.trail",
                f"alter schema audit owner to {runtime}",
            ):
                with pytest.raises(DENIED):
                    conn.execute(statement)
            conn.execute("drop schema pipeline cascade")  # its own: allowed
        with psycopg.connect(fresh_db) as conn:
            assert conn.execute("select count(*) from audit.trail").fetchone()[0] == 0
    finally:
        with psycopg.connect(fresh_db, autocommit=True) as conn:
            conn.execute(f"drop owned by {runtime}")
            conn.execute(f"drop role {runtime}")


def test_deployed_runtime_user_cannot_drop_a_schema_it_does_not_own(fresh_db: str) -> None:
    """The same refusal for the runtime user as docker/init-warehouse.sql deploys it: crm_app OWNS the
    database, and in PostgreSQL 15+ `public` belongs to the database owner (pg_database_owner) unless the
    init script hands it over. The script's `\\connect crm` section runs here as written (role names made
    unique on this shared server)."""
    import re

    from crm_scoring import settings

    suffix = uuid.uuid4().hex[:8]
    names = {"crm_list_operator": f"op_{suffix}", "crm_reader": f"rd_{suffix}", "crm_app": f"app_{suffix}"}
    script = (settings.project_root() / "docker" / "init-warehouse.sql").read_text(encoding="utf-8")
    section = script.split("\\connect crm", 1)[1]
    for role, unique in names.items():
        section = re.sub(rf"\b{role}\b", unique, section)
    app, password = names["crm_app"], uuid.uuid4().hex
    dbname = warehouse.parse_url(fresh_db).dbname
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(f"create role {app} login password '{password}'")
        conn.execute(f"create role {names['crm_reader']} nologin")
        conn.execute(f"create role {names['crm_list_operator']} nologin")
        conn.execute(f'alter database "{dbname}" owner to {app}')
    try:
        with psycopg.connect(fresh_db, autocommit=True) as conn:
            conn.execute(section)
            conn.execute("create schema audit")  # a schema of another role
        dsn = psycopg.conninfo.make_conninfo(fresh_db, user=app, password=password)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("create table raw.t (a int)")
            conn.execute("create table public.t (a int)")  # public stays usable
            for statement in (
                "drop schema public cascade",
                "drop schema public",
                "alter schema public rename to gone",
                "drop schema audit cascade",
                "drop schema pg_catalog",
            ):
                with pytest.raises(DENIED):
                    conn.execute(statement)
            conn.execute("drop schema raw cascade")  # its own: allowed
    finally:
        with psycopg.connect(fresh_db, autocommit=True) as conn:
            conn.execute(f'alter database "{dbname}" owner to current_user')
            for role in names.values():
                conn.execute(f"drop owned by {role}")
                conn.execute(f"drop role {role}")
