"""Erasure (PS-08) on a built warehouse: raw, staging, marts, lists, scores, enrichment, quarantine and the
ledger; a later export that still carries the customer is quarantined ("erased") with the audit balanced;
an erasure request arriving in the landing folder (dsr_requests.csv) is applied by the ingest step.

Uses the lists' landing fixture (support/lists.py: real dbt build of the marts and lists, real publish). The
erasure scenario runs once, in order, in the module-scoped `scenario` fixture (its own database and MLflow
store, from `world`), which records each step's results; each test below checks one behaviour of it."""

from __future__ import annotations

import csv
import dataclasses
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
from crm_scoring.lists.export import ExportResult, export_list
from crm_scoring.lists.publish import publish
from crm_scoring.privacy.erasure import ANON_PREFIX, ErasureRequest, ErasureResult, erase
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


def _enriched_text(customer_id: str) -> dict:
    """An enriched text in the shape the enrichment task writes: every column of its upsert, the NOT NULL
    lineage columns included, so a column added to the table fails by name, not mid-insert."""
    return {
        "source_table": "tickets", "source_id": "tx", "customer_id": customer_id,
        "text_ts": "2026-11-26T08:00:00Z", "language": "en", "redacted_text": "I am angry",
        "polarity": "negative", "polarity_score": -0.8, "emotion_class": "angry",
        "crisis_triage_class": None, "has_risk_keyword": False, "has_empathy_keyword": False,
        "model_name": "vader", "model_version": "1", "enriched_for_date": D1, "text_sha256": "sha-tx",
        "quality_gate_passed": True, "policy_version": "2026.1", "enriched_at": "2026-11-26T03:00:00Z",
    }  # fmt: skip


