"""RP-11 campaign analytics on PostgreSQL and dbt: monthly rates, A/B results, send times, the report panel.

A small contacts history (one A/B send-time campaign, one campaign without arms, a phone campaign) goes
into the raw layer of a throw-away database; `dbt build` runs the campaign marts and their parents in a
copy of the project. The A/B figures are checked against an independent computation in Python
(statistics.NormalDist, Newcombe's interval written out), the empty case (no ab_variant yet) builds an
empty mart, a rerun is idempotent, the strict policy profile gives rates without verdicts, and the
morning report shows the campaign panels in Chromium. The CASE-heavy SQL has dbt unit tests of its own
(models/intermediate/campaigns, models/marts/campaigns), run here with the build.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from statistics import NormalDist

import psycopg
import pytest
from support.dbt_project import _dbt, _load_raw, _rows, _table, module_warehouse

from crm_scoring import contract
from crm_scoring.ingest.schema import ensure_schema
from crm_scoring.report import render_report

D0 = "2026-11-20"  # before the A/B campaign was exported
D1 = "2026-11-26"
D2 = "2026-11-27"  # the strict-profile build
SELECT = [
    "--select",
    "+campaign_ab_results",
    "+campaign_rates_monthly",
    "+campaign_send_times",
    "--indirect-selection",
    "cautious",
    "--exclude",
    "test_type:unit,path:models/intermediate/value",
]
CONTACT_COLS = "contact_id customer_id contact_ts channel purpose campaign_id ab_variant outcome"


def _contacts() -> list[tuple]:
    """CMP-AB (exported D1): arm A at 08:xx UTC, 60 contacts with an outcome, 6 accepted, 2 without an
    outcome; arm B at 09:xx UTC, 60 with an outcome, 18 accepted. CMP-OLD (exported D0): e-mail in
    October without arms, and a phone campaign with no_answer outcomes."""
    rows: list[tuple] = []
    for arm, hour, n, accepted, unknown in (("A", 8, 60, 6, 2), ("B", 9, 60, 18, 0)):
        for i in range(n + unknown):
            outcome = None if i >= n else "accepted" if i < accepted else "opened" if i < 30 else "delivered"
            ts = f"2026-11-05T{hour:02d}:{i % 60:02d}:00Z"
            rows.append((D1, f"ab-{arm}-{i}", f"c{i % 7}", ts, "email", "marketing", "CMP-AB", arm, outcome))
    for i in range(10):
        outcome = ("delivered", "opened", "responded", "accepted", "no_answer")[i % 5]
        rows.append(
            (
                D0,
                f"old-{i}",
                f"c{i % 7}",
                "2026-10-05T10:00:00Z",
                "email",
                "marketing",
                "CMP-OLD",
                "",
                outcome,
            )
        )
    for i in range(4):
        outcome = "no_answer" if i < 3 else "declined"
        ts = f"2026-11-06T{9 + i}:00:00Z"
        rows.append((D0, f"ph-{i}", f"c{i}", ts, "phone", "winback", "CMP-PH", None, outcome))
    return rows


FIXTURE = {
    "customers": _table(
        "customer_id registered_at status timezone",
        *[(D0, f"c{i}", "2024-01-01T00:00:00Z", "active", None) for i in range(7)],
    ),
    "orders": [],
    "contacts": _table(CONTACT_COLS, *_contacts()),
}


def _newcombe(x1: int, n1: int, x2: int, n2: int, alpha: float) -> tuple[float, float, float]:
    """Difference of proportions, two-proportion z-test p-value and Newcombe's hybrid score interval."""
    z = NormalDist().inv_cdf(1 - alpha / 2)

    def wilson(x: int, n: int) -> tuple[float, float]:
        p = x / n
        centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)

    p1, p2 = x1 / n1, x2 / n2
    (l1, u1), (l2, u2) = wilson(x1, n1), wilson(x2, n2)
    d = p1 - p2
    pooled = (x1 + x2) / (n1 + n2)
    zstat = d / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    p_value = 2 * (1 - NormalDist().cdf(abs(zstat)))
    return p_value, d - math.hypot(p1 - l1, u2 - p2), d + math.hypot(u1 - p1, p2 - l2)


@pytest.fixture(scope="module")
def campaigns_db(
    server_url: str, tmp_path_factory: pytest.TempPathFactory, pristine_project: Path
) -> Iterator[tuple[str, Path]]:
    """One database for the module (the session's unedited project copy), built for D0 then D1 (starter
    profile): the dbt builds are the slow part, so the tests below read the same marts."""
    with module_warehouse(server_url, tmp_path_factory, "crm_camp", pristine_project) as (url, project):
        _load_raw(url, FIXTURE)
        # before the A/B campaign is exported: rates exist, the A/B mart is empty (no error)
        _dbt(project, "build", *SELECT, run_date=D0, profile="starter")
        _dbt(project, "build", *SELECT, run_date=D1, profile="starter")
        yield url, project


def _ab(url: str, run_date: str) -> dict[str, dict]:
    sql = "select * from marts.campaign_ab_results where run_date = %s order by ab_variant"
    return {r["ab_variant"]: r for r in _rows(url, sql, run_date)}


