"""Retention and compensation lists end to end on a real PostgreSQL (issue 5).

A hand-made landing history (customers a1..a24 that each exercise one rule or guard, plus 2,000 synthetic
lapsed customers for the hold-out and capacity checks; tests/support/lists.py) is written into raw.*, with
churn scores and reason codes, and the list models are built with dbt for two consecutive run dates.
Day 1 is published with `publish()` in between, so day 2 sees it (ledger, cooldowns). The project is copied
so policy seeds can be set without touching the repository.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook
from support.lists import (
    AUTOMATED_CAPACITY,
    D1,
    D2,
    D3,
    N_SYNTH,
    _build,
    _configure,
    _load,
    _q,
)

from crm_scoring import dbt_invoke, settings, warehouse
from crm_scoring.lists.export import export_list
from crm_scoring.lists.publish import publish
from crm_scoring.lists.roles import READER_GROUP, grant_reader


@pytest.fixture(scope="module")
def built(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """Day 1 built and published, day 2 built (not published) with the notification mart and alerts."""
    mp = pytest.MonkeyPatch()
    name = warehouse.create_database(server_url, "crm_lists")
    url = warehouse.with_database(server_url, name)
    project = tmp_path_factory.mktemp("lists") / "dbt_project"
    shutil.copytree(
        settings.dbt_project_dir(), project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    _configure(project)
    _load(url)
    _build(url, project, D1, mp)

    def snapshot(table: str) -> list[dict]:  # every row, in a total order (a customer has several rules)
        return sorted(
            _q(url, f"select * from lists_build.{table}"), key=lambda r: [str(v) for v in r.values()]
        )

    day1 = {
        t: snapshot(t)
        for t in ("retention_list", "compensation_list", "retention_candidates", "compensation_candidates")
    }
    _build(url, project, D1, mp, upstream=False)  # a rerun of the same date changes nothing
    rerun = {t: snapshot(t) for t in day1}
    assert rerun == day1
    publish(D1, url)
    _build(url, project, D2, mp, extra=("compensation_notifications", "alerts"))
    yield url, project
    mp.undo()
    if not os.environ.get("CRM_KEEP_TEST_DB"):
        warehouse.drop_database(server_url, name)


def _compiled(url: str, run_date: date) -> dict[str, str]:
    """unique_id -> compiled SQL of every model and test, compiled against the warehouse at `url` (its
    database name, which relation names carry, replaced by a placeholder). --full-refresh: incremental
    models compile in their rebuild form; their forward form depends on dbt's own incremental state (the
    model's watermark in {{ this }}), not on what the sources hold."""
    dbt_invoke.invoke(["compile", "--full-refresh", "--quiet"], url, run_date)
    manifest = json.loads((Path(os.environ["DBT_TARGET_PATH"]) / "manifest.json").read_text())
    database = warehouse.parse_url(url).dbname
    return {
        uid: node["compiled_code"].replace(f'"{database}".', '"<database>".')
        for uid, node in manifest["nodes"].items()
        if node.get("compiled_code") is not None
    }


def test_compiled_sql_is_the_same_on_an_empty_and_a_built_warehouse(built, server_url: str) -> None:
    """Sources, not probes: no model decides its SQL by what the warehouse holds, so what CI compiles on
    an empty database is what production runs on a full one (every raw/ops/enrichment/scoring/lists table
    published and filled here)."""
    url, _ = built
    assert _q(url, "select count(*) as n from lists.retention_list")[0]["n"] > 0  # really built
    on_built = _compiled(url, D2)
    name = warehouse.create_database(server_url, "crm_lists_empty")
    try:
        on_empty = _compiled(warehouse.with_database(server_url, name), D2)
        with psycopg.connect(warehouse.with_database(server_url, name)) as conn:
            schemas = conn.execute(
                "select count(*) from pg_namespace where nspname in ('raw', 'lists', 'scoring')"
            ).fetchone()[0]
    finally:
        warehouse.drop_database(server_url, name)
    assert schemas == 0  # compiled on a truly empty warehouse (compile runs no hooks)
    assert len(on_built) > 100
    differing = sorted(uid for uid in on_built if on_empty.get(uid) != on_built[uid])
    assert not differing, f"compiled SQL depends on the warehouse ({len(differing)}): {differing[:10]}"
    assert on_empty.keys() == on_built.keys()


