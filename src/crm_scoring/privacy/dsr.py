"""The outcome of every data-subject request of `dsr_requests.csv` (PS-08), one row in `ops.dsr_outcomes`.

The file carries three request types (contract.DSR_REQUEST_TYPE). Only `erasure` is carried out by the
platform (erasure.py). `access` and `restriction` are not silently kept: each is recorded as
`rejected` with the reason and what the data-protection officer has to do instead, so no request of
the file is left without an answer in `ops`:

- access (GDPR art. 15): the platform holds copies and derivations of the source CRM's data (scores,
  list entries, enrichment); the answer is compiled from the CRM, the system of record, by the DPO,
  who can add the platform's derived rows on request. Automating the answer here would create a
  second copy of the person's data in a file nobody tracks.
- restriction (GDPR art. 18): the platform cannot mark a customer "restricted" without a source to
  recompute it from on every rerun; the CRM records the restriction as a withdrawn `profiling` consent
  (no scoring, ranking or reason codes, PS-12) and a withdrawn `service`/`any` consent (nobody may
  contact them, PS-07), both of which every night honours from `consents.csv`.

An erasure request is `erased` (or `already erased`); the row names no customer (the request id
links back to the CRM's ticket). Idempotent: a rerun of the date keeps the first decision.
"""

from __future__ import annotations

import logging
from datetime import date

import psycopg

from crm_scoring.privacy import schema

log = logging.getLogger(__name__)


ERASED, ALREADY_ERASED, REJECTED = "erased", "already erased", "rejected"
REJECTION_REASONS = {
    "access": (
        "not automated by the platform: an access request (GDPR art. 15) is answered by the DPO from the"
        " source CRM (the system of record); the platform holds only copies and derivations of that data"
        " (scores, list entries, enrichment), which the DPO adds on request"
    ),
    "restriction": (
        "not automated by the platform: record the restriction (GDPR art. 18) in the source CRM as a"
        " withdrawn 'profiling' consent (no scoring, ranking or reason codes, PS-12) and a withdrawn"
        " 'service'/'any' consent (no contact, PS-07); consents.csv carries both and every night honours them"
    ),
}


def record_erasures(
    conn: psycopg.Connection, export_date: date, done: list[tuple[str, object, bool]]
) -> None:
    """Outcome rows of the export's erasure requests: (request_id, requested_at, already erased)."""
    schema.ensure(conn)
    for request_id, requested_at, already in done:
        if request_id is None:
            continue
        conn.execute(
            "insert into ops.dsr_outcomes (request_id, request_type, export_date, requested_at, outcome)"
            " values (%s, 'erasure', %s, %s, %s) on conflict (request_id) do nothing",
            (request_id, export_date, requested_at, ALREADY_ERASED if already else ERASED),
        )


def reject_unsupported(conn: psycopg.Connection, export_date: date) -> dict[str, int]:
    """Record every non-erasure request of the export as rejected with its reason; counts per type."""
    if conn.execute("select to_regclass('raw.dsr_requests') is null").fetchone()[0]:
        return {}
    schema.ensure(conn)
    counts: dict[str, int] = {}
    for request_type, reason in REJECTION_REASONS.items():
        n = conn.execute(
            """
            insert into ops.dsr_outcomes
                   (request_id, request_type, export_date, requested_at, outcome, reason)
            select distinct on (request_id) request_id, request_type, _export_date, requested_at, %s, %s
              from raw.dsr_requests
             where _export_date = %s and request_type = %s
             order by request_id
            on conflict (request_id) do nothing
            """,
            (REJECTED, reason, export_date, request_type),
        ).rowcount
        if n:
            counts[request_type] = n
            log.warning("PS-08: %d %s request(s) of %s rejected: %s", n, request_type, export_date, reason)
    return counts
