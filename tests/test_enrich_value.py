"""CV-10 emotional value score (issue 10) on the hand-made landing history of test_dbt_project, with the
enriched texts of test_marts_value (as the text task writes them when the model passed DQ-06)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.dbt_project import (
    FIXTURE,
    SENTIMENT,
    _dbt,
    _load_raw,
    _rows,
    create_enrichment,
    module_warehouse,
)

D1 = "2026-11-26"


@pytest.fixture(scope="module")
def emotional(
    server_url: str, tmp_path_factory: pytest.TempPathFactory, pristine_project: Path
) -> Iterator[str]:
    """One build for the module: +int_customer_value__emotional_segments contains every node (and so every
    data and unit test) of +int_customer_value__emotional, and both tests below only read it."""
    with module_warehouse(server_url, tmp_path_factory, "crm_cev", pristine_project) as (url, project):
        _load_raw(url, FIXTURE)
        create_enrichment(url)
        _dbt(
            project,
            "build",
            "--select",
            "+int_customer_value__emotional_segments",
            "--indirect-selection",
            "cautious",
            run_date=D1,
            profile="starter",  # CV-10 weights and cut-offs, CV-12 thresholds: starter defaults
        )
        yield url


def test_cev_score_and_clusters_follow_the_policy(emotional: str) -> None:
    url = emotional
    rows = {
        r["customer_id"]: r for r in _rows(url, "select * from intermediate.int_customer_value__emotional")
    }
    params = {
        r["key"]: float(r["value"])
        for r in _rows(url, "select key, value from policy.policy_parameters where key like 'cev_%%'")
    }
    w = (params["cev_weight_intensity"], params["cev_weight_frequency"], params["cev_weight_feedback"])
    with_texts = {s[2] for s in SENTIMENT}
    assert with_texts <= set(rows) and len(rows) > len(with_texts)
    # c5: three labelled texts in the 90-day window, scores -0.8, -0.6, -0.5
    assert rows["c5"]["labelled_texts_90d"] == 3
    assert rows["c5"]["cev_intensity"] == pytest.approx(((-0.8 - 0.6 - 0.5) / 3 + 1) / 2, abs=1e-4)
    for cid, r in rows.items():
        if cid not in with_texts:  # no emotional evidence: no score, no cluster
            assert r["cev_score"] is None and r["cev_cluster"] is None and r["labelled_texts_90d"] == 0
            continue
        expected = (
            w[0] * r["cev_intensity"] + w[1] * r["cev_frequency"] + w[2] * r["cev_feedback_quality"]
        ) / sum(w)
        assert r["cev_score"] == pytest.approx(expected, abs=1e-3)
        assert 0 <= r["cev_score"] <= 1 and 0 < r["cev_feedback_quality"] <= 1
        cluster = (
            "high" if r["cev_score"] >= params["cev_high_min"]
            else "low" if r["cev_score"] < params["cev_low_max"]
            else "medium"
        )  # fmt: skip
        assert r["cev_cluster"] == cluster
    # the angry customer ranks below the neutral one
    assert rows["c5"]["cev_intensity"] < rows["c1"]["cev_intensity"]


def test_cv12_emotional_segments_follow_the_policy(emotional: str) -> None:
    """CV-12 segments built on the same history (their dbt unit tests run in the same build)."""
    url = emotional
    rows = _rows(
        url,
        "select s.*, e.cev_cluster, p.dominant_emotion_90d"
        " from intermediate.int_customer_value__emotional_segments s"
        " join intermediate.int_customer_value__emotional e using (customer_id)"
        " join intermediate.int_customer_value__profile p using (customer_id)",
    )
    assert rows and {r["emotional_segment"] for r in rows} - {None}  # some customers have a segment
    for r in rows:
        if r["cev_cluster"] is None:
            assert r["emotional_segment"] is None and r["is_emotional"] is None
        elif r["cev_cluster"] != "high":
            assert r["emotional_segment"] == "not_emotional"
        else:
            assert r["emotional_segment"] in (
                "high_loyalty_emotional",
                "price_sensitive_emotional",
                "other_emotional",
            )
        if r["dominant_emotion_90d"] in ("angry", "disappointed", "worried"):
            assert r["emotion_type_90d"] == "anxious"