RULE_FAMILIES = [
    *(f"int_lists__retention_hits_{f}" for f in ("activity", "churn", "crisis", "emotion", "lifecycle")),
    *(f"int_lists__compensation_hits_{f}" for f in ("ticket", "crisis")),
]


def test_every_rule_family_has_passing_unit_tests(built) -> None:
    """Each rule family model carries dbt unit tests (fires, does not fire, edge; the YAML beside it);
    they run here against the built warehouse's column types, and in the nightly build before the model."""
    url, project = built
    manifest = json.loads((Path(os.environ["DBT_TARGET_PATH"]) / "manifest.json").read_text())
    tested = {n["model"] for n in manifest.get("unit_tests", {}).values()}
    assert set(RULE_FAMILIES) <= tested, f"rule families without unit tests: {set(RULE_FAMILIES) - tested}"
    dbt_invoke.invoke(
        ["build", "--select", *RULE_FAMILIES, "--resource-type", "unit_test", "--quiet"], url, D1
    )


def _retention(url: str, day: date) -> dict[str, dict]:
    return {
        r["customer_id"]: r
        for r in _q(url, "select * from lists_build.retention_list where run_date = %s", day)
    }


def _candidates(url: str, day: date) -> dict[tuple[str, str], dict]:
    return {
        (r["customer_id"], r["rule_code"]): r
        for r in _q(url, "select * from lists_build.retention_candidates where run_date = %s", day)
    }


@pytest.fixture(scope="module")
def day1_retention(built) -> tuple[list[dict], dict[str, dict], dict[tuple[str, str], dict]]:
    """Day 1's published retention list (rows, rows by customer) and its candidates by (customer, rule):
    read once, shared by the rule and governance tests below (each checks one behaviour)."""
    url, _ = built
    rl = _q(url, "select * from lists.retention_list where run_date = %s", D1)
    return rl, {r["customer_id"]: r for r in rl}, _candidates(url, D1)


def test_one_retention_action_per_customer_per_day(day1_retention) -> None:
    rl, by, _ = day1_retention
    assert len(by) == len(rl), "one action per customer per day"


def test_rl03_high_band_top_tier_wins_by_priority_and_losers_are_recorded(day1_retention) -> None:
    """RL-03 high band x T1 wins over RL-08 / RL-09 (priority); the losers stay among the candidates."""
    _, by, cand = day1_retention
    assert (
        by["a1"]["rule_code"] == "RL-03" and by["a1"]["channel"] == "phone" and by["a1"]["team"] == "vip_desk"
    )
    assert by["a1"]["rule_codes"] == "RL-03|RL-09|RL-08|RL-12"
    assert cand[("a1", "RL-09")]["decision"] == "lost" and cand[("a1", "RL-08")]["decision"] == "lost"


def test_rows_carry_reasons_in_words_value_basis_and_value_at_risk(day1_retention) -> None:
    """CH-06: the reasons in words (scoring.churn_reasons.reason_text); CV-06: the value basis of the row."""
    rl, by, _ = day1_retention
    assert by["a1"]["reason_codes"] == "days_inactive|complaints_90d|logins_30d"
    assert by["a1"]["reasons"] == "reason days_inactive; reason complaints_90d; reason logins_30d"
    assert by["a1"]["value_basis"] == "revenue_365d"  # < 2 years of history: no CLV estimate (CV-06)
    assert {r["value_basis"] for r in rl} <= {"clv", "revenue_365d"}
    assert by["a1"]["churn_band"] == "high" and by["a1"]["tone"] == "empathetic"  # crisis affected
    assert float(by["a1"]["expected_value_at_risk"]) == pytest.approx(150000 * 0.9)


