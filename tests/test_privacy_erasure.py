"""Erasure (PS-08) on a built warehouse: raw, staging, marts, lists, scores, enrichment, quarantine and the
ledger; a later export that still carries the customer is quarantined ("erased") with the audit balanced;
an erasure request arriving in the landing folder (dsr_requests.csv) is applied by the ingest step.

Uses the list fixture of test_lists.py (real dbt build of the marts and lists, real publish)."""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pytest
from openpyxl import load_workbook
from psycopg import sql
from support.lists import D1, _build, _configure, _load, _q

from crm_scoring import contract, settings, warehouse
from crm_scoring.enrich import store as enrich_store
from crm_scoring.ingest import load_export_date
from crm_scoring.lists.export import export_list
from crm_scoring.lists.publish import publish
from crm_scoring.privacy.erasure import ANON_PREFIX, ErasureRequest, erase
from crm_scoring.privacy.nightly import after_load
from crm_scoring.privacy.pseudonym import KEY_ENV, pseudonym

D4 = date(2026, 11, 29)  # a later export, after the fixture's days
KEY = "test-pseudonym-key-0123456789abcdef"


@pytest.fixture(scope="module")
def world(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    """Day 1 of the list fixture built and published; MLflow and the key isolated to the test."""
    mp = pytest.MonkeyPatch()
    tmp = tmp_path_factory.mktemp("erasure")
    mp.setenv(KEY_ENV, KEY)
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp}/mlflow.db")
    mp.chdir(tmp)  # MLflow's default artifact root (./mlruns) lands here, never in the repository
    name = warehouse.create_database(server_url, "crm_erase")
    url = warehouse.with_database(server_url, name)
    project = tmp / "dbt_project"
    shutil.copytree(
        settings.dbt_project_dir(), project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    _configure(project)
    _load(url)
    _build(url, project, D1, mp)
    publish(D1, url)
    yield url, project, tmp
    mp.undo()
    if not os.environ.get("CRM_KEEP_TEST_DB"):
        warehouse.drop_database(server_url, name)


def _traces(url: str, customer_id: str) -> dict[str, int]:
    """Every table, view and materialised view whose row text holds the id as a whole word."""
    pattern = f"(^|[^A-Za-z0-9_]){customer_id}([^A-Za-z0-9_]|$)"
    found = {}
    with psycopg.connect(url) as conn:
        rels = conn.execute(
            "select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where c.relkind in ('r', 'v', 'm', 'p')"
            " and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'"
            " order by 1, 2"
        ).fetchall()
        for schema, rel in rels:
            n = conn.execute(
                f'select count(*) from "{schema}"."{rel}" as t where t::text ~ %s', (pattern,)
            ).fetchone()[0]
            if n:
                found[f"{schema}.{rel}"] = n
    return found


def _aggregates(url: str) -> tuple:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select (select count(*) from raw.customers), (select count(*) from raw.orders),"
            " (select sum(net_amount) from raw.orders), (select count(*) from marts.fct_orders),"
            " (select sum(net_amount) from marts.fct_orders),"
            " (select count(*) from raw.compensations), (select sum(amount) from raw.compensations)"
        ).fetchone()


def _write_csv(folder: Path, table: str, rows: list[dict]) -> None:
    cols = contract.TABLES[table].column_names
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{table}.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow(r)


