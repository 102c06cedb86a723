"""`crm model ...`: the churn model in MLflow, for ML engineers."""

from __future__ import annotations

from datetime import date

import click

from crm_scoring import warehouse
from crm_scoring.cli_types import DATE


@click.group("model")
def model_group() -> None:
    """The churn model in MLflow."""


@model_group.command("ensure-champion")
@click.option("--date", "run_date", type=DATE, required=True)
def ensure_champion(run_date: date) -> None:
    """Train and promote a first model when no @champion exists yet (used by `make run`)."""
    from crm_scoring.orchestration.training import ensure_champion_through

    version = ensure_champion_through(warehouse.warehouse_url(), run_date)
    click.echo(f"champion: churn version {version}")


def _fail(exc: Exception) -> None:
    raise click.ClickException(str(exc)) from exc


@model_group.command("promote")
@click.option("--version", "version", default=None, help="Version to promote (default: @challenger).")
@click.option(
    "--date",
    "run_date",
    type=DATE,
    default=None,
    help="Training-set build whose holdout the gate uses (default: the latest build in the mart).",
)
@click.option("--dry-run", is_flag=True, help="Run the gate and show the decision; change nothing.")
@click.option("--force", is_flag=True, help="Promote even when the gate rejects (recorded as forced).")
def promote_cmd(version: str | None, run_date: date | None, dry_run: bool, force: bool) -> None:
    """Gate a version against @champion on the same out-of-time holdout and promote it if it passes."""
    from crm_scoring.model.dataset import DatasetError
    from crm_scoring.model.promotion import PromotionError, promote

    try:
        out = promote(
            warehouse.warehouse_url(), version=version, run_date=run_date, dry_run=dry_run, force=force
        )
    except (PromotionError, DatasetError) as exc:
        _fail(exc)
    click.echo(out["summary"])
    gate = out["gate"]
    if dry_run:
        click.echo(f"dry run: would {'promote' if out['would_promote'] else 'not promote'}; nothing changed")
    elif out["promoted"]:
        forced = " (forced past the gate)" if out["forced"] else ""
        click.echo(
            f"@champion -> v{gate['challenger_version']}{forced} (previous: v{out['previous_champion']})"
        )
    else:
        raise click.ClickException(
            f"v{gate['challenger_version']} not promoted; decision recorded on the version "
            "(use --force to override)"
        )


@model_group.command("rollback")
@click.option("--to", "to", default=None, help="Version to restore (default: the previous champion).")
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
def rollback_cmd(to: str | None, dry_run: bool) -> None:
    """Point @champion back at the champion it replaced (recorded at promotion) or at --to VERSION."""
    from crm_scoring.model.promotion import PromotionError, rollback

    try:
        out = rollback(to=to, dry_run=dry_run)
    except PromotionError as exc:
        _fail(exc)
    verb = "would move" if dry_run else "moved"
    click.echo(f"@champion {verb} from v{out['from']} to v{out['to']}" + (" (dry run)" if dry_run else ""))


@model_group.command("status")
@click.option("--limit", type=int, default=10, show_default=True, help="Latest versions to show.")
def status_cmd(limit: int) -> None:
    """Aliases and the latest versions with their test metrics and gate decisions."""
    from crm_scoring.model.promotion import status

    out = status(limit)
    aliases = ", ".join(f"@{a} = v{v}" for a, v in sorted(out["aliases"].items())) or "(none)"
    click.echo(f"model {out['model_name']}: {aliases}")
    header = f"{'version':>7}  {'aliases':22} {'run_date':10} {'roc_auc':>8} {'ece':>7}  gate"
    click.echo(header)
    for row in out["versions"]:
        gate = row.get("gate_decision", "-")
        if row.get("gate_reasons") and gate not in ("promote", "-"):
            gate += f" ({row['gate_reasons']})"
        click.echo(
            f"{row['version']:>7}  {','.join(row['aliases']):22} {row.get('run_date', '-'):10} "
            f"{row.get('roc_auc', '-')[:8]:>8} {row.get('ece', '-')[:7]:>7}  {gate}"
        )


@model_group.command("backtest")
@click.option("--date", "run_date", type=DATE, required=True, help="Evaluate cutoffs matured by this date.")
@click.option("--force", is_flag=True, help="Re-evaluate (version, cutoff) pairs evaluated before.")
def backtest_cmd(run_date: date, force: bool) -> None:
    """CH-07 / AL-14: evaluate the champion that scored each matured night on its labels.

    Rows go to scoring.model_performance (dbt: marts.model_performance, AL-14 alerts) and MLflow
    experiment crm-churn-backtests. Run it before the night's dbt build so AL-14 fires that night.
    """
    from crm_scoring.model.backtest import backtest

    rows = backtest(warehouse.warehouse_url(), run_date, force=force)
    if not rows:
        click.echo("no matured scored night left to evaluate")
    for r in rows:
        drop = "" if r["reference_roc_auc"] is None else f" (trained at {r['reference_roc_auc']:.4f})"
        head = f"{r['model_name']} v{r['model_version']} scored {r['as_of_date']}"
        click.echo(
            f"{head}: roc_auc {r['roc_auc']:.4f}{drop}, ece {r['ece']:.4f}, "
            f"lift@{r['capacity_rows']} {r['lift_at_capacity']:.2f}, {r['rows_evaluated']} rows"
        )