def test_rl01_in_crisis_mode_gives_the_crisis_coupon(day1_retention) -> None:
    """RL-01 in crisis mode: the crisis coupon, by e-mail under marketing consent; RL-17 lost to it."""
    _, by, cand = day1_retention
    assert (by["a2"]["rule_code"], by["a2"]["action_code"]) == ("RL-01", "CRISIS_COUPON")
    assert cand[("a2", "RL-17")]["decision"] == "lost"
    assert by["a2"]["channel"] == "email" and by["a2"]["consent_purpose"] == "marketing"


def test_rl02_wake_up_uses_the_first_consented_channel(day1_retention) -> None:
    """The wake_up segment's channel order is app_push, sms, email: a3 consented to sms, not app_push."""
    _, by, _ = day1_retention
    assert by["a3"]["rule_code"] == "RL-02" and by["a3"]["channel"] == "sms"


def test_governance_suppresses_without_consent_do_not_contact_and_over_the_frequency_cap(
    day1_retention,
) -> None:
    _, by, cand = day1_retention
    assert "a4" not in by and {cand[("a4", r)]["suppression_reason"] for r in ("RL-02", "RL-04")} == {
        "no_consented_channel"
    }
    assert "a5" not in by and cand[("a5", "RL-01")]["suppression_reason"] == "do_not_contact"
    assert "a8" not in by and cand[("a8", "RL-01")]["suppression_reason"] == "frequency_cap_7d"


def test_crisis_sensitive_rule_and_dedup_against_the_compensation_list(day1_retention) -> None:
    """RL-07 for a crisis-sensitive customer in crisis mode; one on the compensation list is suppressed."""
    _, by, cand = day1_retention
    assert by["a7"]["rule_code"] == "RL-07"
    assert "a6" not in by and cand[("a6", "RL-07")]["suppression_reason"] == "on_compensation_list"


def test_onboarding_touch_loses_to_the_wake_up(day1_retention) -> None:
    """Onboarding touch 2 (tenure 7 d) loses to the wake-up (priority); silent since registering: app_push."""
    _, by, cand = day1_retention
    assert by["a9"]["rule_code"] == "RL-02" and by["a9"]["channel"] == "app_push"
    assert (cand[("a9", "RL-16")]["trigger_detail"], cand[("a9", "RL-16")]["decision"]) == (
        "onboarding_2",
        "lost",
    )


def test_rl14_emotion_action_with_an_empathetic_tone(day1_retention) -> None:
    _, by, _ = day1_retention
    assert (by["a10"]["rule_code"], by["a10"]["action_code"]) == ("RL-14", "EMOTION_HUMAN_CONTACT")
    assert by["a10"]["tone"] == "empathetic"


def test_post_crisis_revisit_sample_beats_trust_repair(day1_retention) -> None:
    _, by, cand = day1_retention
    assert by["a12"]["rule_code"] == "RL-10" and cand[("a12", "RL-12")]["decision"] == "lost"


def test_one_day_short_of_the_lapse_threshold_lists_nothing(day1_retention) -> None:
    _, by, _ = day1_retention
    assert "a19" not in by  # 89 days inactive on day 1


def test_lineage_on_every_retention_row(day1_retention) -> None:
    rl, _, _ = day1_retention
    for r in rl:
        assert r["run_date"] == D1 and r["rule_code"] and r["policy_version"]
        assert r["model_version"] == "7" and r["mlflow_run_id"] == "run-7"
        assert r["consent_status_ts"] is not None


def test_holdout_share_stability_and_capacity(built) -> None:
    url, project = built
    synth = _q(
        url,
        "select holdout_flag, contact_status, team from lists.retention_list"
        " where run_date = %s and customer_id like 'h%%'",
        D1,
    )
    assert len(synth) == N_SYNTH
    share = sum(r["holdout_flag"] for r in synth) / N_SYNTH
    assert 0.07 <= share <= 0.13
    # hold-outs never count against capacity; treated rows beyond the automated team's capacity are reported
    treated = [r for r in synth if not r["holdout_flag"]]
    ready_automated = _q(
        url,
        "select count(*) as n from lists.retention_list where run_date = %s and team = 'automated'"
        " and contact_status = 'ready'",
        D1,
    )[0]["n"]
    assert ready_automated == AUTOMATED_CAPACITY
    assert sum(r["contact_status"] == "over_capacity" for r in treated) > 0
    assert all(r["contact_status"] == "holdout" for r in synth if r["holdout_flag"])


