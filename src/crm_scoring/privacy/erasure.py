"""Erasure (PS-08): a customer removed or irreversibly anonymised everywhere the platform keeps them.

What an erasure does, in one transaction, for a batch of customers:

- every base table with a `customer_id` column in the pipeline's schemas is found in the catalogue (so a
  table added later is covered without a code change) and handled by its layer:
  - decisions about the person (`scoring`, `lists_build`, `lists`, `enrichment`): rows deleted;
  - facts (`raw`, `intermediate`, `marts`, dbt's other schemas, `ops` tables with a customer_id): the id is
    replaced by a random `ANON-<hex>` token, the same token in every table for one erasure, linked to
    nothing (not stored, not derivable), so counts, revenue and other aggregates stay; in `raw` the
    contract's PII columns (email, phone, ticket text, survey comment) and the `_extra` columns are nulled;
- `ops.quarantine` rows of the customer keep their line for the load audit but lose the record;
- the compensation ledger (CP-14: raw.compensations and published compensation_list rows) is copied into
  `ops.erased_ledger` under the keyed pseudonym (pseudonym.py) before the anonymisation;
- MLflow input examples logged by earlier trainings are scrubbed (mlflow_examples.py);
- list files exported earlier (`ops.list_exports` records each by its absolute path) whose list and date
  held the customer: the customer's rows are removed from the file where it is still reachable; a copy
  that is gone, moved or on another host is listed with who exported it, so the DPO can notify the
  recipient (GDPR art. 19); `ops.erasures.exported_files` says which was which;
- `ops.erasures` gets one row: the pseudonym, the request, who, when and the rows per table.

A later export that still carries the customer is recognised by the pseudonym and its rows are moved to
quarantine with reason "erased" (`quarantine_erased`), the load audit staying balanced; the lists and the
scoring also skip `ANON-` customers, so an erased customer is never scored nor listed again.
"""

from __future__ import annotations

import getpass
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime

import psycopg
from psycopg import sql

from crm_scoring import contract, warehouse
from crm_scoring.partitions import SCHEMA as PARTITIONS
from crm_scoring.privacy import schema
from crm_scoring.privacy.pseudonym import pseudonym, secret_key

log = logging.getLogger(__name__)

ANON_PREFIX = "ANON-"  # also in dbt_project/macros/privacy.sql (a test keeps the two equal)
ERASED_REASON = "erased"
DELETE_SCHEMAS = ("scoring", "lists_build", "lists", "enrichment")
# `partitions`: the months of the per-date tables (crm_scoring/partitions.py), reached through their
# parents (a partition's rows are its parent's: erasing them there deletes or anonymises them once)
SKIP_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast", "policy", PARTITIONS)
# ops tables that must keep (or never held) a customer id: the privacy bookkeeping itself.
SKIP_TABLES = {
    ("ops", "erasures"),
    ("ops", "erased_ledger"),
    ("ops", "list_exports"),
    ("ops", "reader_logins"),
}
LEDGER_DDL = """
create table if not exists ops.erased_ledger (
    pseudonym text not null,
    source text not null,
    ledger_date date,
    record jsonb not null,
    kept_at timestamptz not null default now()
)"""


@dataclass(frozen=True)
class ErasureRequest:
    customer_id: str
    request_id: str | None = None
    requested_at: datetime | None = None
    source: str = "cli"


@dataclass(frozen=True)
class ErasureResult:
    pseudonym: str
    request_id: str | None
    rows_affected: dict[str, int]
    already_erased: bool = False
    exported_files: tuple[dict, ...] = ()  # earlier list exports that held the customer (see erase)


def _customer_tables(conn: psycopg.Connection) -> list[tuple[str, str]]:
    rows = conn.execute(
        """
        select c.table_schema, c.table_name
          from information_schema.columns as c
          join information_schema.tables as t using (table_schema, table_name)
         where c.column_name = 'customer_id' and t.table_type = 'BASE TABLE'
           and c.table_schema <> all(%s) and c.table_schema not like 'pg_temp%%'
         order by 1, 2
        """,
        (list(SKIP_SCHEMAS),),
    ).fetchall()
    return [(s, t) for s, t in rows if (s, t) not in SKIP_TABLES]


