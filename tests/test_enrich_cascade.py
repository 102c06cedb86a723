"""Issue 10, fifth round: the fast-model -> e5-fusion cascade (enrich/cascade.py). Pure logic: the fast model,
the e5 head and the embedding cache are deterministic stand-ins (the real encoder is a 91 MB optional wheel,
measured by `python -m crm_scoring.enrich.evaluate --candidates`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from crm_scoring.enrich.cascade import CascadeModel, budget_texts, choose_band, route, uncertainty
from crm_scoring.enrich.model import SentimentModel

EDGES = (-0.4, 0.4)


def test_uncertainty_is_the_distance_to_the_nearest_band_edge() -> None:
    d = uncertainty(np.array([-0.4, -0.35, 0.0, 0.5, -1.0]), EDGES)
    assert np.allclose(d, [0.0, 0.05, 0.4, 0.1, 0.6])


def test_route_sends_only_texts_near_a_band_edge() -> None:
    scores = np.array([-0.9, -0.42, -0.38, 0.0, 0.39, 0.46, 0.9])
    texts = [f"t{i}" for i in range(len(scores))]
    assert route(scores, texts, EDGES, 0.05).tolist() == [False, True, True, False, True, False, False]
    assert not route(scores, texts, EDGES, 0.0).any()
    assert route(scores, texts, EDGES, 2.0).all()


def test_budget_caps_new_texts_only_most_uncertain_first_whatever_the_order() -> None:
    scores = np.array([-0.41, -0.45, 0.43, 0.40, -0.38])  # distances 0.01, 0.05, 0.03, 0.00, 0.02
    texts = ["a", "b", "c", "d", "e"]
    mask = route(scores, texts, EDGES, 0.05, budget=2)
    assert [t for t, m in zip(texts, mask, strict=True) if m] == ["a", "d"]
    # same decision in another batch order (ties and order cannot change who is encoded)
    perm = [4, 2, 0, 3, 1]
    again = route(scores[perm], [texts[i] for i in perm], EDGES, 0.05, budget=2)
    assert {texts[i] for i, m in zip(perm, again, strict=True) if m} == {"a", "d"}
    # texts already embedded cost nothing: always routed, and they do not use up the budget
    cached = [False, True, True, False, False]
    mask = route(scores, texts, EDGES, 0.05, budget=2, cached=cached)
    assert [t for t, m in zip(texts, mask, strict=True) if m] == ["a", "b", "c", "d"]
    assert route(scores, texts, EDGES, 0.05, budget=0).sum() == 0


def test_ties_in_distance_are_broken_by_text_hash() -> None:
    scores = np.array([-0.42, -0.38, 0.42, 0.38])  # all at distance 0.02
    texts = ["w", "x", "y", "z"]
    picks = {tuple(route(scores[::s], texts[::s], EDGES, 0.05, budget=2)[::s]) for s in (1, -1)}
    assert len(picks) == 1 and sum(next(iter(picks))) == 2


def test_budget_and_band_choice() -> None:
    assert budget_texts(45, rate=16.0) == 720 and budget_texts(None) is None
    shares = {0.0: 0.0, 0.02: 0.01, 0.05: 0.03, 0.1: 0.08}
    assert choose_band(shares, budget=720, nightly_texts=22_600) == 0.05  # 0.03 x 22,600 = 678 <= 720
    assert choose_band(shares, budget=600, nightly_texts=22_600) == 0.02  # 226 <= 600 < 678
    assert choose_band(shares, budget=0, nightly_texts=22_600) == 0.0


class _Fast:
    """P(positive) - P(negative) = the number the text starts with (|s| <= 0.9); neutral holds the rest."""

    def proba(self, texts: Sequence[str]) -> np.ndarray:
        s = np.array([float(t.split()[0]) for t in texts])
        neg, pos = np.clip(-s, 0, 1) + 0.05, np.clip(s, 0, 1) + 0.05
        return np.column_stack([neg, 1 - neg - pos, pos])


class _Fusion:
    """Stand-in for e5.E5FusionModel: an e5 head that is sure the text is negative; counts encodings."""

    WEIGHT = 0.5
    version = "fusion-test"

    def __init__(self, cached: set[str] = frozenset()) -> None:
        self.fast = _Fast()
        self._cached = set(cached)
        self.seen: list[str] = []

    def head_proba(self, texts: Sequence[str]) -> np.ndarray:
        self.seen += [t for t in texts if t not in self._cached]
        self._cached |= set(texts)
        return np.tile([0.98, 0.01, 0.01], (len(texts), 1))

    def cached(self, texts: Sequence[str]) -> list[bool]:
        return [t in self._cached for t in texts]

    def embedded(self) -> int:
        return len(self.seen)


def test_cascade_rescores_only_routed_texts_and_keeps_the_contract() -> None:
    fusion = _Fusion()
    model = CascadeModel(EDGES, band=0.05, fusion=fusion)
    assert isinstance(model, SentimentModel) and model.languages == ("en",)
    texts = ["-0.9 awful", "-0.37 meh", "0.0 ok", "0.42 nice", "0.9 great"]
    fast = _Fast().proba(texts)
    p = model.proba(texts)
    assert np.allclose(p.sum(axis=1), 1)
    assert fusion.seen == ["-0.37 meh", "0.42 nice"] and model.routed == 2 and model.encoded == 2
    for i in (0, 2, 4):  # outside the band: exactly the fast model
        assert np.allclose(p[i], fast[i])
    for i in (1, 3):  # routed: pulled towards the (negative) e5 head
        assert p[i, 0] > fast[i, 0]
    scores = model.score(texts)
    assert all(-1 <= s <= 1 for s in scores)
    # determinism: same text, same score, whatever the batch around it
    assert model.score(["0.42 nice"]) == [scores[3]] and model.score(texts[::-1]) == scores[::-1]
    assert model.encoded == 0  # second time: vectors cached
    assert model.proba([]).shape == (0, 3)


def test_cascade_version_names_band_and_edges() -> None:
    a = CascadeModel(EDGES, band=0.05, fusion=_Fusion())
    assert CascadeModel(EDGES, band=0.1, fusion=_Fusion()).version != a.version
    assert CascadeModel((-0.3, 0.4), band=0.05, fusion=_Fusion()).version != a.version


@pytest.mark.parametrize("budget", [0, 1])
def test_cascade_budget_limits_new_encodings(budget: int) -> None:
    fusion = _Fusion(cached={"-0.38 cached"})
    model = CascadeModel(EDGES, band=0.05, fusion=fusion, budget=budget)
    model.proba(["-0.41 new", "-0.38 cached", "0.44 other"])
    assert model.encoded == budget and model.routed == 1 + budget
    assert fusion.seen == ["-0.41 new"][:budget]
