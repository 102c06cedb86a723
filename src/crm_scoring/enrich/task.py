"""The nightly enrichment task (ST-04, ST-06, DQ-06): runs after validate_raw and before dbt.

Incremental: one row per (source_table, source_id) in `enrichment.text_sentiment`, re-enriched only when
the latest text as of the run date changes (sha256 of the raw text) or the model / gate status changes.
Idempotent: a rerun of the same date finds nothing to do. Writes go through COPY into a temporary table
and one set-based upsert, in one transaction.

Quality gate (DQ-06): every run holds the English models' accuracy on the human-labelled gate set
(evaluate.py) against `nlp_negative_accuracy_min`. The measurement is a pure function of the model, the
labelled sets and the policy bands, so it is cached in `enrichment.gate_evaluations` per (model name, model
version, gate-set fingerprint, bands, gate threshold): a night with the same model, sets and policy reads
the figures instead of re-scoring ~20k labelled texts (~20 CPU s); any change re-measures. The same
measurement is also kept as a file beside the text model's cache (`gate-<key>.json`), so another warehouse
on the machine (a benchmark's, a test's) records it without measuring again. The first model
that passes is used. When none passes (no "last good model" is available), an alert is recorded in
`enrichment.quality_alerts`, and `nlp_gate_fail_action` decides: `flag` keeps the best model's labels with
quality_gate_passed = false, `withhold` leaves polarity / emotion / triage empty. zh-CN (and other languages
without a model) use the keyword-lexicon fallback, which has no labelled set and is therefore always
quality_gate_passed = false.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

import psycopg

from crm_scoring import failpoints, warehouse
from crm_scoring.enrich import corpora, evaluate, store
from crm_scoring.enrich.emotion import Bands, classify, triage
from crm_scoring.enrich.evaluate import Evaluation, evaluate_all
from crm_scoring.enrich.keywords import KeywordMatcher, base_language
from crm_scoring.enrich.model import KeywordLexiconModel, SentimentModel, model_cache_dir, primary_models
from crm_scoring.enrich.policy import EnrichPolicy, load_policy
from crm_scoring.enrich.redact import redact
from crm_scoring.privacy.consent import EMOTION_ANALYSIS, PurposeConsent, purpose_consent

log = logging.getLogger(__name__)

GATE_ALERT_CODE = "DQ-06"
GATE_ALERT_LEVEL = "important"  # 7.10 vocabulary (urgent / important / general)
GATE_ACTIONS = ("flag", "withhold")
CONSENT_WITHHELD = "consent-withdrawn"  # text_sha256 of rows whose labels are withheld for want of consent
# rows per fetch of the changed texts: bounds the task's memory whatever the backfill's size
ENRICH_CHUNK_ROWS = 20_000
LABEL_COLUMNS = ("polarity", "polarity_score", "emotion_class", "crisis_triage_class")


@dataclass
class GateDecision:
    model: SentimentModel
    passed: bool
    withhold: bool
    evaluations: list[tuple[Evaluation, bool, str]] = field(default_factory=list)  # gate rows
    report: list[tuple[Evaluation, bool]] = field(default_factory=list)  # every set, every task
    evaluated_at: dict[tuple[str, str], datetime] = field(default_factory=dict)  # per (model, version)


GATE_CACHE_TABLE = "enrichment.gate_evaluations"
GATE_CACHE_DDL = f"""
create schema if not exists enrichment;
create table if not exists {GATE_CACHE_TABLE} (
    cache_key text primary key,
    model_name text not null,
    model_version text not null,
    gate_sets_sha256 text not null,
    negative_max_score double precision not null,
    positive_min_score double precision not null,
    negative_accuracy_min double precision,
    evaluations text not null,
    texts_per_second double precision[] not null,
    evaluated_at timestamptz not null
)"""


@cache
def gate_sets_fingerprint() -> str:
    """sha256 of what the evaluation reads besides the model: the labelled sets (their documented
    checksums, which `corpora.load` enforces on the bytes), the report sets, the polar cut-off and the
    test folds, and the code of evaluate.py and corpora.py (a changed metric or split re-measures)."""
    parts = {
        "corpora": {k: v[1] for k, v in sorted(corpora.CORPORA.items())},
        "package_corpora": {k: v[2] for k, v in sorted(corpora.PACKAGE_CORPORA.items())},
        "report_sets": evaluate.REPORT_SETS,
        "polar_min_rating": corpora.POLAR_MIN_RATING,
        "test_folds": corpora.TEST_FOLDS,
        "code": [hashlib.sha256(Path(m.__file__).read_bytes()).hexdigest() for m in (evaluate, corpora)],
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def gate_cache_key(model_name: str, model_version: str, policy: EnrichPolicy) -> str:
    """The identity of one model's DQ-06 measurement under one policy (see the module docstring)."""
    parts = [model_name, model_version, gate_sets_fingerprint(), policy.negative_max_score,
             policy.positive_min_score, policy.negative_accuracy_min]  # fmt: skip
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


