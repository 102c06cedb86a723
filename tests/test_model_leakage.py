"""Point-in-time training data through the real dbt project (CH-01, CH-02) and training on the minimum
landing contract (customers + orders only).

Leakage: build marts.churn_training_set from a small demo export, then add, alter and delete raw rows
dated after one cutoff and rebuild. That cutoff's features must not move (its label may, and later
cutoffs' features must, which proves the changes were seen at all).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

from crm_scoring import contract, dbt_invoke, warehouse
from crm_scoring.demo import generate
from crm_scoring.ingest import load_export_date
from crm_scoring.model.config import load_config
from crm_scoring.model.train import train

DAY = date(2026, 11, 26)
BUILD = ["build", "--select", "+tag:training", "--indirect-selection", "cautious", "--quiet"]
NON_FEATURES = ["as_of_date", "churned", "run_date", "policy_version"]


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("leakage_landing")
    generate(root, DAY, DAY, customers=800, seed=11, history_days=400, progress=False)
    return root


@pytest.fixture(autouse=True)
def _dbt_scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """dbt writes target/ and logs/ here, not into the shared dbt_project/ other sessions use."""
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "dbt_target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "dbt_logs"))


@pytest.fixture
def built(landing: Path, fresh_db: str) -> Iterator[str]:
    load_export_date(fresh_db, landing, DAY)
    dbt_invoke.invoke(BUILD, fresh_db, DAY)
    yield fresh_db


def _snapshot(url: str, cutoff: date) -> pd.DataFrame:
    with warehouse.connect(url) as conn:
        cur = conn.execute(
            "select * from marts.churn_training_set where as_of_date = %s order by customer_id", (cutoff,)
        )
        cols = [d.name for d in cur.description]
        frame = pd.DataFrame(cur.fetchall(), columns=cols)
    return frame.set_index("customer_id")


def _features(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=NON_FEATURES).astype("float64")


def _columns(conn, table: str) -> list[str]:
    rows = conn.execute(
        "select column_name from information_schema.columns where table_schema = 'raw' "
        "and table_name = %s order by ordinal_position",
        (table,),
    ).fetchall()
    return [r[0] for r in rows]


def _copy_rows(conn, table: str, key: str, overrides: dict[str, str], where: str, params: dict) -> int:
    """Insert copies of existing raw rows with a new key and the given column expressions."""
    cols = _columns(conn, table)
    select = [f"{key} || '-after'" if c == key else overrides.get(c, c) for c in cols]
    cur = conn.execute(
        f"insert into raw.{table} ({', '.join(cols)}) select {', '.join(select)} from raw.{table} "
        f"where {where}",
        params,
    )
    return cur.rowcount


def _change_everything_after(url: str, cutoff: date) -> None:
    """New, altered and deleted orders, logins and complaints, all dated after the cutoff's day."""
    after = cutoff + timedelta(days=1)
    p = {"after": after.isoformat(), "cut": cutoff.isoformat()}
    with warehouse.connect(url) as conn:
        added = _copy_rows(
            conn,
            "orders",
            "order_id",
            {"order_ts": "%(after)s::timestamptz + interval '3 hours'", "net_amount": "999.99"},
            "order_ts < %(cut)s::timestamptz and order_id like '%%1'",
            p,
        )
        added += _copy_rows(
            conn,
            "interactions",
            "event_id",
            {"event_ts": "%(after)s::timestamptz + interval '2 days'", "event_type": "'login'"},
            "event_ts < %(cut)s::timestamptz and event_id like '%%3'",
            p,
        )
        added += _copy_rows(
            conn,
            "tickets",
            "ticket_id",
            {
                "created_at": "%(after)s::timestamptz + interval '5 days'",
                "ticket_type": "'complaint'",
                "first_response_at": "null",
            },
            "created_at < %(cut)s::timestamptz",
            p,
        )
        changed = conn.execute(
            "update raw.orders set net_amount = net_amount * 3 where order_ts >= %(after)s::timestamptz", p
        ).rowcount
        deleted = conn.execute(
            "delete from raw.orders where order_ts >= %(after)s::timestamptz and customer_id like '%%7'", p
        ).rowcount
        deleted += conn.execute(
            "delete from raw.interactions where event_ts >= %(after)s::timestamptz "
            "and customer_id like '%%2'",
            p,
        ).rowcount
    assert added > 100 and changed > 100 and deleted > 100
    # raw changes only through ingest, which audits each load (ops.load_audit); the incremental tables rebuild
    # when the audited loads up to their mark change and otherwise trust that raw did not. These rows were
    # edited by hand, so the date's audit says so, as a re-ingest of the date with other files would.
    with warehouse.connect(url) as conn:
        audited = conn.execute(
            "update ops.load_audit set sha256 = 'edited by the leakage test' where export_date = %s",
            (DAY,),
        ).rowcount
    assert audited > 0


