"""Human-labelled public text sets the text models are trained and measured on (data/PROVENANCE.md).

All four sets are Hutto & Gilbert (ICWSM 2014) sentence sets shipped in the vaderSentiment sdist on PyPI:
each sentence was rated by >= 20 screened humans on -4..+4 and carries the mean rating. They come from
four domains, which is what lets us measure transfer honestly:

* `amazon`  : product-review sentences. The DQ-06 gate set. NEVER used for training or model selection.
* `nyt`     : NYT editorial sentences. Fully held out (zero-shot domain): never trained on, never used to
              pick a model or a hyper-parameter.
* `tweets`  : general tweets (social media); train / test split by text hash.
* `movies`  : movie-review sentences; train / test split by text hash.

Labels: negative if mean rating <= -POLAR_MIN_RATING, positive if >= +POLAR_MIN_RATING, else neutral
(3-class); the binary polarity view keeps the polar items only, as the DQ-06 gate metric does.
Splits are a pure function of the text (sha256), so they are the same on every machine and every run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
POLAR_MIN_RATING = 0.5  # half a point on the raters' -4..+4 scale
TEST_FOLDS = 5  # 1 in 5 texts (by hash) is test, the rest is training

CORPORA = {
    # key: (file, sha256, domain, role)
    "amazon": (
        "amazonReviewSnippets_GroundTruth.txt",
        "11a9807a0974a2506a2d3b4851eaf69b3d6d20688ce4923adda2312a4f6dd6c2",
        "product reviews",
        "gate",
    ),
    "nyt": (
        "nytEditorialSnippets_GroundTruth.txt",
        "7d8fbcce7dde5d716da53e78f4ef4be6b706e9ef1e1d51887e6d0ad4b69cc27e",
        "news editorials",
        "zero_shot",
    ),
    "tweets": (
        "tweets_GroundTruth.txt",
        "dfbe7102e2f92579ed8b19df9a3822491880697c67adf712fb66e520cc05102f",
        "social media",
        "train_test",
    ),
    "movies": (
        "movieReviewSnippets_GroundTruth.txt",
        "c8293b0d942e90e223ea2c0955d969040d1a1be514a978b9af0698940bd13350",
        "movie reviews",
        "train_test",
    ),
}
TRAIN_CORPORA = tuple(k for k, v in CORPORA.items() if v[3] == "train_test")
LABELS = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class Corpus:
    key: str
    domain: str
    role: str
    texts: tuple[str, ...]
    ratings: tuple[float, ...]

    def labels(self) -> list[str]:
        return [label_of(r) for r in self.ratings]


def label_of(rating: float) -> str:
    if rating <= -POLAR_MIN_RATING:
        return "negative"
    if rating >= POLAR_MIN_RATING:
        return "positive"
    return "neutral"


def is_test(text: str) -> bool:
    """Deterministic 1-in-TEST_FOLDS test membership from the text itself."""
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16) % TEST_FOLDS == 0


@cache
def load(key: str) -> Corpus:
    """A whole corpus; refuses a file whose sha256 is not the documented one."""
    name, sha, domain, role = CORPORA[key]
    raw = (DATA_DIR / name).read_bytes()
    if hashlib.sha256(raw).hexdigest() != sha:
        raise ValueError(f"{name} is not the documented dataset (sha256 mismatch)")
    texts, ratings = [], []
    for line in raw.decode("utf-8-sig", errors="replace").splitlines():
        parts = line.split("\t")
        if len(parts) < 3 or not parts[2].strip():
            continue
        texts.append(parts[2].strip())
        ratings.append(float(parts[1]))
    return Corpus(key, domain, role, tuple(texts), tuple(ratings))


def split(key: str, part: str) -> Corpus:
    """`part` = train | test | all. Gate and zero-shot corpora have no training part."""
    c = load(key)
    if part == "all":
        return c
    if part == "train" and c.role != "train_test":
        raise ValueError(f"corpus {key} ({c.role}) must never be trained on")
    keep = [i for i, t in enumerate(c.texts) if is_test(t) == (part == "test")]
    return Corpus(
        f"{key}:{part}", c.domain, c.role, tuple(c.texts[i] for i in keep), tuple(c.ratings[i] for i in keep)
    )


def training_data() -> tuple[list[str], list[str]]:
    """(texts, 3-class labels) of the training parts, in a fixed order."""
    texts: list[str] = []
    labels: list[str] = []
    for key in TRAIN_CORPORA:
        c = split(key, "train")
        texts.extend(c.texts)
        labels.extend(c.labels())
    return texts, labels