def _add_traces(url: str, victim: str) -> None:
    """Traces the list fixture lacks: a quarantined row and an enriched text of the customer."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create schema if not exists ops")
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
        text = _enriched_text(victim)
        insert = sql.SQL("insert into enrichment.text_sentiment ({}) values ({})").format(
            sql.SQL(", ").join(map(sql.Identifier, text)), sql.SQL(", ").join([sql.Placeholder()] * len(text))
        )
        conn.execute(insert, list(text.values()))


@dataclasses.dataclass
class LaterLoad:
    """One load of the later export (D4) and what it left: the first load and its rerun must agree."""

    quarantined: list[dict]
    audit: dict[str, dict]
    summary: dict
    loaded: list[str]
    victim_traces: dict[str, int]
    requested_traces: dict[str, int]


@dataclasses.dataclass
class Scenario:
    """What one erasure scenario left behind, step by step: the customer's traces before, the CLI erasure
    (DSR-1), a rebuild of the same night, a second erasure, two loads of a later export that still carries
    the customer and requests another erasure (DSR-2), and a later night's build. Each step needs the
    warehouse the previous one left, so the sequence runs once, in order, in the fixture; files and tables
    that later steps rewrite again are read right after the step they check."""

    victim: str
    requested: str
    ledger: list[dict]
    before: dict[str, int]
    aggregates: tuple
    ids_in_csv_before: list[str]
    csv_copy: ExportResult
    xlsx_copy: ExportResult
    result: ErasureResult
    traces_after: dict[str, int]
    aggregates_after: tuple
    audit_rows: list[dict]
    kept_ledger: list[dict]
    mlflow_example: str
    ids_in_csv_after: list[str]
    xlsx_values_after: set
    xlsx_max_row_after: int
    quarantine_line_7: list[dict]
    anonymised_in_rebuild: dict[str, int]
    traces_after_rebuild: dict[str, int]
    again: ErasureResult
    later_loads: list[LaterLoad]
    outcomes: dict[str, dict]
    later_retention_rows: int
    victim_traces_later: dict[str, int]
    requested_traces_later: dict[str, int]
    erasures: list[dict]

    @property
    def audit(self) -> dict:
        """The one ops.erasures row of the CLI erasure (the later ones are checked in `erasures`)."""
        (row,) = self.audit_rows
        return row

    @property
    def exported_files(self) -> dict[str, dict]:
        return {f["file"]: f for f in self.audit["exported_files"]}


@pytest.fixture(scope="module")
def scenario(world) -> Scenario:
    """The erasure scenario once for the module, on the `world` warehouse; the tests below each check one
    behaviour of it."""
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
    _add_traces(url, victim)
    before = _traces(url, victim)
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
    ids_in_csv_before = _ids_in_csv(csv_copy.path)

    [result] = erase([ErasureRequest(victim, "DSR-1")], url)
    traces_after = _traces(url, victim)
    aggregates_after = _aggregates(url)
    audit_rows = _q(url, "select * from ops.erasures")
    kept_ledger = _q(url, "select * from ops.erased_ledger where source = 'lists.compensation_list'")
    mlflow_example = (mlruns / "input_example.json").read_text()
    ids_in_csv_after = _ids_in_csv(csv_copy.path)
    sheet = load_workbook(xlsx_copy.path)["list"]
    xlsx_values_after = {c.value for r in sheet.iter_rows() for c in r}
    quarantine_line_7 = _q(url, "select raw_record, reason from ops.quarantine where line_no = 7")

    with pytest.MonkeyPatch.context() as mp:
        # the anonymised customer is never listed again, even by a rebuild of the same night
        _build(url, project, D1, mp, upstream=False)
        anonymised_in_rebuild = {
            table: _q(url, f"select count(*) as n from lists_build.{table} where customer_id like 'ANON-%%'")[
                0
            ]["n"]
            for table in ("retention_list", "compensation_list")
        }
        traces_after_rebuild = _traces(url, victim)
        [again] = erase([ErasureRequest(victim)], url)

        # a later export still carries the customer, and asks to erase another one
        requested = "a7" if victim != "a7" else "a8"
        root = tmp / "landing"
        _later_export(root, victim, requested)
        later_loads = []
        for _attempt in range(2):  # the first load and a rerun of the date
            load_export_date(url, root, D4)
            summary = after_load(url, D4)
            later_loads.append(
                LaterLoad(
                    quarantined=_q(
                        url,
                        "select table_name, raw_record, reason from ops.quarantine where export_date = %s"
                        " order by table_name, line_no",
                        D4,
                    ),
                    audit={
                        r["table_name"]: r
                        for r in _q(
                            url,
                            "select * from ops.load_audit where export_date = %s and status = 'loaded'",
                            D4,
                        )
                    },
                    summary=summary,
                    loaded=[
                        r["customer_id"]
                        for r in _q(url, "select customer_id from raw.customers where _export_date = %s", D4)
                    ],
                    victim_traces=_traces(url, victim),
                    requested_traces=_traces(url, requested),
                )
            )
        outcomes = {r["request_id"]: r for r in _q(url, "select * from ops.dsr_outcomes")}

        # a later night's lists, built from the export that still carried both customers
        _build(url, project, D4, mp)
        later_retention_rows = _q(
            url, "select count(*) as n from lists_build.retention_list where run_date = %s", D4
        )[0]["n"]
        victim_traces_later = _traces(url, victim)
        requested_traces_later = _traces(url, requested)
    erasures = _q(url, "select request_id, request_source from ops.erasures order by erased_at")
    return Scenario(
        victim=victim,
        requested=requested,
        ledger=ledger,
        before=before,
        aggregates=aggregates,
        ids_in_csv_before=ids_in_csv_before,
        csv_copy=csv_copy,
        xlsx_copy=xlsx_copy,
        result=result,
        traces_after=traces_after,
        aggregates_after=aggregates_after,
        audit_rows=audit_rows,
        kept_ledger=kept_ledger,
        mlflow_example=mlflow_example,
        ids_in_csv_after=ids_in_csv_after,
        xlsx_values_after=xlsx_values_after,
        xlsx_max_row_after=sheet.max_row,
        quarantine_line_7=quarantine_line_7,
        anonymised_in_rebuild=anonymised_in_rebuild,
        traces_after_rebuild=traces_after_rebuild,
        again=again,
        later_loads=later_loads,
        outcomes=outcomes,
        later_retention_rows=later_retention_rows,
        victim_traces_later=victim_traces_later,
        requested_traces_later=requested_traces_later,
        erasures=erasures,
    )


def test_the_enriched_text_row_has_every_column_of_the_writer() -> None:
    text = _enriched_text("c1")
    assert set(text) == set(enrich_store.COLUMNS), set(enrich_store.COLUMNS) ^ set(text)


def test_before_the_erasure_the_customer_is_everywhere(scenario: Scenario) -> None:
    """The scenario's premise: the customer is on the ledger, in raw, staging, marts, intermediate, the
    lists, quarantine, enrichment and an exported file."""
    before = scenario.before
    assert scenario.ledger
    assert {"raw.customers", "staging.stg_crm__customers", "lists.compensation_list", "ops.quarantine",
            "enrichment.text_sentiment"} <= set(before), before  # fmt: skip
    assert any(k.startswith("marts.") for k in before), before
    assert any(k.startswith("intermediate.") for k in before), before
    assert scenario.victim in scenario.ids_in_csv_before


def test_the_erasure_returns_the_pseudonym(scenario: Scenario) -> None:
    assert scenario.result.pseudonym == pseudonym(scenario.victim)
    assert not scenario.result.already_erased


def test_no_trace_is_left_in_any_table_or_view(scenario: Scenario) -> None:
    assert scenario.traces_after == {}  # gone from every table and view, staging included


def test_aggregates_are_unchanged(scenario: Scenario) -> None:
    assert scenario.aggregates_after == scenario.aggregates  # facts kept (anonymised): counts and sums


def test_the_erasure_is_audited_in_ops_erasures(scenario: Scenario) -> None:
    assert len(scenario.audit_rows) == 1, scenario.audit_rows
    row = scenario.audit
    assert row["pseudonym"] == pseudonym(scenario.victim)
    assert row["request_id"] == "DSR-1"
    assert row["erased_by"]
    affected = row["rows_affected"]
    for table in scenario.before:  # every table that held the customer is in the erasure's record
        if table.split(".")[0] in ("raw", "lists", "scoring", "enrichment", "ops") and not table.endswith(
            "_latest"
        ):
            assert affected.get(table, 0) >= 1, table


def test_the_compensation_ledger_is_kept_under_the_pseudonym(scenario: Scenario) -> None:
    kept = scenario.kept_ledger
    assert sorted(str(r["record"]["amount"]) for r in kept) == sorted(
        str(None if r["amount"] is None else float(r["amount"])) for r in scenario.ledger
    )
    assert {r["pseudonym"] for r in kept} == {pseudonym(scenario.victim)}


def test_the_mlflow_input_example_is_scrubbed(scenario: Scenario) -> None:
    assert scenario.audit["mlflow_examples_scrubbed"] == 1
    assert scenario.mlflow_example == '{"columns": ["x"], "data": [[2.0], [2.0]]}'


def test_the_exported_files_are_recorded_with_what_was_done(scenario: Scenario) -> None:
    """Files on this host rewritten, the unreachable one listed with whom to notify; the record itself
    does not name the customer."""
    files = scenario.exported_files
    assert files[str(scenario.csv_copy.path)]["action"] == "rewritten"
    assert files[str(scenario.xlsx_copy.path)]["action"] == "rewritten"
    assert files["/mnt/laptop-of-jane/comp.csv"]["action"] == "not reachable: notify the recipient"
    assert files["/mnt/laptop-of-jane/comp.csv"]["exported_by"] == "crm_ops_jane (jane)"
    assert scenario.victim not in json.dumps(scenario.audit["exported_files"])
    assert scenario.result.exported_files


def test_the_exported_csv_is_rewritten_without_the_customer(scenario: Scenario) -> None:
    kept_ids = scenario.ids_in_csv_after
    removed = scenario.exported_files[str(scenario.csv_copy.path)]["rows_removed"]
    assert scenario.victim not in kept_ids
    assert removed >= 1
    assert len(kept_ids) == scenario.csv_copy.rows - removed  # the other rows kept


def test_the_exported_xlsx_is_rewritten_without_the_customer(scenario: Scenario) -> None:
    removed = scenario.exported_files[str(scenario.xlsx_copy.path)]["rows_removed"]
    assert scenario.victim not in scenario.xlsx_values_after
    assert scenario.xlsx_max_row_after - 1 == scenario.xlsx_copy.rows - removed  # the other rows kept


def test_the_quarantined_record_is_anonymised(scenario: Scenario) -> None:
    (q,) = scenario.quarantine_line_7
    assert q["reason"] == "negative amount"
    assert q["raw_record"]["customer_id"].startswith(ANON_PREFIX)


def test_a_rebuild_of_the_same_night_lists_no_anonymised_customer(scenario: Scenario) -> None:
    for table, n in scenario.anonymised_in_rebuild.items():
        assert n == 0, table
    assert scenario.traces_after_rebuild == {}


def test_a_second_erasure_of_the_customer_is_a_no_op(scenario: Scenario) -> None:
    assert scenario.again.already_erased  # idempotent


def test_a_later_export_quarantines_the_erased_customers_rows(scenario: Scenario) -> None:
    """The first load and a rerun of the date give the same result: every row of either customer
    quarantined as "erased", the erasure request's own row included."""
    for attempt, load in enumerate(scenario.later_loads):
        assert [(r["table_name"], r["reason"]) for r in load.quarantined] == [
            ("customers", "erased"), ("customers", "erased"), ("dsr_requests", "erased"),
            ("orders", "erased"), ("orders", "erased"),
        ], attempt  # fmt: skip
        assert {r["raw_record"]["customer_id"] for r in load.quarantined} == {
            pseudonym(scenario.victim),
            pseudonym(scenario.requested),
        }, attempt


