"""Pure logic: reason-code selection and wording (CH-06), and a calibration sanity check (CH-04)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
import xgboost as xgb

from crm_scoring.model import reasons
from crm_scoring.model.calibration import apply_calibration, fit_calibration
from crm_scoring.model.metrics import expected_calibration_error
from crm_scoring.model.reasons import Wording, _render_texts, contributions, load_catalogue, top_positive


def test_top_positive_picks_the_largest_risk_increasing_contributions_in_order() -> None:
    contrib = np.array(
        [
            [0.1, 0.5, -0.2, 0.3, 0.05],  # 3 positive reasons: f1, f3, f0
            [-0.1, -0.5, 0.2, -0.3, 0.0],  # a single positive contribution: one reason only
            [0.2, 0.2, 0.2, 0.2, 0.2],  # ties: feature order decides, deterministically
        ]
    )
    rows, ranks, feats = top_positive(contrib, 3)
    assert rows.tolist() == [0, 0, 0, 1, 2, 2, 2]
    assert ranks.tolist() == [0, 1, 2, 0, 0, 1, 2]
    assert feats.tolist() == [1, 3, 0, 2, 0, 1, 2]
    assert len(top_positive(np.zeros((0, 5)), 3)[0]) == 0


def test_top_positive_in_blocks_equals_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of rows (the row numbers offset per block) give what one block over every row gives, with
    ties, rows without a positive contribution and a last partial block."""
    rng = np.random.default_rng(7)
    contrib = rng.standard_normal((1001, 12))
    contrib[rng.random(contrib.shape) < 0.6] = 0.0
    contrib[3] = 0.0
    contrib[8, :5] = 0.25
    whole = top_positive(contrib, 3)
    monkeypatch.setattr(reasons, "_TOP_BLOCK_ROWS", 64)
    blocked = top_positive(contrib, 3)
    assert all(np.array_equal(a, b) for a, b in zip(whole, blocked, strict=True))
    assert len(whole[0]) > 2000 and 3 not in whole[0].tolist()


def test_reason_wording_from_the_catalogue() -> None:
    catalogue = load_catalogue()
    for feature in ("days_inactive", "complaints_90d", "recency_days", "crisis_affected"):
        assert feature in catalogue
    features = ["complaints_90d", "recency_days", "crisis_affected", "brand_new_feature"]
    idx = np.array([0, 1, 2, 3, 0])
    values = np.array([3.0, np.nan, 1.0, 2.5, 3.0])
    texts = _render_texts(idx, values, features, catalogue).tolist()
    assert texts == [
        "3 complaints in the last 90 days",
        "has never purchased",
        "affected by a service crisis",
        "brand new feature: 2.5",  # not catalogued (the test below forbids that for mart features)
        "3 complaints in the last 90 days",
    ]
    assert Wording("{value:.0f} logins", zero="no login").render("x", 0.0) == "no login"
    assert Wording("{missing_key}").render("x_y", 1.0) == "x y: 1"  # a broken template never fails scoring


def _mart_features() -> list[str]:
    """The feature columns of marts.churn_features / churn_training_set, from the one dbt macro."""
    import re

    from crm_scoring import settings

    macros = settings.dbt_project_dir() / "macros"
    macro = (macros / "churn_features.sql").read_text()
    body = re.search(
        r"churn_feature_columns\(\) -%\}\s*\{\{ return\(\[(.*?)\] \+ churn_family_columns\(\)\) \}\}",
        macro,
        re.S,
    )
    assert body, "churn_feature_columns() not found in macros/churn_features.sql"
    families = (macros / "churn_feature_families.sql").read_text()
    extra = re.search(r"churn_family_columns\(\) -%\}\s*\{\{ return\(\[(.*?)\]\) \}\}", families, re.S)
    assert extra, "churn_family_columns() not found in macros/churn_feature_families.sql"
    return re.findall(r"'(\w+)'", body.group(1)) + re.findall(r"'(\w+)'", extra.group(1))


