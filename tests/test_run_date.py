"""The run date reaches dbt as CRM_RUN_DATE, read only at execution, so dbt's parse state holds no date.

Why it matters: with the date in --vars, dbt threw its partial-parse state away for every new date, so
every night, backfill date, bench date and training cutoff parsed the whole project (~14 CPU s).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from crm_scoring import dbt_invoke, failpoints

PLACEHOLDER = "__run_date__"


@pytest.fixture
def dbt_events(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the events dbt fires in this test's dbt commands (dbt itself runs for real)."""
    names: list[str] = []
    platform = failpoints.dbt_callbacks

    monkeypatch.setattr(
        failpoints, "dbt_callbacks", lambda: [*platform(), lambda event: names.append(event.info.name)]
    )
    return names


def test_a_new_run_date_keeps_the_partial_parse_state(
    fresh_db: str, tmp_path: Path, dbt_events: list[str]
) -> None:
    target = ["--target-path", str(tmp_path / "target")]
    dbt_invoke.invoke(["ls", "--quiet", *target, "--select", "churn_bands"], fresh_db, date(2031, 7, 14))
    assert "UnableToPartialParse" in dbt_events  # no state yet: a full parse
    state = (tmp_path / "target" / dbt_invoke.PARSE_STATE).read_bytes()
    assert b"2031-07-14" not in state, "the parse state holds the run date"

    dbt_events.clear()
    dbt_invoke.invoke(["ls", "--quiet", *target, "--select", "churn_bands"], fresh_db, date(2031, 7, 15))
    assert "UnableToPartialParse" not in dbt_events, "a new run date made dbt parse the whole project"


def test_crm_runs_parse_starts_from_the_previous_state(
    fresh_db: str, tmp_path: Path, dbt_events: list[str]
) -> None:
    """dbt_invoke.parse writes through a scratch folder: it is seeded with the current state, or every
    `crm run` would parse the whole project."""
    dbt_invoke.parse(fresh_db, tmp_path / "target")
    assert "UnableToPartialParse" in dbt_events
    dbt_events.clear()
    dbt_invoke.parse(fresh_db, tmp_path / "target")
    assert "UnableToPartialParse" not in dbt_events, "crm run's parse did not start from the previous state"


def test_test_where_configs_get_the_run_date_at_execution(fresh_db: str, tmp_path: Path) -> None:
    """A test's `where:` is rendered while dbt parses; the project's get_where_subquery puts the run date
    in when the test compiles, one parse serving two dates."""
    target = tmp_path / "target"
    dbt_invoke.parse(fresh_db, target)
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    dated = sorted(
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test" and PLACEHOLDER in (node["config"].get("where") or "")
    )
    # today's exports (three staging models) and today's snapshots (churn_features, customer_value)
    assert len(dated) >= 5, dated
    for day in (date(2026, 11, 25), date(2026, 11, 26)):
        out = tmp_path / f"compiled-{day}"
        dbt_invoke.invoke(
            ["compile", "--quiet", "--target-path", str(out), "--select", *dated], fresh_db, run_date=day
        )
        sql = {path.stem: path.read_text(encoding="utf-8") for path in out.rglob("*.sql")}
        assert len(sql) == len(dated)
        for name, text in sql.items():
            assert PLACEHOLDER not in text, name
            assert f"= date '{day.isoformat()}'" in text, (name, text[:2000])


def test_without_a_run_date_dbt_refuses_to_compile(fresh_db: str, tmp_path: Path) -> None:
    with pytest.raises(dbt_invoke.DbtError):
        dbt_invoke.invoke(
            ["compile", "--quiet", "--target-path", str(tmp_path / "t"), "--select", "churn_bands"], fresh_db
        )
