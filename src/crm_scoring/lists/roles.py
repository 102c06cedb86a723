"""Read-only access for the CRM teams (PS-02 least privilege): `crm warehouse grant-reader NAME`.

A NOLOGIN group role `crm_list_reader` holds USAGE on schema `lists` and SELECT on its tables and views
(plus default privileges, so tables published later are readable too) and nothing else: no raw,
staging, marts, scoring, ops or policy access, hence no PII. Each person or tool gets its own LOGIN role
that is a member of the group, so access is granted and revoked per reader.
"""

from __future__ import annotations

import re
import secrets

from psycopg import sql

from crm_scoring import warehouse
from crm_scoring.lists.publish import PUBLISH_SCHEMA, ensure_publish_schema

READER_GROUP = "crm_list_reader"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def ensure_reader_group(url: str | None = None) -> None:
    """Create the group role (idempotent) and (re)grant it read access to the lists schema only."""
    group = sql.Identifier(READER_GROUP)
    schema = sql.Identifier(PUBLISH_SCHEMA)
    with warehouse.connect(url) as conn:
        ensure_publish_schema(conn)
        exists = conn.execute("select 1 from pg_roles where rolname = %s", (READER_GROUP,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("create role {} nologin").format(group))
        conn.execute(sql.SQL("grant usage on schema {} to {}").format(schema, group))
        conn.execute(sql.SQL("grant select on all tables in schema {} to {}").format(schema, group))
        conn.execute(
            sql.SQL("alter default privileges in schema {} grant select on tables to {}").format(
                schema, group
            )
        )


def grant_reader(url: str | None, name: str, password: str | None = None) -> str:
    """Create (or update) LOGIN role `name` as a member of crm_list_reader; return its password.

    A generated password is returned when none is given. Rerunning resets the password."""
    if not _NAME.match(name) or name == READER_GROUP:
        raise ValueError(f"invalid reader name {name!r}: use lower-case letters, digits and _")
    password = password or secrets.token_urlsafe(18)
    ensure_reader_group(url)
    role = sql.Identifier(name)
    with warehouse.connect(url) as conn:
        exists = conn.execute("select 1 from pg_roles where rolname = %s", (name,)).fetchone()
        verb = "alter" if exists else "create"
        conn.execute(
            sql.SQL(verb + " role {} login inherit nosuperuser nocreatedb nocreaterole password {}").format(
                role, sql.Literal(password)
            )
        )
        conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(READER_GROUP), role))
        conn.execute(
            sql.SQL("alter role {} set search_path = {}").format(role, sql.Identifier(PUBLISH_SCHEMA))
        )
    return password
