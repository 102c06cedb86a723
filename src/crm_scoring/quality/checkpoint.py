"""Run the committed expectation suites as one GX checkpoint over one date's rows, in PostgreSQL.

Each suite's table becomes a GX query asset `select * from <schema>.<table> where <date_column> = <date>`,
materialised by GX as a session temp table, so every expectation compiles to SQL on that slice inside
PostgreSQL (no rows are pulled into Python). A critical failure
raises `ValidationFailed`, which stops the DAG before anything is published; warnings only go to the report.
"""

from __future__ import annotations

import logging
import re
import time
import warnings
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from crm_scoring import contract, failpoints, warehouse
from crm_scoring.quality.report import Outcome, outcomes_from_validation, write_reports
from crm_scoring.quality.suites import SuiteSpec, build_gx_suite, load_suites, no_gx_telemetry

log = logging.getLogger(__name__)

RAW_SCHEMA = "raw"
LISTS_BUILD_SCHEMA = "lists_build"
_MISSING_TABLE = "expect_table_to_exist"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class ValidationFailed(Exception):
    """Critical expectations failed; the message names each (table, column, expectation, observed)."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        lines = [
            f"data quality '{report.name}' for {report.run_date} failed: "
            f"{len(report.critical_failures)} critical expectation(s) not met"
        ]
        lines += [f"  - {o.describe()}" for o in report.critical_failures]
        lines.append(f"report: {report.report_path}")
        super().__init__("\n".join(lines))


@dataclass
class ValidationReport:
    """One run's verdict: success = no critical failure; `warnings` = failed warning-level expectations."""

    name: str
    success: bool
    critical_failures: list[Outcome]
    warnings: list[Outcome]
    report_path: Path  # the Markdown report; its JSON twin (with the GX checkpoint result) is json_path
    json_path: Path | None = None
    run_date: date | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def validate_raw(
    url: str,
    export_date: date,
    report_dir: Path,
    *,
    suites_root: Path | None = None,
    data_docs: bool = False,
) -> ValidationReport:
    """Check every raw table's rows of `export_date`. Required files (contract) must exist and have rows."""
    return run_suites(
        url,
        name="raw",
        layer="raw",
        schema=RAW_SCHEMA,
        run_date=export_date,
        report_dir=report_dir,
        required_tables=set(contract.REQUIRED_FILES),
        suites_root=suites_root,
        data_docs=data_docs,
    )


def validate_lists(
    url: str,
    run_date: date,
    report_dir: Path,
    *,
    schema: str = LISTS_BUILD_SCHEMA,
    suites_root: Path | None = None,
    data_docs: bool = False,
) -> ValidationReport:
    """Check the candidate lists of `run_date` before publishing. An empty list is valid; no table is not."""
    specs = load_suites("lists", suites_root)
    return run_suites(
        url,
        name="lists",
        layer="lists",
        schema=schema,
        run_date=run_date,
        report_dir=report_dir,
        required_tables={s.table for s in specs},
        suites_root=suites_root,
        data_docs=data_docs,
    )


def run_suites(
    url: str,
    *,
    name: str,
    layer: str,
    schema: str,
    run_date: date,
    report_dir: Path,
    required_tables: set[str],
    suites_root: Path | None = None,
    data_docs: bool = False,
) -> ValidationReport:
    """Validate the `layer` suites on `schema` for `run_date`, write both reports, raise on critical failure.

    A missing required table is a critical failure; a missing optional one is noted and skipped.
    `data_docs` also renders GX Data Docs HTML into `<report_dir>/data_docs/<name>_<date>/` (opt-in:
    a few seconds and ~4 MB of static assets per run).
    """
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"invalid schema name {schema!r}")
    started = time.monotonic()
    specs = load_suites(layer, suites_root)
    present = _existing_tables(url, schema, [s.table for s in specs])
    outcomes: list[Outcome] = []
    notes: list[str] = []
    runnable = []
    for spec in specs:
        if spec.table in present:
            runnable.append(spec)
        elif spec.table in required_tables:
            outcomes.append(
                Outcome(
                    spec.name,
                    f"{schema}.{spec.table}",
                    _MISSING_TABLE,
                    "(table)",
                    "critical",
                    "DQ-12",
                    False,
                    "table does not exist",
                )
            )
        else:
            notes.append(f"{schema}.{spec.table} does not exist (optional): not checked")
    checkpoint_result = None
    if runnable:
        docs_dir = report_dir / "data_docs" / f"{name}_{run_date.isoformat()}" if data_docs else None
        checkpoint_result, checked = _run_checkpoint(url, name, schema, runnable, run_date, docs_dir)
        outcomes += checked
    failpoints.hit(f"validate_{layer}:inside")  # validated, the reports not yet written
    critical = [o for o in outcomes if not o.success and o.severity == "critical"]
    warned = [o for o in outcomes if not o.success and o.severity != "critical"]
    success = not critical
    json_path, md_path = write_reports(
        report_dir, name, run_date, success, outcomes, notes, checkpoint_result
    )
    report = ValidationReport(
        name=name,
        success=success,
        critical_failures=critical,
        warnings=warned,
        report_path=md_path,
        json_path=json_path,
        run_date=run_date,
        outcomes=outcomes,
        notes=notes,
    )
    log.info(
        "data quality %s %s: %s, %d expectations, %d critical failures, %d warnings in %.1fs; report %s",
        name,
        run_date,
        "passed" if success else "FAILED",
        len(outcomes),
        len(critical),
        len(warned),
        time.monotonic() - started,
        md_path,
    )
    for o in warned:
        log.warning("data quality warning: %s", o.describe())
    if not success:
        raise ValidationFailed(report)
    return report


