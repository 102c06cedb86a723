# Session 9 (issue 15): two dbt_project trees compile to the same SQL and config, node by node.
# Usage: createdb -h 127.0.0.1 -U postgres s9_arch_compile; .venv/bin/python docs/scripts/compile_identity.py <main's dbt_project> dbt_project
# (main's tree from `git archive main | tar -x -C <dir>`). Prints the nodes that differ; a comment-only or config-macro change prints none.
import json, os, shutil, sys, tempfile
from pathlib import Path
from dbt.cli.main import dbtRunner
os.environ.update({"CRM_PG_HOST": "127.0.0.1", "CRM_PG_PORT": "5432", "CRM_PG_USER": "postgres",
                   "CRM_PG_DBNAME": "s9_arch_compile", "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"})
KEYS = ("materialized", "incremental_strategy", "unique_key", "on_schema_change", "indexes", "pre-hook",
        "post-hook", "tags", "schema", "contract", "enabled")
out = []
for src in sys.argv[1:3]:
    tmp = Path(tempfile.mkdtemp(prefix="s9-arch-cmp-")) / "dbt_project"
    shutil.copytree(src, tmp, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    r = dbtRunner().invoke(["compile", "--quiet", "--project-dir", str(tmp), "--profiles-dir", str(tmp),
                            "--target-path", str(tmp / "target"), "--vars", '{"run_date": "2026-11-26"}'])
    assert r.success, r.exception
    m = json.loads((tmp / "target" / "manifest.json").read_text())
    nodes = {}
    for uid, n in {**m["nodes"], **m.get("unit_tests", {})}.items():
        cfg = {k: n.get("config", {}).get(k) for k in KEYS}
        nodes[uid] = {"sql": n.get("compiled_code"), "config": cfg, "given": n.get("given"), "expect": n.get("expect")}
    out.append(nodes)
a, b = out
diff = sorted(u for u in a.keys() | b.keys() if a.get(u) != b.get(u))
print(f"nodes: {len(a)} vs {len(b)}; with compiled SQL: {sum(1 for v in a.values() if v['sql'])}; differing: {len(diff)}")
for u in diff[:20]:
    print(" ", u)
    if u in a and u in b:
        for k in ("sql", "config", "given", "expect"):
            if a[u][k] != b[u][k]: print("    differs:", k, str(a[u][k])[:300], "|", str(b[u][k])[:300])
print("sample:", json.dumps(b["model.crm.fct_orders"]["config"]))
