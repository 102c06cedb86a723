"""Tables the platform creates before dbt runs, for tests that load fixture rows directly."""

from __future__ import annotations

import re

import psycopg

from crm_scoring import settings


def source_ddl() -> str:
    """The body of the generated create_source_tables() macro: the DDL the on-run-start hook runs."""
    text = (settings.project_root() / "dbt_project" / "macros" / "source_tables.sql").read_text()
    body = re.search(r"\{% macro create_source_tables\(\) -%\}(.*)\{%- endmacro %\}", text, re.S)
    assert body, "dbt_project/macros/source_tables.sql: no create_source_tables() macro"
    return body.group(1)


def create_source_tables(url: str) -> None:
    """Create every raw/ops/enrichment/scoring/lists table exactly as dbt's on-run-start hook does (with
    the DEFAULT partitions of the partitioned ones, macro partition_setup)."""
    from crm_scoring import partitions

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(source_ddl())
        partitions.setup(conn)