def _existing_tables(url: str, schema: str, tables: list[str]) -> set[str]:
    with warehouse.connect(url) as conn:
        rows = conn.execute(
            "select table_name from information_schema.tables "
            "where table_schema = %s and table_name = any(%s)",
            (schema, tables),
        ).fetchall()
    return {r[0] for r in rows}


def _slice_query(schema: str, spec: SuiteSpec, run_date: date) -> str:
    # Injection-safe: identifiers are checked (schema above, table/date column in suites.load_suite) and the
    # date is rendered from a `date`. GX takes the query as text.
    return f"select * from {schema}.{spec.table} where {spec.date_column} = date '{run_date.isoformat()}'"


def _docs_site(docs_dir: Path) -> dict[str, Any]:
    return {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }


def _run_checkpoint(
    url: str, name: str, schema: str, specs: list[SuiteSpec], run_date: date, docs_dir: Path | None
) -> tuple[dict[str, Any], list[Outcome]]:
    """Build an ephemeral GX context with one query asset per suite and run them all as one checkpoint."""
    no_gx_telemetry()
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.datasource.fluent.sql_datasource import GxDatasourceWarning

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)  # tqdm bars only clutter task logs
    with warnings.catch_warnings():
        # add_sql, not add_postgres: GX's Postgres URL validator rejects socket URLs (host in the query
        # string, as the embedded server uses); the generic SQL datasource runs the same dialect.
        warnings.simplefilter("ignore", GxDatasourceWarning)
        sa_url = warehouse.sqlalchemy_url(url)
        datasource = context.data_sources.add_sql(
            "warehouse",
            connection_string=sa_url,
            # Each slice is materialised once as a session temp table, server-side. Without it GX learns a
            # query asset's columns by executing the bare query, which fetches the whole slice to the client.
            create_temp_table=True,
        )
    definitions = []
    tables_by_suite: dict[str, str] = {}
    position: dict[str, int] = {}  # expectation id -> place in its suite file, to report in file order
    for spec in specs:
        asset = datasource.add_query_asset(spec.table, query=_slice_query(schema, spec, run_date))
        batch = asset.add_batch_definition_whole_table(spec.table)
        suite = context.suites.add(build_gx_suite(spec))
        position.update({exp.id: i for i, exp in enumerate(suite.expectations)})
        definition = gx.ValidationDefinition(name=spec.name, data=batch, suite=suite)
        definitions.append(context.validation_definitions.add(definition))
        tables_by_suite[spec.name] = f"{schema}.{spec.table}"
    actions = []
    if docs_dir is not None:
        context.add_data_docs_site("reports", _docs_site(docs_dir))
        actions.append(gx.checkpoint.UpdateDataDocsAction(name="data_docs", site_names=["reports"]))
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=f"{name}_{run_date.isoformat()}",
            validation_definitions=definitions,
            actions=actions,
            result_format="SUMMARY",
        )
    )
    try:
        result = checkpoint.run()
    finally:
        datasource.get_engine().dispose()
    outcomes = []
    for validation in result.run_results.values():
        suite_name = validation.suite_name
        outcomes += outcomes_from_validation(suite_name, tables_by_suite[suite_name], validation, position)
    # The full GX record (expectation configs with our meta, results, exception details), JSON-ready.
    serialised = {
        "name": result.name,
        "run_id": str(result.run_id),
        "gx_success": result.success,  # GX fails on any unmet expectation, warnings included
        "validation_results": [v.to_json_dict() for v in result.run_results.values()],
    }
    return serialised, outcomes