def test_the_later_exports_load_audit_balances(scenario: Scenario) -> None:
    for attempt, load in enumerate(scenario.later_loads):
        assert all(a["rows_read"] == a["rows_loaded"] + a["rows_quarantined"] for a in load.audit.values()), (
            attempt
        )
        assert (load.audit["customers"]["rows_loaded"], load.audit["customers"]["rows_quarantined"]) == (
            1,
            2,
        ), attempt


def test_an_erasure_request_in_the_landing_folder_is_applied_once(scenario: Scenario) -> None:
    for attempt, load in enumerate(scenario.later_loads):
        assert load.summary["erasures"] == ([pseudonym(scenario.requested)] if attempt == 0 else []), attempt


def test_the_later_export_loads_only_the_other_customers(scenario: Scenario) -> None:
    for attempt, load in enumerate(scenario.later_loads):
        assert load.loaded == ["n1"], attempt


def test_the_erased_customers_never_reappear_after_a_later_load(scenario: Scenario) -> None:
    for attempt, load in enumerate(scenario.later_loads):
        assert load.victim_traces == {}, attempt
        assert load.requested_traces == {}, attempt


def test_every_request_of_the_file_has_an_outcome(scenario: Scenario) -> None:
    """The erasure done, access (art. 15) and restriction (art. 18) rejected with the article named."""
    outcomes = scenario.outcomes
    assert {k: v["outcome"] for k, v in outcomes.items()} == {
        "DSR-2": "erased", "DSR-3": "rejected", "DSR-4": "rejected"
    }  # fmt: skip
    assert "art. 15" in outcomes["DSR-3"]["reason"]
    assert "art. 18" in outcomes["DSR-4"]["reason"]
    assert outcomes["DSR-2"]["reason"] is None
    assert outcomes["DSR-4"]["request_type"] == "restriction"


def test_a_later_nights_lists_hold_neither_erased_customer(scenario: Scenario) -> None:
    """Built from the export that still carried both customers."""
    assert scenario.later_retention_rows
    assert scenario.victim_traces_later == {}
    assert scenario.requested_traces_later == {}


def test_ops_erasures_records_each_request_with_its_source(scenario: Scenario) -> None:
    assert scenario.erasures == [
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
