"""The DAG's dbt_lists task runs `tasks.build_lists` inside cosmos' one dbt command: `dbt parse` once, the
build of the candidates on that manifest, the candidates' reason codes, the build of the rest on the same
manifest, in that order (pure logic: cosmos' execute, dbtRunner and the reasons step are replaced by
recorders; the real parts run in tests/test_e2e.py and tests/test_crash.py)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from cosmos.operators.local import DbtBuildLocalOperator

from crm_scoring.orchestration import dbt_selectors, lists_step, tasks
from crm_scoring.orchestration.dbt_config import dbt_build_task
from crm_scoring.orchestration.lists_step import ListsBuildOperator

FLAGS = ["--project-dir", "/tmp/p", "--profiles-dir", "/d", "--profile", "crm", "--target", "dev",
         "--no-static-parser", "--no-write-json", "--log-level-file", "none"]  # fmt: skip
COMMAND = ["dbt", "build", "--selector", dbt_selectors.LISTS, *FLAGS]


class _Result:
    def __init__(self, success: bool, result: object = None) -> None:
        self.success, self.result, self.exception = success, result, None


def _recording(calls: list[str], fail_selector: str | None = None) -> type:
    class Runner:
        def __init__(self, manifest: object = None, callbacks: object = None) -> None:
            self.manifest = manifest

        def invoke(self, args: list[str]) -> _Result:
            if args[0] == "parse":
                calls.append(f"parse {' '.join(args[1:])}")
                return _Result(True, "MANIFEST")
            selector = args[args.index("--selector") + 1]
            calls.append(f"dbt {args[0]} {selector} on {self.manifest}")
            if selector == fail_selector:  # a model fails: dbt's run results name it
                failed = SimpleNamespace(
                    status="error", node=SimpleNamespace(name="retention_candidates"), message="boom"
                )
                return _Result(False, SimpleNamespace(results=[failed]))
            return _Result(True)

    return Runner


def _patch(monkeypatch: pytest.MonkeyPatch, calls: list[str], fail_selector: str | None = None) -> None:
    def explain(url: str, run_date: object, part: str, **kwargs: object) -> object:
        calls.append(f"reasons {part} {run_date} {kwargs.get('failpoint')}")
        from crm_scoring.model.explain import ExplainResult

        return ExplainResult(run_date, part, 7, 21, "3")  # type: ignore[arg-type]

    def cosmos_execute(self: DbtBuildLocalOperator, context: dict, **kwargs: Any) -> None:
        # cosmos' one command: its project copy and flags, then the operator's dbtRunner call
        calls.append(f"cosmos {self.selector}")
        result = self.run_dbt_runner(COMMAND, {}, "/tmp", context=context)
        self.handle_exception(result)

    monkeypatch.setattr("dbt.cli.main.dbtRunner", _recording(calls, fail_selector))
    monkeypatch.setattr(DbtBuildLocalOperator, "execute", cosmos_execute)
    monkeypatch.setattr("crm_scoring.model.explain.explain", explain)
    monkeypatch.setattr(tasks.locks, "hold", lambda *a, **k: _Null())
    monkeypatch.setenv("CRM_WAREHOUSE_URL", "postgresql://nobody@127.0.0.1:1/none")


def test_the_lists_task_parses_once_then_builds_candidates_reasons_lists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    _patch(monkeypatch, calls)
    op = dbt_build_task("dbt_lists", dbt_selectors.LISTS, operator=ListsBuildOperator)
    out = ListsBuildOperator.execute.__wrapped__(op, {"ds": "2026-11-26"})  # the task runner's call
    assert calls == [
        f"cosmos {dbt_selectors.LISTS}",
        f"parse {' '.join(FLAGS)}",
        f"dbt build {dbt_selectors.CANDIDATES} on MANIFEST",
        "reasons candidates 2026-11-26 dbt_lists:reasons",
        f"dbt build {dbt_selectors.LISTS_AFTER_REASONS} on MANIFEST",
    ]
    assert out == {"explained": 7, "reason_rows": 21, "model_version": "3"}
    assert op.selector == dbt_selectors.LISTS  # the task's own selection is left as rendered


def test_a_failed_candidates_build_fails_the_task_before_the_reasons(monkeypatch: pytest.MonkeyPatch) -> None:
    from cosmos.exceptions import CosmosDbtRunError

    calls: list[str] = []
    _patch(monkeypatch, calls, fail_selector=dbt_selectors.CANDIDATES)
    op = dbt_build_task("dbt_lists", dbt_selectors.LISTS, operator=ListsBuildOperator)
    with pytest.raises(CosmosDbtRunError, match="retention_candidates: boom"):
        ListsBuildOperator.execute.__wrapped__(op, {"ds": "2026-11-26"})
    assert calls[-1] == f"dbt build {dbt_selectors.CANDIDATES} on MANIFEST"


def test_parse_args_keep_the_project_and_parse_flags_only() -> None:
    assert lists_step.parse_args(COMMAND[1:]) == ["parse", *FLAGS]
    assert lists_step.with_selector(COMMAND[1:], "x") == ["build", "--selector", "x", *FLAGS]
    # a flag `dbt parse` may not take: no shared manifest, each build parses as before
    assert lists_step.parse_args(["build", "--selector", "s", "--full-refresh", *FLAGS]) is None


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
