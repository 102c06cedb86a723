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
from crm_scoring.lists.roles import (
    OPERATOR_GROUP,
    READER_GROUP,
    apply_role_model,
    ensure_groups,
    grant_operator,
    grant_reader,
    protect_published,
)

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
    # PS-04 "which list": every list table the session read, each once, in the order first read (the
    # _latest view reads the table it selects from)
    with psycopg.connect(url) as conn:
        read = conn.execute(
            "select objects_read from ops.reader_logins where db_user = %s and backend_pid = %s", (name, pid)
        ).fetchone()[0]
    assert read == ["lists.retention_list", "lists.compensation_list"]
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


OWNED_SCHEMAS = (
    "raw",
    "ops",
    "enrichment",
    "dbt",
    "staging",
    "intermediate",
    "marts",
    "policy",
    "lists_build",
    "scoring",
    "lists",
    "public",
)


@pytest.fixture
def role_model(server_url: str) -> Iterator[dict[str, str]]:
    """A warehouse under the deployed role model (the init script's section, via apply_role_model), its
    runtime user and owner role unique on this shared server, and a reader and an operator login."""
    suffix = uuid.uuid4().hex[:8]
    owner, app = f"owner_{suffix}", f"app_{suffix}"
    reader, operator = f"reader_{suffix}", f"operator_{suffix}"
    name = warehouse.create_database(server_url, "crm_roles")
    admin = warehouse.with_database(server_url, name)
    try:
        # an existing warehouse, built by the runtime user when it still owned everything: migrated in place
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"create role {app} login")
            conn.execute(f"create schema raw authorization {app}")
            conn.execute("create table raw.customers (customer_id text, email text)")
            conn.execute(f"alter table raw.customers owner to {app}")
            conn.execute("insert into raw.customers values ('c1', 'c1@example.com')")
        app_url = apply_role_model(admin, uuid.uuid4().hex, owner=owner, app=app)
        assert psycopg.conninfo.conninfo_to_dict(app_url)["user"] == app
        ensure_groups(admin, app=app)  # as the admin, before the first night: audit objects made as `app`
        logins = {}
        for login, grant in ((reader, grant_reader), (operator, grant_operator)):
            password = grant(admin, login)
            logins[login] = psycopg.conninfo.make_conninfo(admin, user=login, password=password)
        yield {
            "db": name,
            "admin": admin,
            "owner": owner,
            "app": app,
            "app_url": app_url,
            "reader": logins[reader],
            "operator": logins[operator],
        }
    finally:
        warehouse.drop_database(server_url, name)
        with psycopg.connect(server_url, autocommit=True) as conn:
            for role in (reader, operator, app, owner):
                if conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone():
                    conn.execute(f'drop owned by "{role}"')
                    conn.execute(f'drop role "{role}"')


def _refused(dsn: str, statements: list[str]) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in statements:
            with pytest.raises(DENIED):
                conn.execute(statement)


def _drops(db: str) -> list[str]:
    """Every way to drop or take over the database and the owner's schemas."""
    out = [
        f'drop database "{db}"',
        f'alter database "{db}" rename to gone',
        f'alter database "{db}" owner to current_user',
    ]
    for schema in OWNED_SCHEMAS:
        out += [
            f"drop schema {schema} cascade",
            f"drop schema {schema}",
            f"alter schema {schema} rename to gone",
            f"alter schema {schema} owner to current_user",
        ]
    return out