def test_changing_data_after_a_cutoff_changes_none_of_its_features(built: str) -> None:
    with warehouse.connect(built) as conn:
        cutoffs = [
            r[0] for r in conn.execute("select distinct as_of_date from marts.churn_training_set order by 1")
        ]
    assert len(cutoffs) >= 3
    cutoff, later = cutoffs[1], cutoffs[-1]
    before, before_later = _snapshot(built, cutoff), _snapshot(built, later)

    _change_everything_after(built, cutoff)
    dbt_invoke.invoke(BUILD, built, DAY)
    after, after_later = _snapshot(built, cutoff), _snapshot(built, later)

    assert list(after.index) == list(before.index), "the cutoff's population moved"
    pd.testing.assert_frame_equal(_features(after), _features(before), check_exact=False, rtol=1e-9)
    # not vacuous: the label after the cutoff and the later cutoff's features did see the changes
    assert (after["churned"] != before["churned"]).any()
    common = before_later.index.intersection(after_later.index)
    assert not _features(after_later.loc[common]).equals(_features(before_later.loc[common]))


def test_training_on_customers_and_orders_alone(
    landing: Path, fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The minimum landing contract: optional files absent, their features all-null/constant."""
    minimal = tmp_path / "minimal"
    shutil.copytree(landing / DAY.isoformat(), minimal / DAY.isoformat())
    folder = minimal / DAY.isoformat()
    for path in folder.iterdir():
        if not any(path.name.startswith(name + ".") for name in contract.REQUIRED_FILES):
            path.unlink()  # optional tables and the manifest (which would list them)
    assert sorted(p.name.split(".")[0] for p in folder.iterdir()) == sorted(contract.REQUIRED_FILES)
    load_export_date(fresh_db, minimal, DAY)
    dbt_invoke.invoke(BUILD, fresh_db, DAY)

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("CRM_MLFLOW_ARTIFACT_ROOT", (tmp_path / "artifacts").as_uri())
    result = train(fresh_db, DAY)
    assert result.version == "1" and "champion" in result.aliases
    run = MlflowClient(tracking_uri=uri).get_run(result.run_id)
    assert run.data.metrics["roc_auc"] > 0.6
    assert "baseline_rfm_roc_auc" in run.data.metrics and run.data.tags["beats_rfm_baseline"] in (
        "true",
        "false",
    )
    cfg = load_config()
    # constant / all-null columns of the absent optional files are dropped before training, and logged
    assert not {"complaints_90d", "logins_30d"} & set(result.features)
    assert {"recency_days", "orders_365d"} <= set(result.features)
    dropped = MlflowClient(tracking_uri=uri).download_artifacts(
        result.run_id, "dropped_features.json", str(tmp_path)
    )
    assert {"complaints_90d", "logins_30d"} <= set(
        json.loads(Path(dropped).read_text())["dropped_constant_or_null"]
    )
    assert run.data.params["n_features_dropped"] == str(
        len(json.loads(Path(dropped).read_text())["dropped_constant_or_null"])
    )
    assert not set(result.features) & set(cfg.protected_attributes)
