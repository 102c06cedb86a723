"""Least privilege in the warehouse (issue 14, PS-02, PS-04): the runtime user, readers and CRM operators.

The role model of the warehouse database has ONE text, the section after `\\connect crm` of
docker/init-warehouse.sql: the team stack's PostgreSQL runs it at its first start, and
`apply_role_model` (`crm warehouse init-roles`) runs the same section on any other warehouse (the
embedded one, a managed server). In it a NOLOGIN owner role (`crm_owner`) owns the database and every
pipeline schema, and the runtime user (`crm_app`: Airflow tasks, dbt, `crm`) is granted only what a
night needs: CONNECT, TEMPORARY and CREATE on the database (PostgreSQL checks CREATE before it looks
for the schema of a `create schema if not exists`), USAGE and CREATE in each schema. It owns what it
builds (tables, views, functions: dbt renames and drops its own relations), never a schema of the owner
nor the database, so DROP SCHEMA, DROP DATABASE and ALTER ... OWNER on them are refused.

Two NOLOGIN group roles, each login a member of one of them so access is granted and revoked per person:

- `crm_list_reader` (`crm warehouse grant-reader NAME`): USAGE on schema `lists` and SELECT on its tables
  and views (plus default privileges for tables published later); nothing in raw, staging, marts,
  scoring, ops or policy, hence no PII;
- `crm_list_operator` (`crm warehouse grant-operator NAME`): what a reader has, plus recording an export
  (`crm lists export` writes `ops.list_exports` through a SECURITY DEFINER function). It cannot read
  raw data, marts or the audit itself.

Every read of a `lists` table by either group is audited once per session (privacy/audit.py: row-level
security policy + ops.reader_logins). Both groups get CONNECT on the current database, while PUBLIC
loses its default CONNECT and TEMPORARY there (no scratch tables for readers).
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from urllib.parse import quote, urlparse, urlunparse

import psycopg
from psycopg import sql

from crm_scoring import settings, warehouse
from crm_scoring.lists.publish import PUBLISH_SCHEMA, ensure_publish_schema

READER_GROUP = "crm_list_reader"
OPERATOR_GROUP = "crm_list_operator"
GROUPS = (READER_GROUP, OPERATOR_GROUP)
OWNER_ROLE = "crm_owner"
RUNTIME_ROLE = "crm_app"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_SECTION_MARK = "\\connect crm"


def init_script() -> Path:
    """docker/init-warehouse.sql: the one text of the warehouse's role model."""
    return settings.project_root() / "docker" / "init-warehouse.sql"


def database_section(
    owner: str = OWNER_ROLE,
    app: str = RUNTIME_ROLE,
    reader: str = READER_GROUP,
    operator: str = OPERATOR_GROUP,
) -> str:
    """The init script's privilege model of the warehouse database, for these role names.

    Plain SQL (no psql meta-command follows `\\connect crm`), so psycopg runs it as it is."""
    names = {OWNER_ROLE: owner, RUNTIME_ROLE: app, READER_GROUP: reader, OPERATOR_GROUP: operator}
    for name in names.values():
        if not _NAME.match(name):
            raise ValueError(f"invalid role name {name!r}: use lower-case letters, digits and _")
    text = init_script().read_text(encoding="utf-8")
    parts = re.split(r"^" + re.escape(_SECTION_MARK) + r"[ \t]*$", text, flags=re.MULTILINE)
    if len(parts) != 2:
        raise RuntimeError(f"{init_script()} must have exactly one line '{_SECTION_MARK}'")
    section = parts[1]
    if re.search(r"^\s*\\", section, flags=re.MULTILINE):
        raise RuntimeError(f"{init_script()}: the section after '{_SECTION_MARK}' must be plain SQL")
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
    return pattern.sub(lambda m: names[m.group(1)], section)


def role_url(url: str, user: str, password: str | None) -> str:
    """`url` (same server and database) logged in as `user`."""
    parts = urlparse(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    auth = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
    return urlunparse(parts._replace(netloc=f"{auth}@{host}"))


def apply_role_model(
    admin_url: str,
    app_password: str | None = None,
    *,
    owner: str = OWNER_ROLE,
    app: str = RUNTIME_ROLE,
    reader: str = READER_GROUP,
    operator: str = OPERATOR_GROUP,
) -> str:
    """Create the roles (idempotent) and apply the init script's privilege model to the database of
    `admin_url` (a role that may create roles and change owners, e.g. the embedded server's superuser);
    return the runtime user's URL for `CRM_WAREHOUSE_URL`.

    The runtime login gets `app_password`, or a generated one when it is created without one; an
    existing login keeps its password unless one is given. An existing warehouse is migrated in place:
    its schemas go to the owner role, the tables keep their owner (the runtime user that built them)."""
    with warehouse.connect(admin_url, autocommit=True) as conn:
        for group in (owner, reader, operator):
            if not _NAME.match(group):
                raise ValueError(f"invalid role name {group!r}")
            if not conn.execute("select 1 from pg_roles where rolname = %s", (group,)).fetchone():
                conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(group)))
        exists = conn.execute("select 1 from pg_roles where rolname = %s", (app,)).fetchone()
        if not exists and app_password is None:
            app_password = secrets.token_urlsafe(18)
        attrs = sql.SQL("login nosuperuser nocreatedb nocreaterole nobypassrls")
        if exists:
            conn.execute(sql.SQL("alter role {} ").format(sql.Identifier(app)) + attrs)
        else:
            conn.execute(sql.SQL("create role {} ").format(sql.Identifier(app)) + attrs)
        if app_password is not None:
            conn.execute(
                sql.SQL("alter role {} password {}").format(sql.Identifier(app), sql.Literal(app_password))
            )
        # no login may act as the owner: a runtime user that is a member of it would own everything again
        conn.execute(sql.SQL("revoke {} from {}").format(sql.Identifier(owner), sql.Identifier(app)))
        conn.execute(sql.SQL("alter role {} set timezone = 'UTC'").format(sql.Identifier(app)))
        conn.execute(database_section(owner, app, reader, operator))
    return role_url(admin_url, app, app_password)


