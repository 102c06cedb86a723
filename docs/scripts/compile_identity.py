# Sessions 9-10 (issue 15): two dbt_project trees compile to the same SQL (exactly, and with white space folded) and config.
# Usage: createdb -h 127.0.0.1 -U postgres dups_compile; .venv/bin/python docs/scripts/compile_identity.py <main's dbt_project> dbt_project
import json, os, re, shutil, sys, tempfile
from pathlib import Path
from dbt.cli.main import dbtRunner
os.environ.update({"CRM_PG_HOST": "127.0.0.1", "CRM_PG_PORT": "5432", "CRM_PG_USER": "postgres",
                   "CRM_PG_DBNAME": "dups_compile", "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"})
KEYS = ("materialized", "incremental_strategy", "unique_key", "on_schema_change", "indexes", "pre-hook",
        "post-hook", "tags", "schema", "contract", "enabled")
out = []
for src in sys.argv[1:3]:
    tmp = Path(tempfile.mkdtemp(prefix="dups-cmp-")) / "dbt_project"
    shutil.copytree(src, tmp, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    r = dbtRunner().invoke(["compile", "--quiet", "--project-dir", str(tmp), "--profiles-dir", str(tmp),
                            "--target-path", str(tmp / "target"), "--vars", '{"run_date": "2026-11-26"}'])
    assert r.success, r.exception
    m = json.loads((tmp / "target" / "manifest.json").read_text())
    nodes = {}
    for uid, n in {**m["nodes"], **m.get("unit_tests", {})}.items():
        cfg = {k: n.get("config", {}).get(k) for k in KEYS}
        nodes[uid] = {"sql": n.get("compiled_code"), "config": cfg, "given": n.get("given"), "expect": n.get("expect"),
                      "deps": sorted(n.get("depends_on", {}).get("nodes", []))}
    out.append(nodes)
a, b = out
fold = lambda s: re.sub(r"\s+", " ", s or "").replace("( ", "(").replace(" )", ")").strip()
exact = sorted(u for u in a.keys() | b.keys() if a.get(u) != b.get(u))
folded = sorted(u for u in a.keys() | b.keys() if u not in a or u not in b
                or {**a[u], "sql": fold(a[u]["sql"])} != {**b[u], "sql": fold(b[u]["sql"])})
print(f"nodes: {len(a)} vs {len(b)}; with compiled SQL: {sum(1 for v in a.values() if v['sql'])}; "
      f"differing exactly: {len(exact)}; differing with white space folded: {len(folded)}")
for u in exact: print("  exact-diff:", u)
for u in folded:
    print("  FOLDED-DIFF:", u)
    if u in a and u in b:
        for k in a[u]:
            if (fold(a[u][k]) if k == "sql" else a[u][k]) != (fold(b[u][k]) if k == "sql" else b[u][k]):
                print("    differs:", k, "\n    A:", fold(str(a[u][k]))[:1500], "\n    B:", fold(str(b[u][k]))[:1500])
