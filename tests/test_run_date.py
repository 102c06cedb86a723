"""The run date reaches dbt as CRM_RUN_DATE, read only at execution, so dbt's parse state holds no date.

Why it matters: with the date in --vars, dbt threw its partial-parse state away for every new date, so
every night, backfill date, bench date and training cutoff parsed the whole project (~14 CPU s).
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from crm_scoring import dbt_invoke, failpoints

PLACEHOLDER = "__run_date__"


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory, warehouse_db: str) -> Path:
    """A target folder with the project's parse state and manifest.json: one full parse for the module."""
    target = tmp_path_factory.mktemp("parsed") / "target"
    dbt_invoke.parse(warehouse_db, target)
    return target


def _seeded(parsed: Path, target: Path) -> list[str]:
    """A target folder of this test's own, starting from the module's parse state; dbt's flags for it
    (dbt keeps the state only for the same --profile / --target / --vars as the parse's)."""
    target.mkdir(parents=True)
    shutil.copy2(parsed / dbt_invoke.PARSE_STATE, target / dbt_invoke.PARSE_STATE)
    return ["--target-path", str(target), "--profile", dbt_invoke.PROFILE, "--target", dbt_invoke.TARGET]


@pytest.fixture
def dbt_events(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the events dbt fires in this test's dbt commands (dbt itself runs for real)."""
    names: list[str] = []
    platform = failpoints.dbt_callbacks

    monkeypatch.setattr(
        failpoints, "dbt_callbacks", lambda: [*platform(), lambda event: names.append(event.info.name)]
    )
    return names


def test_the_parse_state_holds_no_run_date(parsed: Path) -> None:
    state = (parsed / dbt_invoke.PARSE_STATE).read_bytes()
    assert PLACEHOLDER.encode() in state  # the where: configs below
    assert b"2031-07-1" not in state


def test_a_new_run_date_keeps_the_partial_parse_state(
    parsed: Path, warehouse_db: str, tmp_path: Path, dbt_events: list[str]
) -> None:
    target = _seeded(parsed, tmp_path / "target")
    for day in (date(2031, 7, 14), date(2031, 7, 15)):
        dbt_invoke.invoke(["ls", "--quiet", *target, "--select", "churn_bands"], warehouse_db, day)
        assert "UnableToPartialParse" not in dbt_events, f"run date {day} made dbt parse the whole project"
        assert b"2031-07-1" not in (tmp_path / "target" / dbt_invoke.PARSE_STATE).read_bytes()


def test_crm_runs_parse_starts_from_the_previous_state(
    parsed: Path, warehouse_db: str, tmp_path: Path, dbt_events: list[str]
) -> None:
    """dbt_invoke.parse writes through a scratch folder: it is seeded with the current state, or every
    `crm run` would parse the whole project."""
    _seeded(parsed, tmp_path / "target")
    dbt_invoke.parse(warehouse_db, tmp_path / "target")
    assert dbt_events, "no dbt events recorded"
    assert "UnableToPartialParse" not in dbt_events, "crm run's parse did not start from the previous state"
    assert (tmp_path / "target" / "manifest.json").is_file()


def test_commands_without_profile_flags_keep_the_parse_state(
    parsed: Path, warehouse_db: str, tmp_path: Path, dbt_events: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """dbt keys its state on --profile / --target as typed: `crm train`'s `dbt build --selector ...` (no
    flags) after the in-process night's parse (`dbt_invoke.manifest` / `parse`, which `parsed` is)
    parsed the whole project again. dbt_invoke adds both to every command that loads the project."""
    target = tmp_path / "target"
    target.mkdir()
    shutil.copy2(parsed / dbt_invoke.PARSE_STATE, target / dbt_invoke.PARSE_STATE)
    monkeypatch.setenv("DBT_TARGET_PATH", str(target))
    dbt_invoke.invoke(["ls", "--quiet", "--select", "churn_bands"], warehouse_db, date(2031, 7, 14))
    assert dbt_events, "no dbt events recorded"
    assert "UnableToPartialParse" not in dbt_events, "a command without --profile / --target re-parsed"


def test_a_first_crm_run_starts_from_the_cli_paths_state(
    parsed: Path, warehouse_db: str, tmp_path: Path, dbt_events: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A state folder with no state yet (a deployment's first `crm run`, after `make run`'s in-process
    night or a `crm train`) is seeded from settings.dbt_target_dir(), so it is not a full parse."""
    cli_target = tmp_path / "cli-target"
    cli_target.mkdir()
    shutil.copy2(parsed / dbt_invoke.PARSE_STATE, cli_target / dbt_invoke.PARSE_STATE)
    monkeypatch.setenv("DBT_TARGET_PATH", str(cli_target))
    dbt_invoke.parse(warehouse_db, tmp_path / "state" / "target")
    assert dbt_events, "no dbt events recorded"
    assert "UnableToPartialParse" not in dbt_events, "the first crm run parsed the whole project"
    assert (tmp_path / "state" / "target" / dbt_invoke.PARSE_STATE).is_file()


def test_with_profile_and_target_adds_only_what_is_missing() -> None:
    add = dbt_invoke.with_profile_and_target
    profile = ["--profile", dbt_invoke.PROFILE]
    target = ["--target", dbt_invoke.TARGET]
    assert add(["build", "--selector", "x"]) == ["build", "--selector", "x", *profile, *target]
    assert add(["docs", "generate"]) == ["docs", "generate", *profile, *target]
    assert add(["run", "--target", "prod"]) == ["run", "--target", "prod", *profile]
    assert add(["run", "-t", "prod", "--profile=other"]) == ["run", "-t", "prod", "--profile=other"]
    # --target-path is not --target
    assert add(["parse", "--target-path", "x"]) == ["parse", "--target-path", "x", *profile, *target]
    # commands that do not load the project take neither
    assert add(["deps"]) == ["deps"] and add([]) == []


def test_test_where_configs_get_the_run_date_at_execution(
    parsed: Path, warehouse_db: str, tmp_path: Path
) -> None:
    """A test's `where:` is rendered while dbt parses; the project's get_where_subquery puts the run date
    in when the test compiles, one parse serving two dates."""
    manifest = json.loads((parsed / "manifest.json").read_text(encoding="utf-8"))
    dated = sorted(
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test" and PLACEHOLDER in (node["config"].get("where") or "")
    )
    # today's exports (three staging models) and today's snapshots (churn_features, customer_value)
    assert len(dated) >= 5, dated
    for day in (date(2026, 11, 25), date(2026, 11, 26)):
        out = tmp_path / f"target-{day}"
        target = _seeded(parsed, out)
        dbt_invoke.invoke(["compile", "--quiet", *target, "--select", *dated], warehouse_db, run_date=day)
        sql = {path.stem: path.read_text(encoding="utf-8") for path in (out / "compiled").rglob("*.sql")}
        assert len(sql) == len(dated)
        for name, text in sql.items():
            assert PLACEHOLDER not in text, name
            assert f"= date '{day.isoformat()}'" in text, (name, text[:2000])


def test_without_a_run_date_dbt_refuses_to_compile(parsed: Path, warehouse_db: str, tmp_path: Path) -> None:
    target = _seeded(parsed, tmp_path / "target")
    with pytest.raises(dbt_invoke.DbtError):
        dbt_invoke.invoke(["compile", "--quiet", *target, "--select", "churn_bands"], warehouse_db)
