"""The DAG's dbt_lists task runs `tasks.build_lists`: cosmos' dbt build of the candidates, the candidates'
reason codes, cosmos' dbt build of the rest, in that order (pure logic: cosmos' execute and the reasons
step are replaced by recorders; the real parts run in tests/test_e2e.py and tests/test_crash.py)."""

from __future__ import annotations

import pytest
from cosmos.operators.local import DbtBuildLocalOperator

from crm_scoring.orchestration import dbt_selectors, tasks
from crm_scoring.orchestration.dbt_config import dbt_build_task
from crm_scoring.orchestration.lists_step import ListsBuildOperator


def test_the_lists_task_builds_candidates_then_reasons_then_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def dbt_execute(self: DbtBuildLocalOperator, context: dict, **kwargs: object) -> None:
        calls.append(f"dbt {self.selector} {context['ds']}")

    def explain(url: str, run_date: object, part: str, **kwargs: object) -> object:
        calls.append(f"reasons {part} {run_date} {kwargs.get('failpoint')}")
        from crm_scoring.model.explain import ExplainResult

        return ExplainResult(run_date, part, 7, 21, "3")  # type: ignore[arg-type]

    monkeypatch.setattr(DbtBuildLocalOperator, "execute", dbt_execute)
    monkeypatch.setattr("crm_scoring.model.explain.explain", explain)
    monkeypatch.setattr(tasks.locks, "hold", lambda *a, **k: _Null())
    monkeypatch.setenv("CRM_WAREHOUSE_URL", "postgresql://nobody@127.0.0.1:1/none")

    op = dbt_build_task("dbt_lists", dbt_selectors.LISTS, operator=ListsBuildOperator)
    out = ListsBuildOperator.execute.__wrapped__(op, {"ds": "2026-11-26"})  # the task runner's call
    assert calls == [
        "dbt nightly_candidates 2026-11-26",
        "reasons candidates 2026-11-26 dbt_lists:reasons",
        "dbt nightly_lists_after_reasons 2026-11-26",
    ]
    assert out == {"explained": 7, "reason_rows": 21, "model_version": "3"}
    assert op.selector == dbt_selectors.LISTS  # the task's own selection is left as rendered


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
