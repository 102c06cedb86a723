"""`crm privacy ...`: erasure on request (PS-08) and the retention purge (PS-09) by hand."""

from __future__ import annotations

from datetime import date

import click

from crm_scoring.cli_types import DATE


@click.group("privacy")
def privacy_group() -> None:
    """Data-subject erasure, retention and the login audit (PS-08, PS-09, PS-04)."""


@privacy_group.command("erase")
@click.option("--customer", "customers", multiple=True, required=True, help="customer_id (repeatable).")
@click.option("--request-id", default=None, help="The DSR ticket this erasure answers (audited).")
def erase_command(customers: tuple[str, ...], request_id: str | None) -> None:
    """Erase CUSTOMER everywhere the platform keeps them; keeps the ledger under a pseudonym.

    Needs CRM_PSEUDONYM_KEY in the environment. Audited in ops.erasures; idempotent."""
    from crm_scoring import warehouse
    from crm_scoring.privacy.erasure import ErasureRequest, erase

    results = erase(
        [ErasureRequest(c, request_id, None, source="crm privacy erase") for c in customers],
        warehouse.warehouse_url(),
    )
    for r in results:
        if r.already_erased:
            click.echo(f"{r.pseudonym}: already erased")
        else:
            total = sum(v for k, v in r.rows_affected.items() if not k.startswith("ledger"))
            click.echo(f"{r.pseudonym}: {total} rows erased or anonymised in {len(r.rows_affected)} tables")
            for f in r.exported_files:  # GDPR art. 19: copies already handed out
                click.echo(f"  exported {f['format']} #{f['export_id']} by {f['exported_by']}: {f['action']}"
                           f" ({f['file']})")  # fmt: skip


@privacy_group.command("purge")
@click.option("--date", "run_date", type=DATE, required=True)
def purge_command(run_date: date) -> None:
    """Apply the text and emotion-feature retention periods in force on DATE (the nightly step)."""
    from crm_scoring import warehouse
    from crm_scoring.privacy.retention import purge

    with warehouse.connect() as conn:
        for target, n in purge(conn, run_date).items():
            click.echo(f"{target:45} {n}")


@privacy_group.command("logins")
@click.option("--date", "run_date", type=DATE, default=None, help="The run date the read is filed under.")
def logins_command(run_date: date | None) -> None:
    """Read the server's connection log into ops.logins: every reader and operator login (PS-04).

    The nightly does this after each load. Idempotent: a login already recorded is not added again.
    When the server does not log connections as CSV, or this user may not read its log, the read is
    recorded in ops.login_log_reads as skipped with what to change, and the command exits 1."""
    from crm_scoring import warehouse
    from crm_scoring.privacy.logins import ingest

    with warehouse.connect() as conn:
        read = ingest(conn, run_date)
    click.echo(
        f"{read.status}: {read.files_read} log files, {read.lines_read} lines, {read.logins_added} new logins"
    )
    if read.reason:
        click.echo(f"  {read.reason}")
    if read.status == "skipped":
        raise SystemExit(1)
