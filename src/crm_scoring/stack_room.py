"""Run a call with a quarter of a megabyte of Python frame stack to itself.

Why: CPython 3.11 and 3.12 keep Python frames in 16 KB chunks and free a chunk the moment the frame
that opened it returns. A hot loop whose calls straddle a chunk boundary therefore pays an mmap and a
munmap per call (CPython issue gh-142183, fixed in 3.13/3.14 patch releases by caching one chunk).
Whether a loop straddles a boundary depends only on how deep the caller's stack happens to be, so the
same work is fast in one process and several times slower in another. Measured in the 5,000-customer
night (`python -m crm_scoring.orchestration.bench_night`, strace of the task processes): dbt's node
selection took 0.7-1.0 s in the dbt_marts task and 3.6-6.3 s in dbt_lists and dbt_reporting, where
it made 317,000-564,000 mmap/munmap pairs, every one from `_PyThreadState_BumpFramePointerSlow`.

`call` runs `fn` from a frame that reserves `ROOM_SLOTS` stack slots. Such a frame never fits in a
16 KB chunk, so CPython opens a chunk for it of twice its size, and every frame `fn` calls lives in the
free half of that chunk: no boundary below `fn` until its stack is about 256 KB (over 1,000 ordinary
frames) deep. On a CPython that caches a chunk it costs one allocation of 512 KB per call and nothing
else; on other interpreters it is a plain call.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

# 32,768 slots of 8 bytes: a 256 KB frame, so a 512 KB chunk with 256 KB free above it
ROOM_SLOTS = 32 * 1024


def _with_room() -> Callable[..., object]:
    """A `fn(*args, **kwargs)` trampoline with ROOM_SLOTS more evaluation-stack slots (CPython only)."""

    def run(fn: Callable[..., object], *args: object, **kwargs: object) -> object:
        return fn(*args, **kwargs)

    if platform.python_implementation() == "CPython":
        code = run.__code__
        run.__code__ = code.replace(co_stacksize=code.co_stacksize + ROOM_SLOTS)
    return run


_RUN = _with_room()


def call(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(*args, **kwargs)`, with the frames below it in a chunk of their own (see the module doc)."""
    return _RUN(fn, *args, **kwargs)  # type: ignore[return-value]
