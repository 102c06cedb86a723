"""The sentiment model behind one small interface, so it can be replaced without touching the task.

`SentimentModel.score(texts)` returns one polarity score in [-1, 1] per text. Everything else (polarity
bands, emotion, triage, quality gate) is model-independent and lives elsewhere.

Implementations:
* `VaderModel`: VADER (vaderSentiment, MIT), a lexicon + rules model for English; its lexicon was rated
  by 10 humans per word and it runs offline, deterministic and fast (pure Python, no weights download).
* `KeywordLexiconModel`: counts cue words from the policy keyword lists; the documented fallback for
  languages no model covers (zh-CN) and for texts in any language when no model is usable.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import metadata
from typing import Protocol, runtime_checkable

from crm_scoring.enrich.keywords import KeywordMatcher

NEGATIVE_CUE_LISTS = ("anger", "disappointment", "worry", "negative_emotion", "risk")
POSITIVE_CUE_LISTS = ("satisfaction", "excitement")


@runtime_checkable
class SentimentModel(Protocol):
    name: str
    version: str
    languages: tuple[str, ...]  # base languages it is valid for ("en", "zh-CN"); ("*",) = any

    def score(self, texts: Sequence[str]) -> list[float]:
        """Polarity score in [-1, 1] per text (negative ... positive)."""
        ...


class VaderModel:
    """VADER's normalised `compound` score, which is already in [-1, 1]."""

    name = "vader"
    languages = ("en",)

    def __init__(self) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self._sia = SentimentIntensityAnalyzer()
        self.version = metadata.version("vaderSentiment")

    def score(self, texts: Sequence[str]) -> list[float]:
        polarity = self._sia.polarity_scores
        return [float(polarity(t)["compound"]) for t in texts]


class KeywordLexiconModel:
    """(positive cues - negative cues) / (positive + negative + 1): one cue reaches +-0.5, no cue is 0."""

    name = "keyword_lexicon"
    languages = ("*",)

    def __init__(self, matcher: KeywordMatcher, language: str, policy_version: str) -> None:
        self._matcher = matcher
        self._language = language
        self.version = f"policy-{policy_version}"

    def score(self, texts: Sequence[str]) -> list[float]:
        m, lang = self._matcher, self._language
        out = []
        for t in texts:
            neg = sum(m.count(name, lang, t) for name in NEGATIVE_CUE_LISTS)
            pos = sum(m.count(name, lang, t) for name in POSITIVE_CUE_LISTS)
            out.append((pos - neg) / (pos + neg + 1))
        return out


def primary_models() -> list[SentimentModel]:
    """Models in order of preference for English; the first that passes the DQ-06 gate is used."""
    return [VaderModel()]
