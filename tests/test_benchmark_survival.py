"""The lab's censored-history (survival) recipes on the 1/10 CDNOW sample: labels and leakage guards.

What must hold on any data: a survival row's time to the next purchase is read only up to the as-of date
(never the matured 90-day label of a recent cutoff), censoring is at min(as_of, cutoff + horizon), and a
survival recipe yields a churn probability for every scored customer. AUCs are research output
(docs/churn_research.md), not asserted.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from crm_scoring.benchmark import cdnow, offline, survival

AS_OF = date(1997, 6, 30)


@pytest.fixture(scope="module")
def lab() -> offline.Lab:
    return offline.Lab(cdnow.load("sample"), bgnbd=False)


def test_time_to_next_is_censored_at_the_as_of_date(lab: offline.Lab) -> None:
    a = offline._day_number(AS_OF)
    c = a - 20
    t = survival.time_to_next(lab.days, c, a, offline.HORIZON)
    assert set(t["customer_id"]) == set(lab.days.loc[lab.days["day"] <= c, "customer_id"])
    # censored rows: exactly the 20 observed days; events: the first purchase after the cutoff
    assert (t.loc[t["event"] == 0, "time"] == 20).all()
    first = lab.days[(lab.days["day"] > c) & (lab.days["day"] <= a)].groupby("customer_id")["day"].min() - c
    events = t[t["event"] == 1].set_index("customer_id")["time"]
    assert events.sort_index().equals(first.astype(np.float64).reindex(events.index).sort_index())
    assert ((events >= 1) & (events <= 20)).all()
    # purchases after the as-of date change nothing
    later = lab.days.iloc[[0]].assign(day=a + 1)
    pd.testing.assert_frame_equal(
        t, survival.time_to_next(pd.concat([lab.days, later]), c, a, offline.HORIZON)
    )
    # an old cutoff is censored at the horizon, not at the as-of date
    old = survival.time_to_next(lab.days, a - 150, a, offline.HORIZON)
    assert old["time"].max() == offline.HORIZON
    with pytest.raises(AssertionError):
        survival.time_to_next(lab.days, a, a, offline.HORIZON)


def test_survival_set_uses_cutoffs_up_to_a_week_before_the_as_of_date(lab: offline.Lab) -> None:
    recipe = offline.recipes()["surv_exp_glm_rfm"]
    rows = lab.survival_set(AS_OF, recipe, "strict")
    assert max(rows["cutoff"]) == AS_OF - timedelta(days=7)
    assert "churned" not in rows  # the recent cutoffs' 90-day labels reach past the as-of date
    horizon_end = rows["cutoff"].map(lambda c: min((AS_OF - c).days, offline.HORIZON))
    assert (rows["time"] <= horizon_end).all() and set(rows["event"]) == {0, 1}
    with pytest.raises(ValueError, match="strict"):
        lab.survival_set(AS_OF, recipe, "platform")


@pytest.mark.parametrize("name", ["surv_exp_glm_rfm", "surv_aft_mart_glm_margin_shallow"])
def test_survival_recipe_scores_every_customer(lab: offline.Lab, name: str) -> None:
    recipe = replace(offline.recipes()[name], max_rounds=20)
    result = offline.score_recipe(lab, AS_OF, recipe, "strict", seed=0)
    assert result["all"]["rows"] == lab.days["customer_id"].nunique()
    assert all(0.5 < result[pop]["model"] <= 1.0 for pop in ("all", "non_lapsed"))
    assert result["info"]["survival_cutoffs"] > result["train_cutoffs"]  # the censored recent cutoffs
