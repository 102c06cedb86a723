"""`crm lists ...`: the published retention and compensation lists, for CRM teams."""

from __future__ import annotations

from datetime import date
from pathlib import Path

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


@lists_group.command("export")
@click.option("--date", "run_date", type=DATE, required=True)
@click.option("--list", "list_name", type=click.Choice(["retention", "compensation"]), required=True)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "parquet", "xlsx"]), default="csv", show_default=True
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--include-holdout", is_flag=True, help="Also export CH-08 hold-out rows (never for contact).")
def lists_export(run_date: date, list_name: str, fmt: str, out: Path, include_holdout: bool) -> None:
    """Write the published LIST of DATE to OUT with the warehouse's types (hold-outs excluded).

    Parquet keeps dates, integers, decimals, doubles, booleans and timestamps; XLSX has typed cells, a
    frozen header and a `columns` sheet from the dbt docs; CSV is UTF-8 with ISO dates and a dot decimal.
    """
    from crm_scoring.lists.export import export_list

    result = export_list(run_date, list_name, fmt, out, include_holdout)
    click.echo(f"{result.rows} rows -> {result.path} (sha256 {result.sha256}, audit #{result.export_id})")


_PASSWORD = click.option(
    "--password", default=None, help="Password of the new login (default: generated, printed once)."
)


def _grant(name: str, password: str | None, group: str, can: str) -> None:
    """Create login NAME as a member of `group`; the generated password is printed once, here."""
    from crm_scoring import warehouse
    from crm_scoring.lists.roles import grant_login

    secret = grant_login(warehouse.warehouse_url(), name, group, password)
    click.echo(f"login {name} (member of {group}) {can}")
    if password is None:
        click.echo(f"password: {secret}")


@click.command("grant-reader")
@click.argument("name")
@_PASSWORD
def grant_reader_command(name: str, password: str | None) -> None:
    """Create read-only login NAME that can read the lists schema and nothing else."""
    from crm_scoring.lists.roles import READER_GROUP

    _grant(name, password, READER_GROUP, "can read schema lists")


@click.command("grant-operator")
@click.argument("name")
@_PASSWORD
def grant_operator_command(name: str, password: str | None) -> None:
    """Create CRM-operator login NAME: reads and exports the lists (audited), no raw data or marts."""
    from crm_scoring.lists.roles import OPERATOR_GROUP

    _grant(name, password, OPERATOR_GROUP, "can read and export schema lists")


@click.command("init-roles")
@click.option(
    "--app-password",
    default=None,
    help="Password of the runtime login (default: generated when it is created, printed once).",
)
def init_roles_command(app_password: str | None) -> None:
    """Apply the least-privilege role model (docker/init-warehouse.sql) to this warehouse.

    Run it with an admin URL (the embedded server's superuser, a managed server's admin): roles
    crm_owner (owns the database and the pipeline schemas), crm_app (the runtime user, owns no schema),
    crm_list_reader and crm_list_operator. Prints the URL to put in CRM_WAREHOUSE_URL afterwards."""
    from crm_scoring import warehouse
    from crm_scoring.lists.roles import apply_role_model

    url = apply_role_model(warehouse.warehouse_url(), app_password)
    click.echo(f"role model applied; runtime URL: {warehouse.redact(url) if app_password else url}")