def _table_exists(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (name,)).fetchone()[0]


Counts = dict[str, dict[str, int]]  # pseudonym -> table -> rows


def _count(conn: psycopg.Connection, counts: Counts, label: str, statement: sql.Composable) -> None:
    """Run a data-modifying statement that returns `pseudonym` per row; add its rows per customer."""
    query = sql.SQL("with x as ({}) select pseudonym, count(*) from x group by pseudonym").format(statement)
    for pseudo, n in conn.execute(query).fetchall():
        counts.setdefault(pseudo, {})[label] = n


def _keep_ledger(conn: psycopg.Connection, counts: Counts) -> None:
    if _table_exists(conn, "raw.compensations"):
        _count(conn, counts, "ledger kept from raw.compensations", sql.SQL(
            """
            insert into ops.erased_ledger (pseudonym, source, ledger_date, record)
            select e.pseudonym, 'raw.compensations', c.issued_at::date,
                   to_jsonb(c) - 'customer_id' - '_extra' - '_source_file' - '_line_no'
              from raw.compensations as c join _erase as e using (customer_id)
            returning pseudonym
            """
        ))  # fmt: skip
    if _table_exists(conn, "lists.compensation_list"):
        _count(conn, counts, "ledger kept from lists.compensation_list", sql.SQL(
            """
            insert into ops.erased_ledger (pseudonym, source, ledger_date, record)
            select e.pseudonym, 'lists.compensation_list', l.run_date, to_jsonb(l) - 'customer_id'
              from lists.compensation_list as l join _erase as e using (customer_id)
            returning pseudonym
            """
        ))  # fmt: skip


def _raw_clear_columns(table: str, columns: set[str]) -> list[str]:
    """PII columns of a contract table (and the loader's _extra), nulled when a raw row is anonymised."""
    spec = contract.TABLES.get(table)
    pii = [c.name for c in spec.columns if c.pii] if spec else []
    return [c for c in [*pii, "_extra"] if c in columns]


def _columns(conn: psycopg.Connection, schema_name: str, table: str) -> set[str]:
    rows = conn.execute(
        "select column_name from information_schema.columns where table_schema = %s and table_name = %s",
        (schema_name, table),
    ).fetchall()
    return {r[0] for r in rows}


def _apply(conn: psycopg.Connection, counts: Counts) -> None:
    """Delete or anonymise the customers of temp table _erase in every customer table, one set-based
    statement per table for the whole batch; rows per customer and table go to `counts`."""
    for schema_name, table in _customer_tables(conn):
        target = sql.Identifier(schema_name, table)
        if schema_name in DELETE_SCHEMAS:
            statement = sql.SQL(
                "delete from {} as t using _erase as e where t.customer_id = e.customer_id"
                " returning e.pseudonym"
            ).format(target)
        else:
            sets = [sql.SQL("customer_id = e.anon_id")]
            if schema_name == "raw":
                cols = _columns(conn, schema_name, table)
                sets += [
                    sql.SQL("{} = null").format(sql.Identifier(c)) for c in _raw_clear_columns(table, cols)
                ]
            statement = sql.SQL(
                "update {} as t set {} from _erase as e where t.customer_id = e.customer_id"
                " returning e.pseudonym"
            ).format(target, sql.SQL(", ").join(sets))
        _count(conn, counts, f"{schema_name}.{table}", statement)
    if _table_exists(conn, "ops.quarantine"):
        _count(conn, counts, "ops.quarantine", sql.SQL(
            """
            update ops.quarantine as q
               set raw_record = jsonb_build_object('customer_id', e.anon_id, 'erased', true)
              from _erase as e
             where q.raw_record ->> 'customer_id' = e.customer_id
            returning e.pseudonym
            """
        ))  # fmt: skip


