"""The package layering, import hygiene and the single promotion path, checked on the source itself.

Layers, top to bottom (a module may import its own layer and the layers below it, never above):

    dags                -> crm_scoring.orchestration only
    entry points        `crm_scoring.cli` and every `crm_scoring.<pkg>.cli` (may import anything)
    tools               demo, bench, benchmark, codegen, orchestration.bench_night: beside the runtime
    orchestration       the Airflow task bodies, dbt/cosmos wiring, the local scheduler
    stage packages      ingest, enrich, model, lists, quality, policy, monitoring, report, privacy,
                        and any new package not named below
    foundation          warehouse, settings, contract, contract_checks, dbt_invoke, cli_types, locks,
                        failpoints, stack_room

Lazy (function-level) imports count: a lazy import still puts the module on the nightly path.
The check is a small AST walk rather than import-linter, which is not in the lock.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
FOUNDATION = {
    "warehouse",
    "settings",
    "contract",
    "contract_checks",
    "dbt_invoke",
    "cli_types",
    "locks",
    "failpoints",
    "stack_room",
}
TOOLS = {"demo", "bench", "benchmark", "codegen"}
TOOL_MODULES = {"crm_scoring.orchestration.bench_night"}
RANK = {"foundation": 0, "stage": 1, "orchestration": 2, "tool": 3, "entry": 4}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer(module: str) -> str:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else ""
    if module == "crm_scoring" or top in FOUNDATION:
        return "foundation"
    if module == "crm_scoring.cli" or parts[-1] == "cli":
        return "entry"
    if top in TOOLS or module in TOOL_MODULES:
        return "tool"
    if top == "orchestration":
        return "orchestration"
    return "stage"


def _modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def imports_of(path: Path, known: set[str]) -> list[tuple[str, int, bool]]:
    """(imported crm_scoring module, line, at module level) for every import in `path`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    top_level = {id(n) for n in tree.body}
    for node in tree.body:  # `if TYPE_CHECKING:` blocks are module level too
        if isinstance(node, ast.If):
            top_level.update(id(n) for n in node.body)
    out = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from pkg import sub` imports the submodule when there is one
            names = [
                f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module
                for a in node.names
            ]
        for name in names:
            if name.split(".")[0] == "crm_scoring":
                out.append((name, node.lineno, id(node) in top_level))
    return out


def test_layering() -> None:
    modules = _modules()
    known = set(modules)
    violations = []
    for mod, path in modules.items():
        for target, line, _ in imports_of(path, known):
            src_layer, dst_layer = layer(mod), layer(target)
            upward = RANK[dst_layer] > RANK[src_layer]
            if upward and not (src_layer == "tool" and dst_layer == "orchestration"):
                where = f"{path.relative_to(ROOT)}:{line}"
                violations.append(f"{where}: {src_layer} {mod} imports {dst_layer} {target}")
            if src_layer != "tool" and dst_layer == "tool" and src_layer != "entry":
                violations.append(f"{path.relative_to(ROOT)}:{line}: runtime {mod} imports tool {target}")
    for dag in sorted((ROOT / "dags").glob("*.py")):
        for target, line, _ in imports_of(dag, known):
            if not target.startswith("crm_scoring.orchestration"):
                violations.append(f"dags/{dag.name}:{line}: a DAG imports {target} (only orchestration)")
    assert not violations, "layering violations:\n" + "\n".join(violations)


def test_layer_rules_catch_an_upward_import() -> None:
    """The checker itself: a stage importing orchestration is reported."""
    assert layer("crm_scoring.model.score") == "stage"
    assert layer("crm_scoring.monitoring.drift") == "stage"  # a new package is a stage by default
    assert layer("crm_scoring.orchestration.tasks") == "orchestration"
    assert layer("crm_scoring.lists.cli") == "entry"
    assert layer("crm_scoring.demo.replay") == "tool"
    assert RANK[layer("crm_scoring.orchestration.tasks")] > RANK[layer("crm_scoring.model.score")]


def test_no_module_level_import_cycles() -> None:
    modules = _modules()
    known = set(modules)
    graph: dict[str, set[str]] = defaultdict(set)
    for mod, path in modules.items():
        for target, _, top in imports_of(path, known):
            if top and target in known and target != mod:
                graph[mod].add(target)
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            # a package importing its own submodule (its __init__) is not a cycle to report
            if nxt.startswith(node + "."):
                continue
            if state.get(nxt) == 1 and not node.startswith(nxt + "."):
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for mod in sorted(modules):
        if mod not in state:
            visit(mod, [])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


_IMPORT_ALL = r"""
import importlib, importlib.util, json, os, sys
spec = json.loads(sys.argv[1])
# third-party packages may set variables of their own on import (scikit-learn: KMP_*, MLflow: its
# telemetry session id): import them first, so what is left is this project's own doing
for name in spec["third_party"]:
    try:
        importlib.import_module(name)
    except ImportError:
        pass
changed = {}
def check(label, load):
    snapshot = dict(os.environ)
    load()
    now = dict(os.environ)
    if now != snapshot:
        changed[label] = sorted(k for k in set(now) | set(snapshot) if now.get(k) != snapshot.get(k))
for name in spec["modules"]:
    check(name, lambda: importlib.import_module(name))
for path in spec["dags"]:
    def load_dag(path=path):
        s = importlib.util.spec_from_file_location("dag_" + os.path.basename(path)[:-3], path)
        s.loader.exec_module(importlib.util.module_from_spec(s))
    check(path, load_dag)
print(json.dumps({"changed": changed}))
"""


def _third_party(paths: list[Path]) -> list[str]:
    names: set[str] = set()
    for path in paths:
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    return sorted(n for n in names if n.split(".")[0] not in stdlib and n.split(".")[0] != "crm_scoring")


def test_importing_every_module_leaves_the_environment_alone(tmp_path: Path) -> None:
    """Every module of the package and every DAG file imports in a clean process without touching
    os.environ (the DAG files call the cosmos task factory while they are parsed)."""
    modules = _modules()
    dags = sorted((ROOT / "dags").glob("*.py"))
    spec = {
        "third_party": _third_party([*modules.values(), *dags]),
        "modules": sorted(m for m in modules if not m.endswith("__main__")),
        "dags": [str(p) for p in dags],
    }
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "CRM_HOME": str(ROOT)}
    env["CRM_STATE_DIR"] = str(tmp_path / "state")
    env["AIRFLOW_HOME"] = str(tmp_path / "airflow")
    env["CRM_WAREHOUSE_URL"] = "postgresql://nobody@127.0.0.1:1/none"  # set, so env-filling code would fire
    out = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL, json.dumps(spec)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-4000:]
    changed = json.loads(out.stdout.strip().splitlines()[-1])["changed"]
    assert changed == {}, f"modules that change os.environ on import: {changed}"


_IMPORTED_BY = r"""
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {"matplotlib", "sklearn", "mlflow"}
                        or m.startswith("crm_scoring."))))
"""


def _loaded_by(module: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", _IMPORTED_BY, module], capture_output=True, text=True, timeout=600, check=True
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_nightly_scoring_does_not_import_training() -> None:
    """Scoring loads neither `model.train` nor matplotlib (scikit-learn still arrives through xgboost)."""
    loaded = _loaded_by("crm_scoring.model.score")
    assert "crm_scoring.model.train" not in loaded
    assert "crm_scoring.model.plots" not in loaded
    assert not {m for m in loaded if m.split(".")[0] == "matplotlib"}, sorted(loaded)


def test_nightly_enrichment_does_not_import_the_measured_candidates() -> None:
    """The enrichment task loads only the shipped path (crm_scoring/enrich/__init__.py lists both groups)."""
    loaded = _loaded_by("crm_scoring.enrich.task")
    candidates = {"minilm", "e5", "embeddings", "cascade", "finetune", "distill", "selection"}
    assert "crm_scoring.enrich.model" in loaded  # the probe sees the package's modules at all
    stray = {m for m in loaded if m.startswith("crm_scoring.enrich.") and m.split(".")[2] in candidates}
    assert not stray, f"the nightly enrichment imports measured candidates: {sorted(stray)}"


def test_cli_starts_without_the_model_stack() -> None:
    """`crm --help` must not import MLflow, scikit-learn or matplotlib (it took 20-27 s when it did)."""
    loaded = _loaded_by("crm_scoring.cli")
    heavy = {m.split(".")[0] for m in loaded} & {"mlflow", "sklearn", "matplotlib"}
    assert not heavy, f"crm_scoring.cli imports {sorted(heavy)}"


def test_one_gated_promote() -> None:
    """Moving @champion is only done by the gated promotion (or the first-version rule in train)."""
    allowed = {"crm_scoring.model.promotion", "crm_scoring.model.train", "crm_scoring.model.registry"}
    callers = set()
    public_promotes = set()
    for mod, path in _modules().items():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                moves = node.func.attr == "move_champion"
                sets = node.func.attr == "set_alias" and node.args and "CHAMPION" in ast.unparse(node.args[0])
                if moves or sets:
                    callers.add(mod)
        public_promotes.update(
            mod for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "promote"
        )
    assert public_promotes == {"crm_scoring.model.promotion"}, public_promotes
    assert callers <= allowed, f"@champion moved outside the gate: {sorted(callers - allowed)}"


DBT = ROOT / "dbt_project"
PROBE = re.compile(r"adapter\.(get_relation|get_columns_in_relation)\b")
# Forward runs of incremental_latest merge stored rows by column name: dbt's own incremental state,
# not a question about tables dbt does not build.
PROBE_ALLOWED = {"macros/incremental_latest.sql"}


def _probing_files() -> set[str]:
    return {
        str(p.relative_to(DBT))
        for sub in ("models", "macros")
        for p in (DBT / sub).rglob("*.sql")
        if PROBE.search(p.read_text())
    }


def test_models_read_sources_instead_of_probing_the_warehouse() -> None:
    """Everything dbt reads but does not build is a declared source created before the first build
    (create_source_tables on-run-start); a model that asks the warehouse what exists compiles differently
    in CI and in production."""
    probing = _probing_files() - PROBE_ALLOWED
    assert not probing, f"models probing the warehouse: {sorted(probing)}"


def test_no_python_selects_dbt_nodes_by_hand() -> None:
    """Issue 15, one selectors.yml: a `--select` / `--exclude` list in Python is a second, unchecked copy of
    a step's node set (the real-data benchmark had four). Every dbt selection of src/ and dags/ is a
    selector of the YAML, passed through dbt_selectors.build_args. `--exclude-resource-type` (an output
    option: build without the tests that a separate `dbt test` of the same selector runs) is allowed."""
    pattern = re.compile(r"""["'](--select|--exclude|--models)["']""")
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for folder in ("src", "dags")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not found, "dbt selections written in Python:\n" + "\n".join(found)


def test_every_source_dbt_reads_is_created_by_the_hook() -> None:
    """Each declared source table (any schema) has `create table if not exists` in the generated hook."""
    import yaml

    macro = (DBT / "macros" / "source_tables.sql").read_text()
    created = set(re.findall(r'create table if not exists "?(\w+)"?\."?(\w+)"?', macro))
    declared = set()
    for path in (DBT / "models").rglob("*.yml"):
        for source in (yaml.safe_load(path.read_text()) or {}).get("sources", []):
            declared |= {(source.get("schema", source["name"]), t["name"]) for t in source["tables"]}
    assert declared and not declared - created, f"sources without DDL: {sorted(declared - created)}"


# Test modules that still import another test module: none since session 9 (the churn fixtures live in
# tests/support/churn.py, the text corpus in tests/support/texts.py). Keep it empty: a shared helper goes to
# tests/support, a shared fixture to conftest.py or tests/support.
STILL_IMPORTING_TESTS: frozenset[tuple[str, str]] = frozenset()


def _test_imports() -> set[tuple[str, str]]:
    """(importer, imported) for every test module importing another test module (itself excluded)."""
    tests = ROOT / "tests"
    modules = {p.stem for p in tests.glob("test_*.py")}
    pairs = set()
    for path in tests.glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            pairs |= {(path.stem, n) for n in names if n in modules and n != path.stem}
    return pairs


def test_test_modules_do_not_import_each_other() -> None:
    """Shared helpers live in tests/support, shared fixtures in conftest.py: a test module importing
    another one runs (and couples to) that module's fixtures and module-level state."""
    pairs = _test_imports()
    assert pairs <= STILL_IMPORTING_TESTS, (
        f"test modules importing each other: {sorted(pairs - STILL_IMPORTING_TESTS)}"
    )
    assert STILL_IMPORTING_TESTS <= pairs, (
        f"no longer importing, drop: {sorted(STILL_IMPORTING_TESTS - pairs)}"
    )