def _render_macro(file: str, call: str) -> str:
    """A dbt macro without dbt context, rendered with plain Jinja (the SQL dbt compiles from it)."""
    import jinja2

    source = (settings.dbt_project_dir() / "macros" / file).read_text()
    return jinja2.Environment().from_string(source + "{{ " + call + " }}").render().strip()


def _draw_mismatches(url: str, table: str, day: date, salt: str) -> int:
    """Rows of `table` on `day` whose holdout_flag differs from the CH-08 draw recomputed with `salt`
    (by the project's own uniform_draw macro, rendered here: the draw is written once)."""
    draw = _render_macro("uniform_draw.sql", "uniform_draw(['customer_id', 'rule_code', '%s'])")
    return _q(
        url,
        f"select count(*) as n from {table} where run_date = %s and holdout_flag <> ({draw} < holdout_share)",
        day,
        salt,
    )[0]["n"]


def test_holdout_is_stable_across_days_and_redrawn_by_salt(built) -> None:
    url, _ = built
    # the draw is a pure function of (customer, rule, salt): recompute it in SQL and compare. The seed already
    # held the 2026.2 salt (effective from D2) when D1 was built and rebuilt: D1 keeps the salt in force then.
    assert _draw_mismatches(url, "lists.retention_list", D1, "2026.1") == 0
    assert _draw_mismatches(url, "lists.retention_list", D1, "2026.2") > 0  # the salt matters
    # from D2 on the new policy version's salt re-draws the groups (~2,000 RL-17 rows on D2)
    d2 = _q(url, "select count(*) as n, min(policy_version) as v from lists_build.retention_list")[0]
    assert d2["n"] > 1000 and d2["v"] == "2026.2"
    assert _draw_mismatches(url, "lists_build.retention_list", D2, "2026.2") == 0
    assert _draw_mismatches(url, "lists_build.retention_list", D2, "2026.1") > 0


def test_rl15_tone_style_and_expertise(built) -> None:
    url, _ = built
    by = {r["customer_id"]: r for r in _q(url, "select * from lists.retention_list where run_date = %s", D1)}
    cols = ("tone", "style", "expertise", "wording_level", "script_hint")
    # angry (CV-12 dominant emotion) -> empathetic + sensitive; hint ' Expert ' -> professional wording
    assert tuple(by["a10"][c] for c in cols) == (
        "empathetic", "sensitive", "expert", "professional",
        "EMOTION_HUMAN_CONTACT.empathetic.sensitive.professional",
    )  # fmt: skip
    # no emotion, no survey: neutral tone, the default style; novice -> simplified guidance
    assert tuple(by["a20"][c] for c in cols) == (
        "neutral", "rational", "novice", "simplified", "LIFECYCLE_TOUCH.neutral.rational.simplified",
    )  # fmt: skip
    # no emotion but a low CSAT: the satisfaction level decides the style
    assert (by["a12"]["tone"], by["a12"]["style"]) == ("empathetic", "sensitive")
    # hint absent or unrecognised: the row says 'unknown' and gets the standard wording
    for c in ("a3", "a21", "a2"):
        assert (by[c]["expertise"], by[c]["wording_level"]) == ("unknown", "standard"), c
    hints = {
        r["customer_id"]: r["expertise_hint"]
        for r in _q(url, "select customer_id, expertise_hint from staging.stg_crm__customers"
                    " where customer_id in ('a2', 'a3', 'a10', 'a20', 'a21')")
    }  # fmt: skip
    assert hints == {"a2": None, "a3": None, "a10": "expert", "a20": "novice", "a21": "guru"}


