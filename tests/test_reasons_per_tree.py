"""Issue 12: reason codes computed tree by tree, once per distinct node-decision key of each tree
(`reasons.tree_contributions`), are exactly what one XGBoost call over every row gives, and the reason
rows built from them are the ones a straightforward per-customer computation writes.

Real XGBoost boosters and the real feature catalogue, no mocks; no timing is asserted (the figures are
in docs/scaling.md, from `crm bench --scoring-only`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import xgboost as xgb

from crm_scoring.model import reasons
from crm_scoring.model.artifacts import LoadedModel
from crm_scoring.model.config import load_config
from crm_scoring.model.reasons import (
    compute_reason_codes,
    contributions,
    load_catalogue,
    pattern_contributions,
    tree_contributions,
)

RUN_DATE = date(2026, 11, 26)


def _data(seed: int, rows: int, features: int = 10) -> np.ndarray:
    """Counts with zeros, a flag, continuous amounts (few shared patterns) and missing values."""
    rng = np.random.default_rng(seed)
    x = np.empty((rows, features))
    x[:, :4] = rng.poisson(1.5, size=(rows, 4))
    x[:, 4] = rng.integers(0, 2, rows)
    x[:, 5:] = np.round(rng.normal(size=(rows, features - 5)) * 100, 2)
    x[rng.random((rows, features)) < 0.1] = np.nan
    return x


def _train(x: np.ndarray, names: list[str], seed: int, rounds: int, **params: object) -> xgb.Booster:
    rng = np.random.default_rng(seed)
    signal = np.nan_to_num(x[:, 0]) - np.nan_to_num(x[:, 5]) / 100 + np.nan_to_num(x[:, 4])
    y = (signal + rng.normal(size=len(x)) > 1.0).astype(int)
    base = {"max_depth": 4, "eta": 0.2, "nthread": 1, "seed": seed, "objective": "binary:logistic"}
    return xgb.train(base | params, xgb.DMatrix(x, label=y, feature_names=names), rounds)


@pytest.mark.parametrize("approximate", [False, True])
@pytest.mark.parametrize("depth", [1, 2, 4, 5])
def test_tree_by_tree_contributions_equal_one_xgboost_call(depth: int, approximate: bool) -> None:
    """Depth 5 has more nodes than the lookup table (keys sorted) and than an int32 key; 70 trees cross
    the slicing blocks. Only positive contributions become reasons, and they must be the same bits."""
    x = _data(3, 3_000)
    names = [f"f{i}" for i in range(x.shape[1])]
    booster = _train(x, names, seed=depth, rounds=70, max_depth=depth)
    direct = contributions(booster, x, names, approximate=approximate)
    per_tree = tree_contributions(booster, x, names, approximate=approximate)
    assert per_tree.dtype == direct.dtype == np.float32 and per_tree.shape == direct.shape
    assert np.array_equal(per_tree, direct)  # -0.0 == 0.0: the only difference allowed (no reason)
    positive = direct > 0
    assert np.array_equal(per_tree[positive].view(np.uint32), direct[positive].view(np.uint32))


@pytest.mark.parametrize("threads", [2, 3, 7])
def test_row_chunks_on_threads_give_the_same_bits(threads: int) -> None:
    """Cut into chunks summed on threads (3,001 rows: chunks of unequal length, each finding its own
    distinct keys), the contributions are the bits of one thread and of one XGBoost call."""
    x = _data(11, 3_001)
    names = [f"f{i}" for i in range(x.shape[1])]
    booster = _train(x, names, seed=11, rounds=45, max_depth=3)
    one = tree_contributions(booster, x, names, threads=1)
    many = tree_contributions(booster, x, names, threads=threads)
    assert many.tobytes() == one.tobytes()
    assert np.array_equal(many, contributions(booster, x, names))


def test_the_default_thread_count_follows_the_cores_and_the_rows(monkeypatch) -> None:
    """One thread below _THREAD_MIN_ROWS rows a thread (the chunks' fixed costs), never more than cores."""
    calls: list[int] = []
    real = reasons._tree_sums
    monkeypatch.setattr(reasons, "_tree_sums", lambda *a: calls.append(len(a[2])) or real(*a))
    monkeypatch.setattr(reasons, "reason_threads", lambda: 4)
    monkeypatch.setattr(reasons, "_THREAD_MIN_ROWS", 1_000)
    x = _data(12, 2_500)
    names = [f"f{i}" for i in range(x.shape[1])]
    booster = _train(x, names, seed=12, rounds=5)
    tree_contributions(booster, x, names)
    assert sorted(calls) == [1_250, 1_250]
    calls.clear()
    monkeypatch.setattr(reasons, "_THREAD_MIN_ROWS", 100)
    tree_contributions(booster, x, names)
    assert len(calls) == 4 and sum(calls) == 2_500


@pytest.mark.parametrize("nodes", [3, 20])
def test_distinct_keys_index_with_numpys_own_index_type(nodes: int) -> None:
    """`_distinct` returns intp, so the per-feature gathers do not convert the index every time; each row's
    representative has the row's key (the lookup table up to 16 nodes, a sort above)."""
    rng = np.random.default_rng(nodes)
    key = rng.integers(0, 1 << min(nodes, 12), 10_000).astype(np.int64)
    for positions in (None, np.arange(len(key), dtype=np.intp)):
        rows, inverse = reasons._distinct(key, nodes, positions)
        assert inverse.dtype == np.intp and rows.dtype == np.intp
        assert np.array_equal(key[rows][inverse], key)
        assert len(np.unique(key[rows])) == len(rows) == len(np.unique(key))


@pytest.mark.parametrize("params", [{"num_parallel_tree": 3}, {"booster": "dart", "rate_drop": 0.2}])
def test_ensembles_that_are_not_one_tree_per_iteration_fall_back_to_one_call(params: dict) -> None:
    x = _data(5, 1_500)
    names = [f"f{i}" for i in range(x.shape[1])]
    booster = _train(x, names, seed=5, rounds=12, **params)
    assert np.array_equal(tree_contributions(booster, x, names), contributions(booster, x, names))


def test_pattern_contributions_take_the_per_tree_path_from_the_row_threshold(monkeypatch) -> None:
    x = _data(9, 2_000)
    x = np.concatenate([x, x[:700]])  # shared patterns are broadcast
    names = [f"f{i}" for i in range(x.shape[1])]
    booster = _train(x, names, seed=9, rounds=40)
    direct = contributions(booster, x, names)
    below, patterns = pattern_contributions(booster, x, names)  # 2,000 patterns: one XGBoost call
    monkeypatch.setattr(reasons, "PER_TREE_MIN_ROWS", 0)
    above, patterns_again = pattern_contributions(booster, x, names)
    assert patterns == patterns_again <= 2_000
    assert np.array_equal(below, direct) and np.array_equal(above, direct)


def _reference_rows(
    model: LoadedModel, frame: pd.DataFrame, top_k: int, catalogue: dict, approximate: bool = False
) -> pa.Table:
    """The reason rows written the obvious way: every customer through the whole booster, then per
    customer its positive contributions by decreasing value (ties: feature order), each text rendered."""
    x = frame[model.features].to_numpy(dtype=np.float64)
    dm = xgb.DMatrix(x, feature_names=model.features)
    contrib = model.booster.predict(dm, pred_contribs=True, approx_contribs=approximate)
    out: dict[str, list] = {c: [] for c in reasons.REASON_COLUMNS}
    for i, customer in enumerate(frame["customer_id"]):
        ranked = sorted((-float(c), j) for j, c in enumerate(contrib[i, : len(model.features)]) if c > 0)
        for rank, (negative, j) in enumerate(ranked[:top_k], start=1):
            name, value = model.features[j], float(x[i, j])
            wording = catalogue.get(name, reasons._fallback(name))
            out["run_date"].append(RUN_DATE)
            out["customer_id"].append(customer)
            out["reason_rank"].append(rank)
            out["feature"].append(name)
            out["feature_value"].append(None if np.isnan(value) else value)
            out["contribution"].append(-negative)
            out["reason_text"].append(wording.render(name, value))
            out["model_version"].append(model.version)
    types = {
        "run_date": pa.date32(),
        "customer_id": pa.string(),
        "reason_rank": pa.int16(),
        "feature": pa.string(),
        "feature_value": pa.float64(),
        "contribution": pa.float64(),
        "reason_text": pa.string(),
        "model_version": pa.string(),
    }
    return pa.table({c: pa.array(out[c], types[c]) for c in reasons.REASON_COLUMNS})


@pytest.mark.parametrize("approximate", [False, True])
@pytest.mark.parametrize("per_tree", [False, True])
def test_reason_rows_equal_a_straightforward_per_customer_computation(
    monkeypatch, per_tree: bool, approximate: bool
) -> None:
    """Catalogued features (templates, zero and missing wordings) and one the catalogue does not know;
    `reasons.approximate` comes from the caller's config (explain passes its own)."""
    catalogue = load_catalogue()
    features = [
        *("complaints_90d", "orders_90d", "logins_7d", "orders_lifetime", "crisis_affected"),
        *("days_inactive", "recency_days", "avg_order_value_365d", "revenue_90d"),
        "a_feature_nobody_catalogued",
    ]
    assert sum(f in catalogue for f in features) == len(features) - 1
    x = _data(21, 6_000, len(features))
    booster = _train(x, features, seed=21, rounds=60)
    model = LoadedModel("churn", "3", "run", booster, features, {"method": "none"})
    frame = pd.DataFrame(x, columns=features).assign(customer_id=[f"C{i:05d}" for i in range(len(x))])
    monkeypatch.setattr(reasons, "PER_TREE_MIN_ROWS", 0 if per_tree else 10**9)
    cfg = load_config()
    cfg = replace(cfg, reasons=replace(cfg.reasons, approximate=approximate))
    table = compute_reason_codes(model, frame, RUN_DATE, top_k=3, catalogue=catalogue, config=cfg)
    reference = _reference_rows(model, frame, 3, catalogue, approximate)
    assert table.num_rows == reference.num_rows > len(x)
    for column in reasons.REASON_COLUMNS:
        assert table.column(column).equals(reference.column(column)), column
    assert table.equals(reference)


@pytest.mark.parametrize(
    "wording",
    [
        reasons.Wording("{value:.0f} logins", zero="no login", missing="never logged in"),
        reasons.Wording("spent {value:,.2f}"),
        reasons.Wording("{missing_key}"),  # broken: every value falls back to "label: value"
        reasons.Wording("{value:d} orders"),  # a float never formats as d: the fallback too
    ],
)
def test_rendering_many_values_equals_rendering_each(wording: reasons.Wording) -> None:
    values = np.array([np.nan, 0.0, 1.0, 2.5, -3.25, 1234567.891, 1e-9])
    assert wording.render_many("a_b", values).tolist() == [wording.render("a_b", v) for v in values.tolist()]
