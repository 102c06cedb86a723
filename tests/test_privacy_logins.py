"""PS-04 login audit: every login of a list reader or CRM operator gets a row in ops.logins, even one that
reads nothing, from the server's CSV connection log (privacy/logins.py).

The test starts its own embedded PostgreSQL (pgserver, in a temporary data directory) through
`warehouse.start_embedded`, the path a fresh clone takes, so it proves that this path turns the
connection log on, and it does not depend on how the machine's shared server is configured. A server
that does not log connections is the second test: the ingestion records that it skipped, and why."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from crm_scoring import warehouse
from crm_scoring.lists.roles import GROUPS, OPERATOR_GROUP, READER_GROUP, grant_operator, grant_reader
from crm_scoring.privacy import logins


@pytest.fixture(scope="module")
def own_server() -> Iterator[str]:
    """URL of a private embedded server, started as a fresh clone starts it; stopped and removed afterwards.

    Its data directory is not under pytest's temporary root: run as root, pgserver runs the server as
    user `pgserver` and opens the path's prefixes to it, and every pytest session that starts meanwhile
    (a parallel run) resets that root to mode 0700, locking the server out of its own files."""
    import shutil
    import tempfile

    from pgserver._commands import pg_ctl

    top = Path(tempfile.mkdtemp(prefix="crm-test-logins-"))
    pgdata = top / "pgdata"
    mp = pytest.MonkeyPatch()
    mp.setenv("CRM_PGDATA", str(pgdata))
    mp.delenv(warehouse.ENV_URL, raising=False)
    try:
        yield warehouse.start_embedded()
    finally:
        mp.undo()
        import pgserver

        server = pgserver.get_server(pgdata, cleanup_mode=None)
        pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=pgdata, user=server.system_user)
        shutil.rmtree(top, ignore_errors=True)


@pytest.fixture
def db(own_server: str) -> Iterator[str]:
    name = warehouse.create_database(own_server, "crm_logins")
    url = warehouse.with_database(own_server, name)
    yield url
    with psycopg.connect(url, autocommit=True) as conn:
        for (role,) in conn.execute(
            "select r.rolname from pg_roles r join pg_roles g on g.rolname = any(%s)"
            " where pg_has_role(r.oid, g.oid, 'member') and r.rolcanlogin and not r.rolsuper",
            (list(GROUPS),),
        ).fetchall():
            conn.execute(f'drop owned by "{role}"')
            conn.execute(f'drop role "{role}"')
        if conn.execute("select 1 from pg_roles where rolname = 'bystander'").fetchone():
            conn.execute("drop owned by bystander")
            conn.execute("drop role bystander")
    warehouse.drop_database(own_server, name)


def _ingest_until(url: str, want: int, timeout_s: float = 20.0) -> list[logins.LoginRead]:
    """Ingest until ops.logins holds `want` rows (the log collector writes the lines asynchronously)."""
    reads = []
    deadline = time.monotonic() + timeout_s
    while True:
        with psycopg.connect(url) as conn:
            reads.append(logins.ingest(conn))
            n = conn.execute("select count(*) from ops.logins").fetchone()[0]
        if n >= want or time.monotonic() > deadline:
            return reads
        time.sleep(0.5)


def test_a_login_that_reads_nothing_is_audited_once(db: str, tmp_path: Path) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        assert logins.missing_settings(conn) == [], "start_embedded did not turn the connection log on"
    suffix = uuid.uuid4().hex[:8]
    reader, operator = f"reader_{suffix}", f"operator_{suffix}"
    dsn = {}
    for name, grant in ((reader, grant_reader), (operator, grant_operator)):
        dsn[name] = psycopg.conninfo.make_conninfo(db, user=name, password=grant(db, name))
    with psycopg.connect(db, autocommit=True) as conn:  # a login outside both groups is not audited
        conn.execute("create role bystander login")
        conn.execute(f'grant connect on database "{conn.info.dbname}" to bystander')
    psycopg.connect(psycopg.conninfo.make_conninfo(db, user="bystander")).close()
    pids = {}
    for name in (reader, operator):
        # log in and out: no statement at all, so the row-level-security audit cannot see it
        conn = psycopg.connect(dsn[name], application_name=f"ps04-{name}")
        pids[name] = conn.info.backend_pid
        conn.close()

    reads = _ingest_until(db, 2)
    assert reads[-1].status == "ingested", reads[-1]
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            "select db_user, role_group, backend_pid, application_name, database_name, connection_from,"
            " login_at <= now() from ops.logins order by db_user"
        ).fetchall()
        dbname = conn.info.dbname
        assert conn.execute("select count(*) from ops.reader_logins").fetchone()[0] == 0  # nothing was read
    assert [r[:5] for r in rows] == [
        (operator, OPERATOR_GROUP, pids[operator], f"ps04-{operator}", dbname),
        (reader, READER_GROUP, pids[reader], f"ps04-{reader}", dbname),
    ]
    assert all(r[5] and r[6] for r in rows)

    # reading the same log again adds nothing; each read is itself recorded
    with psycopg.connect(db) as conn:
        before = conn.execute("select count(*) from ops.login_log_reads").fetchone()[0]
        again = logins.ingest(conn)
        assert again.logins_added == 0
        assert conn.execute("select count(*) from ops.logins").fetchone()[0] == 2
        assert conn.execute("select count(*) from ops.login_log_reads").fetchone()[0] == before + 1
        # forget the read marks: every file is read again in full, and still nothing is added twice
        conn.execute("delete from ops.login_log_files")
        full = logins.ingest(conn)
        assert full.files_read >= 1 and full.logins_added == 0
        assert conn.execute("select count(*) from ops.logins").fetchone()[0] == 2

    # `crm privacy logins`, the command a DPO runs by hand, does the same
    from crm_scoring.cli import main

    result = CliRunner().invoke(main, ["privacy", "logins"], env={warehouse.ENV_URL: db})
    assert result.exit_code == 0, result.output
    assert "ingested" in result.output


def test_a_server_that_does_not_log_connections_is_recorded_as_skipped(db: str, own_server: str) -> None:
    with psycopg.connect(own_server, autocommit=True) as admin:
        admin.execute("alter system set log_connections = off")
        admin.execute("select pg_reload_conf()")
    try:
        deadline = time.monotonic() + 10
        while True:
            with psycopg.connect(db) as conn:
                missing = logins.missing_settings(conn)
            if missing or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert missing == ["log_connections = on (is: off)"]
        with psycopg.connect(db) as conn:
            read = logins.ingest(conn)
            row = conn.execute(
                "select status, reason, files_read from ops.login_log_reads order by read_id desc limit 1"
            ).fetchone()
        assert read.status == "skipped"
        assert row[0] == "skipped" and "log_connections = on" in row[1] and row[2] == 0
    finally:
        with psycopg.connect(own_server, autocommit=True) as admin:
            admin.execute("alter system set log_connections = on")
            admin.execute("select pg_reload_conf()")


def test_a_user_who_may_not_read_the_server_log_is_recorded_as_skipped(db: str) -> None:
    """The runtime user of a least-privilege warehouse without pg_monitor: a skip row naming the grant."""
    with psycopg.connect(db, autocommit=True) as conn:
        logins.ensure(conn)
        conn.execute("create role crm_nolog_ingester nologin")
        conn.execute(f'grant create, temporary on database "{conn.info.dbname}" to crm_nolog_ingester')
        conn.execute("grant usage, create on schema ops to crm_nolog_ingester")
        conn.execute("grant select, insert, update on all tables in schema ops to crm_nolog_ingester")
    grant_reader(db, f"reader_{uuid.uuid4().hex[:8]}")  # someone to audit, so the files would be listed
    try:
        with psycopg.connect(db) as conn:
            conn.execute("set role crm_nolog_ingester")
            read = logins.ingest(conn)
            conn.execute("reset role")
            row = conn.execute(
                "select status, reason from ops.login_log_reads order by read_id desc limit 1"
            ).fetchone()
            conn.commit()
        assert read.status == "skipped"
        assert row[0] == "skipped" and "pg_monitor" in row[1]
    finally:
        with psycopg.connect(db, autocommit=True) as conn:
            conn.execute("drop owned by crm_nolog_ingester")
            conn.execute("drop role crm_nolog_ingester")
