"""The CDNOW log (real data from the `lifetimes` package) mapped into the landing contract, as
`make bench-real` feeds it to the platform.

The full benchmark (23,570 customers, three dates) runs in `make bench-real`, not in CI. The sample's
end-to-end run (about 1.5 minutes of a CI worker) is in tests/test_benchmark_real_e2e.py, in the extended
tier (`make test-extended`): the default tier keeps the mapping below, and the pieces the benchmark runs
are covered there by their own tests (ingest, dbt, tests/test_model*.py for training, the family choice
and the gate, backtests in test_dbt_project).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from crm_scoring.benchmark import cdnow

AS_OF = date(1997, 6, 30)


def test_cdnow_maps_into_the_landing_contract(tmp_path: Path) -> None:
    tx = cdnow.load("sample")
    assert tx.frame["customer_id"].nunique() == 2357 and len(tx.frame) == 6919
    a, r = cdnow.write_landing(tx, tmp_path, AS_OF, 90)
    first = (tmp_path / a.isoformat() / "orders.csv").read_text().splitlines()
    second = (tmp_path / r.isoformat() / "orders.csv").read_text().splitlines()
    assert first[0] == "order_id,customer_id,order_ts,status,net_amount,currency,channel"
    assert max(line.split(",")[2] for line in first[1:]) < f"{AS_OF}T23"  # nothing after the as-of date
    assert min(line.split(",")[2] for line in second[1:]) > f"{AS_OF}T23"
    with pytest.raises(ValueError, match="kept unseen"):
        from crm_scoring.benchmark.real import run_as_of

        run_as_of(tx, date(1997, 7, 1), tmp_path, "postgresql://unused", 42)