def test_deployed_roles_are_refused_drops_and_raw_data(role_model: dict[str, str]) -> None:
    """docker/init-warehouse.sql's model, as `crm warehouse init-roles` applies it to any warehouse: the
    runtime user builds what a night builds and owns no schema nor the database, so it cannot drop them;
    the reader and the operator cannot drop anything nor read raw data."""
    m = role_model
    db, app, owner = m["db"], m["app"], m["owner"]
    with psycopg.connect(m["admin"]) as conn:
        owners = dict(
            conn.execute(
                "select nspname, nspowner::regrole::text from pg_namespace where nspname = any(%s)",
                (list(OWNED_SCHEMAS),),
            ).fetchall()
        )
        assert owners == dict.fromkeys(OWNED_SCHEMAS, owner) | {"public": "pg_database_owner"}
        assert (
            conn.execute(
                "select datdba::regrole::text from pg_database where datname = current_database()"
            ).fetchone()[0]
            == owner
        )
        assert conn.execute("select pg_has_role(%s, %s, 'MEMBER')", (app, owner)).fetchone()[0] is False
    # what the pipeline does as the runtime user still works (dbt: create schema if not exists, build a
    # relation, swap it over the old one, drop the backup; the loader: temp tables; the migrated raw table)
    with psycopg.connect(m["app_url"], autocommit=True) as conn:
        for schema in OWNED_SCHEMAS:
            conn.execute(f"create schema if not exists {schema}")
            conn.execute(f"create table {schema}.probe (a int)")
            conn.execute(f"insert into {schema}.probe values (1)")
        conn.execute("create table marts.m__dbt_tmp as select 2 as a")
        conn.execute("alter table marts.probe rename to m__dbt_backup")
        conn.execute("alter table marts.m__dbt_tmp rename to probe")
        conn.execute("drop table marts.m__dbt_backup")
        conn.execute("create temporary table t as select * from raw.customers")
        conn.execute("insert into raw.customers values ('c2', 'c2@example.com')")
        conn.execute("create schema scratch")  # a schema of its own: it may drop that one
        conn.execute("drop schema scratch cascade")
    # the audit objects an admin created (grant-reader before the first night) belong to the runtime user,
    # which replaces the functions and writes the tables on every publish and export; only the drop
    # guard's register belongs to the owner (the runtime user must not edit it)
    with psycopg.connect(m["admin"]) as conn:
        others = conn.execute(
            "select c.relname, c.relowner::regrole::text from pg_class c"
            " join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = 'ops' and c.relkind = 'r' and c.relowner::regrole::text <> %s",
            (app,),
        ).fetchall()
        assert others == [("protected_relations", owner)]
        assert (
            conn.execute(
                "select proowner::regrole::text from pg_proc where proname = 'record_list_export'"
            ).fetchone()[0]
            == app
        )
    with psycopg.connect(m["app_url"]) as conn:
        from crm_scoring.privacy.audit import ensure_audit_objects

        ensure_audit_objects(conn)
        protect_published(conn)
    _refused(
        m["app_url"],
        [
            *_drops(db),
            f"set role {owner}",
            f"grant {owner} to {app}",
            "create role x",
            "create database x",
            f"alter role {app} createdb",
            "drop schema pg_catalog",
        ],
    )
    for login in (m["reader"], m["operator"]):
        _refused(
            login,
            [
                *_drops(db),
                "select * from raw.customers",
                "select * from marts.probe",
                "select * from ops.probe",
                "create schema x",
                "drop table lists.probe",
                f"set role {app}",
                f"set role {owner}",
            ],
        )
    with psycopg.connect(m["admin"]) as conn:  # nothing was dropped or taken over
        assert conn.execute("select count(*) from raw.customers").fetchone()[0] == 2
        assert (
            conn.execute(
                "select count(*) from pg_namespace where nspname = any(%s) and nspowner::regrole::text = %s",
                (list(OWNED_SCHEMAS), owner),
            ).fetchone()[0]
            == len(OWNED_SCHEMAS) - 1
        )


PROTECTED = ("raw", "ops", "enrichment", "scoring", "lists")


