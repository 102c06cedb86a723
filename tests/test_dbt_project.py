"""The dbt project against a real PostgreSQL: raw fixture -> staging -> marts -> lists.

A small hand-made landing history (a few customers with orders, tickets, a crisis) is written straight
into the raw layer with the contract DDL, then `dbt build` runs in-process for consecutive run dates.
The project is copied to a temporary folder so a test can change policy seeds (enable a rule, set a
[U] amount) without touching the repository, and dbt's target/ stays out of the checkout.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.dbt_project import (
    D1,
    D2,
    FIXTURE,
    SCORES,
    _dbt,
    _insert,
    _insert_backtests,
    _load_raw,
    _rows,
    _set_csv,
    _table,
    module_warehouse,
    undocumented,
)

from crm_scoring import warehouse


def test_parse_needs_no_database(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_PG_HOST", "no-such-host.invalid")
    monkeypatch.setenv("CRM_PG_PORT", "1")
    _dbt(project, "parse")


def test_marts_and_lists_document_their_rules(project: Path) -> None:
    """Every mart and list model cites its rule ID and describes every column (dbt parse: no database)."""
    _dbt(project, "parse")
    target = Path(os.environ.get("DBT_TARGET_PATH", project / "target"))
    manifest = json.loads((target / "manifest.json").read_text())
    assert undocumented(manifest) == []
    # the check can fail: a mart whose description loses its rule ID is reported
    node = next(n for n in manifest["nodes"].values() if n["name"] == "rule_activity")
    node["description"] = "rule activity"
    node["columns"]["fired_rows"]["description"] = ""
    assert undocumented(manifest) == [
        "rule_activity: description cites no rule ID",
        "rule_activity.fired_rows: no description",
    ]


@pytest.fixture(scope="module")
def built(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The hand-made fixture built for D1 on a project copy with the rules the tests need switched on; the
    tests below read it in file order, and the last ones move it on (late history, D2, an unset parameter)."""
    with module_warehouse(server_url, tmp_path_factory, "crm_dbt_project") as (url, project):
        _build_d1(url, project)
        yield url, project


def _build_d1(url: str, project: Path) -> None:
    """Load the fixture, switch on the rules the tests need, build D1."""
    _load_raw(url, FIXTURE)
    with warehouse.connect(url) as conn:
        conn.cursor().executemany(
            "insert into scoring.churn_scores values (%s, %s, %s, 'crm_churn', '3', 'run-1', now())", SCORES
        )
    seeds = project / "seeds" / "policy"
    # Turn on what ships disabled for lack of a business value ([U]): RL-03 and the T3 complaint package
    # (every compensation rule needs its due date, CP-13).
    _set_csv(seeds / "policy_parameters.csv", "key", "churn_band_high_min", value="0.5")
    _set_csv(seeds / "retention_rules.csv", "rule_code", "RL-03", enabled="true")
    _set_csv(seeds / "policy_parameters.csv", "key", "compensation_due_days", value="5")
    _set_csv(seeds / "compensation_matrix.csv", "package_code", "CMP_T3", amount="20", enabled="true")
    for package in ("OUTAGE_POINTS", "SEVERE_3X"):
        _set_csv(seeds / "compensation_matrix.csv", "package_code", package, enabled="true")
    # AL-14 (CH-07): a backtest evaluated on D1 below model_min_auc and far below its training AUC
    _set_csv(seeds / "policy_parameters.csv", "key", "model_min_auc", value="0.7")
    _set_csv(seeds / "policy_parameters.csv", "key", "model_max_auc_drop", value="0.05")
    _set_csv(seeds / "alert_rules.csv", "alert_code", "AL-14", enabled="true")
    _insert_backtests(url)

    _dbt(project, "build", run_date=D1)


# The builds after D1's: dbt's unit tests read only their YAML fixtures, never the warehouse, and D1's
# build ran all of them on the same project files; the data tests still run on every date.
LATER_BUILD = ("--exclude-resource-type", "unit_test")


def _tickets(url: str) -> dict[str, dict]:
    return {r["ticket_id"]: r for r in _rows(url, "select * from marts.fct_tickets where run_date = %s", D1)}


def test_backtests_below_the_floor_raise_al14(built) -> None:
    """CH-07 / AL-14: a backtest below model_min_auc and far below its training AUC raises red and yellow."""
    url, project = built
    perf = _rows(url, "select * from marts.model_performance order by as_of_date")
    assert [(r["model_version"], r["below_min_auc"], r["auc_drop_exceeded"]) for r in perf] == [
        ("2", False, False),
        ("3", True, True),
    ]
    al14 = _rows(
        url, "select level, metric, scope from marts.alerts where alert_code = 'AL-14' order by level"
    )
    assert [(r["level"], r["metric"]) for r in al14] == [("red", "roc_auc"), ("yellow", "roc_auc_drop")]
    assert all(":v3:2026-08-28:" in r["scope"] for r in al14)  # the healthy v2 backtest raises nothing


