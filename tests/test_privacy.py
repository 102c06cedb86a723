"""Privacy (issue 14 part B): consent to profiling and emotion analysis (PS-12, 003-1), retention of texts
and emotion features (PS-09), the pseudonym and the MLflow input examples (PS-08). Real PostgreSQL, real
enrichment models, a real XGBoost model trained and registered in a throw-away MLflow store.

Erasure across every layer with a built list warehouse is in test_privacy_erasure.py."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import psycopg
import pytest
from support.churn import RUN_DATE, churn_db, mlflow_store  # noqa: F401 - fixtures
from support.texts import D1 as E1
from support.texts import D2 as E2
from support.texts import force_policy as _force_policy
from support.texts import load_texts
from support.texts import text_rows as _rows

from crm_scoring import contract, settings
from crm_scoring.enrich import enrich_texts
from crm_scoring.privacy import consent, pseudonym
from crm_scoring.privacy.erasure import ANON_PREFIX
from crm_scoring.privacy.mlflow_examples import scrub_file, scrub_input_examples
from crm_scoring.privacy.retention import purge

KEY = "k" * 32


def _consents(url: str, rows: list[tuple[date, str, str, str, str]]) -> None:
    """rows: (export date, customer_id, purpose, status, status_ts) with channel 'any'."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create schema if not exists raw")
        conn.execute(contract.raw_table_ddl(contract.TABLES["consents"]))
        for line, (exported, cid, purpose, status, ts) in enumerate(rows, start=2):
            conn.execute(
                "insert into raw.consents (customer_id, purpose, channel, status, status_ts, _export_date,"
                " _source_file, _line_no) values (%s, %s, 'any', %s, %s, %s, 'consents.csv', %s)",
                (cid, purpose, status, ts, exported, line),
            )


def test_contract_and_single_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    dsr = contract.TABLES["dsr_requests"]
    assert not dsr.required_file and dsr.key == ("request_id",)
    assert dsr.column_names == ["request_id", "customer_id", "request_type", "requested_at"]
    assert dsr.column("request_type").allowed == ("erasure", "access", "restriction")
    assert dsr.column("requested_at").not_future and "dsr_requests" in contract.OPTIONAL_FILES
    assert "emotion_analysis" in contract.CONSENT_PURPOSE
    # the erased-customer prefix is written once for Python and once for dbt: they must agree
    macro = (settings.dbt_project_dir() / "macros" / "privacy.sql").read_text(encoding="utf-8")
    assert "{% macro anon_prefix() -%}" + ANON_PREFIX + "{%- endmacro %}" in macro
    # the pseudonym: keyed, stable, one-way; no key, no pseudonym
    monkeypatch.delenv(pseudonym.KEY_ENV, raising=False)
    with pytest.raises(pseudonym.PrivacyConfigError, match="CRM_PSEUDONYM_KEY"):
        pseudonym.pseudonym("C1")
    monkeypatch.setenv(pseudonym.KEY_ENV, KEY)
    p = pseudonym.pseudonym("C1")
    assert p == pseudonym.pseudonym("C1") and p.startswith("ERASED-") and len(p) == 7 + 64
    assert "C1" not in p[7:] and p != pseudonym.pseudonym("C1", b"another key of 32 characters.....")


def test_emotion_consent_withdrawn_gets_no_labels(fresh_db: str) -> None:
    load_texts(fresh_db)  # c1: t1 + s2, c2: t2 + s1, c3: t3 (zh)
    _force_policy(fresh_db, {"nlp_negative_accuracy_min": "0.5"})  # labels are used (gate passes)
    _consents(
        fresh_db,
        [
            (E1, "c1", "emotion_analysis", "withdrawn", "2026-11-20T00:00Z"),
            (E1, "c2", "emotion_analysis", "granted", "2026-11-20T00:00Z"),
            (E1, "c3", "profiling", "withdrawn", "2026-11-20T00:00Z"),  # another purpose: no effect
            (E1, "c2", "emotion_analysis", "withdrawn", "2026-11-27T06:00Z"),  # after D1: not yet
        ],
    )
    enrich_texts(fresh_db, E1)
    rows = _rows(fresh_db)
    for sid in ("t1", "s2"):  # polarity, score, emotion, triage all withheld
        assert rows[sid][0:4] == (None, None, None, None), sid
    assert rows["t2"][0] == "positive" and rows["t3"][2] == "angry" and rows["s1"][0] == "positive"
    assert rows["t1"][5] and rows["t1"][4] is True  # the redacted text and risk flag stay (not emotion)

    # on D2, c2's withdrawal (stamped on D2) applies to rows enriched earlier; c1 grants again
    _consents(fresh_db, [(E2, "c1", "emotion_analysis", "granted", "2026-11-27T07:00Z")])
    enrich_texts(fresh_db, E2)
    later = _rows(fresh_db)
    assert later["t2"][0:4] == (None, None, None, None) and later["s1"][0] is None
    assert later["t1"][0] == "negative" and later["t1"][2] == "angry"
    again = enrich_texts(fresh_db, E2)  # stable rerun
    assert _rows(fresh_db) == later and again["candidates"] == 5


