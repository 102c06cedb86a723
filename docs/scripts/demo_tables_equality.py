# Session 10 (dups): demo nights D0, D1 in process with one source tree, then md5 of the ordered rows of every base
# table in intermediate, marts, scoring, lists_build, lists (the database is kept for report_sections_equality.py).
# Usage: CRM_HOME=<tree> PYTHONPATH=<tree>/src .venv/bin/python docs/scripts/demo_tables_equality.py <name> 2000
# (main's tree from `git archive main | tar -x -C <dir>`; run main first: it trains the shared champion). The
# wall-clock columns published_at, scored_at, duration_s are left out.
import hashlib, json, os, sys
from datetime import date
from pathlib import Path

name, customers = sys.argv[1], int(sys.argv[2])
D0, D1 = date(2024, 3, 4), date(2024, 3, 5)
root = Path(os.environ.get("CRM_CMP_DIR", "/tmp/dups_cmp"))
landing = root / f"landing-{customers}"
server = "postgresql://postgres@127.0.0.1:5432/postgres"
os.environ.update({
    "CRM_STATE_DIR": str(root / f"state-{name}"),
    "CRM_LANDING_DIR": str(landing),
    "MLFLOW_TRACKING_URI": f"sqlite:///{root / f'mlflow-{customers}.db'}",
    "CRM_MLFLOW_ARTIFACT_ROOT": (root / f"artifacts-{customers}").as_uri(),
    "DBT_TARGET_PATH": str(root / f"dbt_target-{name}"),
    "DBT_LOG_PATH": str(root / f"dbt_logs-{name}"),
    "GX_ANALYTICS_ENABLED": "False",
    "OMP_NUM_THREADS": "1",
})
from crm_scoring import warehouse, settings
print("tree:", settings.project_root(), file=sys.stderr)
from crm_scoring.demo import generate
from crm_scoring.demo.replay import nightly_in_process
if not (landing / "done").exists():
    generate(landing, D0, D1, customers, 5, history_days=400, progress=False)
    (landing / "done").write_text("ok")
db = warehouse.create_database(server, f"dups_{name}")
url = warehouse.with_database(server, db)
os.environ["CRM_WAREHOUSE_URL"] = url
from crm_scoring.orchestration.training import ensure_champion_through
print("champion", ensure_champion_through(url, D0), file=sys.stderr)
for d in (D0, D1):
    out = nightly_in_process(d, url)
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
