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