def test_staging_is_as_of_the_run_date_and_masks_pii(built) -> None:
    """Staging: every version exported by the run date, PII masked and redacted; the ticket base keeps
    the latest."""
    url, project = built
    # --- staging: every version exported by the run date, PII masked; the ticket base: the latest one
    t3 = _rows(url, "select ticket_status from staging.stg_crm__tickets where ticket_id = 't3'")
    assert t3 == [{"ticket_status": "open"}]  # the 11-27 export is not visible on D1
    t3 = _rows(url, "select * from intermediate.int_complaints__tickets_latest where ticket_id = 't3'")
    assert [(r["ticket_status"], r["exported_on"].isoformat()) for r in t3] == [("open", "2026-11-25")]
    cust = _rows(url, "select * from staging.stg_crm__customers where customer_id = 'c1'")[0]
    assert "email" not in cust and len(cust["email_hash"]) == 32 and len(cust["phone_hash"]) == 32
    text = _rows(url, "select text_redacted from staging.stg_crm__tickets where ticket_id = 't1'")[0]
    assert "@" not in text["text_redacted"] and "0005" not in text["text_redacted"]
    assert "[EMAIL]" in text["text_redacted"] and "[PHONE]" in text["text_redacted"]


def test_customer_value_tiers_and_lifecycle(built) -> None:
    """CV-01..03 and the lifecycle stages (seed_spec 2.3)."""
    url, project = built
    # --- customer value (CV-01..03, lifecycle 2.3)
    cv = {
        r["customer_id"]: r for r in _rows(url, "select * from marts.customer_value where run_date = %s", D1)
    }
    assert set(cv) == {"c1", "c2", "c3", "c4", "c5", "c6", "c7"}  # c8 registers after D1
    assert cv["c1"]["value_tier"] == "T1_DIAMOND" and cv["c1"]["is_vip"]
    assert float(cv["c1"]["revenue_365d"]) == 130000
    assert (
        cv["c2"]["value_tier"] == "T2_GOLD" and float(cv["c2"]["revenue_365d"]) == 5000
    )  # cancelled excluded
    assert float(cv["c2"]["revenue_rank_pct"]) == pytest.approx(0.2)
    assert cv["c5"]["value_tier"] == "T3_REGULAR"
    assert cv["c6"]["revenue_rank_pct"] is None and cv["c6"]["value_tier"] == "T3_REGULAR"
    assert (cv["c3"]["lifecycle_stage"], cv["c4"]["lifecycle_stage"], cv["c1"]["lifecycle_stage"]) == (
        "lapsed",
        "silent",
        "active",
    )
    assert cv["c4"]["days_inactive"] == 7  # the failed login does not count as activity


def test_complaint_marts(built) -> None:
    """CM-01 first response and priority, CM-06 crisis sensitivity."""
    url, project = built
    # --- complaints (CM-01, CM-06)
    tk = {r["ticket_id"]: r for r in _rows(url, "select * from marts.fct_tickets where run_date = %s", D1)}
    assert float(tk["t1"]["frt_minutes"]) == 30 and float(tk["t2"]["frt_minutes"]) == 120
    assert (
        tk["t3"]["frt_minutes"] is None and tk["t3"]["priority"] == "P1" and tk["t3"]["is_priority_derived"]
    )
    assert tk["t1"]["priority"] == "P2" and tk["t3"]["crisis_event_id"] == "cr1"
    cc = {
        r["customer_id"]: r
        for r in _rows(url, "select * from marts.customer_complaints where run_date = %s", D1)
    }
    assert cc["c5"]["complaints_lifetime"] == 4 and cc["c5"]["is_crisis_sensitive"]
    assert cc["c5"]["has_technical_complaint_90d"] and cc["c5"]["complaints_30d"] == 1
    assert not cc["c1"]["is_crisis_sensitive"] and cc["c1"]["open_tickets"] == 1


