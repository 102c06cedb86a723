"""`crm policy ...`: the policy profile in use, starter defaults, rules that are off, band evidence."""

from __future__ import annotations

from datetime import date

import click

from crm_scoring.cli_types import DATE


@click.group("policy")
def policy_group() -> None:
    """Policy profile (starter / strict), starter defaults and why rules are off."""


@policy_group.command("status")
@click.option("--date", "run_date", type=DATE, default=None, help="Run date (default: the latest run).")
def policy_status(run_date: date | None) -> None:
    """Print the starter defaults in use, the rules needing each, and the rules that are off and why."""
    from crm_scoring.policy.status import NoRunError, load_status, render

    try:
        click.echo(render(load_status(run_date)))
    except NoRunError as exc:
        raise click.ClickException(str(exc)) from exc


@policy_group.command("bands")
@click.option("--date", "run_date", type=DATE, default=None, help="Training data up to DATE.")
@click.option("--high", type=float, required=True, help="Candidate churn_band_high_min.")
@click.option("--medium", type=float, required=True, help="Candidate churn_band_medium_min.")
def policy_bands(run_date: date | None, high: float, medium: float) -> None:
    """Calibration and lift of the champion on its out-of-time holdout, per CH-05 band threshold."""
    from crm_scoring import warehouse
    from crm_scoring.policy.bands import band_report, render

    if not 0 < medium < high < 1:
        raise click.BadParameter("need 0 < --medium < --high < 1")
    click.echo(render(band_report(warehouse.warehouse_url(), run_date, high, medium)))
