"""`make bench` end to end at 2,000 customers on a real PostgreSQL, dbt, GX, MLflow and XGBoost: every stage
runs, in order, and the JSON holds them. At 1,000,000 customers the bench runs for most of an hour before
its later stages; session 14's first 1M run died at its day-0 reporting build, which no test ran (the
pieces of SQL the bench adds are in tests/test_bench_stages.py). The Airflow night is left out here
(tests/test_dags.py runs `crm run`). No timing is asserted: speed is shown by `make bench` only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crm_scoring import bench, warehouse

# the stages of a default bench run, in the order they run (BENCH_AIRFLOW_NIGHT=0: no Airflow night)
STAGES = [
    "generate demo export",
    "ingest: backfill folder",
    "ingest: nightly delta",
    "validate raw: backfill (GX)",
    "validate raw: nightly delta (GX)",
    "enrich: text model + DQ-06 report",
    "enrich texts: backfill (all texts)",
    "enrich texts: nightly delta",
    "dbt build: marts, first build (day 0)",
    "dbt build: reporting, first build (day 0)",
    "dbt build: candidates, first build (day 0)",
    "dbt build: marts (incremental night)",
    "dbt test: marts (beside scoring, off the path)",
    "dbt build: training snapshots",
    "train + MLflow log (weekly)",
    "limit: raw COPY read -> Arrow",
    "limit: one inplace_predict",
    "limit: one COPY write",
    "score: read features (COPY)",
    "score: predict",
    "score: write scores (COPY)",
    "score: naive read_sql + to_sql",
    "dbt build: candidates",
    "reasons: candidates (critical path)",
    "dbt build: lists (after reasons)",
    "validate lists (GX)",
    "publish lists",
    "reasons: the rest (after publishing)",
    "dbt build: reporting (after publishing)",
    "dbt build: marts (same-date rerun)",
    "dbt build: marts --full-refresh (same night)",
    "dbt build: reporting --full-refresh (same night)",
    "dbt build: candidates --full-refresh (same night)",
]
CUSTOMERS = 2000


def test_the_whole_bench_runs_every_stage_and_writes_its_json(
    tmp_path: Path, server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BENCH_AIRFLOW_NIGHT", "0")
    out = tmp_path / "bench.json"
    with warehouse.connect(server_url) as conn:
        before = {r[0] for r in conn.execute("select datname from pg_database")}
    result = bench.run_bench(CUSTOMERS, out_json=out)

    assert [s["name"] for s in result["stages"]] == STAGES
    assert json.loads(out.read_text())["stages"] == result["stages"]
    rows = {s["name"]: s["rows"] for s in result["stages"]}
    assert rows["generate demo export"] == CUSTOMERS
    assert rows["ingest: backfill folder"] > 50 * CUSTOMERS  # ~56 raw rows per customer
    assert rows["score: read features (COPY)"] == rows["score: write scores (COPY)"] == CUSTOMERS
    assert 0 < rows["reasons: candidates (critical path)"] <= CUSTOMERS
    # the lists were published, and every stage's server I/O was read (the ingest writes WAL)
    assert result["published_rows"]["retention_list"] > 0
    assert all(s["wal_mb"] >= 0 and s["read_mb"] >= 0 for s in result["stages"])
    assert next(s for s in result["stages"] if s["name"] == "ingest: backfill folder")["wal_mb"] > 0
    assert result["nightly_incremental_seconds"] > 0 and result["nightly_full_refresh_seconds"] > 0
    assert result["marts_rerun_seconds"] > 0 and result["marts_rerun_over_night"] > 0
    assert result["airflow_demo_night"] is None
    assert result["airflow_demo_night_deployed"] is None
    # the throw-away databases are gone (no --keep). Not crm_bench_real_*: the real-data benchmark's,
    # which tests/test_benchmark_real_e2e.py may be running on the other xdist worker meanwhile
    with warehouse.connect(server_url) as conn:
        after = {r[0] for r in conn.execute("select datname from pg_database")}
    left = {d for d in after - before if d.startswith("crm_bench") and not d.startswith("crm_bench_real_")}
    assert not left