def test_campaign_marts_rates_ab_results_and_send_times(campaigns_db: tuple[str, Path]) -> None:
    url, project = campaigns_db
    assert _ab(url, D0) == {}, "no contact carried an ab_variant by D0: an empty mart, not an error"

    rates = {
        (str(r["contact_month"]), r["contact_channel"]): r
        for r in _rows(url, "select * from marts.campaign_rates_monthly where run_date = %s", D1)
    }
    oct_mail = rates[("2026-10-01", "email")]
    # 10 contacts: 2 delivered / opened / responded / accepted / no_answer each
    assert (oct_mail["with_outcome"], oct_mail["delivered"], oct_mail["opened"]) == (10, 8, 6)
    assert (oct_mail["responded"], oct_mail["converted"]) == (4, 2)
    assert oct_mail["delivery_rate"] == pytest.approx(0.8)
    assert oct_mail["conversion_rate"] == pytest.approx(0.25)
    nov_mail = rates[("2026-11-01", "email")]
    assert (nov_mail["contacts"], nov_mail["with_outcome"], nov_mail["converted"]) == (122, 120, 24)
    phone = rates[("2026-11-01", "phone")]
    # declined: reached and answered, not a response; no_answer: not delivered
    assert (phone["delivered"], phone["opened"], phone["responded"]) == (1, 1, 0)

    ab = _ab(url, D1)
    assert set(ab) == {"A", "B"}, "CMP-OLD and CMP-PH carry no arms"
    a, b = ab["A"], ab["B"]
    assert a["is_control"] and not b["is_control"] and b["control_variant"] == "A"  # no arm named 'control'
    assert (a["contacts"], a["with_outcome"], a["conversions"]) == (62, 60, 6)
    assert b["conversion_difference"] == pytest.approx(18 / 60 - 6 / 60)
    p_value, low, high = _newcombe(18, 60, 6, 60, 0.05)
    assert b["p_value"] == pytest.approx(p_value, abs=1e-6)
    # the SQL's critical z is a rational approximation (|error| < 5e-4): the bounds agree to 1e-4
    assert (b["difference_ci_low"], b["difference_ci_high"]) == (
        pytest.approx(low, abs=1e-4),
        pytest.approx(high, abs=1e-4),
    )
    assert b["significant"] is True and a["significant"] is None and b["alpha"] == pytest.approx(0.05)

    send = _rows(
        url,
        "select campaign_id, ab_variant, send_hour, with_outcome, converted from marts.campaign_send_times"
        " where run_date = %s order by 1, 2, 3",
        D1,
    )
    ab_hours = [
        (r["ab_variant"], r["send_hour"], r["with_outcome"], r["converted"])
        for r in send
        if r["campaign_id"] == "CMP-AB"
    ]
    assert ab_hours == [("A", 8, 60, 6), ("B", 9, 60, 18)]
    assert {r["campaign_id"] for r in send} == {"CMP-AB", "CMP-PH"}, "CMP-OLD went out in one hour only"

    # idempotent: a rerun of the same date gives the same rows
    _dbt(project, "build", *SELECT, run_date=D1, profile="starter")
    assert _ab(url, D1) == ab


def test_strict_profile_gives_rates_without_verdicts(campaigns_db: tuple[str, Path]) -> None:
    """The A/B parameters are starter defaults: under the strict profile they are unset, so the arms keep
    their rates and differences but get no interval, p-value or verdict (built for another run date, so
    the starter rows of D1 stay as the other tests read them)."""
    url, project = campaigns_db
    _dbt(
        project,
        "build",
        "--select",
        "int_campaign__contacts",
        "campaign_ab_results",
        run_date=D2,
        profile="strict",
    )
    b = _ab(url, D2)["B"]
    assert b["conversion_difference"] == pytest.approx(0.2)
    assert (b["p_value"], b["significant"], b["difference_ci_low"], b["alpha"]) == (None, None, None, None)


def test_campaign_panels_in_the_morning_report(
    campaigns_db: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = campaigns_db
    monkeypatch.setenv("CRM_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("CRM_REPORTS_DIR", raising=False)
    path = render_report(date.fromisoformat(D1), url, store_in_warehouse=False).path
    html = path.read_text(encoding="utf-8")
    panel = html[html.index('id="campaigns"') : html.index('id="model"')]
    assert "Campaign rates per month (RP-11): e-mail, last 12 months" in panel
    assert (
        "<b>1</b><span>significant</span>" in panel and "<b>0.05</b><span>expected by chance alone" in panel
    )
    assert re.search(r"<td>CMP-AB</td><td>B</td><td>A</td><td class=\"n\">60</td>", panel), panel
    assert "Send times (RP-11)" in panel and "Not measured" not in panel
    assert panel.count('src="data:image/png;base64,') == 3
    from support.report import assert_renders_in_chromium  # the browser check of every report test

    assert_renders_in_chromium(path, "report-campaigns", min_images=3)


def test_an_older_raw_contacts_table_gains_ab_variant(fresh_db: str) -> None:
    """ab_variant joined the contract later: ensure_schema adds it to a raw.contacts created without it."""
    old = (
        contract.raw_table_ddl(contract.TABLES["contacts"])
        .split(";")[0]
        .replace("    ab_variant text,\n", "")
    )
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("create schema raw")
        conn.execute(old)
        ensure_schema(conn)
        cols = [
            r[0]
            for r in conn.execute(
                "select column_name from information_schema.columns where table_schema = 'raw'"
                " and table_name = 'contacts'"
            )
        ]
    assert "ab_variant" in cols and "ab_variant" not in old
