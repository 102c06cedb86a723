"""Shift-aware family choice (issue 11, session 9): pure logic, no warehouse and no MLflow.

The validation cutoff is reweighted towards the population scored on the training date
(`family.shift_weights`) and the families are compared on the weighted validation AUC."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from crm_scoring.model.family import (
    GLM,
    NO_OVERLAP,
    UNWEIGHTED,
    WEIGHTED,
    XGBOOST,
    FamilyChoice,
    choose_family,
    domain_auc,
    gate_fallback,
    guard_no_overlap,
    shift_weights,
)

FEATURES = ("tenure_days", "recency_days")


def _population(rng: np.random.Generator, n: int, tenure_mean: float) -> np.ndarray:
    return np.c_[rng.gamma(4.0, tenure_mean / 4.0, n), rng.exponential(30.0, n)]


def _weights(valid: np.ndarray, scoring: np.ndarray):  # noqa: ANN202 - ShiftWeights
    return shift_weights(valid, scoring, FEATURES, c=1.0, clip_quantile=0.99)


def test_no_shift_gives_near_uniform_weights() -> None:
    rng = np.random.default_rng(1)
    w = _weights(_population(rng, 3000, 200.0), _population(rng, 6000, 200.0))
    assert w.domain_auc < 0.56
    assert w.weights.mean() == pytest.approx(1.0)
    assert w.effective_rows > 0.95 * 3000
    assert w.features == FEATURES


def test_shift_weights_favour_validation_rows_like_the_scoring_population() -> None:
    rng = np.random.default_rng(2)
    valid = _population(rng, 3000, 60.0)  # younger customers on the validation cutoff
    w = _weights(valid, _population(rng, 6000, 180.0))
    assert w.domain_auc > 0.75
    older = valid[:, 0] > np.median(valid[:, 0])
    assert w.weights[older].mean() > 2 * w.weights[~older].mean()
    assert np.isclose(w.weights, w.weights.max()).sum() >= 0.01 * 3000 - 1  # the top 1% clipped to one value
    assert w.effective_rows < 0.8 * 3000
    assert w.weights.mean() == pytest.approx(1.0)


def test_shift_weights_are_deterministic_and_tolerate_missing_values() -> None:
    rng = np.random.default_rng(3)
    valid, scoring = _population(rng, 500, 60.0), _population(rng, 800, 120.0)
    valid[::7, 1] = np.nan
    a, b = _weights(valid, scoring), _weights(valid.copy(), scoring.copy())
    assert np.isfinite(a.weights).all()
    np.testing.assert_array_equal(a.weights, b.weights)


def _scorers(rng: np.random.Generator, x: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Labels and two scorers: 'xgboost' ranks young customers well and old ones at random, the
    regression ranks everyone moderately (the CDNOW story, made explicit)."""
    young = x[:, 0] < 120.0
    risk = rng.normal(size=len(x))
    y = (rng.random(len(x)) < 1 / (1 + np.exp(-2.0 * risk))).astype(int)
    xgb_score = np.where(young, risk + rng.normal(scale=0.3, size=len(x)), rng.normal(size=len(x)))
    glm_score = risk + rng.normal(scale=1.0, size=len(x))
    return y, {XGBOOST: xgb_score, GLM: glm_score}


def _choice(valid: np.ndarray, scoring: np.ndarray, rng: np.random.Generator):  # noqa: ANN202
    y, scores = _scorers(rng, valid)
    plain = {f: roc_auc_score(y, s) for f, s in scores.items()}
    w = _weights(valid, scoring)
    weighted = {f: roc_auc_score(y, s, sample_weight=w.weights) for f, s in scores.items()}
    return plain, choose_family(plain, 0.002, weighted, "test")


def test_shift_towards_older_customers_chooses_the_regression() -> None:
    rng = np.random.default_rng(4)
    valid = _population(rng, 4000, 80.0)  # mostly young on the validation cutoff
    plain, choice = _choice(valid, _population(rng, 8000, 300.0), rng)
    assert choose_family(plain, 0.002).family == XGBOOST  # what the unweighted validation says
    assert choice.family == GLM and choice.basis == WEIGHTED
    assert choice.reason.startswith("shift-weighted (test)")


def test_without_shift_the_weighted_choice_is_the_unweighted_one() -> None:
    rng = np.random.default_rng(5)
    valid = _population(rng, 4000, 80.0)
    plain, choice = _choice(valid, _population(rng, 8000, 80.0), rng)
    assert choose_family(plain, 0.002).family == XGBOOST
    assert choice.family == XGBOOST and choice.basis == WEIGHTED


def test_choose_family_without_weights_is_unchanged() -> None:
    plain = choose_family({XGBOOST: 0.70, GLM: 0.69}, 0.002)
    assert plain.family == XGBOOST and plain.basis == UNWEIGHTED
    weighted = choose_family({XGBOOST: 0.70, GLM: 0.69}, 0.002, {XGBOOST: 0.60, GLM: 0.65}, "x")
    assert weighted.family == GLM and weighted.gain == pytest.approx(0.05)
    # policy unset keeps XGBoost whatever the weights say (behaviour before families existed)
    assert choose_family({XGBOOST: 0.6}, None, {XGBOOST: 0.5, GLM: 0.9}, "x").family == XGBOOST


