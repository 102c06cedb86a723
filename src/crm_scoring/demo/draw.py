"""Small vectorised sampling helpers."""

from __future__ import annotations

import numpy as np


def choose(rng: np.random.Generator, table: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """One category per row, drawn from the probability row `table[codes[i]]`."""
    table = np.asarray(table, dtype=float)
    out = np.zeros(len(codes), dtype=np.int64)
    for code in range(table.shape[0]):
        sel = np.flatnonzero(codes == code)
        if len(sel):
            out[sel] = rng.choice(table.shape[1], size=len(sel), p=table[code] / table[code].sum())
    return out


def choose_fixed(rng: np.random.Generator, p: np.ndarray | list[float], n: int) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


def ids(chunk_no: int, n: int, per_chunk: int) -> np.ndarray:
    """Globally unique, deterministic numbers: chunk number then sequence."""
    if n >= per_chunk:
        raise ValueError("id space of a chunk exhausted")
    return chunk_no * per_chunk + np.arange(1, n + 1, dtype=np.int64)
