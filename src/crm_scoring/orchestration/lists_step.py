"""The DAG's dbt_lists task: `tasks.build_lists` (candidates -> their reason codes -> lists) under cosmos.

One Airflow task, not three: the reasons of the candidates are the only thing between the two dbt
builds, and a hand-over between tasks costs more than they take at demo size. Both builds run inside
ONE cosmos command (one project copy, one profile, the cached partial-parse state, one log line per
model and test, a failed model failing the task with its name), and dbt parses the project once for
both: `dbt parse` returns the manifest and each build runs on it (`dbtRunner(manifest=...)`), instead
of each build loading the parse state and rebuilding the manifest itself (1.2-2.8 s per build in the
task log, on the lists' critical path).
"""

from __future__ import annotations

from typing import Any

from crm_scoring.orchestration.dbt_config import DbtBuildOperator

SELECTOR_FLAG = "--selector"
# the flags of a cosmos `dbt build` command line that `dbt parse` accepts too (with their values);
# a command carrying any other flag is not parsed apart: each build then parses as it always did
PARSE_FLAGS_WITH_VALUE = frozenset(
    {"--project-dir", "--profiles-dir", "--profile", "--target", "--log-level-file"}
)
PARSE_SWITCHES = frozenset({"--no-static-parser", "--no-write-json", "--no-partial-parse"})


def with_selector(args: list[str], selector: str) -> list[str]:
    """`args` (a `dbt build --selector X ...` command line) with the selector replaced."""
    at = args.index(SELECTOR_FLAG)
    return [*args[: at + 1], selector, *args[at + 2 :]]


def parse_args(args: list[str]) -> list[str] | None:
    """`dbt parse` with the project, profile and parse flags of a `dbt build --selector X ...` command
    line; None when the line carries a flag `dbt parse` may not take."""
    if not args or args[0] != "build":
        return None
    rest = args[1:]
    at = rest.index(SELECTOR_FLAG)
    rest = rest[:at] + rest[at + 2 :]
    kept: list[str] = []
    i = 0
    while i < len(rest):
        flag = rest[i]
        if flag in PARSE_FLAGS_WITH_VALUE and i + 1 < len(rest):
            kept += rest[i : i + 2]
            i += 2
        elif flag in PARSE_SWITCHES:
            kept.append(flag)
            i += 1
        else:
            return None
    return ["parse", *kept]


class ListsBuildOperator(DbtBuildOperator):
    """`dbt build --selector nightly_lists` in the two parts `tasks.build_lists` runs, reasons between."""

    def execute(self, context: Any, **kwargs: Any) -> dict:
        self._lists_outcome: dict | None = None
        super().execute(context, **kwargs)
        if self._lists_outcome is None:  # cosmos returned without running dbt (it never should)
            raise RuntimeError("dbt_lists: cosmos did not run the lists step")
        return self._lists_outcome

    def run_dbt_runner(self, command: list[str], env: dict[str, str], cwd: str, **kwargs: Any) -> Any:
        """The whole lists step where cosmos runs its one dbt command: in cosmos' project copy and
        environment, `dbt parse` once, then `tasks.build_lists` with each build on that manifest.
        Returns the last build's result, which cosmos checks as it checks any dbt command's."""
        from cosmos.dbt.project import change_working_directory, environ

        from crm_scoring.orchestration import tasks

        cli_args = command[1:]  # without the dbt executable, as cosmos' own dbtRunner call
        last: list[Any] = []
        with change_working_directory(cwd), environ(env):
            parse = parse_args(cli_args)
            if parse is None:
                self.log.info("dbt_lists: each build parses the project (flags a parse cannot take)")
            # partial: cosmos copied the cached parse state into its project copy
            manifest = None if parse is None else self._invoke(parse).result

            def run_dbt(selector: str) -> None:
                last[:] = [self._invoke(with_selector(cli_args, selector), manifest)]

            self._lists_outcome = tasks.build_lists(kwargs["context"]["ds"], run_dbt)
        return last[0]

    def _invoke(self, args: list[str], manifest: Any = None) -> Any:
        """One dbtRunner command (on `manifest` when given) as cosmos runs one: its callbacks, the
        adapters reset afterwards (their semaphores), and a failure raised with the failed nodes named."""
        from cosmos.dbt.runner import _cleanup_dbt_adapters
        from dbt.cli.main import dbtRunner

        try:
            result = dbtRunner(manifest=manifest, callbacks=self._dbt_runner_callbacks).invoke(args)
        finally:
            _cleanup_dbt_adapters()
        self.handle_exception(result)
        return result
