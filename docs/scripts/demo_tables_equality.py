# Session 10 (dups): demo nights D0, D1 in process with one source tree, then md5 of the ordered rows of every base
# table in intermediate, marts, scoring, lists_build, lists (the database is kept for report_sections_equality.py).
# Usage: CRM_HOME=<tree> PYTHONPATH=<tree>/src .venv/bin/python docs/scripts/demo_tables_equality.py <name> 2000
# (main's tree from `git archive main | tar -x -C <dir>`; run main first: it trains the shared champion). The
# wall-clock columns published_at, scored_at, duration_s are left out.
import json, os, sys
from pathlib import Path

from demo_nights import run_demo_nights

name, customers = sys.argv[1], int(sys.argv[2])
root = Path(os.environ.get("CRM_CMP_DIR", "/tmp/dups_cmp"))
url, _, _ = run_demo_nights(name, customers, root, "dups")
from crm_scoring import warehouse
WALL = {"published_at", "scored_at", "duration_s"}  # wall-clock columns
res = {}
with warehouse.connect(url) as conn:
    tables = conn.execute("select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE'"
                          " and table_schema in ('marts', 'lists', 'scoring', 'lists_build', 'intermediate') order by 1, 2").fetchall()
    for s, t in tables:
        cols = [r[0] for r in conn.execute("select column_name from information_schema.columns where table_schema=%s and table_name=%s order by ordinal_position", (s, t)).fetchall() if r[0] not in WALL]
        q = ", ".join(f'"{c}"' for c in cols)
        md5, n = conn.execute(f"select md5(coalesce(string_agg(r::text, E'\\n' order by r::text), '')), count(*) from (select {q} from {s}.{t}) r").fetchone()
        res[f"{s}.{t}"] = {"rows": n, "md5": md5, "columns": cols}
print(json.dumps({k: (v['rows'], v['md5']) for k, v in res.items()}, indent=0))
(root / f"{name}.json").write_text(json.dumps(res, indent=1))
