"""crm_scoring.stack_room: a call's frames never straddle a CPython frame-stack chunk in a hot loop.

Pure logic, no services: a loop of small calls run at every caller depth from 0 to 400 frames, its
minor page faults counted. On CPython 3.11/3.12, at the depth where the loop's calls cross a 16 KB
chunk boundary, each call maps and unmaps a chunk (>= one page fault per call); through
`stack_room.call` no depth may do that.
"""

from __future__ import annotations

import platform
import resource
import sys

import pytest

from crm_scoring import stack_room

CALLS = 20_000
DEPTHS = range(0, 400)


def _leaf(x: int) -> int:
    return x + 1


def _loop() -> int:
    total = 0
    for _ in range(CALLS):
        total = _leaf(total)
    return total


def _at_depth(depth: int) -> int:
    if depth == 0:
        return _loop()
    return _at_depth(depth - 1)


def _faults(run) -> int:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    run()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def _thrashing_depths(call) -> list[int]:
    """Caller depths at which the loop faulted at least once per four calls."""
    return [d for d in DEPTHS if _faults(lambda d=d: call(_at_depth, d)) > CALLS // 4]


def _plain(fn, *args):
    return fn(*args)


def test_the_call_returns_what_the_function_returns_and_raises_what_it_raises():
    assert stack_room.call(lambda a, b=0: a + b, 2, b=3) == 5
    with pytest.raises(KeyError, match="x"):
        stack_room.call({}.__getitem__, "x")


def test_no_caller_depth_thrashes_the_frame_stack_through_stack_room():
    assert _thrashing_depths(stack_room.call) == []


@pytest.mark.skipif(platform.python_implementation() != "CPython", reason="CPython's frame stack")
def test_the_trampoline_reserves_its_room_on_cpython():
    code = stack_room._RUN.__code__
    assert code.co_stacksize >= stack_room.ROOM_SLOTS


@pytest.mark.skipif(
    platform.python_implementation() != "CPython" or sys.version_info[:2] != (3, 11),
    reason="the thrash is shown on the CPython the platform pins (3.11); later patch releases cache a chunk",
)
def test_without_stack_room_some_depth_thrashes_on_cpython_311():
    """The failure this module exists for, shown on the interpreter the platform runs (3.11)."""
    assert _thrashing_depths(_plain), "no depth thrashed: re-measure whether stack_room is still needed"


def test_dbt_runs_through_it_in_the_dags_and_in_process(monkeypatch):
    """The DAGs' dbt operators and `dbt_invoke.invoke` (crm train, demo nights, bench) call dbt through it."""
    from cosmos.operators.local import DbtLocalBaseOperator

    from crm_scoring import dbt_invoke
    from crm_scoring.orchestration import dbt_config, lists_step

    for operator in (dbt_config.DbtBuildOperator, dbt_config.DbtTestOperator, lists_step.ListsBuildOperator):
        mro = operator.__mro__
        assert mro.index(dbt_config._StackRoom) < mro.index(DbtLocalBaseOperator), operator

    calls = []
    real = stack_room.call

    def recording(fn, *args, **kwargs):
        calls.append(getattr(fn, "__qualname__", fn))
        return real(fn, *args, **kwargs)

    monkeypatch.setattr(stack_room, "call", recording)
    dbt_invoke.invoke(["debug", "--config-dir"], "postgresql://x@127.0.0.1:5432/x")
    assert calls == ["dbtRunner.invoke"]


def test_the_scheduler_preloads_and_schedules_through_it(monkeypatch):
    """`crm run`'s scheduler (and so every LocalExecutor worker and task process forked from it)."""
    from crm_scoring.orchestration import scheduler

    calls = []
    monkeypatch.setattr(stack_room, "call", lambda fn, *a, **k: calls.append(fn.__name__))
    scheduler.main()
    assert calls == ["_preload_and_schedule"]