def test_rl16_holiday_greetings(built) -> None:
    url, _ = built
    by = {r["customer_id"]: r for r in _q(url, "select * from lists.retention_list where run_date = %s", D1)}
    cand1, cand2 = _candidates(url, D1), _candidates(url, D2)
    # a movable holiday (exact date) and a fixed MM-DD holiday greeted one day early, each in its country
    assert (by["a20"]["rule_code"], by["a20"]["trigger_detail"]) == ("RL-16", "holiday_us_thanksgiving")
    assert by["a20"]["channel"] == "email" and by["a20"]["consent_purpose"] == "marketing"
    assert (by["a21"]["rule_code"], by["a21"]["trigger_detail"]) == ("RL-16", "holiday_de_test_day")
    # wrong country: nothing; no marketing consent: suppressed; lapsed: no greeting (win-back instead)
    assert "a22" not in by and not any(c == "a22" for c, _ in cand1)
    assert "a23" not in by and cand1[("a23", "RL-16")]["suppression_reason"] == "no_consented_channel"
    assert ("a24", "RL-16") not in cand1 and by["a24"]["rule_code"] == "RL-01"
    # not a holiday the next day
    assert not any(c in ("a20", "a21") and r == "RL-16" for c, r in cand2)


def test_day2_crisis_off_cooldown_and_ledger(built) -> None:
    url, _ = built
    by = _retention(url, D2)
    cand = _candidates(url, D2)
    # crisis mode over: crisis-only rules off, RL-11 health check on, RL-01 back to the normal offer
    assert not any(r["rule_code"] in ("RL-07", "RL-08", "RL-09") for r in by.values())
    assert by["a7"]["rule_code"] == "RL-11"
    assert (by["a19"]["rule_code"], by["a19"]["action_code"]) == ("RL-01", "WINBACK_OFFER")
    # rule cooldown: everybody RL-01 listed on day 1 (treated or hold-out) is not listed again by it
    assert cand[("a2", "RL-01")]["suppression_reason"] == "rule_cooldown"
    assert not any(c.startswith("h") and r["rule_code"] == "RL-01" for c, r in by.items())
    # ledger: a6's complaint was published on day 1, so it is not listed again on day 2
    comp2 = _q(url, "select * from lists_build.compensation_candidates where run_date = %s", D2)
    t63 = [r for r in comp2 if r["ledger_key"] == "ticket:t63:1"]
    assert [r["decision"] for r in t63] == ["already_compensated"]
    listed2 = _q(url, "select ledger_key from lists_build.compensation_list where run_date = %s", D2)
    day1 = _q(url, "select ledger_key from lists.compensation_list where run_date = %s", D1)
    assert not {r["ledger_key"] for r in listed2} & {r["ledger_key"] for r in day1}


def test_compensation_rules(built) -> None:
    url, _ = built
    cl = {
        (r["customer_id"], r["rule_code"]): r
        for r in _q(url, "select * from lists.compensation_list where run_date = %s", D1)
    }
    cand = {
        r["customer_id"]: r
        for r in _q(url, "select * from lists_build.compensation_candidates where run_date = %s", D1)
    }
    assert float(cl[("a6", "CP-01")]["amount"]) == 20 and cl[("a6", "CP-01")]["script_template"]
    assert cand["a15"]["decision"] == "already_compensated"  # the CRM compensated t15
    assert cl[("a16", "CP-02")]["round_no"] == 2 and float(cl[("a16", "CP-02")]["amount"]) == 30
    assert cl[("a17", "CP-03")]["points"] == 40  # (2 - 1) x 40 points earned in the outage
    assert float(cl[("a13", "CP-04")]["amount"]) == 600  # 3 x impact 200
    assert float(cl[("a14", "CP-06")]["amount"]) == 110  # refund 100 + voucher 10
    assert cl[("a11", "CP-09")]["points"] == 50
    t1 = cl[("a18", "CP-01")]
    assert t1["red_flag"] and t1["red_flag_due_at"] is not None and float(t1["amount"]) == 100
    assert t1["status"] == "needs_approval" and t1["requires_approval"]  # 100 earlier + 100 > cap 150
    assert ("a1", "CP-03") not in cl  # affected, but no points earned in the window
    # CH-06: the trigger in words; no churn reason for a18, so its reasons are the trigger
    assert t1["trigger_text"] == "complaint t18 resolved on 2026-11-26" == t1["reasons"]
    assert (
        cl[("a13", "CP-04")]["trigger_text"]
        == "affected by crisis cr2 at severe public-opinion level since 2026-11-25"
    )
    for r in cl.values():
        assert r["content"] and r["usage_conditions_code"] and r["trigger_date"]
        assert r["trigger_text"] and r["reasons"] and r["value_basis"] in ("clv", "revenue_365d")
        assert r["due_by"] == r["expected_arrival_date"] and (r["due_by"] - r["trigger_date"]).days == 3
        assert r["policy_version"] and r["ledger_key"]