def _ids_in_csv(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [r["customer_id"] for r in csv.DictReader(fh)]


def _later_export(root: Path, victim: str, requested: str) -> None:
    folder = root / D4.isoformat()
    _write_csv(folder, "customers", [
        {"customer_id": c, "registered_at": "2026-01-01T00:00:00Z", "status": "active",
         "email": f"{c}@example.com", "updated_at": "2026-11-29T01:00:00Z"}
        for c in (victim, "n1", requested)
    ])  # fmt: skip
    _write_csv(folder, "orders", [
        {"order_id": f"late{i}", "customer_id": c, "order_ts": "2026-11-28T10:00:00Z",
         "status": "completed", "net_amount": "12.50"}
        for i, c in enumerate((victim, "n1", requested))
    ])  # fmt: skip
    _write_csv(folder, "dsr_requests", [
        {"request_id": "DSR-2", "customer_id": requested, "request_type": "erasure",
         "requested_at": "2026-11-28T12:00:00Z"},
        {"request_id": "DSR-3", "customer_id": "n1", "request_type": "access",
         "requested_at": "2026-11-28T12:00:00Z"},
        {"request_id": "DSR-4", "customer_id": "n1", "request_type": "restriction",
         "requested_at": "2026-11-28T13:00:00Z"},
    ])  # fmt: skip


def test_erasure_everywhere_and_forever(world) -> None:
    url, project, tmp = world
    # a customer on the published compensation list (the ledger), preferably scored and on the retention list
    victim = _q(
        url,
        "select l.customer_id from lists.compensation_list as l where l.run_date = %s"
        " order by exists (select 1 from lists.retention_list r where r.customer_id = l.customer_id) desc,"
        " exists (select 1 from scoring.churn_scores s where s.customer_id = l.customer_id) desc,"
        " l.customer_id limit 1",
        D1,
    )[0]["customer_id"]
    ledger = _q(url, "select amount from lists.compensation_list where customer_id = %s", victim)
    assert ledger
    with psycopg.connect(url, autocommit=True) as conn:  # traces the fixture lacks: a quarantined row,
        conn.execute("create schema if not exists ops")  # an enriched text, a scored night
        conn.execute(
            "create table if not exists ops.quarantine (export_date date not null, table_name text not null,"
            " source_file text not null, line_no bigint, raw_record jsonb not null, reason text not null,"
            " quarantined_at timestamptz not null default now())"
        )
        conn.execute(
            "insert into ops.quarantine (export_date, table_name, source_file, line_no, raw_record, reason)"
            " values (%s, 'orders', 'orders.csv', 7, jsonb_build_object('customer_id', %s::text,"
            " 'net_amount', '-1'), 'negative amount')",
            (D1, victim),
        )
        # the row in the shape the enrichment task writes (every column of its upsert, the NOT NULL
        # lineage columns included), so a column added to the table fails here by name, not mid-insert
        text = {
            "source_table": "tickets", "source_id": "tx", "customer_id": victim,
            "text_ts": "2026-11-26T08:00:00Z", "language": "en", "redacted_text": "I am angry",
            "polarity": "negative", "polarity_score": -0.8, "emotion_class": "angry",
            "crisis_triage_class": None, "has_risk_keyword": False, "has_empathy_keyword": False,
            "model_name": "vader", "model_version": "1", "enriched_for_date": D1, "text_sha256": "sha-tx",
            "quality_gate_passed": True, "policy_version": "2026.1", "enriched_at": "2026-11-26T03:00:00Z",
        }  # fmt: skip
        assert set(text) == set(enrich_store.COLUMNS), set(enrich_store.COLUMNS) ^ set(text)
        insert = sql.SQL("insert into enrichment.text_sentiment ({}) values ({})").format(
            sql.SQL(", ").join(map(sql.Identifier, text)), sql.SQL(", ").join([sql.Placeholder()] * len(text))
        )
        conn.execute(insert, list(text.values()))
    before = _traces(url, victim)
    assert {"raw.customers", "staging.stg_crm__customers", "lists.compensation_list", "ops.quarantine",
            "enrichment.text_sentiment"} <= set(before), before  # fmt: skip
    assert any(k.startswith("marts.") for k in before) and any(k.startswith("intermediate.") for k in before)
    aggregates = _aggregates(url)

    mlruns = tmp / "mlruns" / "1" / "models" / "m-1" / "artifacts"
    mlruns.mkdir(parents=True)
    (mlruns / "input_example.json").write_text('{"columns": ["x"], "data": [[1.0], [3.0]]}')
    import mlflow

    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    mlflow.create_experiment("erasure-test", artifact_location=(tmp / "mlruns" / "1").as_uri())

    # copies handed out earlier: a CSV and an XLSX still on this host, and one on a host we cannot reach
    exports = tmp / "exports"
    csv_copy = export_list(D1, "compensation", "csv", exports / "comp.csv", url=url)
    xlsx_copy = export_list(D1, "compensation", "xlsx", exports / "comp.xlsx", url=url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into ops.list_exports (db_user, os_user, list_name, run_date, file_format, file_name,"
            " row_count, file_sha256, include_holdout) values ('crm_ops_jane', 'jane', 'compensation', %s,"
            " 'csv', '/mnt/laptop-of-jane/comp.csv', 1, 'x', false)",
            (D1,),
        )
    assert victim in _ids_in_csv(csv_copy.path)

    [result] = erase([ErasureRequest(victim, "DSR-1")], url)
    assert result.pseudonym == pseudonym(victim) and not result.already_erased
    assert _traces(url, victim) == {}  # gone from every table and view, staging included
    assert _aggregates(url) == aggregates  # facts kept (anonymised): counts and sums unchanged
    (row,) = _q(url, "select * from ops.erasures")
    assert row["pseudonym"] == pseudonym(victim) and row["request_id"] == "DSR-1"
    assert row["mlflow_examples_scrubbed"] == 1 and row["erased_by"]
    affected = row["rows_affected"]
    for table in before:  # every table that held the customer is in the erasure's record
        if table.split(".")[0] in ("raw", "lists", "scoring", "enrichment", "ops") and not table.endswith(
            "_latest"
        ):
            assert affected.get(table, 0) >= 1, table
    kept = _q(url, "select * from ops.erased_ledger where source = 'lists.compensation_list'")
    assert sorted(str(r["record"]["amount"]) for r in kept) == sorted(
        str(None if r["amount"] is None else float(r["amount"])) for r in ledger
    )
    assert {r["pseudonym"] for r in kept} == {pseudonym(victim)}
    assert (mlruns / "input_example.json").read_text() == '{"columns": ["x"], "data": [[2.0], [2.0]]}'
    # the exported files: rewritten without the customer (the other rows kept), the unreachable one listed
    files = {f["file"]: f for f in row["exported_files"]}
    assert files[str(csv_copy.path)]["action"] == files[str(xlsx_copy.path)]["action"] == "rewritten"
    assert files["/mnt/laptop-of-jane/comp.csv"]["action"] == "not reachable: notify the recipient"
    assert files["/mnt/laptop-of-jane/comp.csv"]["exported_by"] == "crm_ops_jane (jane)"
    assert victim not in json.dumps(row["exported_files"]) and result.exported_files
    kept_ids = _ids_in_csv(csv_copy.path)
    removed = files[str(csv_copy.path)]["rows_removed"]
    assert victim not in kept_ids and removed >= 1 and len(kept_ids) == csv_copy.rows - removed
    sheet = load_workbook(xlsx_copy.path)["list"]
    assert victim not in {c.value for r in sheet.iter_rows() for c in r}
    assert sheet.max_row - 1 == xlsx_copy.rows - files[str(xlsx_copy.path)]["rows_removed"]
    (q,) = _q(url, "select raw_record, reason from ops.quarantine where line_no = 7")
    assert q["reason"] == "negative amount" and q["raw_record"]["customer_id"].startswith(ANON_PREFIX)

    # the anonymised customer is never listed again, even by a rebuild of the same night
    _build(url, project, D1, pytest.MonkeyPatch(), upstream=False)
    for table in ("retention_list", "compensation_list"):
        n = _q(url, f"select count(*) as n from lists_build.{table} where customer_id like 'ANON-%%'")[0]["n"]
        assert n == 0, table
    assert _traces(url, victim) == {}
    assert erase([ErasureRequest(victim)], url)[0].already_erased  # idempotent

    # a later export still carries the customer, and asks to erase another one
    requested = "a7" if victim != "a7" else "a8"
    root = tmp / "landing"
    _later_export(root, victim, requested)
    for attempt in range(2):  # the first load and a rerun of the date give the same result
        load_export_date(url, root, D4)
        summary = after_load(url, D4)
        quarantined = _q(
            url,
            "select table_name, raw_record, reason from ops.quarantine where export_date = %s"
            " order by table_name, line_no",
            D4,
        )
        assert [(r["table_name"], r["reason"]) for r in quarantined] == [
            ("customers", "erased"), ("customers", "erased"), ("dsr_requests", "erased"),
            ("orders", "erased"), ("orders", "erased"),
        ], attempt  # fmt: skip
        assert {r["raw_record"]["customer_id"] for r in quarantined} == {
            pseudonym(victim),
            pseudonym(requested),
        }
        audit = {
            r["table_name"]: r
            for r in _q(url, "select * from ops.load_audit where export_date = %s and status = 'loaded'", D4)
        }
        assert all(a["rows_read"] == a["rows_loaded"] + a["rows_quarantined"] for a in audit.values())
        assert (audit["customers"]["rows_loaded"], audit["customers"]["rows_quarantined"]) == (1, 2)
        assert summary["erasures"] == ([pseudonym(requested)] if attempt == 0 else [])
        loaded = _q(url, "select customer_id from raw.customers where _export_date = %s", D4)
        assert [r["customer_id"] for r in loaded] == ["n1"]
        assert _traces(url, victim) == {} and _traces(url, requested) == {}
    # every request of the file has an outcome in ops: the erasure done, access and restriction rejected
    outcomes = {r["request_id"]: r for r in _q(url, "select * from ops.dsr_outcomes")}
    assert {k: v["outcome"] for k, v in outcomes.items()} == {
        "DSR-2": "erased", "DSR-3": "rejected", "DSR-4": "rejected"
    }  # fmt: skip
    assert "art. 15" in outcomes["DSR-3"]["reason"] and "art. 18" in outcomes["DSR-4"]["reason"]
    assert outcomes["DSR-2"]["reason"] is None and outcomes["DSR-4"]["request_type"] == "restriction"

    # a later night's lists, built from the export that still carried both customers: neither is there
    _build(url, project, D4, pytest.MonkeyPatch())
    assert _q(url, "select count(*) as n from lists_build.retention_list where run_date = %s", D4)[0]["n"]
    assert _traces(url, victim) == {} and _traces(url, requested) == {}

    erasures = _q(url, "select request_id, request_source from ops.erasures order by erased_at")
    assert erasures == [
        {"request_id": "DSR-1", "request_source": "cli"},
        {"request_id": "DSR-2", "request_source": f"dsr_requests.csv {D4}"},
    ]


def test_training_snapshots_leave_out_profiling_objections(world) -> None:
    """PS-12: a customer whose profiling consent is withdrawn as of the training run date is in no churn
    training snapshot (real dbt build of churn_training_set); everyone else's snapshots stay."""
    from crm_scoring import dbt_invoke

    url, project, _ = world
    mp = pytest.MonkeyPatch()
    mp.setattr(settings, "dbt_project_dir", lambda: project)
    try:
        dbt_invoke.invoke(["seed", "--select", "+churn_training_set", "--quiet"], url, D1)
        dbt_invoke.invoke(["run", "--select", "+churn_training_set", "--quiet"], url, D1)
        counts = {
            r["customer_id"]: r["n"]
            for r in _q(url, "select customer_id, count(*) as n from marts.churn_training_set group by 1")
        }
        objector, other = sorted(c for c in counts if not c.startswith(ANON_PREFIX))[:2]
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "insert into raw.consents (customer_id, purpose, channel, status, status_ts, _export_date,"
                " _source_file, _line_no) values (%s, 'profiling', 'any', 'withdrawn', %s, %s,"
                " 'consents.csv', 999)",
                (objector, f"{D1.isoformat()}T08:00:00Z", D1),
            )
        dbt_invoke.invoke(["run", "--select", "churn_training_set", "--quiet"], url, D1)
        after = {
            r["customer_id"]: r["n"]
            for r in _q(url, "select customer_id, count(*) as n from marts.churn_training_set group by 1")
        }
        assert objector not in after
        assert after == {c: n for c, n in counts.items() if c != objector} and after[other] == counts[other]
    finally:
        mp.undo()
