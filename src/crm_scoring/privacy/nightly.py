"""The privacy step that follows every load of an export date (PS-08, PS-09).

Run right after the loader, before anything reads the new raw rows, so no later stage ever sees an
erased customer or an expired text:

1. the export's erasure requests (raw.dsr_requests) are read;
2. rows of erased customers and of those requests in this export go to quarantine ("erased");
3. the requests are applied to everything loaded earlier (erasure.erase);
4. every request of the export gets its outcome in `ops.dsr_outcomes` (dsr.py): erasures `erased`,
   access and restriction requests `rejected` with the reason and what the DPO does instead;
5. the retention periods in force on the date are applied (`purge=False` skips it, e.g. for the
   history loads of the training DAG, whose nightly twin purges anyway);
6. the server's connection log is read into `ops.logins` (PS-04, logins.py: every reader and operator
   login, even one that read nothing), or `ops.login_log_reads` records why it could not be (also
   skipped with `purge=False`: the nightly of the date reads it).

Each part is idempotent, so a rerun of the date (or of this step) changes nothing more.
"""

from __future__ import annotations

from datetime import date

from crm_scoring import warehouse


def after_load(url: str, export_date: date, purge: bool = True) -> dict:
    from crm_scoring.privacy import dsr, erasure, logins, retention, schema

    with warehouse.connect(url) as conn:
        schema.ensure(conn)
        requests = erasure.pending_requests(conn, export_date)
        quarantined = erasure.quarantine_erased(conn, export_date, [r.customer_id for r in requests])
    erased = erasure.erase(requests, url)
    asked = {r.request_id: r.requested_at for r in requests}
    with warehouse.connect(url) as conn:
        dsr.record_erasures(conn, export_date, [(r.request_id, asked.get(r.request_id), r.already_erased)
                                                for r in erased])  # fmt: skip
        rejected = dsr.reject_unsupported(conn, export_date)
    purged: dict[str, int] = {}
    read = None
    if purge:
        with warehouse.connect(url) as conn:
            purged = retention.purge(conn, export_date)
        with warehouse.connect(url) as conn:
            read = logins.ingest(conn, export_date)
    return {
        "erased_rows_quarantined": quarantined,
        "erasures": [r.pseudonym for r in erased if not r.already_erased],
        "dsr_rejected": rejected,
        "retention_purged": purged,
        "logins": None if read is None else {"status": read.status, "added": read.logins_added},
    }
