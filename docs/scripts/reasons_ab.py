# Session 13: the same-run A/B behind docs/scaling.md ("Session 13: tree by tree ...").
# Usage: nice -n 19 .venv/bin/python docs/scripts/reasons_ab.py <customers> [old revision, default 64aa54e]
"""explain(CANDIDATES) on the scoring bench's synthetic data (98 features, 150 depth-4 trees, 39 %
candidates) with this tree's model/reasons.py, the old revision's, then this tree's again, in one
process on one database; the reasons table's row count and md5 after each (byte-identical check)."""
import importlib.util, subprocess, sys, tempfile
from pathlib import Path
import numpy as np, xgboost as xgb, pyarrow as pa
from crm_scoring import bench, warehouse
from crm_scoring.model import explain
from crm_scoring.model import reasons as new_reasons
from crm_scoring.model.artifacts import LoadedModel
from crm_scoring.model.config import load_config
from crm_scoring.model.dataset import load_scoring_frame
from crm_scoring.model.score import write_scores

old_rev = sys.argv[2] if len(sys.argv) > 2 else "64aa54e"
old_path = Path(tempfile.mkdtemp()) / "old_reasons.py"
old_path.write_text(subprocess.run(["git", "show", f"{old_rev}:src/crm_scoring/model/reasons.py"], check=True, capture_output=True, text=True).stdout)
spec = importlib.util.spec_from_file_location("old_reasons", old_path)
old_reasons = importlib.util.module_from_spec(spec); sys.modules["old_reasons"] = old_reasons; spec.loader.exec_module(old_reasons)
n = int(sys.argv[1])
features = bench._feature_columns()
server = warehouse.warehouse_url()
dbname = warehouse.create_database(server, "crm_reasons_ab")
url = warehouse.with_database(server, dbname)
day = bench.BENCH_DATE
sampler = bench.RssSampler(); timer = bench.Timer(sampler)
cols = []
for i, f in enumerate(features):
    k = i % 3
    cols.append(("floor(random() * 12)::int" if k == 0 else "round((random() * 900)::numeric, 2)" if k == 1
                 else "case when random() < 0.1 then null else random() end") + f" as {f}")
try:
    with warehouse.connect(url) as conn:
        conn.execute("create schema marts"); conn.execute("select setseed(0.42)")
        conn.execute(f"create table marts.churn_features as select date '{day}' as run_date, 'C' || lpad(g::text, 9, '0') as customer_id, {', '.join(cols)} from generate_series(1, {n}) g")
        conn.execute("analyze marts.churn_features")
    cfg = load_config()
    frame = load_scoring_frame(url, day, features, config=cfg)
    x = frame[features].to_numpy(dtype=np.float64)[:50000]
    rng = np.random.default_rng(0)
    y = (np.nan_to_num(x[:, 1]) / 400 + np.nan_to_num(x[:, 3]) / 6 + rng.normal(size=len(x)) > 1.5).astype(int)
    booster = xgb.train({"max_depth": 4, "eta": 0.1, "nthread": 2, "objective": "binary:logistic"}, xgb.DMatrix(x, label=y, feature_names=features), 150)
    model = LoadedModel("churn", "bench", "bench", booster, features, {"method": "none"})
    probs = model.predict(frame[features].to_numpy(dtype=np.float64))
    write_scores(url, day, pa.array(frame["customer_id"].to_numpy(dtype=object), pa.string()), probs, model, cfg)
    del frame, x
    bench._synthetic_candidates(url, day, 0.39, cfg.reasons.candidates[0])

    def digest():
        with warehouse.connect(url) as conn:
            return conn.execute(f"select count(*), md5(string_agg(t::text, E'\\n' order by customer_id, reason_rank)) from {cfg.reasons.table} t where run_date = %s", (day,)).fetchone()

    results = {}
    def old_codes(model, frame, run_date, config=None, **kw):  # the old one read its config from disk
        return old_reasons.compute_reason_codes(model, frame, run_date, **kw)

    for label, codes in (("new", new_reasons.compute_reason_codes), (f"old ({old_rev})", old_codes), ("new again", new_reasons.compute_reason_codes)):
        explain.compute_reason_codes = codes
        timer.run(f"reasons: candidates, {label}", lambda: explain.explain(url, day, explain.CANDIDATES, config=cfg, model=model), lambda r: r.customers)
        results[label] = digest()
        print(label, results[label], flush=True)
    print("identical:", len(set(results.values())) == 1)
finally:
    sampler.close()
    warehouse.drop_database(server, dbname)