def test_rule_activity_says_what_fired_and_why_not(built) -> None:
    """Issue 3: one row per rule of the policy seeds, what it produced and why not."""
    url, project = built
    tk = _tickets(url)
    # --- rule activity (issue 3): one row per rule of the policy seeds, what it produced, why not
    ra = {r["rule_code"]: r for r in _rows(url, "select * from marts.rule_activity where run_date = %s", D1)}
    ready = _rows(url, "select rule_code from intermediate.int_policy__rule_readiness")
    assert set(ra) == {r["rule_code"] for r in ready}
    assert (ra["CM-01"]["fired_rows"], ra["CM-01"]["fired_customers"]) == (
        len(tk),
        len({t["customer_id"] for t in tk.values() if t["customer_id"]}),
    )
    hits = _rows(
        url,
        "select rule_code, count(*) as n from lists_build.retention_candidates "
        "where run_date = %s group by 1",
        D1,
    )
    assert hits and all(ra[h["rule_code"]]["fired_rows"] == h["n"] for h in hits)
    # RL-03 was switched on above with its parameter; RL-04 still ships disabled without one
    assert ra["RL-03"]["runnable"] and ra["RL-03"]["blocked_reason"] is None and ra["RL-03"]["has_fired"]
    assert not ra["RL-04"]["runnable"] and ra["RL-04"]["fired_rows"] == 0
    assert ra["RL-04"]["blocked_reason"] == "disabled; missing parameter churn_band_medium_min"
    assert ra["CP-02"]["blocked_reason"] == "disabled" and not ra["CP-02"]["enabled"]
    # no DQ-06 gate failure in this warehouse: the emotion rules are not blocked
    assert ra["RL-14"]["runnable"] and ra["RL-14"]["blocked_reason"] is None


def test_churn_features_and_training_snapshots(built) -> None:
    """Every customer registered by D1 is scored; training cutoffs have a complete label window."""
    url, project = built
    # --- churn features: every customer registered by D1 is scored (lapsed c3, closed c6 included)
    cf = {
        r["customer_id"]: r for r in _rows(url, "select * from marts.churn_features where run_date = %s", D1)
    }
    assert set(cf) == {"c1", "c2", "c3", "c4", "c5", "c6", "c7"}
    assert cf["c2"]["orders_365d"] == 1 and cf["c2"]["revenue_365d"] == 5000  # o11 (D2) not visible
    assert cf["c5"]["complaints_lifetime"] == 4 and cf["c5"]["last_nps_score"] == 3
    assert cf["c7"]["crisis_affected"] == 1 and cf["c7"]["days_since_crisis_exposure"] == 3
    assert (cf["c4"]["logins_7d"], cf["c4"]["logins_30d"]) == (0, 1) and cf["c1"]["open_tickets"] == 1

    # --- training set: monthly cutoffs, label window complete before D1
    cutoffs = [
        r["as_of_date"].isoformat()
        for r in _rows(url, "select distinct as_of_date from marts.churn_training_set order by 1")
    ]
    assert max(cutoffs) <= "2026-08-28" and all(c < D1 for c in cutoffs)
    snap = _rows(
        url, "select * from marts.churn_training_set where customer_id = 'c5' and as_of_date = '2026-06-29'"
    )
    assert snap and snap[0]["complaints_lifetime"] == 2 and snap[0]["churned"] == 1


def test_lists_one_action_per_customer(built) -> None:
    """Retention (one action per customer, crisis mode) and compensation lists (ledger), no PII."""
    url, project = built
    # --- lists
    rl = {
        (r["customer_id"], r["rule_code"]): r for r in _rows(url, "select * from lists_build.retention_list")
    }
    # one action per customer: c4's RL-02 wake-up loses to RL-03; c5 / c7 are on the compensation list
    assert set(rl) == {("c3", "RL-01"), ("c4", "RL-03"), ("c1", "RL-03")}
    assert rl[("c1", "RL-03")]["priority_rank"] == 1
    assert rl[("c1", "RL-03")]["rule_codes"] == "RL-03|RL-09|RL-08"
    assert rl[("c1", "RL-03")]["channel"] == "phone" and rl[("c1", "RL-03")]["model_version"] == "3"
    assert rl[("c3", "RL-01")]["action_code"] == "CRISIS_COUPON"  # cr1 is active: crisis mode
    assert float(rl[("c1", "RL-03")]["expected_value_at_risk"]) == pytest.approx(130000 * 0.8)
    cl = {
        (r["customer_id"], r["rule_code"]): r
        for r in _rows(url, "select * from lists_build.compensation_list")
    }
    assert set(cl) == {("c5", "CP-01"), ("c7", "CP-03")}  # t2 already compensated, c1 earned no points
    assert cl[("c5", "CP-01")]["ticket_id"] == "t1" and float(cl[("c5", "CP-01")]["amount"]) == 20
    assert cl[("c7", "CP-03")]["points"] == 50 and cl[("c7", "CP-03")]["crisis_event_id"] == "cr1"
    for r in [*rl.values(), *cl.values()]:
        assert r["policy_version"] and not any(k in r for k in ("email", "phone", "email_hash", "text"))