@cache
def _evaluations(model_name: str, model_version: str, negative_max: float, positive_min: float) -> list:
    """evaluate_all for one model, once per process (the sets and the model are fixed within a process)."""
    model = next(m for m in primary_models() if (m.name, m.version) == (model_name, model_version))
    return evaluate_all(model, negative_max, positive_min)


def _cached_evaluations(
    conn: psycopg.Connection | None, model: SentimentModel, policy: EnrichPolicy
) -> tuple[list[Evaluation], datetime]:
    """(evaluations, when measured): from `enrichment.gate_evaluations` when this exact model, gate set
    and policy were measured before, else measured now and stored (without `conn`: per process only)."""
    if conn is None:
        evs = _evaluations(model.name, model.version, policy.negative_max_score, policy.positive_min_score)
        return evs, datetime.now(UTC)
    key = gate_cache_key(model.name, model.version, policy)
    warehouse.run_ddl(conn, GATE_CACHE_DDL)
    hit = conn.execute(
        f"select evaluations, texts_per_second, evaluated_at from {GATE_CACHE_TABLE} where cache_key = %s",
        (key,),
    ).fetchone()
    if hit is not None:
        log.info("DQ-06 gate: %s %s measured at %s, reused (same model, sets, policy)",
                 model.name, model.version, hit[2])  # fmt: skip
        rows = json.loads(hit[0])
        return [Evaluation(**e, texts_per_second=t) for e, t in zip(rows, hit[1], strict=True)], hit[2]
    stored = _read_gate_file(key)
    if stored is not None:
        figures, speeds, now = stored
        log.info("DQ-06 gate: %s %s measured at %s, reused from %s (same model, sets, policy)",
                 model.name, model.version, now, _gate_file(key))  # fmt: skip
        evs = [Evaluation(**e, texts_per_second=t) for e, t in zip(figures, speeds, strict=True)]
    else:
        evs = _evaluations(model.name, model.version, policy.negative_max_score, policy.positive_min_score)
        now = datetime.now(UTC)
        # the figures apart from the measured speed, which differs between any two measurements
        figures = [{k: v for k, v in asdict(e).items() if k != "texts_per_second"} for e in evs]
        _write_gate_file(key, figures, [e.texts_per_second for e in evs], now)
    conn.execute(
        f"insert into {GATE_CACHE_TABLE} values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " on conflict (cache_key) do update set evaluations = excluded.evaluations,"
        " texts_per_second = excluded.texts_per_second, evaluated_at = excluded.evaluated_at",
        (key, model.name, model.version, gate_sets_fingerprint(), policy.negative_max_score,
         policy.positive_min_score, policy.negative_accuracy_min, json.dumps(figures),
         [e.texts_per_second for e in evs], now),
    )  # fmt: skip
    return evs, now


def _gate_file(key: str) -> Path:
    """The measurement beside the text model's cache (`model.model_cache_dir`): a machine that measured this
    model, sets and policy once reads the figures in every warehouse it serves (a second warehouse, a
    benchmark's or a test's throw-away database), instead of re-scoring ~20k labelled texts in each."""
    return model_cache_dir() / f"gate-{key}.json"


