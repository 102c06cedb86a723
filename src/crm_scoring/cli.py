"""`crm`: the one command data engineers, ML engineers and CRM teams use.

Every sub-command resolves the warehouse the same way (CRM_WAREHOUSE_URL, else the embedded
PostgreSQL in .crm/), so `psql "$(crm warehouse url)"` and the DAGs always see the same data.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import click

from crm_scoring import settings, warehouse
from crm_scoring.cli_types import DATE


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("alembic", "urllib3", "matplotlib", "great_expectations"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@click.option(
    "--policy-profile",
    type=click.Choice(["starter", "strict"]),
    default=None,
    help="starter: labelled starter defaults fill the unset [U] thresholds (default); strict: they count "
    "as unset and their rules stay off. Sets CRM_POLICY_PROFILE for dbt and the DAGs.",
)
def main(verbose: bool, policy_profile: str | None) -> None:
    """Nightly CRM scoring: ingest, marts, churn scores, retention and compensation lists."""
    _setup_logging(verbose)
    if policy_profile:
        # dbt reads it (macro policy_profile), and Airflow / cosmos tasks inherit the environment
        os.environ["CRM_POLICY_PROFILE"] = policy_profile
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


@main.command("demo-data")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None, help="Landing root.")
@click.option("--start", type=DATE, required=True, help="First export date (holds the history backfill).")
@click.option("--end", type=DATE, required=True, help="Last export date.")
@click.option("--customers", type=int, default=5000, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--history-days", type=int, default=540, show_default=True)
@click.option(
    "--outage-start", type=DATE, default=None, help="Outage start date (default: 3 days before --end)."
)
def demo_data(
    out_dir: Path | None,
    start: date,
    end: date,
    customers: int,
    seed: int,
    history_days: int,
    outage_start: date | None,
) -> None:
    """Write deterministic demo landing folders (one per date) in the landing contract's format."""
    from crm_scoring.demo import generate

    if end < start:
        raise click.BadParameter("--end is before --start")
    folders = generate(
        out_dir or settings.landing_dir(),
        start,
        end,
        customers,
        seed,
        history_days=history_days,
        outage_start=outage_start,
    )
    click.echo(f"wrote {len(folders)} landing folders under {out_dir or settings.landing_dir()}")


@main.group("demo")
def demo_group() -> None:
    """The demo CRM: earlier nights in process, lists worked by the CRM, and their measured outcomes."""


@demo_group.command("nightly")
@click.option("--date", "run_date", type=DATE, required=True)
@click.option("--force", is_flag=True, help="Run even when the lists of DATE are already published.")
def demo_nightly(run_date: date, force: bool) -> None:
    """Run the crm_nightly steps for DATE in this process (no Airflow): an earlier night for the demo.

    The demo's earlier night happens once: when DATE's lists are already published (a second `make
    run`) it is skipped, so the executed contacts keep referring to the same list.
    """
    from crm_scoring.demo.replay import is_published, nightly_in_process

    if not force and is_published(run_date):
        click.echo(f"nightly {run_date}: lists already published, skipped (--force to run it again)")
        return
    out = nightly_in_process(run_date)
    click.echo(f"nightly {run_date} (in process): published {out['publish_lists']}")


@demo_group.command("execute-lists")
@click.option("--date", "list_date", type=DATE, required=True, help="Run date of the published lists.")
@click.option("--landing", type=click.Path(path_type=Path), default=None, help="Landing root.")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--no-reload", is_flag=True, help="Do not reload touched folders the warehouse already loaded.")
def demo_execute_lists(list_date: date, landing: Path | None, seed: int, no_reload: bool) -> None:
    """The CRM works the lists published for DATE: contacts, notices, grants and the planted effects
    go into the following landing folders (hold-outs never contacted; re-running rewrites the same rows)."""
    from crm_scoring.demo.execute import execute_lists

    result = execute_lists(list_date, landing, seed=seed, reload=not no_reload)
    click.echo(result.summary())


