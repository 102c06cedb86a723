"""Seventh round (issue 10): the distilled student and its committed teacher artefact.

The student is the shipped TF-IDF recipe with a head trained on soft targets (human label mixed with the
fine-tuned teacher's probabilities, read from `enrich/data/teacher_soft_labels.npy`). These tests need no
torch: the artefact is committed and its digest is pinned.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from crm_scoring.enrich import distill
from crm_scoring.enrich.corpora import training_data
from crm_scoring.enrich.distill import DistilledLogitModel, SoftLabels, SoftLabelsError
from crm_scoring.enrich.model import CLASSES

FIXTURE = Path(__file__).parent / "fixtures" / "enrich_labelled_sample.tsv"


def test_committed_artefact_matches_its_pinned_digest_and_the_training_texts() -> None:
    soft = SoftLabels.load()
    assert soft.digest == distill.SOFT_LABELS_SHA256
    assert distill.SOFT_LABELS_FILE.stat().st_size < 2_000_000
    assert np.all(soft.keys[1:] > soft.keys[:-1])  # sorted, unique keys
    assert np.allclose(soft.proba.sum(axis=1), 1.0) and soft.proba.min() >= 0
    from crm_scoring.enrich.selection import validation_split

    (fit_t, _), val = validation_split()
    assert not np.isnan(soft.lookup(fit_t)).any()  # every fit text has a teacher label ...
    held = [t for c in val.values() for t in c.texts]  # ... and no validation, gate or test text has one
    from crm_scoring.enrich import corpora

    held += list(corpora.load("amazon").texts) + list(corpora.load("nyt").texts)
    held += [t for key in corpora.TRAIN_CORPORA for t in corpora.split(key, "test").texts]
    assert np.isnan(soft.lookup(held)).all()


def test_tampered_or_missing_artefact_fails_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = ["Refund never came.", "Great, thanks!", "Order shipped."]
    proba = np.array([[0.9, 0.08, 0.02], [0.01, 0.04, 0.95], [0.2, 0.7, 0.1]])
    path = tmp_path / "soft.npy"
    digest = distill.write_soft_labels(texts, proba, path)
    again = tmp_path / "again.npy"
    assert distill.write_soft_labels(list(reversed(texts)), proba[::-1], again) == digest  # byte for byte
    got = SoftLabels.load(path, digest).lookup(["Great, thanks!", "unknown text"])
    assert np.allclose(got[0], proba[1], atol=1e-3) and np.isnan(got[1]).all()

    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0x01  # one bit of one probability
    path.write_bytes(bytes(raw))
    with pytest.raises(SoftLabelsError, match="changed or damaged"):
        SoftLabels.load(path, digest)
    with pytest.raises(SoftLabelsError, match="unreadable"):
        SoftLabels.load(tmp_path / "missing.npy", digest)
    tampered = tmp_path / "committed_copy.npy"  # the committed artefact with one byte changed
    raw = bytearray(distill.SOFT_LABELS_FILE.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    tampered.write_bytes(bytes(raw))
    monkeypatch.setattr(distill, "SOFT_LABELS_FILE", tampered)
    with pytest.raises(SoftLabelsError, match="changed or damaged"):
        DistilledLogitModel((texts, ["negative", "positive", "neutral"]), tmp_path)


def test_soft_targets_mix_human_and_teacher() -> None:
    teacher = np.array([[0.6, 0.3, 0.1], [np.nan] * 3])
    t = distill.soft_targets(["negative", "positive"], teacher, 0.25)
    assert np.allclose(t, [[0.25 + 0.75 * 0.6, 0.75 * 0.3, 0.75 * 0.1], [0, 0, 1]])
    assert np.allclose(distill.soft_targets(["neutral"], teacher[:1], 1.0), [[0, 1, 0]])
    rows, cls, w = distill._soft_rows(np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]]))
    assert rows.tolist() == [0, 0, 1] and cls.tolist() == ["negative", "neutral", "positive"]
    assert w.tolist() == [0.5, 0.5, 1.0]


def test_one_hot_soft_head_is_the_hard_label_head() -> None:
    """Per-class weighted rows are the soft cross-entropy: with one-hot targets they are the plain head."""
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = sparse.csr_matrix(rng.normal(size=(300, 8)))
    y = np.asarray(CLASSES)[rng.integers(0, 3, 300)]
    hard = LogisticRegression(solver="newton-cg", max_iter=1000).fit(x, y)
    soft = distill.fit_soft_head(x, distill.soft_targets(list(y), np.full((300, 3), np.nan), 0.5), 1.0)
    assert np.allclose(soft["coef"], hard.coef_, atol=1e-5)


def test_student_is_deterministic_cached_and_beats_majority_on_committed_real_texts(tmp_path: Path) -> None:
    texts, labels = training_data()
    small = (texts[:4000], labels[:4000])  # a small set keeps the test quick; the recipe is the same
    first = DistilledLogitModel(small, cache_dir=tmp_path)
    second = DistilledLogitModel(small, cache_dir=tmp_path)
    assert first.trained and not second.trained and second.version == first.version
    assert distill.SOFT_LABELS_SHA256[:16] in first.recipe()
    with open(FIXTURE, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    probe = [r["text"] for r in rows]
    scores = first.score(probe)
    assert second.score(probe) == scores == [first.score([t])[0] for t in probe[:20]] + scores[20:]
    assert first.score(list(reversed(probe))) == list(reversed(scores))
    truth = [float(r["mean_rating"]) < 0 for r in rows]
    accuracy = sum(t == (s <= -0.4) for t, s in zip(truth, scores, strict=True)) / len(rows)
    majority = max(sum(truth), len(truth) - sum(truth)) / len(truth)
    assert accuracy > majority + 0.05, (accuracy, majority)