def _exported_files(conn: psycopg.Connection) -> dict[str, list[dict]]:
    """Exports (ops.list_exports) of a list and date that held a customer of _erase: pseudonym -> exports.

    Read before the lists lose the customer's rows. A hold-out customer left out of an export is found
    here too; the file itself then holds no row of theirs and is reported `clean`."""
    from crm_scoring.lists.export import LISTS

    found: dict[str, list[dict]] = {}
    for list_name, table in LISTS.items():
        if not _table_exists(conn, f"lists.{table}"):
            continue
        rows = conn.execute(
            sql.SQL(
                """
                select distinct e.pseudonym, e.customer_id, x.export_id, x.file_name, x.file_format,
                       x.db_user, x.os_user, x.exported_at
                  from ops.list_exports as x
                  join {} as l on l.run_date = x.run_date
                  join _erase as e on e.customer_id = l.customer_id
                 where x.list_name = %s
                 order by x.export_id
                """
            ).format(sql.Identifier("lists", table)),
            (list_name,),
        ).fetchall()
        for pseudo, cid, export_id, file_name, fmt, db_user, os_user, exported_at in rows:
            found.setdefault(pseudo, []).append(
                {"export_id": export_id, "file": file_name, "format": fmt, "customer_id": cid,
                 "exported_by": f"{db_user} ({os_user})", "exported_at": exported_at.isoformat()}
            )  # fmt: skip
    return found


