"""Least-privilege access to the published lists (PS-02, PS-04): readers and CRM operators.

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

import psycopg
from psycopg import sql

from crm_scoring import warehouse
from crm_scoring.lists.publish import PUBLISH_SCHEMA, ensure_publish_schema

READER_GROUP = "crm_list_reader"
OPERATOR_GROUP = "crm_list_operator"
GROUPS = (READER_GROUP, OPERATOR_GROUP)
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


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


def ensure_groups(url: str | None = None) -> None:
    """Create both group roles (idempotent) and (re)grant exactly their privileges."""
    from crm_scoring.privacy.audit import ensure_audit_objects

    with warehouse.connect(url) as conn:
        ensure_publish_schema(conn)
        ensure_audit_objects(conn)
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
