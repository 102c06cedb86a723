"""Polarity bands, emotion class and crisis triage (seed_spec 2.4), given a model score and cue words.

Polarity: negative if score <= sentiment_negative_max_score, positive if score >=
sentiment_positive_min_score, else neutral (policy parameters, never literals).

Emotion (documented mapping):
* negative score: angry if an anger cue is present, else worried if a worry cue, else disappointed;
* neutral or positive score: an explicit anger / worry / disappointment cue with no satisfaction or
  excitement cue wins (the text says so even when the model misreads it: "I'm worried about this" scores
  about 0, "Is my account safe?" +0.44 because of "safe") and turns the polarity negative, as 2.4 maps
  those emotions to negative polarity; otherwise neutral, or for a positive score excited if an
  excitement cue is present, else satisfied.
Crisis triage (000-1f): read from the `sentiment_actions` policy seed (emotion_class -> crisis_triage),
never from code; the seed ships angry / disappointed -> immediate_intervention, worried ->
transparent_communication, neutral / satisfied / excited -> continued_observation. An emotion the seed
does not map is a policy error (loud), not a silent default.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm_scoring.enrich.keywords import KeywordMatcher

EMOTIONS = ("angry", "disappointed", "worried", "neutral", "satisfied", "excited")
NEGATIVE_EMOTIONS = ("angry", "disappointed", "worried")


@dataclass(frozen=True)
class Bands:
    negative_max: float
    positive_min: float

    def polarity(self, score: float) -> str:
        if score <= self.negative_max:
            return "negative"
        if score >= self.positive_min:
            return "positive"
        return "neutral"


def classify(score: float, text: str, language: str, bands: Bands, kw: KeywordMatcher) -> tuple[str, str]:
    """(polarity, emotion_class) for one text."""
    polarity = bands.polarity(score)
    anger = kw.has("anger", language, text)
    worry = kw.has("worry", language, text)
    disappointment = kw.has("disappointment", language, text)
    if polarity == "negative":
        return polarity, "angry" if anger else ("worried" if worry else "disappointed")
    positive_cue = kw.has("satisfaction", language, text) or kw.has("excitement", language, text)
    if not positive_cue:
        if anger:
            return "negative", "angry"
        if worry:
            return "negative", "worried"
        if disappointment:
            return "negative", "disappointed"
    if polarity == "neutral":
        return polarity, "neutral"
    return polarity, "excited" if kw.has("excitement", language, text) else "satisfied"


def triage(emotion: str, mapping: dict[str, str]) -> str:
    """Crisis-triage class of an emotion from the sentiment_actions seed rows in force."""
    try:
        return mapping[emotion]
    except KeyError:
        msg = f"policy error: sentiment_actions has no crisis_triage for emotion {emotion!r}"
        raise ValueError(msg) from None
