"""Expectation suites as committed JSON files (expectations/<layer>/<table>.json).

The files use GX's own suite layout (name, expectations[type, kwargs, meta]) so they stay readable by
GX tooling; our additions live in `meta`: the suite's table and date column, and per expectation a
`severity` (critical | warning) and the seed-spec `rule` it enforces. Loading stays free of GX so that
importing this module (Airflow DAG parsing, tests of the files) is cheap.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crm_scoring import settings

SEVERITIES = ("critical", "warning")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


class SuiteError(ValueError):
    """A suite file is malformed; raised before anything touches the warehouse."""


@dataclass(frozen=True)
class SuiteSpec:
    """One suite file: which table it checks, how its rows of one date are selected, and what to expect."""

    name: str  # e.g. "raw.orders"
    table: str  # table name without schema
    date_column: str  # rows of the validated date: `<date_column> = <date>`
    expectations: tuple[dict[str, Any], ...]
    path: Path

    def expectation_types(self) -> list[str]:
        return [e["type"] for e in self.expectations]


def suite_dir(layer: str, root: Path | None = None) -> Path:
    return (root or settings.expectations_dir()) / layer


def load_suite(path: Path) -> SuiteSpec:
    """Read and check one suite file; every expectation must carry a known severity and a rule id."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SuiteError(f"{path}: cannot read suite: {exc}") from exc
    meta = data.get("meta") or {}
    table = meta.get("table", path.stem)
    date_column = meta.get("date_column")
    for label, ident in (("table", table), ("date_column", date_column)):
        if not isinstance(ident, str) or not _IDENTIFIER.match(ident):
            raise SuiteError(f"{path}: meta.{label} must be a lower-case SQL identifier, got {ident!r}")
    expectations = data.get("expectations")
    if not isinstance(expectations, list) or not expectations:
        raise SuiteError(f"{path}: 'expectations' must be a non-empty list")
    for i, exp in enumerate(expectations):
        where = f"{path}: expectation #{i + 1}"
        if not isinstance(exp.get("type"), str) or not isinstance(exp.get("kwargs"), dict):
            raise SuiteError(f"{where}: needs 'type' (string) and 'kwargs' (object)")
        exp_meta = exp.get("meta") or {}
        if exp_meta.get("severity") not in SEVERITIES:
            raise SuiteError(f"{where} ({exp['type']}): meta.severity must be one of {SEVERITIES}")
        if not exp_meta.get("rule"):
            raise SuiteError(f"{where} ({exp['type']}): meta.rule (e.g. DQ-10) is required")
    return SuiteSpec(
        name=data.get("name") or f"{path.parent.name}.{table}",
        table=table,
        date_column=date_column,
        expectations=tuple(expectations),
        path=path,
    )


def load_suites(layer: str, root: Path | None = None) -> list[SuiteSpec]:
    """All suites of a layer (`raw`, `lists`), in file-name order so reports are stable."""
    folder = suite_dir(layer, root)
    paths = sorted(folder.glob("*.json"))
    if not paths:
        raise SuiteError(f"no expectation suites found in {folder}")
    return [load_suite(p) for p in paths]


def no_gx_telemetry() -> None:
    """Call before importing GX: a nightly batch job sends no usage analytics."""
    os.environ["GX_ANALYTICS_ENABLED"] = "false"


def build_gx_suite(spec: SuiteSpec) -> Any:
    """The GX ExpectationSuite for a spec; meta.severity also becomes GX's native `severity`."""
    no_gx_telemetry()
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    from crm_scoring.quality import custom_expectations  # noqa: F401  (registers custom types)

    expectations = []
    for exp in spec.expectations:
        meta = dict(exp.get("meta") or {})
        config = ExpectationConfiguration(
            type=exp["type"],
            kwargs=dict(exp["kwargs"]),
            meta=meta,
            severity=meta["severity"],
            description=exp.get("description"),
        )
        try:
            expectations.append(config.to_domain_obj())
        except Exception as exc:  # GX raises several types for unknown types / bad kwargs
            raise SuiteError(f"{spec.path}: invalid expectation {exp['type']}: {exc}") from exc
    return gx.ExpectationSuite(name=spec.name, expectations=expectations)
