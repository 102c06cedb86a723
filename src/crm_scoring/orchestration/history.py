"""History that does not explode: the nightly retention of per-date marts, scores and lists.

Every night adds one snapshot per customer to the per-date tables (marts.churn_features,
marts.customer_value, scoring.churn_scores, lists.retention_list, ...): at 1M customers each grows by
365M rows a year. This step deletes the dates older than the retention in force on the run date,
one policy parameter per family (dbt_project/seeds/policy/policy_parameters.csv; unset = keep all):

- `retention_scores_days`: the Python-owned scoring tables (dbt sources in schema `scoring`);
- `retention_lists_days`: the published lists (dbt sources in schema `lists`) and the candidate
  tables of `lists_build`: the audit trail of who was contacted and why, so longer;
- `retention_marts_days`: the per-date marts (schema `marts`).

Which tables are per-date is read from the dbt manifest, not from a list kept here: a model is a
per-date snapshot when it is incremental with `unique_key: run_date` (each run replaces its whole
date); a source table of `scoring` / `lists` when it has a `run_date` column. A new per-date mart is
therefore pruned without touching this file. Current-state facts (fct_orders by order_id, ...) and
every table without run_date are never touched.

The cutoff is `run_date - N days` (never the wall clock): a rerun deletes the same dates, and a
backfill of an old date never deletes newer history. The per-date tables are partitioned by month of
run_date (dbt_project/macros/partitions.sql, crm_scoring/partitions.py): every month entirely before
the cutoff is dropped whole (O(1), no dead tuples for autovacuum), and one set-based delete removes the
rest, which PostgreSQL prunes to the boundary month and the DEFAULT partition. A table still plain (a
warehouse whose writers have not run since the upgrade) is pruned by the delete alone. What was removed
is recorded in ops.retention_purges (target `history:<schema>.<table>`), beside the PS-09 text purges.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

from crm_scoring import partitions

log = logging.getLogger(__name__)

SCORES, LISTS, MARTS = "retention_scores_days", "retention_lists_days", "retention_marts_days"
PARAMETERS = (SCORES, LISTS, MARTS)
# schema of a per-date table -> the parameter that keeps it
_MODEL_SCHEMAS = {"marts": MARTS, "lists_build": LISTS}
_SOURCE_SCHEMAS = {"scoring": SCORES, "lists": LISTS}


@dataclass(frozen=True)
class PerDateTable:
    schema: str
    name: str
    parameter: str

    @property
    def target(self) -> str:
        return f"history:{self.schema}.{self.name}"


def per_date_tables(manifest: dict) -> list[PerDateTable]:
    """The per-date tables of the dbt project (see the module docstring), sorted, without duplicates."""
    found: set[PerDateTable] = set()
    for node in manifest.get("nodes", {}).values():
        config = node.get("config") or {}
        if (
            node.get("resource_type") == "model"
            and config.get("materialized") == "incremental"
            and config.get("unique_key") == "run_date"
            and node.get("schema") in _MODEL_SCHEMAS
        ):
            found.add(
                PerDateTable(
                    node["schema"], node.get("alias") or node["name"], _MODEL_SCHEMAS[node["schema"]]
                )
            )
    for source in manifest.get("sources", {}).values():
        if source.get("schema") in _SOURCE_SCHEMAS:
            name = source.get("identifier") or source["name"]
            found.add(PerDateTable(source["schema"], name, _SOURCE_SCHEMAS[source["schema"]]))
    return sorted(found, key=lambda t: (t.schema, t.name))


def load_manifest(url: str, target: Path) -> dict:
    """The manifest the night's dbt tasks share (environment.dbt_state_dir); parsed when absent."""
    path = target / "manifest.json"
    if not path.is_file():
        from crm_scoring import dbt_invoke

        dbt_invoke.parse(url, target)
    return json.loads(path.read_text(encoding="utf-8"))


def _has_run_date(conn: psycopg.Connection, table: PerDateTable) -> bool:
    return (
        conn.execute(
            "select 1 from information_schema.columns c join information_schema.tables t"
            " using (table_schema, table_name)"
            " where c.table_schema = %s and c.table_name = %s and c.column_name = 'run_date'"
            " and t.table_type = 'BASE TABLE'",
            (table.schema, table.name),
        ).fetchone()
        is not None
    )


def prune(conn: psycopg.Connection, run_date: date, tables: list[PerDateTable]) -> dict[str, int]:
    """Remove the dates older than each table's retention in force on `run_date` (whole months dropped,
    the boundary month deleted from); rows removed per table."""
    from crm_scoring.enrich.policy import parameter_values, retention_days
    from crm_scoring.privacy import schema

    schema.ensure(conn)
    params = parameter_values(conn, run_date)
    days = {key: retention_days(params, key, 1, " (unset keeps everything)") for key in PARAMETERS}
    for key in PARAMETERS:
        if days[key] is None:
            log.warning("history retention: %s is unset: its tables keep every date", key)
    deleted: dict[str, int] = {}
    for table in tables:
        keep = days[table.parameter]
        if keep is None or not _has_run_date(conn, table):
            continue
        cutoff = run_date - timedelta(days=keep)
        dropped, n = partitions.drop_before(conn, f"{table.schema}.{table.name}", cutoff)
        if dropped:
            log.info("history retention: dropped %s (%d rows)", ", ".join(dropped), n)
        statement = sql.SQL("delete from {} where run_date < %s").format(
            sql.Identifier(table.schema, table.name)
        )
        n += conn.execute(statement, (cutoff,)).rowcount
        conn.execute(
            "insert into ops.retention_purges (run_date, target, cutoff, rows_purged) values (%s, %s, %s, %s)"
            " on conflict (run_date, target) do update set rows_purged = ops.retention_purges.rows_purged"
            " + excluded.rows_purged, cutoff = excluded.cutoff, purged_at = now()",
            (run_date, table.target, cutoff, n),
        )
        deleted[table.target] = n
    log.info(
        "history retention for %s (%s): %d rows deleted from %d tables",
        run_date,
        ", ".join(f"{k}={v}" for k, v in days.items()),
        sum(deleted.values()),
        len(deleted),
    )
    return deleted