def test_rerun_with_late_history_keeps_past_snapshots(built) -> None:
    """A rerun of D1 with late-arriving history: no duplicates, past training snapshots unchanged."""
    url, project = built
    # --- rerun of the same date with late-arriving history: no duplicates, past snapshots unchanged
    with warehouse.connect(url) as conn:
        late = {
            "orders": _table(
                "order_id customer_id order_ts status net_amount",
                (D1, "o12", "c4", "2026-09-15T10:00:00Z", "completed", 10),
                (D1, "o13", "c9", "2026-11-25T10:00:00Z", "completed", 10),  # c9's record comes in D2
            ),
            "customers": _table(
                "customer_id registered_at status",
                (D2, "c9", "2026-11-01T00:00:00Z", "active"),
            ),
            "tickets": _table(
                "ticket_id customer_id created_at ticket_type status",
                (D1, "t6", "c2", "2026-09-10T10:00:00Z", "complaint", "open"),
            ),
        }
        _insert(conn, late)
    before = _rows(url, "select * from marts.churn_training_set order by as_of_date, customer_id")
    _dbt(project, "build", *LATER_BUILD, run_date=D1)
    after = _rows(url, "select * from marts.churn_training_set order by as_of_date, customer_id")
    label_free = [{k: v for k, v in r.items() if k != "churned"} for r in after]
    assert label_free == [{k: v for k, v in r.items() if k != "churned"} for r in before]

    waiting = _rows(url, "select * from marts.late_arriving_customers where run_date = %s", D1)
    assert [(r["source_table"], r["customer_id"], r["rows_waiting"]) for r in waiting] == [
        ("orders", "c9", 1)
    ]


def test_next_run_date_keeps_one_row_per_key_and_date(built) -> None:
    """D2: incremental marts keep one row per key per run date; re-exports replace versions."""
    url, project = built
    # --- next run date: incremental marts keep one row per key per run_date
    _dbt(project, "build", *LATER_BUILD, run_date=D2)
    versions = _rows(url, "select ticket_status from staging.stg_crm__tickets where ticket_id = 't3'")
    assert sorted(r["ticket_status"] for r in versions) == ["open", "resolved"]
    t3 = _rows(
        url, "select ticket_status from intermediate.int_complaints__tickets_latest where ticket_id = 't3'"
    )
    assert t3 == [{"ticket_status": "resolved"}]  # the 11-27 re-export replaces the 11-25 version
    assert _rows(url, "select * from marts.late_arriving_customers where run_date = %s", D2) == []
    for mart, key in [
        ("customer_value", "customer_id"),
        ("customer_complaints", "customer_id"),
        ("fct_tickets", "ticket_id"),
        ("churn_features", "customer_id"),
    ]:
        dup = _rows(
            url, f"select run_date, {key}, count(*) from marts.{mart} group by 1, 2 having count(*) > 1"
        )
        assert dup == [], mart
        dates = [
            r["run_date"].isoformat()
            for r in _rows(url, f"select distinct run_date from marts.{mart} order by 1")
        ]
        assert dates == [D1, D2], mart
    t3_d2 = _rows(
        url, "select frt_minutes from marts.fct_tickets where run_date = %s and ticket_id = 't3'", D2
    )
    assert float(t3_d2[0]["frt_minutes"]) == 48 * 60
    assert _rows(url, "select count(*) as n from marts.customer_value where customer_id = 'c8'") == [{"n": 1}]
    assert {
        r["run_date"].isoformat() for r in _rows(url, "select run_date from lists_build.retention_list")
    } <= {D2}


def test_every_mart_and_list_column_is_documented(built) -> None:
    """Issue 3: the catalog of the built columns has a description for each."""
    url, project = built
    # --- issue 3: every column a mart or list produces is described (the catalog lists the built columns)
    _dbt(project, "docs", "generate", run_date=D2)
    target = Path(os.environ.get("DBT_TARGET_PATH", project / "target"))
    catalog = json.loads((target / "catalog.json").read_text())
    assert undocumented(json.loads((target / "manifest.json").read_text()), catalog) == []


def test_an_enabled_rule_with_an_unset_parameter_fails_loudly(built) -> None:
    """RL-03 enabled with churn_band_high_min unset fails the list build, naming both."""
    url, project = built
    seeds = project / "seeds" / "policy"
    # --- an enabled rule whose parameter is unset fails loudly
    _set_csv(seeds / "policy_parameters.csv", "key", "churn_band_high_min", value="")
    _dbt(project, "seed", "--select", "policy_parameters", run_date=D2)
    result = _dbt(project, "run", "--select", "retention_candidates", run_date=D2, expect_success=False)
    assert not result.success
    messages = " ".join(str(r.message) for r in result.result.results)
    assert "RL-03" in messages and "churn_band_high_min" in messages