def test_outcomes_mart_compares_with_holdout(built) -> None:
    url, _ = built
    rows = _q(url, "select * from marts.list_outcomes where run_date = %s and rule_code = 'RL-01'", D2)
    assert len(rows) == 1
    r = rows[0]
    assert r["list_date"] == D1 and not r["is_mature"]
    assert r["n_holdout"] > 100 and r["n_treated"] > 900
    assert (
        r["uplift_ci_low"] is not None
        and r["uplift_ci_low"] <= r["reactivation_uplift"] <= r["uplift_ci_high"]
    )


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_export_excludes_holdouts(built, tmp_path: Path, fmt: str) -> None:
    url, _ = built
    counts = _q(
        url,
        "select count(*) as n, count(*) filter (where not holdout_flag) as contactable,"
        " (select count(*) from information_schema.columns where table_schema = 'lists'"
        "  and table_name = 'retention_list') as ncols"
        " from lists.retention_list where run_date = %s",
        D1,
    )[0]
    out = tmp_path / f"retention.{fmt}"
    result = export_list(D1, "retention", fmt, out, url=url)
    assert result.rows == counts["contactable"] and len(result.columns) == counts["ncols"]
    if fmt == "csv":
        with out.open() as fh:
            lines = list(csv.DictReader(fh))
        assert len(lines) == counts["contactable"] and all(r["holdout_flag"] == "false" for r in lines)
    elif fmt == "parquet":
        assert pq.read_table(out).num_rows == counts["contactable"]
    else:
        ws = load_workbook(out, read_only=True).active
        assert sum(1 for _ in ws.iter_rows()) == counts["contactable"] + 1
    full = export_list(D1, "retention", fmt, tmp_path / f"all.{fmt}", include_holdout=True, url=url)
    assert full.rows == counts["n"]
    comp = export_list(D1, "compensation", fmt, tmp_path / f"comp.{fmt}", url=url)
    assert (
        comp.rows
        == _q(url, "select count(*) as n from lists.compensation_list where run_date = %s", D1)[0]["n"]
    )


def test_reader_role_reads_lists_only(built, server_url: str) -> None:
    url, _ = built
    name = f"reader_{uuid.uuid4().hex[:8]}"
    password = grant_reader(url, name)
    parts = warehouse.parse_url(url)
    dsn = psycopg.conninfo.make_conninfo(url, user=name, password=password)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            n = conn.execute("select count(*) from lists.retention_list").fetchone()[0]
            assert n > 0
            conn.execute("select count(*) from lists.retention_list_latest")
            for table in (
                "raw.customers",
                "staging.stg_crm__customers",
                "marts.customer_value",
                "scoring.churn_scores",
                "policy.policy_parameters",
                "lists_build.retention_list",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(f"select 1 from {table} limit 1")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("delete from lists.retention_list")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("create table lists.x (a int)")
        assert parts.dbname
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'drop owned by "{name}"')
            conn.execute(f'drop role "{name}"')
    assert READER_GROUP == "crm_list_reader"


def test_great_expectations_pass_on_built_lists(built, tmp_path: Path) -> None:
    from crm_scoring.quality import validate_lists

    url, _ = built
    report = validate_lists(url, D2, tmp_path)
    assert report.success, [o for o in report.outcomes if not o.success]


