"""DQ-06 quality gate: measure negative-emotion tagging on human-labelled text, compare with the policy.

Dataset: 3,708 Amazon customer-review snippets, each rated by >= 20 humans on -4..+4 (Hutto & Gilbert
2014; shipped in the vaderSentiment sdist on PyPI, provenance in data/PROVENANCE.md).

Metric ("negative-emotion tagging accuracy"): on the snippets the raters found polar (|mean rating| >=
POLAR_MIN_RATING; near-zero means are ambiguous and left out), a snippet is truly negative when the mean
rating is below zero; the pipeline tags it negative when the model score is <= sentiment_negative_max_score,
exactly as the nightly run does. Accuracy and the F1 of the negative class are reported. Accuracy over
all snippets with a banded gold label was rejected: 86 % of them are non-negative, so "never negative"
would beat the model.

`python -m crm_scoring.enrich.evaluate` prints the figures for the configured models.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from crm_scoring.enrich.model import SentimentModel

DATA_DIR = Path(__file__).parent / "data"
GATE_DATASET = "hutto2014_amazon_review_snippets"
GATE_FILE = DATA_DIR / "amazonReviewSnippets_GroundTruth.txt"
GATE_SHA256 = "11a9807a0974a2506a2d3b4851eaf69b3d6d20688ce4923adda2312a4f6dd6c2"
POLAR_MIN_RATING = 0.5  # half a point on the raters' -4..+4 scale


@dataclass(frozen=True)
class Evaluation:
    model_name: str
    model_version: str
    eval_dataset: str
    items: int
    accuracy: float
    negative_f1: float
    majority_baseline: float  # accuracy of always answering the majority class, for context
    texts_per_second: float


@cache
def load_gate_set(path: Path = GATE_FILE) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """(texts, mean human ratings) of the polar snippets; refuses a file that is not the documented one."""
    raw = path.read_bytes()
    if path == GATE_FILE and hashlib.sha256(raw).hexdigest() != GATE_SHA256:
        raise ValueError(f"{path} is not the documented gate dataset (sha256 mismatch)")
    texts, ratings = [], []
    for line in raw.decode("utf-8-sig", errors="replace").splitlines():
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        rating = float(parts[1])
        if abs(rating) >= POLAR_MIN_RATING:
            texts.append(parts[2].strip())
            ratings.append(rating)
    return tuple(texts), tuple(ratings)


def score_metrics(truth: Sequence[bool], tagged: Sequence[bool]) -> tuple[float, float]:
    """(accuracy, F1 of the positive = 'negative sentiment' class)."""
    tp = sum(t and p for t, p in zip(truth, tagged, strict=True))
    fp = sum((not t) and p for t, p in zip(truth, tagged, strict=True))
    fn = sum(t and (not p) for t, p in zip(truth, tagged, strict=True))
    correct = sum(t == p for t, p in zip(truth, tagged, strict=True))
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return correct / len(truth), f1


def evaluate(model: SentimentModel, negative_max_score: float) -> Evaluation:
    texts, ratings = load_gate_set()
    start = time.perf_counter()
    scores = model.score(texts)
    elapsed = max(time.perf_counter() - start, 1e-9)
    truth = [r < 0 for r in ratings]
    accuracy, f1 = score_metrics(truth, [s <= negative_max_score for s in scores])
    share_negative = sum(truth) / len(truth)
    return Evaluation(
        model_name=model.name,
        model_version=model.version,
        eval_dataset=GATE_DATASET,
        items=len(texts),
        accuracy=round(accuracy, 4),
        negative_f1=round(f1, 4),
        majority_baseline=round(max(share_negative, 1 - share_negative), 4),
        texts_per_second=round(len(texts) / elapsed, 1),
    )


def main() -> None:
    """Print the gate figures for the configured models, thresholds from the policy CSV (no warehouse)."""
    import csv

    from crm_scoring.enrich.model import primary_models
    from crm_scoring.enrich.policy import seeds_dir

    with open(seeds_dir() / "policy_parameters.csv", encoding="utf-8", newline="") as f:
        params = {r["key"]: r["value"] for r in csv.DictReader(f)}
    band = float(params["sentiment_negative_max_score"])
    gate = params.get("nlp_negative_accuracy_min") or "unset"
    for model in primary_models():
        print(evaluate(model, band), f"gate={gate}")


if __name__ == "__main__":
    main()
