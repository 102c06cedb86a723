# Session 8: the demo equality run behind docs/scaling.md ("Reason codes off the lists' path").
# Usage: CRM_HOME=<tree> [PYTHONPATH=<tree>/src] .venv/bin/python docs/scripts/reasons_equality.py <name> <customers>
# (main's tree from `git archive main | tar -x -C <dir>`; run main first: it trains the shared champion).
"""Demo nights D0, D1 in process with one source tree; digests of the published lists and the reasons."""
import hashlib, json, sys
from pathlib import Path

from demo_nights import D1, SERVER, run_demo_nights

name, customers = sys.argv[1], int(sys.argv[2])
root = Path("/tmp/reasons_cmp")
url, db, nights = run_demo_nights(name, customers, root, "cmp")
from crm_scoring import warehouse
for out in nights:
    print({k: (v if not isinstance(v, dict) else {kk: vv for kk, vv in v.items() if kk in ("rows", "reason_rows", "explained", "model_version")}) for k, v in out.items() if k in ("score", "dbt_lists", "publish_lists", "explain_rest")}, file=sys.stderr)
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
warehouse.drop_database(SERVER, db)
