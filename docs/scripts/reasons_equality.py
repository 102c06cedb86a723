# Session 8: the demo equality run behind docs/scaling.md ("Reason codes off the lists' path").
# Usage: CRM_HOME=<tree> [PYTHONPATH=<tree>/src] .venv/bin/python docs/scripts/reasons_equality.py <name> <customers>
# (main's tree from `git archive main | tar -x -C <dir>`; run main first: it trains the shared champion).
"""Demo nights D0, D1 in process with one source tree; digests of the published lists and the reasons."""
import hashlib, json, os, sys
from datetime import date
from pathlib import Path

name, customers = sys.argv[1], int(sys.argv[2])
D0, D1 = date(2024, 3, 4), date(2024, 3, 5)
root = Path("/tmp/reasons_cmp")
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
db = warehouse.create_database(server, f"cmp_{name}")
url = warehouse.with_database(server, db)
os.environ["CRM_WAREHOUSE_URL"] = url
from crm_scoring.orchestration.training import ensure_champion_through
print("champion", ensure_champion_through(url, D0), file=sys.stderr)
for d in (D0, D1):
    out = nightly_in_process(d, url)
    print(d, {k: (v if not isinstance(v, dict) else {kk: vv for kk, vv in v.items() if kk in ("rows", "reason_rows", "explained", "model_version")}) for k, v in out.items() if k in ("score", "dbt_lists", "publish_lists", "explain_rest")}, file=sys.stderr)
WALL = {"published_at", "scored_at"}
res = {}
with warehouse.connect(url) as conn:
    for table in ("lists.retention_list", "lists.compensation_list", "scoring.churn_reasons", "scoring.churn_scores"):
        s, t = table.split(".")
        cols = [r[0] for r in conn.execute("select column_name from information_schema.columns where table_schema=%s and table_name=%s order by ordinal_position", (s, t)).fetchall() if r[0] not in WALL]
        rows = conn.execute(f"select {', '.join(cols)} from {table} order by {', '.join(cols)}").fetchall()
        text = "\n".join(repr(r) for r in rows)
        (root / f"{name}-{t}.txt").write_text(text)
        res[table] = {"rows": len(rows), "md5": hashlib.md5(text.encode()).hexdigest(), "columns": cols}
    res["candidates_customers"] = conn.execute("select count(distinct customer_id) from (select customer_id from lists_build.retention_candidates where run_date=%(d)s union all select customer_id from lists_build.compensation_candidates where run_date=%(d)s) c", {"d": D1}).fetchone()[0]
    res["listed_customers"] = conn.execute("select count(distinct customer_id) from (select customer_id from lists.retention_list where run_date=%(d)s union all select customer_id from lists.compensation_list where run_date=%(d)s) c", {"d": D1}).fetchone()[0]
    res["scored_customers"] = conn.execute("select count(*) from scoring.churn_scores where run_date=%s", (D1,)).fetchone()[0]
print(json.dumps(res, indent=1))
(root / f"{name}.json").write_text(json.dumps(res, indent=1))
warehouse.drop_database(server, db)
