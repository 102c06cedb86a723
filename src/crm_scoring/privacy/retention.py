"""Retention of free texts and emotion features (PS-09), purged nightly relative to the run date.

Policy parameters (policy_parameters.csv, starter defaults; unset = no purge for that kind):

- `text_retention_days`: ticket texts (raw.tickets.text, by created_at) and survey comments
  (raw.surveys.comment, by responded_at else sent_at) older than the cutoff are nulled, with the
  redacted copies in enrichment.text_sentiment and in the tickets' and surveys' latest versions (dbt's
  int_complaints__tickets_latest, int_feedback__surveys_latest) and the text fields of their
  quarantined records;
- `emotion_feature_retention_days`: enrichment.text_sentiment rows (polarity, emotion, triage, keyword
  flags) of texts older than the cutoff are deleted. The nightly enrichment also drops the features of
  a text that was purged, so emotion features never outlive their text.

The cutoff is `run_date - N days` at 00:00 UTC (never today's clock), so a rerun purges the same rows.
Every purge is set-based and recorded in ops.retention_purges (rows per target and night).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta

import psycopg

from crm_scoring.privacy import schema

log = logging.getLogger(__name__)

TEXT_PARAM = "text_retention_days"
EMOTION_PARAM = "emotion_feature_retention_days"

# (target name, statement) per kind; %(cutoff)s is a timestamptz.
TEXT_PURGES = (
    (
        "raw.tickets.text",
        "update raw.tickets set text = null where text is not null and created_at < %(cutoff)s",
    ),
    (
        "raw.surveys.comment",
        'update raw.surveys set "comment" = null'
        ' where "comment" is not null and coalesce(responded_at, sent_at) < %(cutoff)s',
    ),
    (
        "enrichment.text_sentiment.redacted_text",
        "update enrichment.text_sentiment set redacted_text = null"
        " where redacted_text is not null and text_ts < %(cutoff)s",
    ),
    # the tickets' and surveys' latest versions (dbt, macro incremental_latest) carry the redacted copy;
    # a forward night never rewrites a key that was not exported again, so the purge reaches them here
    (
        "intermediate.int_complaints__tickets_latest.text_redacted",
        "update intermediate.int_complaints__tickets_latest set text_redacted = null"
        " where text_redacted is not null and created_at < %(cutoff)s",
    ),
    (
        "intermediate.int_feedback__surveys_latest.comment_redacted",
        "update intermediate.int_feedback__surveys_latest set comment_redacted = null"
        " where comment_redacted is not null and coalesce(responded_at, sent_at) < %(cutoff)s",
    ),
    (
        "ops.quarantine.text",
        "update ops.quarantine set raw_record = raw_record - 'text' - 'comment'"
        " where table_name in ('tickets', 'surveys') and (raw_record ? 'text' or raw_record ? 'comment')"
        " and export_date < %(cutoff)s::date",
    ),
)
EMOTION_PURGES = (
    (
        "enrichment.text_sentiment",
        "delete from enrichment.text_sentiment where text_ts < %(cutoff)s",
    ),
)


def cutoff(run_date: date, days: int) -> datetime:
    return datetime.combine(run_date - timedelta(days=days), time(0), tzinfo=UTC)


def _exists(conn: psycopg.Connection, target: str) -> bool:
    relation = ".".join(target.split(".")[:2])
    return conn.execute("select to_regclass(%s) is not null", (relation,)).fetchone()[0]


def purge(conn: psycopg.Connection, run_date: date) -> dict[str, int]:
    """Apply both retention periods in force on `run_date`; rows purged per target."""
    from crm_scoring.enrich.policy import parameter_values, retention_days

    schema.ensure(conn)
    params = parameter_values(conn, run_date)
    purged: dict[str, int] = {}
    for param, statements in ((TEXT_PARAM, TEXT_PURGES), (EMOTION_PARAM, EMOTION_PURGES)):
        days = retention_days(params, param, 0)
        if days is None:
            log.warning("PS-09: %s is unset: nothing purged for it on %s", param, run_date)
            continue
        limit = cutoff(run_date, days)
        for target, statement in statements:
            if not _exists(conn, target):
                continue
            n = conn.execute(statement, {"cutoff": limit}).rowcount
            conn.execute(
                "insert into ops.retention_purges (run_date, target, cutoff, rows_purged)"
                " values (%s, %s, %s, %s)"
                " on conflict (run_date, target) do update set rows_purged = ops.retention_purges.rows_purged"
                " + excluded.rows_purged, cutoff = excluded.cutoff, purged_at = now()",
                (run_date, target, limit, n),
            )
            purged[target] = n
    log.info("PS-09 retention purge for %s: %s", run_date, purged)
    return purged
