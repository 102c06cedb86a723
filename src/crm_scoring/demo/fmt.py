"""Column formatters: raw numpy arrays -> CSV fields, applied lazily per write batch.

A block keeps its columns as compact numpy arrays and only the rows being written are turned
into Python strings, which keeps memory bounded for millions of rows. Every formatter returns
fields that are already CSV-safe: only free text can contain a delimiter, quote or line break,
and `text` quotes exactly like `csv.writer` (QUOTE_MINIMAL, RFC 4180).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

NA_TS = np.iinfo(np.int64).min  # NaT: "no timestamp"
Formatter = Callable[[np.ndarray], list[str]]


def ts(seconds: np.ndarray) -> Formatter:
    """Epoch seconds -> ISO 8601 UTC with `Z`; NA_TS -> empty."""

    def f(idx: np.ndarray) -> list[str]:
        sec = seconds[idx]
        out = np.datetime_as_string(sec.astype("datetime64[s]"), timezone="UTC").tolist()
        if (sec == NA_TS).any():
            return [s if s != "NaT" else "" for s in out]
        return out

    return f


def cat(codes: np.ndarray, values: Sequence[str]) -> Formatter:
    """Integer codes into a value set; -1 -> empty."""
    table = np.asarray([quote(v) for v in values] + [""], dtype=object)

    def f(idx: np.ndarray) -> list[str]:
        return table[codes[idx]].tolist()

    return f


def ident(prefix: str, numbers: np.ndarray, width: int) -> Formatter:
    pattern = f"{prefix}%0{width}d"

    def f(idx: np.ndarray) -> list[str]:
        return [pattern % x for x in numbers[idx].tolist()]

    return f


def cents(amounts: np.ndarray) -> Formatter:
    """Integer cents -> `123.45` (exact, no float rounding); negative -> empty."""

    def f(idx: np.ndarray) -> list[str]:
        return [f"{c // 100}.{c % 100:02d}" if c >= 0 else "" for c in amounts[idx].tolist()]

    return f


def integer(values: np.ndarray) -> Formatter:
    """Non-negative integers; negative -> empty."""

    def f(idx: np.ndarray) -> list[str]:
        return [str(v) if v >= 0 else "" for v in values[idx].tolist()]

    return f


def boolean(values: np.ndarray) -> Formatter:
    """int8 1/0 -> true/false; -1 -> empty."""
    return cat(np.where(values < 0, -1, 1 - values).astype(np.int64), ("true", "false"))


def quote(value: str) -> str:
    """RFC 4180 / csv.QUOTE_MINIMAL: quote a field holding a delimiter, quote or line break."""
    if "," in value or '"' in value or "\n" in value or "\r" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def text(values: np.ndarray) -> Formatter:
    """Object array of free text; quoted where needed."""

    def f(idx: np.ndarray) -> list[str]:
        return [quote(v) for v in values[idx].tolist()]

    return f


def lookup(values: np.ndarray, codes: np.ndarray) -> Formatter:
    """Pre-formatted, CSV-safe strings (e.g. the chunk's customer ids) picked by code."""

    def f(idx: np.ndarray) -> list[str]:
        return values[codes[idx]].tolist()

    return f


def const(value: str) -> Formatter:
    value = quote(value)

    def f(idx: np.ndarray) -> list[str]:
        return [value] * len(idx)

    return f