def _read_gate_file(key: str) -> tuple[list[dict], list[float], datetime] | None:
    """(figures, texts per second, when measured), or None when absent or unreadable (then: measure)."""
    try:
        data = json.loads(_gate_file(key).read_text(encoding="utf-8"))
        if data["cache_key"] != key:
            return None
        return data["evaluations"], data["texts_per_second"], datetime.fromisoformat(data["evaluated_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_gate_file(key: str, figures: list[dict], speeds: list[float], when: datetime) -> None:
    """Atomic (temp file + rename): a crash leaves no half-written file, concurrent writers agree."""
    path = _gate_file(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"cache_key": key, "evaluations": figures, "texts_per_second": speeds,
            "evaluated_at": when.isoformat()}  # fmt: skip
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(body, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


@dataclass
class EnrichResult:
    run_date: str
    candidates: int
    enriched: int
    deleted: int
    model_name: str
    model_version: str
    gate_passed: bool
    gate_action: str
    accuracy: float
    gate_threshold: float | None
    seconds: float
    texts_per_second: float

    def as_dict(self) -> dict:
        return asdict(self)


def _gate(policy: EnrichPolicy, conn: psycopg.Connection | None = None) -> GateDecision:
    """Evaluate the English models; pick the first passing one, else apply nlp_gate_fail_action.
    With `conn`, measurements are read from (and written to) the warehouse's gate cache."""
    if policy.gate_fail_action not in GATE_ACTIONS:
        raise ValueError(f"policy error: nlp_gate_fail_action must be one of {GATE_ACTIONS}")
    threshold = policy.negative_accuracy_min
    models = primary_models()
    chosen: SentimentModel | None = None
    evaluations = []
    report = []
    measured: dict[tuple[str, str], datetime] = {}
    for m in models:
        evs, measured[(m.name, m.version)] = _cached_evaluations(conn, m, policy)
        ev = evs[0]  # the DQ-06 gate row: negative tagging on the polar Amazon snippets
        ok = threshold is not None and ev.accuracy >= threshold
        evaluations.append((ev, ok, m))
        report.extend((e, ok) for e in evs[1:])
        if ok and chosen is None:
            chosen = m
    decided = []
    for ev, ok, m in evaluations:
        if m is chosen:
            action = "use"
        elif chosen is not None:
            action = "not_used"
        else:
            action = policy.gate_fail_action if m is models[0] else "not_used"
        decided.append((ev, ok, action))
    if chosen is not None:
        return GateDecision(chosen, True, False, decided, report, measured)
    return GateDecision(models[0], False, policy.gate_fail_action == "withhold", decided, report, measured)


QUALITY_COLUMNS = (
    "run_date, model_name, model_version, eval_dataset, eval_items, accuracy, negative_f1,"
    " majority_baseline, gate_threshold, passed_gate, action, texts_per_second, policy_version,"
    " evaluated_at, task, domain, role, macro_f1, roc_auc"
)
CANDIDATE_ACTION = "candidate"  # rows of measured, not shipped models (record_candidates); a run keeps them


def _copy_quality(
    conn: psycopg.Connection,
    run_date: date,
    policy: EnrichPolicy,
    rows: list[tuple],
    now: datetime,
    measured: dict[tuple[str, str], datetime] | None = None,
) -> None:
    """COPY (Evaluation, passed_gate, action, gate threshold) rows into enrichment.model_quality;
    `measured` gives a cached measurement's own time per (model, version), else `now`."""
    measured = measured or {}
    with (
        conn.cursor() as cur,
        cur.copy(f"copy enrichment.model_quality ({QUALITY_COLUMNS}) from stdin") as copy,
    ):
        for ev, ok, action, threshold in rows:
            at = measured.get((ev.model_name, ev.model_version), now)  # a cached measurement's
            copy.write_row(
                (run_date, ev.model_name, ev.model_version, ev.eval_dataset, ev.items, ev.accuracy,
                 ev.negative_f1, ev.majority_baseline, threshold, ok, action,
                 ev.texts_per_second, policy.policy_version, at, ev.task, ev.domain, ev.role, ev.macro_f1,
                 ev.roc_auc)
            )  # fmt: skip


def _write_quality(
    conn: psycopg.Connection, run_date: date, policy: EnrichPolicy, gate: GateDecision
) -> None:
    now = datetime.now(UTC)
    conn.execute(
        "delete from enrichment.model_quality where run_date = %s and action <> %s",
        (run_date, CANDIDATE_ACTION),
    )
    conn.execute(
        "delete from enrichment.quality_alerts where run_date = %s and alert_code = %s",
        (run_date, GATE_ALERT_CODE),
    )
    rows = [(ev, ok, action, policy.negative_accuracy_min) for ev, ok, action in gate.evaluations]
    rows += [(ev, ok, "report", None) for ev, ok in gate.report]
    _copy_quality(conn, run_date, policy, rows, now, gate.evaluated_at)
    if gate.passed:
        return
    best = gate.evaluations[0][0]
    threshold = policy.negative_accuracy_min
    message = (
        f"NLP quality gate failed: {best.model_name} {best.model_version} negative-emotion tagging accuracy "
        f"{best.accuracy:.4f} on {best.eval_dataset} "
        + (f"< nlp_negative_accuracy_min {threshold}" if threshold is not None else "(threshold unset)")
        + f"; no last good model available; action = {policy.gate_fail_action}"
    )
    log.warning(message)
    conn.execute(
        "insert into enrichment.quality_alerts (run_date, alert_code, level, scope, metric_value, threshold,"
        " message, policy_version, raised_at) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (run_date, GATE_ALERT_CODE, GATE_ALERT_LEVEL, f"nlp_sentiment:{best.model_name}", best.accuracy,
         threshold, message, policy.policy_version, now),
    )  # fmt: skip


def _enrich_rows(
    rows: list[tuple],
    run_date: date,
    policy: EnrichPolicy,
    gate: GateDecision,
    emotion_consent: PurposeConsent | None = None,
    now: datetime | None = None,
) -> list[tuple]:
    """Redact, score per language group in batches, classify; one output tuple per input row.

    A customer without emotion-analysis consent (003-1) gets no polarity, emotion or triage label, and
    the row's text hash is replaced by a marker so the row is re-examined each night (a later grant then
    re-enriches it)."""
    kw = KeywordMatcher.build(policy.keywords)
    bands = Bands(policy.negative_max_score, policy.positive_min_score)
    redacted = [redact(r[5]) for r in rows]
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(base_language(r[4]), []).append(i)
    scores: list[float] = [0.0] * len(rows)
    models: dict[str, tuple[SentimentModel, bool, bool]] = {}
    for lang, idx in groups.items():
        if lang in gate.model.languages:
            model, passed, withhold = gate.model, gate.passed, gate.withhold
        else:
            model, passed, withhold = KeywordLexiconModel(kw, lang, policy.policy_version), False, False
        models[lang] = (model, passed, withhold)
        for i, s in zip(idx, model.score([redacted[i] for i in idx]), strict=True):
            scores[i] = max(-1.0, min(1.0, s))
    now = now or datetime.now(UTC)
    out = []
    for i, (source_table, source_id, customer_id, text_ts, language, _body, sha) in enumerate(rows):
        model, passed, withhold = models[base_language(language)]
        text = redacted[i]
        if emotion_consent is not None and not emotion_consent.allows(customer_id):
            polarity = emotion = triage_class = score = None
            sha = CONSENT_WITHHELD
        elif withhold:
            polarity = emotion = triage_class = score = None
        else:
            score = scores[i]
            polarity, emotion = classify(score, text, language, bands, kw)
            triage_class = triage(emotion, policy.triage)
        out.append(
            (source_table, source_id, customer_id, text_ts, language, text, polarity, score, emotion,
             triage_class, kw.has("risk", language, text), kw.has("empathy", language, text), model.name,
             model.version, run_date, sha, passed, policy.policy_version, now)
        )  # fmt: skip
    return out


def record_candidates(url: str, run_date: date, models: list[SentimentModel]) -> int:
    """Write every figure of measured, not shipped models into enrichment.model_quality for the run date,
    with action `candidate` (the gate row's threshold and verdict on this date's policy, as for the shipped
    models; a candidate is never used to label texts). Idempotent per (date, model, version); the nightly
    run keeps these rows. Returns the rows written (`python -m crm_scoring.enrich.evaluate --candidates
    --record DATE`)."""
    written = 0
    with warehouse.connect(url) as conn:
        warehouse.run_ddl(conn, store.DDL)
        policy = load_policy(conn, run_date)
        threshold = policy.negative_accuracy_min
        for m in models:
            evs = evaluate_all(m, policy.negative_max_score, policy.positive_min_score)
            ok = threshold is not None and evs[0].accuracy >= threshold
            conn.execute(
                "delete from enrichment.model_quality where run_date = %s and model_name = %s"
                " and model_version = %s and action = %s",
                (run_date, m.name, m.version, CANDIDATE_ACTION),
            )
            rows = [(e, ok, CANDIDATE_ACTION, threshold if i == 0 else None) for i, e in enumerate(evs)]
            _copy_quality(conn, run_date, policy, rows, datetime.now(UTC))
            written += len(rows)
    return written


def withhold_without_consent(conn: psycopg.Connection, consent: PurposeConsent) -> int:
    """Clear the emotion labels of customers who lack emotion-analysis consent on the run date (003-1),
    including rows enriched on an earlier night before the withdrawal. Set-based; returns rows cleared."""
    cleared = ", ".join(f"{c} = null" for c in LABEL_COLUMNS)
    if consent.default_granted:
        if not consent.exceptions:
            return 0
        who = "customer_id = any(%(ids)s)"
    else:
        who = "(customer_id is null or not (customer_id = any(%(ids)s)))"
    return conn.execute(
        f"update enrichment.text_sentiment set {cleared}, text_sha256 = %(marker)s"
        f" where {who} and text_sha256 is distinct from %(marker)s",
        {"ids": sorted(consent.exceptions), "marker": CONSENT_WITHHELD},
    ).rowcount


def enrich_texts(url: str, run_date: date) -> dict:
    """Enrich every ticket text and survey comment not yet enriched for its current content."""
    started = time.perf_counter()
    with warehouse.connect(url) as conn:
        warehouse.run_ddl(conn, store.DDL)
        policy = load_policy(conn, run_date)
        gate = _gate(policy, conn)
        _write_quality(conn, run_date, policy, gate)
        conn.execute(store.SOURCE_TEXTS, {"run_date": run_date})
        zh = KeywordLexiconModel(KeywordMatcher({}), "zh-CN", policy.policy_version)
        params = {
            "en_model": gate.model.name,
            "en_version": gate.model.version,
            "en_gate": gate.passed,
            "zh_model": zh.name,
            "zh_version": zh.version,
            "zh_gate": False,
        }
        conn.execute("analyze _enrich_source")  # a temporary table has no statistics until analyzed
        emotion_consent = purpose_consent(conn, EMOTION_ANALYSIS, run_date)
        conn.execute(store.STAGE)
        copy_sql = f"copy _enrich_new ({', '.join(store.COLUMNS)}) from stdin"
        enriched, model_seconds, now = 0, 0.0, datetime.now(UTC)
        # streamed in chunks through a server-side cursor: a backfill of every text (1.8M at 1M
        # customers) would otherwise hold every row and its output in memory at once (issue 12: RSS)
        with conn.cursor(name="enrich_changed") as changed:
            changed.execute(store.CHANGED, params)
            while rows := changed.fetchmany(ENRICH_CHUNK_ROWS):
                t0 = time.perf_counter()
                out = _enrich_rows(rows, run_date, policy, gate, emotion_consent, now)
                model_seconds += time.perf_counter() - t0
                with conn.cursor() as cur, cur.copy(copy_sql) as copy:
                    for row in out:
                        copy.write_row(row)
                enriched += len(out)
        conn.execute(store.UPSERT)
        failpoints.hit("enrich_texts:inside")  # upserted, stale rows not yet deleted, not committed
        deleted = conn.execute(store.DELETE_STALE).rowcount
        withhold_without_consent(conn, emotion_consent)
        candidates = conn.execute("select count(*) from _enrich_source").fetchone()[0]
    best = gate.evaluations[0][0]
    result = EnrichResult(
        run_date=run_date.isoformat(),
        candidates=candidates,
        enriched=enriched,
        deleted=deleted,
        model_name=gate.model.name,
        model_version=gate.model.version,
        gate_passed=gate.passed,
        gate_action="use" if gate.passed else policy.gate_fail_action,
        accuracy=best.accuracy,
        gate_threshold=policy.negative_accuracy_min,
        seconds=round(time.perf_counter() - started, 3),
        texts_per_second=round(enriched / model_seconds, 1) if enriched and model_seconds > 0 else 0.0,
    )
    log.info("text enrichment %s", result)
    return result.as_dict()