def _ensure_group(conn: psycopg.Connection, name: str) -> None:
    group = sql.Identifier(name)
    schema = sql.Identifier(PUBLISH_SCHEMA)
    if not conn.execute("select 1 from pg_roles where rolname = %s", (name,)).fetchone():
        conn.execute(sql.SQL("create role {} nologin").format(group))
    db = sql.Identifier(conn.info.dbname)
    conn.execute(sql.SQL("revoke connect, temporary on database {} from public").format(db))
    conn.execute(sql.SQL("grant connect on database {} to {}").format(db, group))
    conn.execute(sql.SQL("grant usage on schema {} to {}").format(schema, group))
    conn.execute(sql.SQL("grant select on all tables in schema {} to {}").format(schema, group))
    conn.execute(
        sql.SQL("alter default privileges in schema {} grant select on tables to {}").format(schema, group)
    )


def protect_published(conn: psycopg.Connection) -> list[str]:
    """Re-apply the audited-read policy to every `lists` table (publish calls it after each swap,
    since it recreates the `_latest` views)."""
    from crm_scoring.privacy.audit import protect_lists

    return protect_lists(conn, list(GROUPS), PUBLISH_SCHEMA)


def _runtime_role(conn: psycopg.Connection, app: str) -> str | None:
    """`app` when it exists, is not this session's user, and this session may act as it (an admin)."""
    row = conn.execute(
        "select 1 from pg_roles where rolname = %s and rolname <> current_user"
        " and pg_has_role(current_user, rolname, 'MEMBER')",
        (app,),
    ).fetchone()
    return app if row else None


def ensure_groups(url: str | None = None, app: str = RUNTIME_ROLE) -> None:
    """Create both group roles (idempotent) and (re)grant exactly their privileges.

    Run by an admin on a least-privilege warehouse (the runtime user cannot create roles), the audit
    tables and functions are created AS the runtime user `app`: the pipeline replaces those functions
    and writes those tables on every publish and export, which it could not do on objects of the admin."""
    from crm_scoring.privacy.audit import ensure_audit_objects

    with warehouse.connect(url) as conn:
        runtime = _runtime_role(conn, app)
        if runtime:
            conn.execute(sql.SQL("set local role {}").format(sql.Identifier(runtime)))
        ensure_publish_schema(conn)
        ensure_audit_objects(conn)
        if runtime:
            conn.execute("reset role")
        for group in GROUPS:
            _ensure_group(conn, group)
        operator = sql.Identifier(OPERATOR_GROUP)
        conn.execute(sql.SQL("grant usage on schema ops to {}").format(operator))
        conn.execute(
            sql.SQL(
                "grant execute on function ops.record_list_export(text, date, text, text, bigint, text,"
                " boolean, text) to {}"
            ).format(operator)
        )
        protect_published(conn)


def ensure_reader_group(url: str | None = None) -> None:
    """Kept for callers of the first release: the groups are created together."""
    ensure_groups(url)


def grant_login(url: str | None, name: str, group: str, password: str | None = None) -> str:
    """Create (or update) LOGIN role `name` as a member of `group`; return its password.

    A generated password is returned when none is given. Rerunning resets the password."""
    if group not in GROUPS:
        raise ValueError(f"group must be one of {GROUPS}, got {group!r}")
    if not _NAME.match(name) or name in GROUPS:
        raise ValueError(f"invalid login name {name!r}: use lower-case letters, digits and _")
    password = password or secrets.token_urlsafe(18)
    ensure_groups(url)
    role = sql.Identifier(name)
    with warehouse.connect(url) as conn:
        exists = conn.execute("select 1 from pg_roles where rolname = %s", (name,)).fetchone()
        verb = "alter" if exists else "create"
        conn.execute(
            sql.SQL(verb + " role {} login inherit nosuperuser nocreatedb nocreaterole password {}").format(
                role, sql.Literal(password)
            )
        )
        for other in GROUPS:  # one group per login: a reader promoted to operator leaves the reader group
            if other != group:
                conn.execute(sql.SQL("revoke {} from {}").format(sql.Identifier(other), role))
        conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(group), role))
        conn.execute(
            sql.SQL("alter role {} set search_path = {}").format(role, sql.Identifier(PUBLISH_SCHEMA))
        )
    return password


def grant_reader(url: str | None, name: str, password: str | None = None) -> str:
    """A read-only login: the published lists, nothing else."""
    return grant_login(url, name, READER_GROUP, password)


def grant_operator(url: str | None, name: str, password: str | None = None) -> str:
    """A CRM-operator login: reads and exports the published lists; no raw data, marts or audit."""
    return grant_login(url, name, OPERATOR_GROUP, password)