def test_compensation_notifications_and_dq11_alert(built) -> None:
    url, _ = built
    sql = "select * from marts.compensation_notifications where run_date = %s"
    day2 = {r["customer_id"]: r for r in _q(url, sql, D2)}
    published = _q(url, "select count(*) as n from lists.compensation_list where run_date = %s", D1)[0]["n"]
    assert len(day2) == published > 5 and {r["list_run_date"] for r in day2.values()} == {D1}
    a6 = day2["a6"]  # notified on day 2, 32 h after the start of the list date
    assert (a6["status"], a6["notified_channel"], float(a6["hours_to_notify"])) == ("notified", "sms", 32.0)
    # a notice sent before the list date does not count; due dates not passed yet: pending
    assert day2["a16"]["status"] == "pending" and day2["a16"]["notified_at"] is None
    assert day2["a13"]["status"] == "pending" and day2["a13"]["due_by"] == D3
    # due_by (trigger + 3 days) passed before day 2: overdue
    assert (day2["a17"]["status"], day2["a17"]["days_overdue"]) == ("overdue", 1)
    assert (day2["a14"]["status"], day2["a14"]["days_overdue"]) == ("overdue", 23)
    alerts = {
        r["scope"]: r
        for r in _q(url, "select * from marts.alerts where run_date = %s and alert_code = 'DQ-11'", D2)
    }
    assert set(alerts) == {"compensation:a14:crisis:cr3:1", "compensation:a17:crisis_points:cr1:1"}
    assert alerts["compensation:a14:crisis:cr3:1"]["metric_value"] == 23
    assert alerts["compensation:a17:crisis_points:cr1:1"]["level"] == "yellow"
    # day 3: list date + compensation_notice_max_days (1) has passed, before a13's due_by (day 3) does
    dbt_invoke.invoke(
        ["run", "--select", "stg_crm__contacts", "compensation_notifications", "--quiet"], url, D3
    )
    day3 = {r["customer_id"]: r for r in _q(url, sql, D3)}
    assert (day3["a13"]["status"], day3["a13"]["notice_due_date"]) == ("overdue", D2)
    assert day3["a16"]["status"] == "overdue" and day3["a6"]["status"] == "notified"


def test_dq11_compensation_cap_check_fails_over_the_cap(built) -> None:
    url, _ = built
    rows = _q(
        url, "select customer_id, amount, amount_cap from lists.compensation_list where run_date = %s", D1
    )
    caps = {r["customer_id"]: r["amount_cap"] for r in rows}
    assert caps["a6"] == 20 and caps["a13"] is None  # CMP_T2 capped at its amount (allowed); SEVERE_3X no cap
    # a row over its package cap fails the DQ-11 test on the list (at the cap it passed the fixture's builds)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into lists_build.compensation_list select * from lists.compensation_list"
            " where run_date = %s and customer_id = 'a6'",
            (D1,),
        )
        conn.execute("update lists_build.compensation_list set amount = 21 where run_date = %s", (D1,))
    try:
        with pytest.raises(dbt_invoke.DbtError):
            dbt_invoke.invoke(
                ["test", "--select", "compensation_list,test_name:crm_expression_is_true", "--quiet"], url, D2
            )
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("delete from lists_build.compensation_list where run_date = %s", (D1,))


def test_churn_bands_on_every_scored_customer(built) -> None:
    """CH-05: marts.churn_bands bands every scored customer from the policy thresholds (0.7 / 0.4 here)."""
    url, _ = built
    bands = {r["customer_id"]: r for r in _q(url, "select * from marts.churn_bands where run_date = %s", D1)}
    scored = _q(url, "select count(*) as n from scoring.churn_scores where run_date = %s", D1)[0]["n"]
    assert len(bands) == scored and all(b["churn_band"] for b in bands.values())
    assert [bands[c]["churn_band"] for c in ("a1", "a4", "a3")] == ["high", "medium", "low"]
    assert bands["a1"]["band_threshold"] == 0.7 and bands["a3"]["band_threshold"] is None
    assert {b["policy_profile"] for b in bands.values()} == {"starter"}


