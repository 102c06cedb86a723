"""Issue 10, fourth round: the embedding cache (a text is embedded once, ever), the text normalisation and
negation marks of the TF-IDF variants, the log-linear fusion and the selection fold. Pure logic: the
encoder is a deterministic stand-in (the real one is a 91 MB optional wheel, measured by enrich/e5.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from crm_scoring.enrich import corpora
from crm_scoring.enrich.embeddings import EmbeddingCache, text_key
from crm_scoring.enrich.model import mark_negation, normalise
from crm_scoring.enrich.selection import is_validation, validation_split

DIM = 8


class CountingEncoder:
    """Vectors from the text's hash; counts what it was asked to encode."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls += texts
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[:DIM], dtype=np.uint8) for t in texts]
        return np.asarray(rows, dtype=np.float32) / 255


def test_each_text_is_embedded_once_across_processes(tmp_path: Path) -> None:
    enc = CountingEncoder()
    first = EmbeddingCache("enc", DIM, root=tmp_path)
    a = first.embed(["good", "bad", "good"], enc, chunk_size=1)
    assert enc.calls == ["good", "bad"] and first.embedded == 2
    assert np.array_equal(a[0], a[2])
    # a new instance (another process, another night) reads the chunks: only the new text is encoded
    second = EmbeddingCache("enc", DIM, root=tmp_path)
    b = second.embed(["bad", "new", "good"], enc)
    assert enc.calls == ["good", "bad", "new"] and second.embedded == 1
    assert np.array_equal(b[0], a[1]) and np.array_equal(b[2], a[0])
    # float16 storage: every reader sees the same numbers as the writer
    assert np.array_equal(second.lookup(["good"]), first.lookup(["good"]))


def test_digest_with_trailing_zero_byte_round_trips(tmp_path: Path) -> None:
    # numpy's fixed-width bytes type strips trailing NULs: keys are stored as a uint8 matrix instead
    text = next(f"t{i}" for i in range(10_000) if text_key(f"t{i}").endswith(b"\x00"))
    enc = CountingEncoder()
    EmbeddingCache("enc", DIM, root=tmp_path).embed([text], enc)
    again = EmbeddingCache("enc", DIM, root=tmp_path)
    assert again.missing([text]) == []


def test_damaged_or_foreign_chunks_are_ignored(tmp_path: Path) -> None:
    enc = CountingEncoder()
    EmbeddingCache("enc", DIM, root=tmp_path).embed(["x"], enc)
    (tmp_path / "enc" / "chunk-broken.npz").write_bytes(b"not a zip")
    with open(tmp_path / "enc" / "chunk-otherdim.npz", "wb") as f:
        np.savez(f, sha=np.zeros((1, 32), dtype=np.uint8), emb=np.zeros((1, DIM + 1), dtype=np.float16))
    cache = EmbeddingCache("enc", DIM, root=tmp_path)
    assert len(cache) == 1 and cache.missing(["x", "y"]) == ["y"]
    assert EmbeddingCache("other-encoder", DIM, root=tmp_path).missing(["x"]) == ["x"]


def test_normalise_and_negation_marks() -> None:
    assert (
        normalise("@united lost my bag &amp; no reply http://t.co/abc") == "@USER lost my bag & no reply URL"
    )
    assert normalise("mail me at a@b.com") == "mail me at a@b.com"  # an e-mail is not a mention
    assert normalise("Très bien 😊 中文") == "Très bien 😊 中文"  # real Unicode is left alone
    marked = mark_negation("I don't like it, but not bad. Great")
    assert marked == "I don't NOT_like NOT_it , but not NOT_bad . Great"


def test_fuse_is_a_weighted_geometric_mean() -> None:
    from crm_scoring.enrich.e5 import fuse

    a = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    b = np.array([[0.3, 0.3, 0.4], [0.2, 0.2, 0.6]])
    assert np.allclose(fuse(a, b, 1.0), a) and np.allclose(fuse(a, b, 0.0), b)
    mid = fuse(a, b, 0.5)
    g = np.sqrt(a * b)
    assert np.allclose(mid, g / g.sum(axis=1, keepdims=True))


def test_selection_fold_is_inside_the_training_parts() -> None:
    (fit_t, _), val = validation_split()
    val_texts = {t for c in val.values() for t in c.texts}
    assert val_texts and not val_texts & set(fit_t)
    assert all(is_validation(t) for t in val_texts)
    assert not any(corpora.is_test(t) for t in val_texts)
    assert set(fit_t) | val_texts == set(corpora.training_data()[0])
