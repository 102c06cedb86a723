"""Issue 12 at scale: reason codes computed once per decision pattern are the exact per-row ones, and
the bench's pieces that decide what it measures (landing reuse, peak RSS, CPU accounting) behave.

Real XGBoost boosters, no mocks; no timing is asserted (figures belong to `make bench`).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from crm_scoring.model import reasons
from crm_scoring.model.reasons import (
    contributions,
    decision_patterns,
    pattern_contributions,
    split_thresholds,
)


def _booster(seed: int, rows: int = 2_000, features: int = 12) -> tuple[xgb.Booster, np.ndarray, list[str]]:
    """Counts, flags, continuous values and missing values, like the churn features."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features))
    x[:, :5] = rng.poisson(2.0, size=(rows, 5))  # counts
    x[:, 5] = rng.integers(0, 2, rows)  # a flag
    x[:, 6:] = np.round(x[:, 6:])  # banded amounts and rates
    x[rng.random((rows, features)) < 0.08] = np.nan  # missing values take the default branch
    margin = np.nan_to_num(x[:, 0]) - np.nan_to_num(x[:, 6]) + 0.5 * np.nan_to_num(x[:, 5])
    y = (margin + rng.normal(size=rows) > 1.0).astype(int)
    names = [f"f{i}" for i in range(features)]
    params = {"max_depth": 4, "eta": 0.2, "nthread": 1, "seed": seed, "objective": "binary:logistic"}
    booster = xgb.train(params, xgb.DMatrix(x, label=y, feature_names=names), 60)
    return booster, x, names


@pytest.mark.parametrize("approximate", [False, True])
def test_pattern_contributions_equal_per_row_contributions_bit_for_bit(approximate: bool) -> None:
    booster, x, names = _booster(7)
    direct = contributions(booster, x, names, approximate=approximate)
    shared, patterns = pattern_contributions(booster, x, names, approximate=approximate)
    assert np.array_equal(direct, shared)
    assert 0 < patterns <= len(x)
    # customers who share a pattern (here: 500 repeated rows) are computed once
    again = np.concatenate([x, x[:500]])
    shared_again, patterns_again = pattern_contributions(booster, again, names, approximate=approximate)
    assert patterns_again == patterns
    assert np.array_equal(shared_again, np.concatenate([direct, direct[:500]]))


def test_values_on_a_threshold_and_between_float32_neighbours_group_correctly() -> None:
    """x < threshold goes left in float32: a value equal to a threshold, or a float64 that rounds onto
    it, must land in the right-hand group; anything else would mix rows with different paths."""
    booster, x, names = _booster(11)
    thresholds = split_thresholds(booster, len(names))
    col = next(j for j in range(len(names)) if len(thresholds[j]) and j >= 6)  # a continuous feature
    t = float(thresholds[col][0])
    probe = np.repeat(x[:1], 5, axis=0)
    probe[:, col] = [
        t,
        np.nextafter(t, -np.inf),
        np.nextafter(np.float32(t), np.float32(-np.inf)),
        t + 1e-12,
        np.nan,
    ]
    direct = contributions(booster, probe, names)
    shared, _ = pattern_contributions(booster, probe, names)
    assert np.array_equal(direct, shared)
    first, inverse = decision_patterns(probe, thresholds)
    assert inverse[0] == inverse[3]  # t and t + 1e-12 are the same float32
    assert inverse[0] != inverse[2]  # one float32 step below the threshold goes left
    assert inverse[4] not in {inverse[0], inverse[2]}  # missing is its own branch
    assert len(first) == len(set(inverse.tolist()))


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Two pattern indexes group the rows alike (whatever the patterns' numbering)."""
    pairs = np.unique(np.stack([a, b]), axis=1).shape[1]
    return pairs == len(np.unique(a)) == len(np.unique(b))


def test_hashed_patterns_group_rows_as_sorting_them_does(monkeypatch) -> None:
    """The 64-bit hash of the codes finds the patterns that sorting whole rows finds; with every pattern
    colliding (one hash for all), the code-by-code check refuses the hash and the rows are sorted."""
    booster, x, names = _booster(13)
    x = np.concatenate([x, x[::3]])  # shared patterns
    thresholds = split_thresholds(booster, len(names))
    first, inverse = decision_patterns(x, thresholds)
    monkeypatch.setattr(reasons, "_pattern_hash", lambda codes: None)
    sorted_first, sorted_inverse = decision_patterns(x, thresholds)
    assert len(first) == len(sorted_first) < len(x) and _same_partition(inverse, sorted_inverse)
    assert np.array_equal(inverse[first], np.arange(len(first)))  # each pattern's first row is its own
    monkeypatch.setattr(reasons, "_pattern_hash", lambda codes: np.zeros(codes.shape[1], dtype=np.uint64))
    collided_first, collided_inverse = decision_patterns(x, thresholds)
    assert len(collided_first) == len(first) and _same_partition(inverse, collided_inverse)
    shared, _ = pattern_contributions(booster, x, names)
    assert np.array_equal(shared, contributions(booster, x, names))


def test_no_rows_gives_no_patterns() -> None:
    booster, x, names = _booster(3, rows=500)
    empty, patterns = pattern_contributions(booster, x[:0], names)
    assert empty.shape == (0, len(names)) and patterns == 0


def test_a_landing_folder_is_reused_only_after_a_complete_generation(tmp_path: Path) -> None:
    from crm_scoring import bench

    first, last = date(2026, 11, 25), date(2026, 11, 26)
    landing = tmp_path / "landing"
    (landing / first.isoformat()).mkdir(parents=True)
    (landing / last.isoformat()).mkdir()
    assert not bench._landing_ready(landing, 1_000, first, last)  # folders alone: maybe interrupted
    bench._landing_marker(landing, 1_000, first, last).touch()
    assert bench._landing_ready(landing, 1_000, first, last)
    assert not bench._landing_ready(landing, 2_000, first, last)  # another size is another export


def test_the_timer_records_peak_rss_and_cpu_per_stage() -> None:
    from crm_scoring import bench

    sampler = bench.RssSampler(interval=0.01)
    try:
        timer = bench.Timer(sampler)
        block = timer.run("allocate", lambda: np.ones(40 * 2**20 // 8), len)  # 40 MB, touched
        timer.run("spin", lambda: sum(range(2_000_000)), 1)
    finally:
        sampler.close()
    allocate, spin = timer.stages
    assert allocate.rows == len(block)
    assert allocate.peak_rss_mb >= 40
    assert spin.cpu_seconds > 0
