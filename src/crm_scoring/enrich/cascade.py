"""Cascade (issue 10, session 7): the fast TF-IDF model scores every text; only texts whose fast score lies
near a policy band edge go to the e5 fusion model (e5.py), and only those never embedded cost encoder time.

Why: the e5 fusion ranks product-review text better (gate-domain ROC AUC 0.90 vs 0.85) but its encoder
runs ~16-35 new texts per CPU second, 100x under the 2,000 texts/s/core target. A label can only change
where the fast score is close to a band edge (`sentiment_negative_max_score` /
`sentiment_positive_min_score`), so the encoder is spent there: a text at distance
d = min |score - edge| <= `band` is routed. The band is a model hyper-parameter chosen on the
validation fold of the training parts (`python -m crm_scoring.enrich.cascade`), never on the gate, NYT
or a test part; the nightly encoder budget (`nlp_encoder_budget_seconds` x the measured encoder rate)
caps how many *new* texts a night may encode.

Routing is a pure function of (fast score, band edges, band): the same text always gets the same score,
whatever the batch, unless a night exceeds its encoder budget (`route(..., budget=...)`): then only the
`budget` most uncertain new texts are encoded (smallest d, ties by text sha256) and the others keep their
fast score; the task logs how many.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence

import numpy as np

# encoder texts per CPU second (one OpenMP thread), measured in session 7 (load average ~12 on 2 cores) by
# `OMP_NUM_THREADS=1 python -m crm_scoring.enrich.cascade --rate`: 17.1 on 300 report-set texts; the cache
# fills of the same session logged 14.1-18.5 per 128-256 texts (session 6, less loaded: 24-38)
ENCODER_TEXTS_PER_CPU_SECOND = 17.0
# texts a 1M-customer night brings (demo export delta ~2.3 % of ~0.98M texts; docs/text_enrichment.md, Scale)
NIGHTLY_TEXTS_1M = 22_600
BAND_GRID = (0.0, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1)


def uncertainty(scores: np.ndarray, edges: tuple[float, float]) -> np.ndarray:
    """Distance of each fast score to the nearest band edge (0 = on an edge)."""
    s = np.asarray(scores, dtype=np.float64)
    return np.minimum(np.abs(s - edges[0]), np.abs(s - edges[1]))


def route(
    scores: np.ndarray,
    texts: Sequence[str],
    edges: tuple[float, float],
    band: float,
    budget: int | None = None,
    cached: Sequence[bool] | None = None,
) -> np.ndarray:
    """Boolean mask of the texts the e5 fusion model re-scores.

    In band: d <= band. `budget` caps the in-band texts that are *not* `cached` (only those cost encoder
    time): when more are in band, the `budget` with the smallest d win, ties broken by sha256 of the text
    (deterministic, independent of the batch order); cached in-band texts are always routed."""
    d = uncertainty(scores, edges)
    mask = d <= band + 1e-12
    if budget is None:
        return mask
    have = np.zeros(len(d), dtype=bool) if cached is None else np.asarray(cached, dtype=bool)
    new = np.flatnonzero(mask & ~have)
    if len(new) <= budget:
        return mask
    order = sorted(new, key=lambda i: (d[i], hashlib.sha256(texts[i].encode("utf-8")).digest()))
    for i in order[budget:]:
        mask[i] = False
    return mask


def budget_texts(budget_seconds: float | None, rate: float = ENCODER_TEXTS_PER_CPU_SECOND) -> int | None:
    """New texts the encoder may embed in one night: budget seconds x measured rate (None = no cap)."""
    return None if budget_seconds is None else int(budget_seconds * rate)


def choose_band(shares: dict[float, float], budget: int, nightly_texts: int = NIGHTLY_TEXTS_1M) -> float:
    """The widest band whose routed share (measured on the validation fold) keeps the expected routed
    texts of a 1M-customer night within the encoder budget. Wider bands route more texts to the better
    model, so within the budget wider is better (the validation figures per band are printed to check it)."""
    ok = [b for b, share in shares.items() if share * nightly_texts <= budget]
    return max(ok) if ok else 0.0


class CascadeModel:
    """`fast` scores every text; texts routed by `route` get the fusion probabilities
    softmax(w log p_fast + (1 - w) log p_e5) (e5.fuse), computed from the fast probabilities already at
    hand plus the e5 head on cached-or-new vectors. score = P(positive) - P(negative).

    `budget` (new texts per `proba` call) is None in evaluation (the band alone decides) and set by the
    nightly task from the policy; `routed` / `encoded` count what the last call did."""

    name = "tfidf_e5_cascade"
    languages = ("en",)
    BAND = 0.01  # chosen on the validation fold for the policy budget (select(); docs, "Fifth round")

    def __init__(
        self,
        edges: tuple[float, float],
        band: float | None = None,
        fusion=None,  # noqa: ANN001 - e5.E5FusionModel (optional wheel)
        budget: int | None = None,
    ) -> None:
        from crm_scoring.enrich.e5 import E5FusionModel

        self.fusion = fusion if fusion is not None else E5FusionModel()
        self.edges = (float(edges[0]), float(edges[1]))
        self.band = self.BAND if band is None else float(band)
        self.budget = budget
        self.version = f"{self.fusion.version}+cascade-b{self.band}-e{self.edges[0]}:{self.edges[1]}"
        self.routed = 0
        self.encoded = 0

    def proba(self, texts: Sequence[str]) -> np.ndarray:
        from crm_scoring.enrich.e5 import fuse

        if not texts:
            return np.zeros((0, 3))
        texts = list(texts)
        p = self.fusion.fast.proba(texts)
        cached = self.fusion.cached(texts) if self.budget is not None else None
        mask = route(p[:, 2] - p[:, 0], texts, self.edges, self.band, self.budget, cached)
        idx = np.flatnonzero(mask)
        self.routed, self.encoded = len(idx), 0
        if len(idx):
            before = self.fusion.embedded()
            p[idx] = fuse(p[idx], self.fusion.head_proba([texts[i] for i in idx]), self.fusion.WEIGHT)
            self.encoded = self.fusion.embedded() - before
        return p

    def score(self, texts: Sequence[str]) -> list[float]:
        from crm_scoring.enrich.model import score_of

        return score_of(self.proba(texts))


def select() -> None:
    """Band choice on the validation fold: fast model and e5 head trained on the fit part only (selection.py);
    per band: routed share, and the validation figures of the cascade (texts whose vectors are not cached
    keep the fast score, reported as `uncached`)."""
    from crm_scoring.enrich.e5 import E5FusionModel as F
    from crm_scoring.enrich.e5 import E5Head, backfill_order, embedding_cache, fuse
    from crm_scoring.enrich.evaluate import csv_policy
    from crm_scoring.enrich.model import LexiconLogitModel
    from crm_scoring.enrich.selection import figures, validation_split

    neg, pos, _ = csv_policy()
    (fit_t, fit_y), val = validation_split()
    fast = LexiconLogitModel(training=(fit_t, fit_y))
    cache_ = embedding_cache()
    pool = set(backfill_order("train")[: F.HEAD_TEXTS])
    have = [i for i, t in enumerate(fit_t) if t in pool and not cache_.missing([t])]
    head = E5Head([fit_t[i] for i in have], [fit_y[i] for i in have], F.HEAD_C)
    print(f"fast model on {len(fit_t)} fit texts; e5 head on {len(have)} cached fit texts of the head pool")
    pf = {k: fast.proba(c.texts) for k, c in val.items()}
    n_all = sum(len(c.texts) for c in val.values())
    shares = {}
    for band in BAND_GRID:
        cells, routed, uncached = [], 0, 0
        for k, c in val.items():
            p = pf[k].copy()
            mask = route(p[:, 2] - p[:, 0], c.texts, (neg, pos), band)
            idx = [i for i in np.flatnonzero(mask) if not cache_.missing([c.texts[i]])]
            routed += int(mask.sum())
            uncached += int(mask.sum()) - len(idx)
            if idx:
                p[idx] = fuse(p[idx], head.proba(cache_.lookup([c.texts[i] for i in idx])), F.WEIGHT)
            f = figures(p, c, neg, pos)
            cells.append(f"{k}: tag {f['neg_tag']:.3f} auc {f['auc']:.3f} "
                         f"3c {f['3c_bands']:.3f}/{f['3c_argmax']:.3f}")  # fmt: skip
        shares[band] = routed / n_all
        head_ = f"band {band:<5} routed {routed:5d} ({routed / n_all:.3%}, uncached {uncached}) | "
        print(head_ + " | ".join(cells), flush=True)
    policy_seconds = policy_budget_seconds()
    for seconds in sorted({10.0, 20.0, 30.0, 45.0, 60.0, policy_seconds or 0.0}):
        n = budget_texts(seconds)
        mark = "  <- policy nlp_encoder_budget_seconds" if seconds == policy_seconds else ""
        print(f"budget {seconds:g} s x {ENCODER_TEXTS_PER_CPU_SECOND} texts/s = {n} texts/night -> band "
              f"{choose_band(shares, n)} (1M-customer night: {NIGHTLY_TEXTS_1M:,} texts){mark}")  # fmt: skip


def policy_budget_seconds() -> float | None:
    """`nlp_encoder_budget_seconds` from the policy CSV (selection runs without a warehouse). The nightly
    task does not read it yet: the cascade is a measured candidate, not the shipped model; shipping it means
    building `CascadeModel(edges, budget=budget_texts(<the parameter in force>))` in the task."""
    from crm_scoring.enrich.policy import seed_parameter_values

    value = seed_parameter_values().get("nlp_encoder_budget_seconds")
    return float(value) if value else None


def rate() -> None:
    """Encoder texts per CPU second on up to 300 texts of the report sets that are not cached yet."""
    import time

    from crm_scoring.enrich import corpora
    from crm_scoring.enrich.e5 import embedding_cache, encode
    from crm_scoring.enrich.evaluate import REPORT_SETS

    texts = [t for _, key, part in REPORT_SETS for t in corpora.split(key, part).texts]
    todo = embedding_cache().missing(texts)
    sample = todo[:: max(1, len(todo) // 300)][:300]
    t0 = time.process_time()
    encode(sample)
    spent = time.process_time() - t0
    print(f"encoder: {len(sample)} texts at {len(sample) / spent:.1f} texts per CPU second")


def paired() -> None:
    """Cascade vs the fast model on the same items: texts fixed / broken and the exact McNemar p-value
    (two-sided binomial test on the discordant pairs), for the gate, airline 3-class, NYT and crowd tweets."""
    from math import comb

    from crm_scoring.enrich import corpora
    from crm_scoring.enrich.emotion import Bands
    from crm_scoring.enrich.evaluate import csv_policy

    neg, pos, _ = csv_policy()
    model, bands = CascadeModel((neg, pos)), Bands(neg, pos)
    for key, part, task in (("amazon", "all", "tag"), ("cs_tweets", "test", "3c"), ("nyt", "all", "tag"),
                            ("crowd_tweets", "test", "tag")):  # fmt: skip
        c = corpora.split(key, part)
        fast, casc = model.fusion.fast.proba(c.texts), model.proba(c.texts)
        r = np.asarray(c.ratings)
        if task == "tag":
            keep = np.abs(r) >= corpora.POLAR_MIN_RATING
            gold = r[keep] < 0
            a, b = (((p[:, 2] - p[:, 0])[keep] <= neg) == gold for p in (fast, casc))
        else:
            gold = np.asarray(c.labels())
            a, b = (np.array([bands.polarity(x) for x in p[:, 2] - p[:, 0]]) == gold for p in (fast, casc))
        fixed, broken = int(np.sum(~a & b)), int(np.sum(a & ~b))
        n = fixed + broken
        p_value = min(1.0, 2 * sum(comb(n, k) for k in range(min(fixed, broken) + 1)) / 2**n) if n else 1.0
        print(f"{key} {task}: routed {model.routed}, fixed {fixed}, broken {broken}, p = {p_value:.3f}")


if __name__ == "__main__":
    if "--rate" in sys.argv:
        rate()
    elif "--paired" in sys.argv:
        paired()
    else:
        select()
