"""The DAG's dbt_lists task: `tasks.build_lists` (candidates -> their reason codes -> lists) under cosmos.

One Airflow task, not three: the reasons of the candidates are the only thing between the two dbt
builds, and a hand-over between tasks costs more than they take at demo size. Each dbt build runs
through cosmos exactly as every other dbt task (its project copy, the cached partial-parse state, one
log line per model and test, a failed model failing the task with its name).
"""

from __future__ import annotations

from typing import Any

from crm_scoring.orchestration.dbt_config import DbtBuildOperator


class ListsBuildOperator(DbtBuildOperator):
    """`dbt build --selector nightly_lists` in the two parts `tasks.build_lists` runs, reasons between."""

    def execute(self, context: Any, **kwargs: Any) -> dict:
        from crm_scoring.orchestration import tasks

        whole = self.selector

        def run_dbt(selector: str) -> None:
            self.selector = selector
            try:
                super(ListsBuildOperator, self).execute(context, **kwargs)
            finally:
                self.selector = whole

        return tasks.build_lists(context["ds"], run_dbt)
