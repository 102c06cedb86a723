"""The small text corpus of the enrichment tests (test_enrich, test_enrich_model, test_privacy): two raw
tickets/surveys days with PII in English and Chinese, the loader into the contract's raw DDL, the
enrichment rows as a dict, and a forced policy table (to pass or fail the NLP gate)."""

from __future__ import annotations

import csv
from datetime import date

import psycopg

from crm_scoring import contract
from crm_scoring.enrich.policy import seeds_dir

D1 = date(2026, 11, 26)
D2 = date(2026, 11, 27)
EMAIL = "angry.customer@example.com"
CN_ID = "11010519491231002X"
CN_PHONE = "13800138000"

TICKETS = [
    # export date, ticket_id, customer_id, updated_at, language, text
    (D1, "t1", "c1", "2026-11-26T09:00Z", "en",
     f"Unacceptable! I am furious, I will file a complaint. Call +86 138-0000-0005 or mail {EMAIL}."),
    (D1, "t2", "c2", "2026-11-26T09:00Z", "en", "Great service so far! Thank you, keep up the good work!"),
    (D1, "t3", "c3", "2026-11-26T09:00Z", "zh-CN",
     f"太过分了！账户被冻结了，我要投诉！身份证{CN_ID}，电话{CN_PHONE}"),
    (D1, "t4", "c3", "2026-11-26T09:00Z", None, None),
]  # fmt: skip
SURVEYS = [(D1, "s1", "c2", "Quick and friendly, thanks!"), (D1, "s2", "c1", "Nobody called me back.")]


def load_texts(url: str, tickets=TICKETS, surveys=SURVEYS) -> None:
    """Raw tickets and surveys rows (export date first) into the contract's raw tables."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create schema if not exists raw")
        for name in ("tickets", "surveys"):
            conn.execute(contract.raw_table_ddl(contract.TABLES[name]))
        for exp, tid, cid, upd, lang, text in tickets:
            conn.execute(
                "insert into raw.tickets (ticket_id, customer_id, created_at, ticket_type, status,"
                " updated_at, language, text, _export_date, _source_file, _line_no)"
                " values (%s, %s, '2026-11-25T10:00Z', 'complaint', 'open', %s, %s, %s, %s, 'f', 1)",
                (tid, cid, upd, lang, text, exp),
            )
        for exp, sid, cid, comment in surveys:
            conn.execute(
                "insert into raw.surveys (survey_id, customer_id, survey_type, trigger_type, sent_at,"
                " responded_at, score, comment, _export_date, _source_file, _line_no)"
                " values (%s, %s, 'CSAT', 'post_ticket', '2026-11-25T10:00Z', '2026-11-25T12:00Z', 4,"
                " %s, %s, 'f', 1)",
                (sid, cid, comment, exp),
            )


def text_rows(url: str) -> dict[str, tuple]:
    """enrichment.text_sentiment by source_id."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select source_id, polarity, polarity_score, emotion_class, crisis_triage_class,"
            " has_risk_keyword, redacted_text, language, model_name, quality_gate_passed, text_sha256"
            " from enrichment.text_sentiment"
        ).fetchall()
    return {r[0]: r[1:] for r in rows}


def force_policy(url: str, overrides: dict[str, str]) -> None:
    """A policy table as dbt would load it, with some parameters changed (policy_version test.1)."""
    with open(seeds_dir() / "policy_parameters.csv", encoding="utf-8", newline="") as f:
        params = list(csv.DictReader(f))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create schema policy")
        conn.execute("create table policy.policy_parameters (key text, value text, policy_version text,"
                     " effective_from date)")  # fmt: skip
        for p in params:
            value = overrides.get(p["key"], p["value"])
            conn.execute("insert into policy.policy_parameters values (%s, %s, %s, %s)",
                         (p["key"], value, "test.1", p["effective_from"]))  # fmt: skip
