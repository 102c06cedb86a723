"""Flatten a GX checkpoint result into per-expectation outcomes and write the run's JSON and Markdown reports.

GX marks a suite failed on any unmet expectation; the platform decides on severity instead, so the
outcomes carry our `severity` and `rule` from the suite files next to GX's verdict.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

_SAMPLE = 5  # unexpected values shown per expectation in messages and the Markdown table


@dataclass(frozen=True)
class Outcome:
    """One expectation's verdict on one table's rows of the validated date."""

    suite: str
    table: str  # schema-qualified
    expectation: str
    column: str
    severity: str
    rule: str
    success: bool
    observed: str

    def describe(self) -> str:
        return f"{self.table}.{self.column} {self.expectation} [{self.rule}]: {self.observed}"


def _column_of(kwargs: dict[str, Any], meta: dict[str, Any]) -> str:
    if kwargs.get("column"):
        return str(kwargs["column"])
    if kwargs.get("column_list"):
        return ", ".join(kwargs["column_list"])
    if kwargs.get("column_A"):
        return f"{kwargs['column_A']}, {kwargs['column_B']}"
    if kwargs.get("column_set"):
        return ", ".join(kwargs["column_set"])
    return str(meta.get("column", "(table)"))


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _exception_message(exception_info: dict[str, Any] | None) -> str | None:
    """GX reports column-level errors flat, batch-level ones keyed by metric id; find the first raised one."""
    if not exception_info:
        return None
    candidates = [exception_info] + [v for v in exception_info.values() if isinstance(v, dict)]
    for info in candidates:
        if info.get("raised_exception"):
            lines = str(info.get("exception_message") or "").strip().splitlines()
            return lines[0] if lines else "expectation raised"
    return None


def observed_text(expectation: str, result: dict[str, Any], exception_info: dict[str, Any] | None) -> str:
    """What the data showed, in one line: an error, unexpected count with samples, or the observed value."""
    error = _exception_message(exception_info)
    if error:
        return "error: " + error
    if "element_count" in result:
        total = result["element_count"] or 0
        if not total:
            return "0 rows"
        unexpected = result.get("unexpected_count") or 0
        text = f"{unexpected} unexpected of {total} rows"
        sample = (result.get("partial_unexpected_list") or [])[:_SAMPLE]
        if unexpected and sample:
            text += " (e.g. " + ", ".join(_short(v) for v in sample) + ")"
        return text
    if "observed_value" in result:
        if expectation == "unexpected_rows_expectation":
            return f"{result['observed_value']} unexpected rows"
        return _short(result["observed_value"], 120)
    return "-"


def outcomes_from_validation(
    suite: str, table: str, validation_result: Any, position: dict[str, int] | None = None
) -> list[Outcome]:
    """Outcomes of one suite's validation result, in suite-file order if `position` (id -> index) is given."""
    results = list(validation_result.results)
    if position:
        results.sort(key=lambda r: position.get(r.expectation_config.id or "", len(position)))
    outcomes = []
    for res in results:
        config = res.expectation_config
        meta = dict(config.meta or {})
        outcomes.append(
            Outcome(
                suite=suite,
                table=table,
                expectation=config.type,
                column=_column_of(config.kwargs, meta),
                severity=str(meta.get("severity", "critical")),
                rule=str(meta.get("rule", "")),
                success=bool(res.success),
                observed=observed_text(config.type, dict(res.result or {}), res.exception_info),
            )
        )
    return outcomes


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(
    name: str, run_date: date, success: bool, outcomes: list[Outcome], notes: list[str]
) -> str:
    failed_critical = sum(1 for o in outcomes if not o.success and o.severity == "critical")
    failed_warning = sum(1 for o in outcomes if not o.success and o.severity == "warning")
    lines = [
        f"# Data quality: {name} {run_date.isoformat()}",
        "",
        f"Result: **{'PASSED' if success else 'FAILED'}** - {len(outcomes)} expectations, "
        f"{failed_critical} critical failures, {failed_warning} warnings.",
        "",
    ]
    lines += [f"- {note}" for note in notes]
    if notes:
        lines.append("")
    lines += [
        "| suite | expectation | column | rule | severity | success | observed |",
        "|---|---|---|---|---|---|---|",
    ]
    # Failures first (critical before warning), then passes; otherwise suite order (sort is stable).
    order = sorted(outcomes, key=lambda o: (o.success, not o.success and o.severity != "critical"))
    for o in order:
        mark = "yes" if o.success else "**NO**"
        lines.append(
            "| "
            + " | ".join(
                _md_cell(x) for x in (o.suite, o.expectation, o.column, o.rule, o.severity, mark, o.observed)
            )
            + " |"
        )
    return "\n".join(lines) + "\n"


def write_reports(
    report_dir: Path,
    name: str,
    run_date: date,
    success: bool,
    outcomes: list[Outcome],
    notes: list[str],
    checkpoint_result: dict[str, Any] | None,
) -> tuple[Path, Path]:
    """Write `<name>_<date>.json` (our verdict + GX's checkpoint result) and `<name>_<date>.md`."""
    report_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{name}_{run_date.isoformat()}"
    json_path = report_dir / f"{stem}.json"
    md_path = report_dir / f"{stem}.md"
    payload = {
        "name": name,
        "date": run_date.isoformat(),
        "success": success,
        "notes": notes,
        "outcomes": [asdict(o) for o in outcomes],
        "checkpoint_result": checkpoint_result,
    }
    json_path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    md_path.write_text(render_markdown(name, run_date, success, outcomes, notes), encoding="utf-8")
    return json_path, md_path