def test_every_model_feature_has_business_wording() -> None:
    """CH-06: no list row may show a raw feature name or `x = 0`; every feature needs a catalogue entry."""
    catalogue = load_catalogue()
    features = _mart_features()
    assert len(features) > 50
    missing = [f for f in features if f not in catalogue]
    assert not missing, f"features without a wording in models/churn/feature_catalogue.yaml: {missing}"
    for feature in features:
        wording = catalogue[feature]
        values = [0.0, 1.0, 2.5, 310.0] + ([float("nan")] if wording.missing else [])
        for value in values:
            text = wording.render(feature, value)
            assert feature not in text and " = " not in text and "no data" not in text, (feature, value, text)
            assert text and text[0].islower() or text[0].isdigit() or text[0] in "+-", (feature, text)


def test_contributions_sum_to_the_booster_margin() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    x[rng.random(x.shape) < 0.1] = np.nan
    y = (np.nan_to_num(x[:, 0]) + rng.normal(size=300) > 0).astype(float)
    features = ["a", "b", "c", "d"]
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 3, "seed": 0, "nthread": 1},
        xgb.DMatrix(x, label=y, feature_names=features),
        num_boost_round=20,
    )
    dm = xgb.DMatrix(x, feature_names=features)
    full = booster.predict(dm, pred_contribs=True)
    np.testing.assert_allclose(
        full.sum(axis=1), booster.predict(dm, output_margin=True), rtol=1e-4, atol=1e-4
    )
    assert contributions(booster, x, features).shape == (300, 4)  # bias column dropped


def test_calibration_sanity_on_out_of_time_like_data() -> None:
    """Raw scores inflated like scale_pos_weight does: Platt fitted on one sample repairs another."""
    rng = np.random.default_rng(5)

    def sample(n: int) -> tuple[np.ndarray, np.ndarray]:
        true_p = 1 / (1 + np.exp(-rng.normal(-1.7, 1.2, n)))
        y = (rng.random(n) < true_p).astype(float)
        odds = 5.0 * true_p / (1 - true_p)  # what scale_pos_weight = 5 does to the odds
        return odds / (1 + odds), y

    raw_fit, y_fit = sample(20_000)
    raw_new, y_new = sample(20_000)
    for method in ("platt", "isotonic"):
        calib = fit_calibration(method, raw_fit, y_fit)
        calibrated = apply_calibration(calib, raw_new)
        assert expected_calibration_error(y_new, raw_new, 10) > 0.15
        assert expected_calibration_error(y_new, calibrated, 10) < 0.02, method
        assert abs(calibrated.mean() - y_new.mean()) < 0.01
    platt = apply_calibration(fit_calibration("platt", raw_fit, y_fit), raw_new)
    assert ((platt > 0) & (platt < 1)).all()  # never an exact 0 or 1 (log loss stays finite)
    assert np.all(np.diff(platt[np.argsort(raw_new)]) >= 0)  # monotonic: rankings unchanged


def test_reason_codes_table_for_a_loaded_model() -> None:
    import pandas as pd

    from crm_scoring.model.reasons import compute_reason_codes
    from crm_scoring.model.score import LoadedModel

    rng = np.random.default_rng(1)
    features = ["complaints_90d", "days_inactive", "orders_90d"]
    x = np.column_stack([rng.poisson(1, 400), rng.integers(0, 90, 400), rng.poisson(2, 400)]).astype(float)
    y = ((x[:, 0] > 1) | (x[:, 1] > 60)).astype(float)
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 3, "seed": 0, "nthread": 1},
        xgb.DMatrix(x, label=y, feature_names=features),
        num_boost_round=15,
    )
    model = LoadedModel("churn", "7", "run", booster, features, {"method": "none"})
    frame = pd.DataFrame(x, columns=features).assign(customer_id=[f"C{i}" for i in range(400)])
    table = compute_reason_codes(model, frame, date(2026, 11, 26), top_k=2)
    out = table.to_pandas()
    assert list(table.column_names) == [
        *("run_date", "customer_id", "reason_rank", "feature", "feature_value"),
        *("contribution", "reason_text", "model_version"),
    ]
    assert (out["contribution"] > 0).all() and out["reason_rank"].between(1, 2).all()
    assert set(out["model_version"]) == {"7"} and not out.duplicated(["customer_id", "reason_rank"]).any()
    risky = out[(out["feature"] == "days_inactive") & (out["feature_value"] > 60)]
    assert len(risky) and risky["reason_text"].str.match(r"no activity for \d+ days").all()