def test_runtime_user_cannot_drop_what_nobody_can_rebuild(role_model: dict[str, str]) -> None:
    """The drop guard of docker/init-warehouse.sql: the runtime user owns its tables (a night's DDL needs
    that) yet cannot drop a table of raw, ops, enrichment, scoring or lists, nor a column of one, however
    it tries (rename, move to a schema it may drop, DROP OWNED, CASCADE); dbt's relations stay its own to
    replace; a superuser still can, which frees the table."""
    m = role_model
    app = m["app"]
    with psycopg.connect(m["app_url"], autocommit=True) as conn:
        for schema in PROTECTED:  # created by the runtime user after the model was applied
            conn.execute(f"create table if not exists {schema}.kept (customer_id text)")
            conn.execute(f"insert into {schema}.kept values ('c1')")
        conn.execute("create table marts.rebuilt (a int)")
        conn.execute("create schema scratch")
        # what a night does to the tables it owns still works
        conn.execute("alter table raw.customers add column if not exists phone text")
        conn.execute("create index if not exists customers_id_idx on raw.customers (customer_id)")
        conn.execute("alter table lists.kept enable row level security")
        conn.execute("create temporary table t (a int)")
        conn.execute("drop table t")
        conn.execute("create table marts.rebuilt__dbt_tmp as select 1 as a")
        conn.execute("alter table marts.rebuilt rename to rebuilt__dbt_backup")
        conn.execute("alter table marts.rebuilt__dbt_tmp rename to rebuilt")
        conn.execute("drop table marts.rebuilt__dbt_backup")
        conn.execute("drop index raw.customers_id_idx")
        attempts = ["drop table raw.customers", "drop table raw.customers cascade", f"drop owned by {app}"]
        attempts += [f"drop table {s}.kept" for s in PROTECTED]
        attempts += ["alter table raw.customers drop column email", "alter table ops.kept drop customer_id"]
        for statement in attempts:
            with pytest.raises(DENIED, match="crm drop guard"):
                conn.execute(statement)
        # renamed or moved out of its schema, a table is still the same table
        conn.execute("alter table raw.kept rename to renamed")
        conn.execute("alter table raw.renamed set schema scratch")
        for statement in ("drop table scratch.renamed", "drop schema scratch cascade"):
            with pytest.raises(DENIED, match="raw.kept"):
                conn.execute(statement)
        conn.execute("alter table scratch.renamed set schema raw")
        conn.execute("drop schema scratch")
    with psycopg.connect(m["admin"], autocommit=True) as conn:
        for schema in PROTECTED:
            table = "renamed" if schema == "raw" else "kept"
            assert conn.execute(f"select count(*) from {schema}.{table}").fetchone()[0] == 1, schema
        assert conn.execute("select count(*) from raw.customers").fetchone()[0] == 1
        assert "email" in {c.name for c in conn.execute("select * from raw.customers").description}
        assert conn.execute(
            "select count(*) from ops.protected_relations where relid = 'marts.rebuilt'::regclass"
        ).fetchone() == (0,)
        # the superuser may (a deliberate migration); the oid leaves the register with the table
        oid = conn.execute("select 'raw.renamed'::regclass::oid").fetchone()[0]
        conn.execute("drop table raw.renamed")
        assert conn.execute(
            "select count(*) from ops.protected_relations where relid = %s", (oid,)
        ).fetchone() == (0,)
    # applying the model again (an upgrade) keeps the guard and the register
    apply_role_model(m["admin"], None, owner=m["owner"], app=app)
    with psycopg.connect(m["app_url"], autocommit=True) as conn:
        with pytest.raises(DENIED, match="lists.kept"):
            conn.execute("drop table lists.kept")
        for statement in (
            "drop event trigger crm_protect_dropped",
            "alter event trigger crm_protect_dropped disable",
            "drop function ops.guard_protected_relations()",
            "create or replace function ops.guard_protected_relations() returns event_trigger"
            " language plpgsql as $$ begin end $$",
            "delete from ops.protected_relations",
            "truncate ops.protected_relations",
        ):
            with pytest.raises(DENIED):
                conn.execute(statement)


def test_init_script_section_is_plain_sql_for_any_role_names() -> None:
    from crm_scoring.lists.roles import database_section

    section = database_section("o_1", "a_1", "r_1", "p_1")
    assert "crm_app" not in section and "crm_owner" not in section and "crm_list_reader" not in section
    assert (
        "ALTER DATABASE %I OWNER TO o_1" in section and "GRANT USAGE, CREATE ON SCHEMA %I TO a_1" in section
    )
    with pytest.raises(ValueError):
        database_section(app="app; drop database crm")