@demo_group.command("crisis-replay")
@click.option("--start", type=DATE, default=date(2026, 9, 1), show_default=True, help="First night.")
@click.option("--nights", type=int, default=37, show_default=True, help="Consecutive nights to run.")
@click.option("--outage-night", type=int, default=0, show_default=True, help="Night the outage starts.")
@click.option("--customers", type=int, default=5000, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--report/--no-report", default=True, show_default=True, help="Render the last night's report.")
def demo_crisis_replay(
    start: date, nights: int, outage_night: int, customers: int, seed: int, report: bool
) -> None:
    """Run NIGHTS demo nights in a row across a crisis, publishing and working the lists each night, so
    the RP-03 scoreboard's list-based KPIs have data; prints the last night's scoreboard.

    Keeps its own landing, MLflow and reports (.crm/crisis-replay/) and database (crm_crisis_replay);
    published nights are skipped, so a rerun resumes.
    """
    from crm_scoring.demo import crisis_replay as cr
    from crm_scoring.orchestration.training import ensure_champion_through

    plan = cr.ReplayPlan(start, nights, outage_night, customers, seed)
    root = settings.state_dir() / "crisis-replay"
    url = cr.replay_database(warehouse.warehouse_url())
    with cr.isolated(root, url):
        cr.ensure_landing(plan, settings.landing_dir())
        ensure_champion_through(url, plan.start)
        result = cr.replay(plan, settings.landing_dir(), url)
        click.echo(cr.render_scoreboard(plan.end, cr.scoreboard(plan.end, url)))
        if report:
            from crm_scoring.report import render_report

            click.echo(f"report: {render_report(plan.end).path}")
    click.echo(
        f"{len(result.seconds)} nights in {result.total_seconds:.0f} s"
        f" ({len(result.skipped)} already published); warehouse: {warehouse.redact(url)}"
    )


@demo_group.command("outcomes")
@click.option("--date", "run_date", type=DATE, required=True)
def demo_outcomes(run_date: date) -> None:
    """Print marts.list_outcomes for DATE: each rule's reactivation uplift and interval (RP-15)."""
    from crm_scoring.demo.replay import render_outcomes

    click.echo(render_outcomes(run_date))


@main.command()
@click.option("--date", "run_date", type=DATE, required=True)
def run(run_date: date) -> None:
    """Run the crm_nightly DAG for DATE on an Airflow scheduler and wait; non-zero exit on failure.

    Uses the scheduler of this AIRFLOW_HOME when one is running (`make airflow-ui`), else starts
    one (LocalExecutor) for the length of the run. Each call is a new run in Airflow's history.
    """
    _run_dag("crm_nightly", run_date)


def _run_dag(dag_id: str, run_date: date) -> None:
    from crm_scoring.orchestration.airflow_runner import run_dag

    try:
        result = run_dag(dag_id, run_date.isoformat(), warehouse.warehouse_url())
    except RuntimeError as exc:
        raise click.ClickException(f"{dag_id} for {run_date} did not run: {exc}") from exc
    except KeyboardInterrupt:
        click.echo(f"{dag_id} for {run_date} interrupted; its run is kept as failed", err=True)
        sys.exit(130)
    if not result.success:
        click.echo(f"{dag_id} FAILED for {run_date} (run {result.run_id or '-'})", err=True)
        for task_id, reason in result.failures:
            click.echo(f"  failed task {task_id}: {reason}", err=True)
        click.echo(f"full log: {result.log_path}", err=True)
        sys.exit(1)
    click.echo(f"{dag_id} succeeded for {run_date} (run {result.run_id}); full log: {result.log_path}")


@main.command()
@click.option("--date", "run_date", type=DATE, required=True)
@click.option("--seed", type=int, default=42, show_default=True, help="Seed of the model search.")
@click.option("--via-airflow", is_flag=True, help="Run the churn_training DAG instead of the direct path.")
def train(run_date: date, seed: int, via_airflow: bool) -> None:
    """Train the churn model on the data available up to DATE, log it to MLflow and register it."""
    if via_airflow:
        _run_dag("churn_training", run_date)
        return
    from crm_scoring.orchestration.training import train_through

    result = train_through(warehouse.warehouse_url(), run_date, seed=seed)
    click.echo(f"trained run {result.run_id}: model version {result.version}, metrics {result.metrics}")


@main.command()
@click.option("--date", "run_date", type=DATE, required=True)
def ingest(run_date: date) -> None:
    """Load one landing folder into the raw schema (what the DAG's first task does)."""
    from crm_scoring.ingest import load_export_date
    from crm_scoring.privacy.nightly import after_load

    url = warehouse.warehouse_url()
    result = load_export_date(url, settings.landing_dir(), run_date)
    privacy = after_load(url, run_date)  # PS-08 / PS-09, as the DAG's ingest task does
    for f in result.files:
        click.echo(
            f"{f.table:28} {f.status:8} read={f.rows_read} loaded={f.rows_loaded} "
            f"quarantined={f.rows_quarantined}"
        )
    click.echo(f"privacy: {privacy}")


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--date", "run_date", type=DATE, default=None, help="The run date (as CRM_RUN_DATE).")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def dbt(run_date: date | None, args: tuple[str, ...]) -> None:
    """Run dbt against the warehouse in use, e.g. `crm dbt --date 2026-11-26 build -s customer_value`."""
    from crm_scoring import dbt_invoke

    try:
        dbt_invoke.invoke(list(args), warehouse.warehouse_url(), run_date)
    except dbt_invoke.DbtError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def airflow(args: tuple[str, ...]) -> None:
    """Run the airflow CLI with the platform's environment, e.g. `crm airflow standalone`."""
    from crm_scoring.orchestration.airflow_runner import airflow_bin, ensure_airflow_db
    from crm_scoring.orchestration.environment import platform_env

    env = platform_env(warehouse.warehouse_url())
    ensure_airflow_db(env)
    sys.exit(subprocess.call([airflow_bin(), *args], env=env))


@main.group("warehouse")
def warehouse_group() -> None:
    """The PostgreSQL warehouse in use."""


@warehouse_group.command("url")
def warehouse_url_cmd() -> None:
    """Print the connection URL, for `psql "$(crm warehouse url)"`."""
    click.echo(warehouse.warehouse_url())


@main.command()
@click.option("--customers", type=int, default=int(os.environ.get("BENCH_CUSTOMERS", "100000")))
@click.option("--out", "out_json", type=click.Path(path_type=Path), default=None)
@click.option(
    "--landing",
    type=click.Path(path_type=Path),
    default=lambda: os.environ.get("BENCH_LANDING") or None,
    help="Keep the generated export here; when it already holds every date, generation is skipped.",
)
@click.option(
    "--train-customers",
    type=int,
    default=lambda: int(os.environ.get("BENCH_TRAIN_CUSTOMERS", "100000")),
    show_default="100000",
    help="Train on the first N customers (whole 50,000-customer generator chunks) when fewer than all.",
)
@click.option(
    "--nights",
    type=int,
    default=lambda: int(os.environ.get("BENCH_NIGHTS", "1")),
    show_default="1",
    help="Nightly dates to run; the database size is reported after the last, and from 3 on what"
    " differs between the last two nights.",
)
@click.option(
    "--scoring-only",
    is_flag=True,
    help="Only scoring at CUSTOMERS rows (synthetic features): floor, bulk, the two reason steps, naive.",
)
@click.option("--floor-only", is_flag=True, help="With --scoring-only: the floor and the bulk path only.")
@click.option(
    "--candidate-share",
    type=float,
    default=0.39,
    show_default=True,
    help="With --scoring-only: the share of customers in the synthetic candidates table.",
)
@click.option("--skip-naive", is_flag=True, help="With --scoring-only: leave out the naive pandas path.")
@click.option(
    "--champion-store",
    type=click.Path(path_type=Path),
    default=lambda: os.environ.get("BENCH_CHAMPION_STORE") or None,
    help="MLflow store folder: train into it once, then reuse its @champion (training skipped).",
)
@click.option(
    "--keep", is_flag=True, help="Keep the bench database (for EXPLAIN, sizes) instead of dropping it."
)
def bench(
    customers: int,
    out_json: Path | None,
    landing: Path | None,
    train_customers: int,
    nights: int,
    scoring_only: bool,
    floor_only: bool,
    candidate_share: float,
    skip_naive: bool,
    champion_store: Path | None,
    keep: bool,
) -> None:
    """Time every stage of the nightly pipeline on a generated dataset (see `make bench`)."""
    from crm_scoring.bench import run_bench, run_scoring_bench

    if scoring_only:
        run_scoring_bench(customers, out_json, candidate_share, floor_only=floor_only, skip_naive=skip_naive)
        return
    run_bench(
        customers,
        out_json,
        keep,
        landing=landing,
        train_customers=train_customers,
        nights=nights,
        champion_store=champion_store,
    )


@main.group("evaluate")
def evaluate_group() -> None:
    """Benchmarks of the churn model on real data."""


def _benchmark_options(command: Callable[..., None]) -> Callable[..., None]:
    """--out, --seed and --dump-frames, shared by `crm evaluate real` and `crm evaluate log`."""
    for option in reversed(
        (
            click.option("--out", "out_json", type=click.Path(path_type=Path), default=None),
            click.option("--seed", type=int, default=42, show_default=True),
            click.option(
                "--dump-frames",
                "dump_dir",
                type=click.Path(path_type=Path),
                default=None,
                help="Also write the training set and the labelled features as of each date as Parquet.",
            ),
        )
    ):
        command = option(command)
    return command


@evaluate_group.command("real")
@click.option(
    "--as-of",
    "as_of",
    type=DATE,
    multiple=True,
    help="As-of date (repeatable; <= 1997-06-30). Default: 3 dates.",
)
@click.option(
    "--sample", is_flag=True, help="The 1/10 CDNOW sample (2,357 customers) instead of the full log."
)
@_benchmark_options
def evaluate_real(
    as_of: tuple[date, ...], sample: bool, out_json: Path | None, seed: int, dump_dir: Path | None
) -> None:
    """Whole platform on the CDNOW log vs RFM logistic regression and recency (see `make bench-real`)."""
    from crm_scoring.benchmark.real import DEFAULT_AS_OF, run_bench_real

    run_bench_real(
        tuple(as_of) or DEFAULT_AS_OF,
        variant="sample" if sample else "full",
        out_json=out_json,
        seed=seed,
        dump_dir=dump_dir,
    )


@evaluate_group.command("log")
@click.argument("orders", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--customer-col", default="customer_id", show_default=True, help="Column of the customer id.")
@click.option("--date-col", default="order_date", show_default=True, help="Column of the purchase date.")
@click.option("--amount-col", default="amount", show_default=True, help="Column of the amount paid.")
@click.option(
    "--order-col",
    default=None,
    help="Column of the order / invoice id: its rows (line items) make one order (default: one per row).",
)
@click.option(
    "--quantity-col",
    default=None,
    help="Column of the quantity: a row is worth quantity x --amount-col (a unit price), as in "
    "invoice-line exports without a line total (UCI Online Retail: --quantity-col Quantity "
    "--amount-col Price).",
)
@click.option("--date-format", default=None, help="strptime format of the dates (default: inferred).")
@click.option("--sep", default=",", show_default=True, help="Field separator (CSV).")
@click.option(
    "--encoding",
    default="utf-8-sig",
    show_default=True,
    help="Text encoding of a CSV (latin-1 or cp1252 for many spreadsheet exports).",
)
@click.option(
    "--sheet",
    "sheets",
    multiple=True,
    help="Sheet of an Excel workbook (.xlsx) to read (repeatable; default: every sheet, one header).",
)
@click.option(
    "--quarantine",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write bad rows (line, reason, row) to this CSV and go on without them (default: stop on them).",
)
@click.option(
    "--as-of",
    "as_of",
    type=DATE,
    multiple=True,
    help="As-of date (repeatable). Default: the latest whose label window the log covers.",
)
@_benchmark_options
def evaluate_log(
    orders: Path,
    as_of: tuple[date, ...],
    out_json: Path | None,
    seed: int,
    dump_dir: Path | None,
    **reading: Any,
) -> None:
    """Whole platform on your own transaction log (a CSV or an Excel workbook, one row per purchase or
    order line) vs RFM logistic regression and recency, with the protocol of `crm evaluate real`."""
    from crm_scoring.benchmark import translog
    from crm_scoring.benchmark.real import AsOfError, run_bench_log

    try:
        # `reading`: the column names, --date-format, --sep, --encoding, --sheet and --quarantine, as load_log
        # names them
        tx = translog.load_log(orders, **reading)
        run_bench_log(tx, tuple(as_of), out_json=out_json, seed=seed, dump_dir=dump_dir)
    except (translog.TransactionLogError, AsOfError) as exc:
        raise click.ClickException(str(exc)) from exc


@main.command("generate")
@click.option("--check", is_flag=True, help="Only report generated files that are stale (exit 1 if any).")
def generate_command(check: bool) -> None:
    """Regenerate what is written once elsewhere: GX raw suites, raw dbt sources and
    docs/landing_contract.md (from contract.py), the redact_text macro (from enrich/redact.py),
    docs/rules.md (rule catalogue)."""
    from crm_scoring.codegen import generate

    stale = generate(check=check)
    for rel in stale:
        click.echo(f"{'stale' if check else 'wrote'}: {rel}")
    if check and stale:
        raise SystemExit(1)
    if not stale:
        click.echo("generated files are up to date")


def _register_groups() -> None:
    """Commands owned by their packages: `crm model|lists|policy|privacy ...`, `crm report`."""
    from crm_scoring.lists.cli import (
        grant_operator_command,
        grant_reader_command,
        init_roles_command,
        lists_group,
    )
    from crm_scoring.model.cli import model_group
    from crm_scoring.policy.cli import policy_group
    from crm_scoring.privacy.cli import privacy_group
    from crm_scoring.report.cli import report_command

    main.add_command(model_group)
    main.add_command(lists_group)
    main.add_command(policy_group)
    main.add_command(privacy_group)
    main.add_command(report_command)
    warehouse_group.add_command(grant_reader_command)
    warehouse_group.add_command(grant_operator_command)
    warehouse_group.add_command(init_roles_command)


_register_groups()

if __name__ == "__main__":
    main()
