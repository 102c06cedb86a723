"""`crm report`: render the morning report of a run date (the nightly DAG does the same after publishing)."""

from __future__ import annotations

import webbrowser
from datetime import date
from pathlib import Path

import click

from crm_scoring.cli_types import DATE


@click.command("report")
@click.option("--date", "run_date", type=DATE, required=True, help="Run date of the report.")
@click.option("--open", "open_it", is_flag=True, help="Open the rendered report in the default browser.")
@click.option(
    "--screenshot",
    type=click.Path(path_type=Path),
    default=None,
    help="Also open it in headless Chromium and save a full-page PNG there (checks every image loaded).",
)
@click.option("--no-store", is_flag=True, help="Write the file only, not the ops.daily_reports row.")
def report_command(run_date: date, open_it: bool, screenshot: Path | None, no_store: bool) -> None:
    """Render the self-contained HTML report of DATE to .crm/reports/daily/DATE.html and store it in
    ops.daily_reports; sections whose marts have no rows for DATE say "not measured"."""
    from crm_scoring.report import render_report

    result = render_report(run_date, store_in_warehouse=not no_store)
    click.echo(
        f"report {run_date}: {result.path} ({result.bytes:,} bytes, sha256 {result.sha256[:12]}, "
        f"{result.missing_panels} panels not measured)"
    )
    if screenshot is not None:
        from crm_scoring.report.browser import BrowserError, inspect

        try:
            check = inspect(result.path, screenshot)
        except BrowserError as exc:
            raise click.ClickException(str(exc)) from exc
        if check.broken_images:
            raise click.ClickException(f"images that did not load: {check.broken_images}")
        click.echo(f"screenshot: {screenshot} ({check.width}x{check.height}, {len(check.images)} images)")
    if open_it:
        webbrowser.open(result.path.resolve().as_uri())