def test_emotion_consent_default_comes_from_policy(fresh_db: str) -> None:
    """No consent row: the policy default decides; withdrawn default = opt-in (only explicit grants)."""
    load_texts(fresh_db)
    _force_policy(
        fresh_db,
        {"nlp_negative_accuracy_min": "0.5", "consent_default_emotion_analysis": "withdrawn"},
    )
    _consents(fresh_db, [(E1, "c2", "emotion_analysis", "granted", "2026-11-20T00:00Z")])
    enrich_texts(fresh_db, E1)
    rows = _rows(fresh_db)
    assert rows["t2"][0] == "positive" and rows["s1"][0] == "positive"
    assert all(rows[s][0:4] == (None, None, None, None) for s in ("t1", "s2", "t3"))
    with psycopg.connect(fresh_db) as conn:
        c = consent.purpose_consent(conn, consent.EMOTION_ANALYSIS, E1)
    assert not c.default_granted and c.exceptions == {"c2"} and c.allows("c2") and not c.allows("c1")


def test_retention_purges_texts_and_emotion_features(fresh_db: str) -> None:
    load_texts(fresh_db)  # every text created / answered on 2026-11-25
    _force_policy(
        fresh_db,
        {
            "nlp_negative_accuracy_min": "0.5",
            "text_retention_days": "730",
            "emotion_feature_retention_days": "365",
        },
    )
    enrich_texts(fresh_db, E1)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("create schema if not exists ops")
        conn.execute(
            "create table ops.quarantine (export_date date, table_name text, source_file text,"
            " line_no bigint, raw_record jsonb, reason text)"
        )
        conn.execute(
            "insert into ops.quarantine values ('2026-11-25', 'tickets', 'tickets.csv', 9,"
            """ '{"ticket_id": "t9", "text": "call me at 555", "customer_id": "c1"}', 'bad status')"""
        )

        # the latest versions dbt keeps (incremental_latest: a forward night never rewrites an old key)
        conn.execute("create schema if not exists intermediate")
        conn.execute(
            "create table intermediate.int_complaints__tickets_latest as"
            " select ticket_id, created_at, text as text_redacted from raw.tickets"
        )
        conn.execute(
            "create table intermediate.int_feedback__surveys_latest as"
            " select survey_id, sent_at, responded_at, comment as comment_redacted from raw.surveys"
        )

        def texts() -> tuple[int, ...]:
            return conn.execute(
                "select (select count(text) from raw.tickets), (select count(comment) from raw.surveys),"
                " (select count(*) from enrichment.text_sentiment),"
                " (select count(*) from ops.quarantine where raw_record ? 'text'),"
                " (select count(text_redacted) from intermediate.int_complaints__tickets_latest),"
                " (select count(comment_redacted) from intermediate.int_feedback__surveys_latest)"
            ).fetchone()

        assert texts() == (3, 2, 5, 1, 3, 2)
        # day 365 after the texts: nothing is old enough yet
        assert sum(purge(conn, date(2026, 11, 25) + timedelta(days=365)).values()) == 0
        # day 366: the emotion features (one year) go, the texts (two years) stay
        one_year = date(2026, 11, 25) + timedelta(days=366)
        assert purge(conn, one_year)["enrichment.text_sentiment"] == 5
        assert texts() == (3, 2, 0, 1, 3, 2)
        assert purge(conn, one_year)["enrichment.text_sentiment"] == 0  # idempotent
        # two years on: texts are nulled in raw and in the quarantined record (the row itself stays)
        two_years = date(2026, 11, 25) + timedelta(days=731)
        done = purge(conn, two_years)
        assert done["raw.tickets.text"] == 3 and done["raw.surveys.comment"] == 2
        assert done["intermediate.int_complaints__tickets_latest.text_redacted"] == 3
        assert done["intermediate.int_feedback__surveys_latest.comment_redacted"] == 2
        assert texts() == (0, 0, 0, 0, 0, 0)
        assert conn.execute("select count(*) from ops.quarantine").fetchone()[0] == 1
        logged = conn.execute(
            "select target, rows_purged from ops.retention_purges where run_date = %s", (two_years,)
        )
        assert dict(logged.fetchall())["raw.tickets.text"] == 3
    # the nightly enrichment after the purge finds no text and keeps no emotion feature
    assert enrich_texts(fresh_db, two_years)["enriched"] == 0 and _rows(fresh_db) == {}


