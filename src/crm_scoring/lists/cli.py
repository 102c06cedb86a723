"""`crm lists ...`: the published retention and compensation lists, for CRM teams."""

from __future__ import annotations

from datetime import date

import click

from crm_scoring.cli_types import DATE


@click.group("lists")
def lists_group() -> None:
    """The published retention and compensation lists."""


@lists_group.command("show")
@click.option("--date", "run_date", type=DATE, required=True)
@click.option("--limit", type=int, default=10, show_default=True)
def lists_show(run_date: date, limit: int) -> None:
    """Print the size of each list by rule and its top rows for DATE."""
    from crm_scoring.lists.show import render

    click.echo(render(run_date, limit))