def _scrub_exports(found: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Remove the customers' rows from every reachable exported file; what happened to each file.

    Files are not transactional: done before the commit, and idempotent (a retry finds nothing left to
    remove and reports the file `clean`)."""
    from pathlib import Path

    from crm_scoring.lists.export import remove_customers
    from crm_scoring.privacy.audit import file_sha256

    out: dict[str, list[dict]] = {}
    for pseudo, exports in found.items():
        for x in exports:
            path = Path(x["file"])
            entry = {k: v for k, v in x.items() if k != "customer_id"}  # the id is not kept
            if not path.is_absolute() or not path.is_file():
                entry["action"] = "not reachable: notify the recipient"
            else:
                removed = remove_customers(path, x["format"], {x["customer_id"]})
                entry["action"] = "rewritten" if removed else "clean"
                entry["rows_removed"] = removed
                entry["sha256_after"] = file_sha256(path)
            out.setdefault(pseudo, []).append(entry)
    return out


def erase(requests: list[ErasureRequest], url: str | None = None) -> list[ErasureResult]:
    """Erase every customer of `requests` (one transaction); already-erased customers are skipped."""
    if not requests:
        return []
    key = secret_key()
    results: list[ErasureResult] = []
    with warehouse.connect(url) as conn:
        schema.ensure(conn)
        conn.execute(LEDGER_DDL)
        # one erasure at a time per warehouse: two concurrent ones would race on ops.erasures
        conn.execute("select pg_advisory_xact_lock(hashtext('crm_scoring.privacy.erasure'))")
        by_id = {r.customer_id: r for r in requests}
        pseudo = {cid: pseudonym(cid, key) for cid in by_id}
        done = {
            r[0]
            for r in conn.execute(
                "select pseudonym from ops.erasures where pseudonym = any(%s)", (list(pseudo.values()),)
            ).fetchall()
        }
        todo = sorted(cid for cid in by_id if pseudo[cid] not in done)
        results += [
            ErasureResult(pseudo[c], by_id[c].request_id, {}, already_erased=True)
            for c in sorted(by_id)
            if pseudo[c] in done
        ]
        if todo:  # the whole batch at once: one statement per table
            conn.execute(
                "create temporary table _erase (customer_id text primary key, anon_id text, pseudonym text)"
                " on commit drop"
            )
            with conn.cursor().copy("copy _erase from stdin") as copy:
                for cid in todo:
                    copy.write_row((cid, ANON_PREFIX + secrets.token_hex(16), pseudo[cid]))
            conn.execute("analyze _erase")
            counts: Counts = {}
            exported = _exported_files(conn)
            _keep_ledger(conn, counts)
            _apply(conn, counts)
            # files are not transactional: scrubbed before the commit, so a failure leaves nothing
            # recorded and the retry (idempotent) scrubs again
            from crm_scoring.privacy.mlflow_examples import scrub_input_examples

            scrubbed = scrub_input_examples()
            files = _scrub_exports(exported)
            by = f"{conn.info.user} ({getpass.getuser()})"
            for cid in todo:
                req, mine = by_id[cid], counts.get(pseudo[cid], {})
                conn.execute(
                    "insert into ops.erasures (pseudonym, request_id, request_source, requested_at,"
                    " erased_by, rows_affected, mlflow_examples_scrubbed, exported_files)"
                    " values (%s, %s, %s, %s, %s, %s, %s, %s)",
                    (pseudo[cid], req.request_id, req.source, req.requested_at, by,
                     json.dumps(mine, sort_keys=True), scrubbed, json.dumps(files.get(pseudo[cid], []))),
                )  # fmt: skip
                results.append(
                    ErasureResult(
                        pseudo[cid], req.request_id, mine, exported_files=tuple(files.get(pseudo[cid], []))
                    )
                )
                log.info("PS-08 erased %s (request %s): %s", pseudo[cid], req.request_id, mine)
    return results


def pending_requests(conn: psycopg.Connection, export_date: date) -> list[ErasureRequest]:
    """Erasure requests of one export (raw.dsr_requests), not anonymised yet."""
    if not _table_exists(conn, "raw.dsr_requests"):
        return []
    rows = conn.execute(
        """
        select distinct on (customer_id) customer_id, request_id, requested_at
          from raw.dsr_requests
         where _export_date = %s and request_type = 'erasure' and customer_id not like %s
         order by customer_id, requested_at, request_id
        """,
        (export_date, ANON_PREFIX + "%"),
    ).fetchall()
    return [ErasureRequest(r[0], r[1], r[2], source=f"dsr_requests.csv {export_date}") for r in rows]


def quarantine_erased(
    conn: psycopg.Connection, export_date: date, requested: list[str] | None = None
) -> dict[str, int]:
    """Move the rows of `export_date` that belong to erased customers (or to the customers of this export's
    own erasure requests, `requested`) from raw to ops.quarantine.

    Reason "erased"; the record kept is the pseudonym only (the row itself is personal data). The load
    audit moves each row from loaded to quarantined, so it still balances. Set-based per table. Because a
    request's own export is quarantined too (the request row included), a rerun of the date gives the
    same raw, quarantine and audit as the first run."""
    if not _table_exists(conn, "ops.load_audit"):
        return {}
    none_erased = (
        not _table_exists(conn, "ops.erasures")
        or conn.execute("select not exists (select 1 from ops.erasures)").fetchone()[0]
    )
    if none_erased and not requested:
        return {}
    key = secret_key()
    erased = set()
    if not none_erased:
        erased = {r[0] for r in conn.execute("select pseudonym from ops.erasures").fetchall()}
    erased |= {pseudonym(c, key) for c in requested or []}
    moved: dict[str, int] = {}
    for name, table in contract.TABLES.items():
        if "customer_id" not in table.column_names or not _table_exists(conn, f"raw.{name}"):
            continue
        target = sql.Identifier("raw", name)
        ids = conn.execute(
            sql.SQL(
                "select distinct customer_id from {} where _export_date = %s and customer_id is not null"
            ).format(target),
            (export_date,),
        ).fetchall()
        hits = [(cid, p) for (cid,) in ids if (p := pseudonym(cid, key)) in erased]
        if not hits:
            continue
        conn.execute("create temporary table _erased_hits (customer_id text, pseudonym text) on commit drop")
        with conn.cursor().copy("copy _erased_hits from stdin") as copy:
            for row in hits:
                copy.write_row(row)
        n = conn.execute(
            sql.SQL(
                """
                with gone as (
                    delete from {} as r using _erased_hits as h
                     where r._export_date = %(d)s and r.customer_id = h.customer_id
                    returning r._source_file, r._line_no, h.pseudonym
                )
                insert into ops.quarantine (export_date, table_name, source_file, line_no, raw_record, reason)
                select %(d)s, %(t)s, _source_file, _line_no,
                       jsonb_build_object('customer_id', pseudonym), %(r)s
                  from gone
                """
            ).format(target),
            {"d": export_date, "t": name, "r": ERASED_REASON},
        ).rowcount
        conn.execute("drop table _erased_hits")
        conn.execute(
            "update ops.load_audit set rows_loaded = rows_loaded - %s,"
            " rows_quarantined = rows_quarantined + %s where export_date = %s and table_name = %s",
            (n, n, export_date, name),
        )
        moved[name] = n
    if moved:
        log.info("PS-08: rows of erased customers quarantined for %s: %s", export_date, moved)
    return moved
