"""The nightly steps check each model's column tests in one query (crm_column_tests), not one node per test.

The batch must fail exactly when the column tests it stands for fail, name them as dbt does, and stand
for every one of them in every nightly step: a model whose column tests are left out of a step without
its crm_column_tests would go unchecked at night.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from dbt.cli.main import dbtRunner
from support.dbt_project import _dbt

from crm_scoring import dbt_invoke, settings
from crm_scoring.orchestration import dbt_selectors

BATCHED = {"not_null", "accepted_values", "crm_accepted_range"}

PROBE_SQL = """select * from (values
    (1, 'a', 0, 0.5, 'x'),
    (2, null, 1, 1.5, 'y'),
    (null, 'zz', 2, -1, 'x')
) as t (id, label, flag, share, quoted)
"""

# what each column test makes of the three rows above
PROBE_YML = """version: 2
models:
  - name: zz_column_tests_probe
    description: "Probe of crm_column_tests (tests/test_column_tests.py)."
    data_tests: [crm_column_tests]
    columns:
      - name: id
        data_tests: [not_null]  # fails (row 3)
      - name: label
        data_tests:
          - not_null  # fails (row 2)
          - accepted_values:  # passes: null is not a value
              arguments:
                values: ["a", "zz"]
      - name: flag
        data_tests:
          - not_null  # passes
          - accepted_values:  # fails (2)
              arguments:
                values: [0, 1]
                quote: false
          - crm_accepted_range:  # passes
              arguments:
                min_value: 0
      - name: share
        data_tests:
          - crm_accepted_range:  # fails (1.5 and -1)
              arguments:
                min_value: 0
                max_value: 1
          - crm_accepted_range:  # fails, but a warning: not batched, stays its own node
              arguments:
                max_value: 0
              config:
                severity: warn
      - name: quoted
        data_tests:
          - accepted_values:  # passes
              arguments:
                values: ["x", "y"]
"""


def test_the_batch_fails_exactly_when_its_column_tests_fail(project: Path, dbt_env: str) -> None:
    (project / "models" / "zz_column_tests_probe.sql").write_text(PROBE_SQL)
    (project / "models" / "zz_column_tests_probe.yml").write_text(PROBE_YML)
    _dbt(project, "run", "--select", "zz_column_tests_probe")

    each = _dbt(
        project,
        "test",
        "--select",
        "zz_column_tests_probe",
        "--exclude",
        "test_name:crm_column_tests",
        expect_success=False,
    )
    status = {r.node.name: str(r.status) for r in each.result.results if r.node.resource_type == "test"}
    failing = {name for name, s in status.items() if s == "fail"}
    assert len(failing) == 4, status
    assert sum(s == "warn" for s in status.values()) == 1, status

    batch = _dbt(
        project, "test", "--select", "zz_column_tests_probe,test_name:crm_column_tests", expect_success=False
    )
    [result] = [r for r in batch.result.results if r.node.resource_type == "test"]
    assert str(result.status) == "fail" and result.failures == 4
    with psycopg.connect(dbt_env) as conn:
        rows = conn.execute(result.node.compiled_code).fetchall()
    assert {name for name, _ in rows} == failing
    assert dict(rows)[next(n for n in failing if n.startswith("not_null") and n.endswith("_id"))] == 1


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory, warehouse_db: str) -> tuple[dict, Path]:
    target = tmp_path_factory.mktemp("column_tests") / "target"
    dbt_invoke.parse(warehouse_db, target)
    return json.loads((target / "manifest.json").read_text(encoding="utf-8")), target


def _batched(node: dict) -> bool:
    meta = node.get("test_metadata") or {}
    return (
        node["resource_type"] == "test"
        and meta.get("name") in BATCHED
        and node["config"]["severity"] == "error"
    )


def test_every_model_with_batched_column_tests_declares_the_batch(manifest: tuple[dict, Path]) -> None:
    nodes = manifest[0]["nodes"]
    owners = {n["attached_node"] for n in nodes.values() if _batched(n)}
    batches = {
        n["attached_node"]
        for n in nodes.values()
        if n["resource_type"] == "test" and (n.get("test_metadata") or {}).get("name") == "crm_column_tests"
    }
    assert len(owners) > 50
    missing = sorted(owners - batches)
    assert not missing, f"add `data_tests: [crm_column_tests]` to these models' YAML: {missing}"


def test_the_batched_names_are_one_list(manifest: tuple[dict, Path]) -> None:
    """selectors.yml's batched_column_tests and the macro crm_batched_column_test_names agree."""
    macro = manifest[0]["macros"]["macro.crm.crm_batched_column_test_names"]["macro_sql"]
    assert all(f"'{name}'" in macro for name in BATCHED)
    selectors = dbt_selectors.selectors_file().read_text(encoding="utf-8")
    block = selectors.split(f"- name: {dbt_selectors.BATCHED_COLUMN_TESTS}", 1)[1].split("\n  - name:", 1)[0]
    assert {line.split("value:")[1].strip() for line in block.splitlines() if "value:" in line} == {
        *BATCHED,
        "error",
    }


@pytest.mark.parametrize(
    "selector",
    [dbt_selectors.MARTS, dbt_selectors.LISTS, dbt_selectors.REPORTING, dbt_selectors.TRAINING],
)
def test_nightly_steps_run_the_batch_instead_of_each_column_test(
    manifest: tuple[dict, Path], warehouse_db: str, selector: str
) -> None:
    nodes, target = manifest[0]["nodes"], manifest[1]
    flags = ["--target-path", str(target), "--profile", dbt_invoke.PROFILE, "--target", dbt_invoke.TARGET]
    listed = dbtRunner().invoke(
        ["ls", "--quiet", "--project-dir", str(settings.dbt_project_dir()),
         "--profiles-dir", str(settings.dbt_project_dir()), *flags,
         "--selector", selector, "--output", "json", "--output-keys", "unique_id"]
    )  # fmt: skip
    assert listed.success, listed.exception
    selected = {json.loads(line)["unique_id"] for line in listed.result}
    selected &= nodes.keys()  # sources and exposures are listed too
    assert not [u for u in selected if _batched(nodes[u])], "a batched column test is its own node at night"
    built = {u for u in selected if nodes[u]["resource_type"] in ("model", "seed")}
    owners = {n["attached_node"] for n in nodes.values() if _batched(n) and n["attached_node"] in built}
    assert owners, selector
    checked = {
        nodes[u]["attached_node"]
        for u in selected
        if (nodes[u].get("test_metadata") or {}).get("name") == "crm_column_tests"
    }
    assert owners <= checked, f"{selector}: column tests unchecked at night on {sorted(owners - checked)}"
