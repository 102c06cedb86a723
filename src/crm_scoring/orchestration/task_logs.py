"""Read Airflow 3 task logs (one JSON object per line) as text, and pull out why a task failed.

`crm run` copies every task's log into .crm/reports/runs/<dag>_<date>.log and prints the error of a
failed task (e.g. cosmos' "dbt invocation completed with errors: model.crm.x: ..."), so a data
engineer sees the failed task and model without opening the UI.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

ERROR_LEVELS = {"error", "critical", "exception"}


def records(lines: Iterable[str]) -> Iterator[dict]:
    for line in lines:
        line = line.rstrip("\n")
        if not line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        yield record if isinstance(record, dict) else {"event": line}


def render(record: dict) -> str:
    """One log record as `time level [logger] event`, plus the exception chain when there is one."""
    head = " ".join(
        str(part)
        for part in (
            record.get("timestamp", ""),
            (record.get("level") or "").upper(),
            f"[{record['logger']}]" if record.get("logger") else "",
            record.get("event", ""),
        )
        if part
    )
    return "\n".join([head, *exception_lines(record)])


def exception_lines(record: dict) -> list[str]:
    details = record.get("error_detail") or []
    if not isinstance(details, list):
        return [str(details)]
    lines = []
    for exc in details:
        if not isinstance(exc, dict):
            continue
        for frame in exc.get("frames", [])[-3:]:
            lines.append(f"  {frame.get('filename')}:{frame.get('lineno')} in {frame.get('name')}")
        lines.append(f"{exc.get('exc_type', 'Error')}: {exc.get('exc_value', '')}")
    return lines


def render_file(path: Path) -> str:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return "\n".join(render(r) for r in records(fh))


def failure_reason(path: Path, limit: int = 2000) -> str:
    """The exception a task died of (the last one logged, with its causes), else its first error line."""
    reason = ""
    with open(path, encoding="utf-8", errors="replace") as fh:
        for record in records(fh):
            details = record.get("error_detail")
            if isinstance(details, list) and details:
                reason = "\n".join(
                    f"{exc.get('exc_type', 'Error')}: {exc.get('exc_value', '')}"
                    for exc in details
                    if isinstance(exc, dict)
                )
            elif (record.get("level") or "").lower() in ERROR_LEVELS and not reason:
                reason = str(record.get("event", ""))
    return reason[:limit]