def test_disjoint_populations_register_the_regression_when_the_guard_is_on() -> None:
    rng = np.random.default_rng(6)
    valid = np.c_[rng.uniform(0, 23, 2000), rng.exponential(10.0, 2000)]  # weeks-old customers
    scoring = np.c_[rng.uniform(30, 120, 4000), rng.exponential(30.0, 4000)]  # months-old ones
    w = _weights(valid, scoring)
    assert w.domain_auc > 0.999
    auc = {XGBOOST: 0.6156, GLM: 0.6101}
    xgb_choice = choose_family(auc, 0.002)
    guarded = guard_no_overlap(xgb_choice, auc, 0.002, w.domain_auc, 0.99)
    assert guarded.family == GLM and guarded.basis == NO_OVERLAP and "do not overlap" in guarded.reason
    assert guard_no_overlap(xgb_choice, auc, 0.002, w.domain_auc, None) == xgb_choice  # guard off
    assert guard_no_overlap(xgb_choice, auc, None, w.domain_auc, 0.99) == xgb_choice  # policy unset
    assert guard_no_overlap(xgb_choice, {XGBOOST: 0.6}, 0.002, w.domain_auc, 0.99) == xgb_choice  # no GLM


def test_overlapping_populations_keep_the_validation_choice() -> None:
    rng = np.random.default_rng(7)
    w = _weights(_population(rng, 3000, 200.0), _population(rng, 6000, 260.0))
    assert w.domain_auc < 0.99
    auc = {XGBOOST: 0.91, GLM: 0.69}
    choice = choose_family(auc, 0.002)
    assert guard_no_overlap(choice, auc, 0.002, w.domain_auc, 0.99) == choice


# --- session 10: the gate's fallback against the no-overlap guard -------------------------------------
# CDNOW 1997-06-30 (docs/benchmark_real.md, sessions 8-9): the guard chose the regression (validation and
# scoring domain AUC 1.000); on the gate's holdout XGBoost 0.7049 passes model_min_auc 0.70, the regression
# 0.6921 does not.
HOLDOUT_0630 = {XGBOOST: 0.7049, GLM: 0.6921}
REFUSES_GLM = {XGBOOST: True, GLM: False}


def _guarded() -> FamilyChoice:
    auc = {XGBOOST: 0.7050, GLM: 0.6888}
    return guard_no_overlap(choose_family(auc, 0.002), auc, 0.002, 1.0, 0.99)


def test_disjoint_holdout_cannot_overrule_the_no_overlap_guard() -> None:
    guarded = _guarded()
    assert guarded.family == GLM and guarded.basis == NO_OVERLAP
    kept = gate_fallback(guarded, REFUSES_GLM, HOLDOUT_0630, 0.002, 1.0, 0.99)
    assert kept.family == GLM and kept.basis == NO_OVERLAP
    assert "does not overlap the scoring population either" in kept.reason
    # a holdout whose overlap was not measured is not shown to represent the scored customers either
    assert gate_fallback(guarded, REFUSES_GLM, HOLDOUT_0630, 0.002, math.nan, 0.99).family == GLM


def test_overlapping_holdout_that_ranks_the_other_family_better_overrules_the_guard() -> None:
    guarded = _guarded()
    switched = gate_fallback(guarded, REFUSES_GLM, HOLDOUT_0630, 0.002, 0.70, 0.99)
    assert switched.family == XGBOOST and "leads there by +0.0128" in switched.reason
    # guard off in config: the holdout is ordinary evidence (rule before session 10, plus equal terms)
    assert gate_fallback(guarded, REFUSES_GLM, HOLDOUT_0630, 0.002, 1.0, None).family == XGBOOST


def test_a_floor_miss_between_tied_families_does_not_swap_them() -> None:
    """Equal terms: one family just under model_min_auc, the other just over, within the switch gain."""
    guarded = _guarded()
    tie = {XGBOOST: 0.7005, GLM: 0.6995}
    kept = gate_fallback(guarded, REFUSES_GLM, tie, 0.002, 0.70, 0.99)
    assert kept.family == GLM and "a tie the floor alone does not break" in kept.reason
    validation_xgb = choose_family({XGBOOST: 0.70, GLM: 0.69}, 0.002)
    refuses_xgb = {XGBOOST: False, GLM: True}
    assert gate_fallback(validation_xgb, refuses_xgb, {XGBOOST: 0.6995, GLM: 0.7005}, 0.002).family == XGBOOST
    # ... but a clear lead on the holdout swaps (XGBoost ranking worse than the RFM baseline, say)
    assert gate_fallback(validation_xgb, refuses_xgb, {XGBOOST: 0.690, GLM: 0.701}, 0.002).family == GLM
    # policy unset: any lead of the passing family suffices
    assert gate_fallback(validation_xgb, refuses_xgb, {XGBOOST: 0.6995, GLM: 0.7005}, None).family == GLM


def test_gate_fallback_leaves_a_passing_choice_alone() -> None:
    guarded = _guarded()
    assert gate_fallback(guarded, {XGBOOST: True, GLM: True}, HOLDOUT_0630, 0.002, 0.5, 0.99) == guarded
    assert gate_fallback(guarded, {XGBOOST: False, GLM: False}, HOLDOUT_0630, 0.002, 0.5, 0.99) == guarded


def test_holdout_domain_auc_measures_the_same_separability() -> None:
    rng = np.random.default_rng(8)
    scoring = np.c_[rng.uniform(91, 180, 4000), rng.exponential(40.0, 4000)]  # months-old customers
    weeks_old = np.c_[rng.uniform(0, 90, 2000), rng.exponential(10.0, 2000)]
    all_ages = np.c_[rng.uniform(0, 180, 2000), rng.exponential(30.0, 2000)]
    assert domain_auc(weeks_old, scoring, c=1.0) > 0.99
    assert domain_auc(all_ages, scoring, c=1.0) < 0.9
    assert domain_auc(weeks_old, scoring, c=1.0) == _weights(weeks_old, scoring).domain_auc