def test_policy_status_lists_starter_defaults_and_rules_off(built) -> None:
    """`crm policy status` reads what the D2 build recorded (starter profile)."""
    from crm_scoring.policy.status import load_status, render

    url, _ = built
    status = load_status(D2, url)
    assert status.policy_profile == "starter" and status.run_date == D2
    starter = {p["key"]: p for p in status.starter_params}
    assert starter["churn_band_high_min"]["rules"] == ["RL-03"]
    assert "CP-01" in starter["compensation_due_days"]["rules"]
    assert starter["clv_horizon_months"]["rules"] == []  # CV-06: cited by a mart, no rule switch
    off = {r["rule_code"]: r["off_reason"] for r in status.rules_off}
    assert off["RL-13"] == "disabled" and off["RL-18"] == "disabled"
    assert "RL-01" not in off  # it fired
    assert set(off.values()) <= {"disabled", "unset", "gate", "no data"}
    text = render(status)
    assert "profile starter" in text and "churn_band_high_min" in text and "RL-13" in text


def test_strict_profile_keeps_starter_rules_off(built, monkeypatch: pytest.MonkeyPatch) -> None:
    """The strict profile: every starter default counts as unset, so the rules needing one stay off exactly as
    before the defaults existed. RUNS LAST: it rebuilds the D1 list models (lists_build) under strict."""
    from crm_scoring.policy.status import load_status

    url, project = built
    monkeypatch.setattr(settings, "dbt_project_dir", lambda: project)
    monkeypatch.setenv("CRM_POLICY_PROFILE", "strict")
    # views bake the profile in when built: the readiness view (built with the marts) is rebuilt too
    select = ["--select", "int_policy__rule_readiness", "tag:lists", "tag:reporting"]
    select += ["--exclude-resource-type", "unit_test"]
    dbt_invoke.invoke(["build", *select, "--quiet"], url, D1)
    ready = {r["rule_code"]: r for r in _q(url, "select * from intermediate.int_policy__rule_readiness")}
    assert ready["RL-03"]["missing_params"] == "churn_band_high_min"
    for code in ("RL-03", "RL-04", "RL-10", "RL-12", "CM-08", *(f"CP-0{i}" for i in range(1, 10))):
        assert not ready[code]["is_enabled"] and ready[code]["missing_params"], code
    assert ready["RL-01"]["is_runnable"] and ready["RL-01"]["policy_profile"] == "strict"
    activity = {
        r["rule_code"]: r for r in _q(url, "select * from marts.rule_activity where run_date = %s", D1)
    }
    assert activity["RL-03"]["blocked_reason"] == "disabled; missing parameter churn_band_high_min"
    assert activity["CP-03"]["blocked_reason"] == "disabled; missing parameter compensation_due_days"
    assert activity["DQ-11"]["blocked_reason"].startswith("no notice deadline")
    assert activity["RL-01"]["has_fired"] and activity["RL-03"]["off_reason"] == "disabled"
    # nothing decided on a starter default: no compensation, no band, no RL-03 / RL-04, no cap
    assert (
        _q(url, "select count(*) as n from lists_build.compensation_candidates where run_date = %s", D1)[0][
            "n"
        ]
        == 0
    )
    assert _q(url, "select count(*) as n from lists_build.compensation_list")[0]["n"] == 0
    banded = "select count(*) as n from marts.churn_bands where run_date = %s and churn_band is not null"
    assert _q(url, banded, D1)[0]["n"] == 0
    cand = _candidates(url, D1)
    assert not any(rule in ("RL-03", "RL-04", "RL-10", "RL-12") for _, rule in cand)
    assert not any(r["suppression_reason"] == "frequency_cap_7d" for r in cand.values())
    assert {
        r["contact_status"] for r in _q(url, "select contact_status from lists_build.retention_list")
    } <= {
        "ready",
        "holdout",
    }  # no capacity_per_day: every capacity is a starter default
    params = _q(url, "select * from marts.policy_parameter_status where run_date = %s and is_starter", D1)
    assert params and all(p["value_used"] is None for p in params)
    assert load_status(D1, url).policy_profile == "strict"
