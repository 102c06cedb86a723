"""The dbt project in tests: the small hand-made landing fixture (customers c1..c8), loading it, running
dbt in process on a project copy, and editing policy seeds of that copy. Fixtures (`project`, `dbt_env`)
are in tests/conftest.py; test modules import helpers from here, never from each other."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from dbt.cli.main import dbtRunner
from psycopg.rows import dict_row

from crm_scoring import contract, settings, warehouse

D1 = "2026-11-26"
D2 = "2026-11-27"


def _table(columns: str, *rows: tuple) -> list[tuple[str, dict]]:
    """Fixture rows as (export_date, {column: value}); each tuple starts with its export date."""
    names = columns.split()
    return [(row[0], dict(zip(names, row[1:], strict=True))) for row in rows]


T0 = "2024-01-01T00:00:00Z"
FIXTURE: dict[str, list[tuple[str, dict]]] = {
    "customers": _table(
        "customer_id registered_at status email phone",
        (D1, "c1", T0, "active", "Big.Spender@Example.com", "+86 138 0000 0001"),
        (D1, "c2", T0, "active", None, None),
        (D1, "c3", T0, "active", None, None),
        (D1, "c4", T0, "active", None, None),
        (D1, "c5", T0, "active", None, None),
        (D1, "c6", T0, "closed", None, None),
        (D1, "c7", T0, "active", None, None),
        (D2, "c8", "2026-11-27T09:00:00Z", "active", None, None),  # registers after D1
    ),
    "orders": _table(
        "order_id customer_id order_ts status net_amount points_earned",
        (D1, "o1", "c1", "2026-03-01T10:00:00Z", "completed", 60000, 600),
        (D1, "o2", "c1", "2026-11-20T10:00:00Z", "completed", 70000, None),
        (D1, "o3", "c2", "2026-10-01T10:00:00Z", "completed", 5000, None),
        (D1, "o10", "c2", "2026-11-02T10:00:00Z", "cancelled", 7777, None),
        (D1, "o4", "c3", "2026-07-01T10:00:00Z", "completed", 300, None),
        (D1, "o5", "c4", "2026-10-15T10:00:00Z", "completed", 200, None),
        (D1, "o6", "c5", "2026-11-01T10:00:00Z", "completed", 100, None),
        (D1, "o9", "c6", "2026-11-01T10:00:00Z", "cancelled", 999, None),
        (D1, "o7", "c7", "2026-11-24T10:00:00Z", "completed", 80, 50),  # during the outage
        (D1, "o8", "c7", "2026-11-10T10:00:00Z", "completed", 40, 30),  # before the outage
        (D2, "o11", "c2", "2026-11-27T08:00:00Z", "completed", 10, None),  # next export only
    ),
    "tickets": _table(
        "ticket_id customer_id created_at ticket_type channel priority is_urgent complaint_type severity"
        " status first_response_at resolved_at closed_at updated_at crisis_event_id text",
        (
            D1,
            "t1",
            "c5",
            "2026-11-20T10:00:00Z",
            "complaint",
            "chat",
            None,
            None,
            "technical",
            "medium",
            "resolved",
            "2026-11-20T10:30:00Z",
            "2026-11-26T09:00:00Z",
            None,
            "2026-11-26T09:00:00Z",
            None,
            "call me on +86 138-0000-0005 or mail me at angry.customer@example.com",
        ),
        (
            D1,
            "t2",
            "c5",
            "2026-10-01T10:00:00Z",
            "complaint",
            "phone",
            "P1",
            None,
            None,
            None,
            "resolved",
            "2026-10-01T12:00:00Z",
            "2026-11-25T12:00:00Z",
            None,
            "2026-11-25T12:00:00Z",
            None,
            None,
        ),
        (
            D1,
            "t4",
            "c5",
            "2026-05-01T10:00:00Z",
            "complaint",
            None,
            None,
            None,
            None,
            None,
            "closed",
            None,
            "2026-05-02T10:00:00Z",
            "2026-05-03T10:00:00Z",
            "2026-05-03T10:00:00Z",
            None,
            None,
        ),
        (
            D1,
            "t5",
            "c5",
            "2026-06-01T10:00:00Z",
            "complaint",
            None,
            None,
            None,
            None,
            None,
            "closed",
            None,
            "2026-06-02T10:00:00Z",
            "2026-06-03T10:00:00Z",
            "2026-06-03T10:00:00Z",
            None,
            None,
        ),
        # a ticket that changes state across exports: open on 11-25, resolved in the 11-27 export
        (
            "2026-11-25",
            "t3",
            "c1",
            "2026-11-25T08:00:00Z",
            "inquiry",
            "email",
            None,
            "true",
            None,
            None,
            "open",
            None,
            None,
            None,
            "2026-11-25T08:00:00Z",
            "cr1",
            None,
        ),
        (
            D2,
            "t3",
            "c1",
            "2026-11-25T08:00:00Z",
            "inquiry",
            "email",
            None,
            "true",
            None,
            None,
            "resolved",
            "2026-11-27T08:00:00Z",
            "2026-11-27T10:00:00Z",
            None,
            "2026-11-27T10:00:00Z",
            "cr1",
            None,
        ),
    ),
    "interactions": _table(
        "event_id customer_id event_ts event_type",
        (D1, "e1", "c4", "2026-11-19T08:00:00Z", "login"),
        (D1, "e2", "c4", "2026-11-21T08:00:00Z", "login_failed"),
        (D2, "e3", "c2", "2026-11-27T07:00:00Z", "login"),
    ),
    "surveys": _table(
        "survey_id customer_id survey_type trigger_type related_ticket_id sent_at responded_at score comment",
        (
            D1,
            "s1",
            "c5",
            "NPS",
            "post_ticket",
            "t2",
            "2026-11-20T00:00:00Z",
            "2026-11-21T00:00:00Z",
            3,
            "reach me: 13800000005",
        ),
    ),
    "crisis_events": _table(
        "crisis_event_id crisis_type scope_level opinion_level started_at",
        (D1, "cr1", "service_outage", "regional", "medium", "2026-11-23T00:00:00Z"),
    ),
    "crisis_affected_customers": _table("crisis_event_id customer_id", (D1, "cr1", "c7"), (D1, "cr1", "c1")),
    "consents": _table(
        "customer_id purpose channel status status_ts",
        *[(D1, c, "service", "any", "granted", T0) for c in ("c1", "c2", "c3", "c4", "c5", "c6", "c7")],
        *[(D1, c, "marketing", "any", "granted", T0) for c in ("c1", "c2", "c3", "c4", "c5", "c6", "c7")],
    ),
    "compensations": _table(
        "compensation_id customer_id ticket_id round_no compensation_type amount issued_at",
        (D1, "k1", "c5", "t2", 1, "voucher", 20, "2026-11-26T08:00:00Z"),
    ),
}
SCORES = [(D1, "c1", 0.8), (D1, "c2", 0.3), (D1, "c4", 0.6), (D1, "c5", 0.5), (D1, "c7", 0.1)]


D3 = "2026-11-28"
# The value / complaint / churn marts without the lists and training snapshots (test_marts_value,
# test_incremental_marts).
SELECT = [
    "--select",
    "+customer_value",
    "+customer_complaints",
    "+churn_features",
    "--exclude",
    "tag:lists",
    "tag:training",
    "--indirect-selection",
    "cautious",
]

# A third export: an order, a login and a new complaint on D3, plus re-exported versions that replace
# earlier ones: o3 returned, t3 closed (incremental vs full refresh).
D3_ROWS = {
    "orders": _table(
        "order_id customer_id order_ts status net_amount updated_at",
        (D3, "o20", "c3", "2026-11-28T09:00:00Z", "completed", 50, None),
        (D3, "o3", "c2", "2026-10-01T10:00:00Z", "returned", 0, "2026-11-28T08:00:00Z"),
    ),
    "interactions": _table(
        "event_id customer_id event_ts event_type", (D3, "e9", "c4", "2026-11-28T07:00:00Z", "login")
    ),
    "tickets": _table(
        "ticket_id customer_id created_at ticket_type status first_response_at resolved_at closed_at"
        " updated_at crisis_event_id",
        (D3, "t9", "c7", "2026-11-28T06:00:00Z", "complaint", "open", None, None, None, None, None),
        (
            D3,
            "t3",
            "c1",
            "2026-11-25T08:00:00Z",
            "inquiry",
            "closed",
            "2026-11-27T08:00:00Z",
            "2026-11-27T10:00:00Z",
            "2026-11-28T09:00:00Z",
            "2026-11-28T09:00:00Z",
            "cr1",
        ),
    ),
}


def _load_raw(url: str, fixture: dict[str, list[tuple[str, dict]]]) -> None:
    """Raw layer + scoring table as the loader and the scoring step would leave them (dbt's on-run-start
    hook creates the other source tables; modules may still create enrichment tables of their own)."""
    with warehouse.connect(url) as conn:
        conn.execute("create schema if not exists raw")
        conn.execute("create schema if not exists scoring")
        for table in contract.TABLES.values():
            conn.execute(contract.raw_table_ddl(table))
        conn.execute(
            "create table if not exists scoring.churn_scores (run_date date, customer_id text,"
            " churn_probability double precision, model_name text, model_version text,"
            " mlflow_run_id text, scored_at timestamptz, primary key (run_date, customer_id))"
        )
        _insert(conn, fixture)


def _insert_backtests(url: str) -> None:
    """Two rows as `crm model backtest` writes them: v2 healthy, v3 (evaluated on D1) degraded."""
    from datetime import UTC, datetime

    from crm_scoring.model.backtest import COLUMNS, ensure_table

    base = {"model_name": "churn", "rows_evaluated": 500, "churned": 100, "pr_auc": 0.5, "ece": 0.02}
    base |= {"lift_at_capacity": 2.0, "capture_at_capacity": 0.4, "positive_rate": 0.2, "capacity_rows": 50}
    base |= {"mlflow_run_id": "r", "evaluated_at": datetime.now(UTC), "reference_roc_auc": 0.8}
    rows = [
        base
        | {"model_version": "2", "as_of_date": "2026-07-29", "label_matured_on": "2026-10-27"}
        | {"evaluated_on": "2026-10-27", "roc_auc": 0.79},
        base
        | {"model_version": "3", "as_of_date": "2026-08-28", "label_matured_on": "2026-11-26"}
        | {"evaluated_on": D1, "roc_auc": 0.65},
    ]
    placeholders = ", ".join(["%s"] * len(COLUMNS))
    insert = f"insert into scoring.model_performance ({', '.join(COLUMNS)}) values ({placeholders})"
    with warehouse.connect(url) as conn:
        ensure_table(conn)
        conn.cursor().executemany(insert, [tuple(r[c] for c in COLUMNS) for r in rows])


def _insert(conn: psycopg.Connection, fixture: dict[str, list[tuple[str, dict]]]) -> None:
    for name, rows in fixture.items():
        cols = contract.TABLES[name].column_names
        sql = (
            f"insert into raw.{name} ({', '.join(cols)}, _export_date, _source_file, _line_no) "
            f"values ({', '.join(['%s'] * (len(cols) + 3))})"
        )
        params = [
            [row.get(c) for c in cols] + [export_date, f"{export_date}/{name}.csv", line_no]
            for line_no, (export_date, row) in enumerate(rows, start=2)
        ]
        with conn.cursor() as cur:
            cur.executemany(sql, params)


def copy_project(dst: Path) -> Path:
    """A copy of dbt_project/ at `dst` without dbt's build products."""
    shutil.copytree(
        settings.dbt_project_dir(), dst, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    return dst


# Project copies shared by several modules (conftest.py `pristine_project`): `_set_csv` refuses them, so a
# test that edits policy seeds must take a copy of its own (`project`, or `module_warehouse` without one).
READ_ONLY_PROJECTS: set[Path] = set()


def content_digest(project: Path) -> str:
    """sha256 over the relative paths and bytes of every file of a project copy: equal before and after
    the session proves no test edited a shared copy."""
    digest = hashlib.sha256()
    for path in sorted(p for p in project.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(project)}\n".encode() + path.read_bytes())
    return digest.hexdigest()


@contextmanager
def module_warehouse(
    server_url: str, tmp_path_factory: pytest.TempPathFactory, prefix: str, project: Path | None = None
) -> Iterator[tuple[str, Path]]:
    """A throw-away database and a dbt_project copy with dbt's connection pointed at it, for a module-scoped
    fixture that builds once and lets several tests read the result (the function-scoped `project` and
    `dbt_env` fixtures of conftest.py are the per-test equivalent). A module that never edits the project
    passes the session's `pristine_project` (parsed once per test process) instead of getting its own copy.
    Dropped afterwards unless CRM_KEEP_TEST_DB is set."""
    mp = pytest.MonkeyPatch()
    name = warehouse.create_database(server_url, prefix)
    url = warehouse.with_database(server_url, name)
    for key, value in warehouse.parse_url(url).dbt_env().items():
        mp.setenv(key, value)
    if project is None:
        project = copy_project(tmp_path_factory.mktemp(prefix) / "dbt_project")
    try:
        yield url, project
    finally:
        mp.undo()
        if not os.environ.get("CRM_KEEP_TEST_DB"):
            warehouse.drop_database(server_url, name)


# Enriched texts (ST-04) for c5's complaint t1 and a survey comment, as the enrichment task writes them.
SENTIMENT = [
    ("tickets", "t1", "c5", "2026-11-20T10:00:00Z", "negative", -0.8, "angry"),
    ("tickets", "t2", "c5", "2026-10-01T10:00:00Z", "negative", -0.6, "disappointed"),
    ("surveys", "s1", "c5", "2026-11-21T00:00:00Z", "negative", -0.5, "angry"),
    ("tickets", "t3", "c1", "2026-11-25T08:00:00Z", "neutral", 0.1, "neutral"),
]


def create_enrichment(url: str) -> None:
    """`enrichment.text_sentiment` with the SENTIMENT rows, as the text-enrichment task leaves them."""
    with warehouse.connect(url) as conn:
        conn.execute("create schema if not exists enrichment")
        conn.execute(
            "create table enrichment.text_sentiment (source_table text, source_id text, customer_id text,"
            " text_ts timestamptz, language text, redacted_text text, polarity text, polarity_score float8,"
            " emotion_class text, crisis_triage_class text, has_risk_keyword bool, has_empathy_keyword bool,"
            " model_name text, model_version text, enriched_for_date date, text_sha256 text,"
            " quality_gate_passed bool, policy_version text, primary key (source_table, source_id))"
        )
        with conn.cursor() as cur:
            cur.executemany(
                "insert into enrichment.text_sentiment (source_table, source_id, customer_id, text_ts,"
                " language, polarity, polarity_score, emotion_class, model_name, model_version,"
                " quality_gate_passed)"
                " values (%s, %s, %s, %s, 'en', %s, %s, %s, 'm', '1', true)",
                SENTIMENT,
            )


STARTER_APPROVAL = "starter default (not business-approved)"


def _set_csv(path: Path, key_col: str, key: str, **values: str) -> None:
    """Edit one row of a policy seed in the temporary project copy. Setting a value, amount or points of a
    row that carries a starter default makes it the test's own decision (tag D, or U when emptied;
    approved_by 'test fixture'), as a business sign-off would, so it counts under the strict profile too;
    pass tag='starter' to keep it a starter default."""
    shared = [p for p in READ_ONLY_PROJECTS if path.resolve().is_relative_to(p.resolve())]
    assert not shared, f"{path} is in a shared project copy: edit seeds in a copy of the test's own"
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    hits = [r for r in rows if r[key_col] == key]
    assert hits, f"{key} not in {path.name}"
    decided = [c for c in ("value", "amount", "points") if c in values]
    for row in hits:
        if decided and row.get("tag") == "starter" and "tag" not in values:
            filled = any(str(values[c]).strip() for c in decided)
            row.update(tag="D" if filled else "U", approved_by="test fixture")
        row.update(values)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


# Parsed manifests: dbt re-parses the whole project whenever --vars change (every run date, every policy
# profile), which costs more than most builds here (~7 CPU s a parse). The vars are applied when a node is
# compiled, not when it is parsed (the run_date macro reads the date only at execution, and test `where:`
# configs name it by a placeholder: macros/test_where.sql), so a manifest parsed once
# serves every later command on the same files. Keyed by the relative paths, sizes and mtimes of what dbt
# parses (copies keep the mtimes), so every project copy with the same parsed files shares one manifest,
# pointed at the copy and the database of each command before it runs (_point). Seed CSVs are the only
# project files dbt reads after the parse (when `dbt seed` runs), so editing a seed needs no re-parse.
_PARSED: dict[str, Any] = {}
_PARSED_SUFFIXES = (".sql", ".yml", ".yaml", ".md")


def _fingerprint(project: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(project.rglob("*")):
        if path.suffix in _PARSED_SUFFIXES and not {"target", "logs"} & set(path.parts) and path.is_file():
            stat = path.stat()
            digest.update(f"{path.relative_to(project)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _manifest(project: Path, base: list[str], dbt_vars: dict) -> Any | None:
    """The parsed manifest of `project`'s files as they are now (parsed on first use or after an edit),
    pointed at `project`'s seeds and the current database."""
    key = _fingerprint(project)
    if key not in _PARSED:
        parsed = dbtRunner().invoke(["parse", *base, "--vars", json.dumps(dbt_vars)])
        if not parsed.success:
            return None  # let the command itself report the parse error
        _PARSED[key] = parsed.result
    manifest = _PARSED[key]
    _point(manifest, project, os.environ.get("CRM_PG_DBNAME", "postgres"))
    return manifest


def _point(manifest: Any, project: Path, database: str) -> None:
    """Point a parsed manifest at a project copy's seeds and at `database`. A seed node keeps the folder it
    was parsed in (`root_path`: `dbt seed` reads the CSV from there), and the parse bakes the target
    database (profiles.yml reads CRM_PG_DBNAME) into each node's and source's `database` and
    `relation_name` (nothing else in the manifest holds it), so one parse serves copies that each build in a
    database of their own. A database reference missed here could not pass silently: PostgreSQL refuses
    any cross-database reference ("Cross-db references not allowed")."""
    moved = False
    for item in (*manifest.nodes.values(), *manifest.sources.values()):
        if item.resource_type == "seed":
            item.root_path = str(project)
        old = item.database
        if old is None or old == database:
            continue
        item.database, moved = database, True
        if item.relation_name:
            item.relation_name = item.relation_name.replace(f'"{old}".', f'"{database}".', 1)
    if moved:
        manifest.build_flat_graph()  # the `graph` Jinja variable is a copy made at parse time


# No target/*.json after each command and no debug log file: the tests read the warehouse and the
# command's result, not the artifacts, and writing them cost ~1 CPU s of each seed/run/build here
# (measured: build 11.5 -> 9.5 CPU s, run 2.8 -> 2.0 on the marts selection). Failures still reach the log.
QUIET_ARTIFACTS = ["--no-write-json", "--log-level-file", "warn"]


def _dbt(
    project: Path,
    *args: str,
    run_date: str | None = None,
    expect_success: bool = True,
    profile: str | None = "strict",
):
    """dbt in-process on the project copy. The policy profile defaults to strict (None: the platform's
    default, CRM_POLICY_PROFILE or starter): these tests were written for
    a policy without starter defaults and set every value they need (seed_spec 0.3: strict = as before the
    starter defaults); the starter profile is covered by test_lists.py and test_e2e.py. Commands reuse the
    project's parsed manifest (_manifest); `parse` itself always parses. Commands but `parse` and `docs`
    run with QUIET_ARTIFACTS."""
    base = ["--project-dir", str(project), "--profiles-dir", str(project), "--quiet"]
    dbt_vars = {
        **({"policy_profile": profile} if profile else {}),
        **({"run_date": run_date} if run_date else {}),
    }
    cmd = [*args, *base, "--vars", json.dumps(dbt_vars)]
    if args[0] not in ("parse", "docs"):  # those two write the JSON artifacts tests read
        cmd += QUIET_ARTIFACTS
    manifest = None if args[0] == "parse" else _manifest(project, base, dbt_vars)
    result = dbtRunner(manifest=manifest).invoke(cmd)
    if expect_success:
        failures = []
        if result.result is not None and hasattr(result.result, "results"):
            failures = [
                f"{r.node.unique_id}: {r.status} {r.message}"
                for r in result.result.results
                if str(r.status) not in ("success", "pass", "warn", "skipped")
            ]
        assert result.success, f"dbt {' '.join(args)} failed: {result.exception} {failures}"
    return result


def _rows(url: str, sql: str, *params) -> list[dict]:
    with warehouse.connect(url) as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(sql, params)
        return cur.fetchall()


RULE_ID = re.compile(r"\b[A-Z]{2}-\d{2}\b")
NO_RULE_ID = "No rule ID applies:"


def undocumented(manifest: dict, catalog: dict | None = None) -> list[str]:
    """Marts and lists a user reads that do not say which rule they implement, or have a column without a
    description (issue 3). A model with no rule must say why (NO_RULE_ID). With a catalog (dbt docs
    generate), columns the model produces but its YAML does not list count as undocumented too."""
    problems = []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or node["fqn"][1] not in ("marts", "lists"):
            continue
        name, described = node["name"], node.get("description", "")
        if not RULE_ID.search(described) and NO_RULE_ID not in described:
            problems.append(f"{name}: description cites no rule ID")
        columns = {c.lower(): v.get("description", "") for c, v in node["columns"].items()}
        built = (catalog or {}).get("nodes", {}).get(node["unique_id"], {}).get("columns", {})
        columns.update({c.lower(): columns.get(c.lower(), "") for c in built})
        problems += [f"{name}.{c}: no description" for c, d in sorted(columns.items()) if not d.strip()]
    return problems
