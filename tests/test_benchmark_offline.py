"""The offline churn lab (benchmark.offline) on the 1/10 CDNOW sample: structure and leakage guards.

AUC values are research output (docs/churn_research.md), not asserted here; what must hold on any data
is that nothing after a cutoff reaches its features, that strict training labels mature by the as-of
date, and that the replay produces a model, RFM-LR and recency figure for both populations.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from crm_scoring.benchmark import cdnow, offline

AS_OF = date(1997, 6, 30)


@pytest.fixture(scope="module")
def lab() -> offline.Lab:
    return offline.Lab(cdnow.load("sample"))


def test_features_use_only_days_up_to_the_cutoff(lab: offline.Lab) -> None:
    cutoff = date(1997, 3, 15)
    full = offline.features_at(lab.days, cutoff)
    truncated = offline.features_at(lab.days[lab.days["day"] <= offline._day_number(cutoff)], cutoff)
    pd.testing.assert_frame_equal(full, truncated)
    # a purchase the day after the cutoff changes nothing; one on the cutoff day counts
    later = lab.days.iloc[[0]].assign(day=offline._day_number(cutoff) + 1)
    assert offline.features_at(pd.concat([lab.days, later]), cutoff).equals(full)
    assert (full["recency_days"] >= 0).all()
    assert set(offline.MART + offline.HISTORY + offline.BGNBD) <= set(full.columns)
    assert not set(offline.BGNBD) & set(offline.features_at(lab.days, cutoff, bgnbd=False).columns)


def test_labels_are_the_next_horizon_days(lab: offline.Lab) -> None:
    cutoff = date(1997, 3, 31)
    y = offline.labels_at(lab.days, cutoff)
    c = offline._day_number(cutoff)
    window = lab.days[(lab.days["day"] > c) & (lab.days["day"] <= c + offline.HORIZON)]
    expected = (~y.index.isin(window["customer_id"])).astype(int)
    assert np.array_equal(y.to_numpy(), expected)
    assert set(y.index) == set(lab.days.loc[lab.days["day"] <= c, "customer_id"])


@pytest.mark.parametrize("regime", ["strict", "platform"])
def test_training_cutoffs_respect_the_regime(lab: offline.Lab, regime: str) -> None:
    recipe = offline.recipes()["weekly_all_cutoffs"]
    cutoffs = offline.training_cutoffs(AS_OF, recipe, lab.first_day, regime)
    assert cutoffs == sorted(cutoffs, reverse=True) and len(cutoffs) > 1
    assert all(c >= lab.first_day for c in cutoffs)
    assert all(a - b == timedelta(days=7) for a, b in zip(cutoffs, cutoffs[1:], strict=False))
    if regime == "strict":
        assert max(cutoffs) + timedelta(days=offline.HORIZON) <= AS_OF
    else:
        assert max(cutoffs) < AS_OF
    train = lab.training_set(AS_OF, recipe, regime)
    assert (train["recency_days"] < offline.LAPSED_DAYS).all()  # CH-02 population
    assert set(train["cutoff"]) <= set(cutoffs)


def test_replay_reports_every_scorer_for_both_populations(lab: offline.Lab) -> None:
    recipe = replace(offline.recipes()["weekly_all_purchasers"], max_rounds=30, max_cutoffs=8)
    result = offline.score_recipe(lab, AS_OF, recipe, "strict", seed=0)
    for pop in ("all", "non_lapsed"):
        assert set(result[pop]) == {"rows", "model", "rfm_lr", "recency"}
        assert all(0.0 <= result[pop][k] <= 1.0 for k in ("model", "rfm_lr", "recency"))
    assert result["all"]["rows"] == lab.days["customer_id"].nunique()
    assert result["non_lapsed"]["rows"] < result["all"]["rows"]
    assert result["train_cutoffs"] <= 8 and result["info"]["features"] <= len(offline.MART)
    table = offline.summarise([result])
    assert set(table["population"]) == {"all", "non_lapsed"}