def test_retention_unset_purges_nothing(fresh_db: str) -> None:
    load_texts(fresh_db)
    _force_policy(fresh_db, {"text_retention_days": "", "emotion_feature_retention_days": ""})
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        assert purge(conn, date(2040, 1, 1)) == {}
        assert conn.execute("select count(text) from raw.tickets").fetchone()[0] == 3


def test_profiling_withdrawn_is_never_scored_ranked_or_given_reasons(
    churn_db: str,  # noqa: F811 - fixture
    mlflow_store,  # noqa: ANN001, F811 - fixture
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from crm_scoring.model.explain import REST, explain
    from crm_scoring.model.score import score
    from crm_scoring.model.train import train

    train(churn_db, RUN_DATE, seed=42)
    day = RUN_DATE.isoformat()
    _consents(
        churn_db,
        [
            (RUN_DATE, "C00001", "profiling", "withdrawn", f"{day}T08:00Z"),  # objection on the run date
            (RUN_DATE, "C00002", "profiling", "granted", "2026-01-01T00:00Z"),
            (RUN_DATE, "C00002", "profiling", "withdrawn", "2026-06-01T00:00Z"),
            (RUN_DATE, "C00003", "profiling", "withdrawn", "2026-01-01T00:00Z"),  # withdrawn, then
            (RUN_DATE, "C00003", "profiling", "granted", "2026-06-01T00:00Z"),  # granted again
            (RUN_DATE, "C00004", "profiling", "withdrawn", "2026-11-27T08:00Z"),  # after the run date
            (RUN_DATE, "C00005", "emotion_analysis", "withdrawn", "2026-01-01T00:00Z"),  # not profiling
        ],
    )
    with psycopg.connect(churn_db, autocommit=True) as conn:  # an erased customer's anonymised row
        conn.execute("update marts.churn_features set customer_id = %s where customer_id = 'C00006'",
                     (ANON_PREFIX + "0" * 32,))  # fmt: skip
    result = score(churn_db, RUN_DATE)
    # since reason codes left the scoring step (CH-06 off the lists' path), they are written by
    # model.explain: the lists step for the candidates, explain_rest for everyone else; with no candidate
    # table built, REST is every scored customer. Neither may explain a customer who was not scored.
    explained = explain(churn_db, RUN_DATE, REST)
    with psycopg.connect(churn_db) as conn:
        scored = {r[0] for r in conn.execute("select customer_id from scoring.churn_scores").fetchall()}
        reasons = {r[0] for r in conn.execute("select customer_id from scoring.churn_reasons").fetchall()}
        features = conn.execute("select count(*) from marts.churn_features").fetchone()[0]
    excluded = {"C00001", "C00002", ANON_PREFIX + "0" * 32}
    assert result.rows == len(scored) == features - 3
    assert not excluded & scored and not excluded & reasons
    assert {"C00003", "C00004", "C00005", "C00007"} <= scored and reasons == scored
    assert explained.customers == len(scored)

    # PS-08: the logged input example is quantiles of the training set, not a customer's row; a scrub
    # (run by every erasure) replaces it by column means and the model still loads and scores
    examples = sorted((tmp_path / "artifacts").rglob("input_example.json"))
    assert examples
    with psycopg.connect(churn_db) as conn:
        train_rows = conn.execute("select * from marts.churn_training_set").fetchall()
    doc = json.loads(examples[0].read_text())
    cols = doc["columns"]
    with psycopg.connect(churn_db) as conn:
        names = [d.name for d in conn.execute("select * from marts.churn_training_set limit 0").description]
    real = {tuple(float(r[names.index(c)] or 0.0) for c in cols) for r in train_rows}
    assert not any(tuple(float(v) for v in row) in real for row in doc["data"])
    monkeypatch.chdir(tmp_path)
    assert scrub_input_examples() >= 1
    doc = json.loads(examples[0].read_text())
    assert all(row == doc["data"][0] for row in doc["data"])  # one aggregate row, repeated
    assert scrub_input_examples() == 0  # idempotent
    assert score(churn_db, RUN_DATE).rows == result.rows


def test_scrub_file_shapes(tmp_path: Path) -> None:
    split = tmp_path / "input_example.json"
    split.write_text(json.dumps({"columns": ["a", "b"], "data": [[1, 2.0], [3, 4.0]]}))
    serving = tmp_path / "serving_input_example.json"
    serving.write_text(json.dumps({"dataframe_split": {"columns": ["a"], "data": [[1], [5]]}}))
    assert scrub_file(split) and scrub_file(serving) and not scrub_file(split)
    assert json.loads(split.read_text())["data"] == [[2.0, 3.0], [2.0, 3.0]]
    assert np.allclose(json.loads(serving.read_text())["dataframe_split"]["data"], [[3.0], [3.0]])


def _render_consent_macro(purpose: str, run_date: date, default: str | None) -> str:
    """The generated dbt macro with dbt's functions stubbed: the consent source, the run date, the policy."""
    import jinja2

    macro = (settings.project_root() / consent.MACRO_FILE).read_text(encoding="utf-8")
    value = "null" if default is None else f"'{default}'"
    env = jinja2.Environment()
    env.globals.update(
        source=lambda schema, table: f"{schema}.{table}",
        run_date=lambda: f"date '{run_date.isoformat()}'",
        policy_param=lambda key, type_: f"(select {value}::{type_})",
    )
    call = "{{ consent_allows('c.customer_id', '" + purpose + "') }}"
    return env.from_string(macro + call).render().strip()


@pytest.mark.parametrize("default", ["granted", "withdrawn", None])
def test_training_snapshots_use_the_same_consent_rule(
    fresh_db: str, monkeypatch: pytest.MonkeyPatch, default: str | None
) -> None:
    """PS-12: the dbt macro that filters the churn training set answers exactly like privacy/consent.py
    (the scoring's and the enrichment's rule) on a random corpus, for both purposes and every default; the
    training set model applies it to profiling."""
    import random

    rnd = random.Random(11)
    run_date = date(2026, 11, 26)
    customers = [f"C{i:03d}" for i in range(120)]
    rows = []
    for cid in customers[:100]:  # the last 20 have no row: the default applies
        for _ in range(rnd.randint(1, 4)):
            day = run_date + timedelta(days=rnd.randint(-40, 3))  # some rows after the run date
            ts = f"{day.isoformat()}T{rnd.choice(['00:00', '08:00', '23:59'])}Z"
            exported = day + timedelta(days=rnd.choice([0, 0, 1, 5]))
            purpose = rnd.choice([consent.PROFILING, consent.EMOTION_ANALYSIS])
            rows.append((exported, cid, purpose, rnd.choice(consent.STATUSES), ts))
    _consents(fresh_db, rows)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("create temp table c (customer_id text)")
        conn.execute("insert into c select unnest(%s::text[])", (customers,))
        for purpose in (consent.PROFILING, consent.EMOTION_ANALYSIS):
            predicate = _render_consent_macro(purpose, run_date, default)
            via_dbt = {r[0] for r in conn.execute(f"select customer_id from c where {predicate}").fetchall()}
            want = default or consent.UNSET_DEFAULT[purpose]
            monkeypatch.setattr(consent, "default_status", lambda *_a, want=want: want)
            rule = consent.purpose_consent(conn, purpose, run_date)
            via_python = {c for c in customers if rule.allows(c)}
            assert via_dbt == via_python, (purpose, default, sorted(via_dbt ^ via_python))
            assert 0 < len(via_python) < len(customers)  # the corpus has both answers
    model = (settings.dbt_project_dir() / "models" / "marts" / "churn" / "churn_training_set.sql").read_text()
    assert "{{ consent_allows('f.customer_id', 'profiling') }}" in model
