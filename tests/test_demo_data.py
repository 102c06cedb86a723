"""The demo landing-data generator: deterministic, contract-conformant, and structured.

Pure file-level checks (no database): the loader has its own tests against PostgreSQL.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest

from crm_scoring.contract import MANIFEST, TABLES
from crm_scoring.demo import generate
from crm_scoring.demo.texts import OPENERS

START, END = date(2026, 11, 20), date(2026, 11, 24)
ARGS = dict(start=START, end=END, customers=3000, seed=11, history_days=400, progress=False)


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo_a")
    folders = generate(root, **ARGS)
    assert [f.name for f in folders] == [(START + timedelta(days=i)).isoformat() for i in range(5)]
    return root


def _folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir())


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return header, [dict(zip(header, row, strict=True)) for row in reader]


@pytest.fixture(scope="module")
def rows(landing: Path) -> dict[str, list[dict[str, str]]]:
    """All rows per table over all folders, each tagged with its export date."""
    out: dict[str, list[dict[str, str]]] = defaultdict(list)
    for folder in _folders(landing):
        for name in TABLES:
            _, data = _read(folder / f"{name}.csv")
            for r in data:
                r["_export_date"] = folder.name
            out[name].extend(data)
    return out


def _latest(data: list[dict[str, str]], key: str) -> dict[str, dict[str, str]]:
    return {r[key]: r for r in data}  # folders are read in date order: the last version wins


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_deterministic(landing: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    other = tmp_path / "other"
    generate(again, **ARGS)
    generate(other, **{**ARGS, "seed": 12})
    files = sorted(p.relative_to(landing) for p in landing.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for rel in files:
        assert (landing / rel).read_bytes() == (again / rel).read_bytes(), rel
    first = START.isoformat()
    assert (landing / first / "orders.csv").read_bytes() != (other / first / "orders.csv").read_bytes()


def test_manifest_and_headers(landing: Path) -> None:
    for folder in _folders(landing):
        manifest = json.loads((folder / MANIFEST).read_text())
        assert manifest["export_date"] == folder.name
        assert set(manifest["files"]) == {f"{t}.csv" for t in TABLES}
        for name, table in TABLES.items():
            path = folder / f"{name}.csv"
            header, data = _read(path)
            assert header == table.column_names
            entry = manifest["files"][path.name]
            assert entry["rows"] == len(data)
            assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_csv_bytes_equal_csv_module(landing: Path) -> None:
    """Hand-joined rows must be exactly what csv.writer (RFC 4180, QUOTE_MINIMAL) writes."""
    folder = _folders(landing)[0]
    for name in ("tickets", "surveys", "crisis_events", "customers", "orders"):
        raw = (folder / f"{name}.csv").read_bytes()
        buf = io.StringIO(newline="")
        csv.writer(buf).writerows(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
        assert buf.getvalue().encode("utf-8") == raw, name
    texts = [r for r in _read(folder / "tickets.csv")[1] if "\n" in r["text"] or "," in r["text"]]
    assert texts, "some texts need quoting"


def _check_value(col, value: str, export_end: datetime) -> str | None:
    if value == "":
        return "required value missing" if col.required else None
    if col.allowed and value not in col.allowed:
        return f"{value!r} not in value set"
    if col.pattern and not re.match(col.pattern, value):
        return f"{value!r} does not match {col.pattern}"
    try:
        if col.type == "timestamp":
            ts = _ts(value)
            if ts.tzinfo is None or (col.not_future and ts > export_end):
                return f"{value} is naive or after the export date"
        elif col.type == "date":
            date.fromisoformat(value)
        elif col.type == "decimal":
            if col.non_negative and Decimal(value) < 0:
                return "negative amount"
        elif col.type == "integer":
            if col.non_negative and int(value) < 0:
                return "negative integer"
        elif col.type == "boolean" and value not in ("true", "false"):
            return "not a boolean"
    except (ValueError, InvalidOperation):
        return f"{value!r} is not a {col.type}"
    return None


def test_values_conform_to_contract(rows: dict[str, list[dict[str, str]]]) -> None:
    problems = []
    for name, table in TABLES.items():
        seen: dict[str, set] = defaultdict(set)
        for r in rows[name]:
            export_end = datetime.fromisoformat(r["_export_date"]).replace(tzinfo=UTC) + timedelta(days=1)
            for col in table.columns:
                err = _check_value(col, r[col.name], export_end)
                if err:
                    problems.append(f"{name}.{col.name}: {err}")
            key = tuple(r[k] for k in table.key)
            assert key not in seen[r["_export_date"]], f"duplicate {name} key {key} in {r['_export_date']}"
            seen[r["_export_date"]].add(key)
        assert rows[name], f"{name} has no rows"
    assert problems[:10] == []
    for s in rows["surveys"]:
        if s["score"]:
            top = 5 if s["survey_type"] == "CSAT" else 10
            assert (1 if s["survey_type"] == "CSAT" else 0) <= int(s["score"]) <= top


def test_ticket_lifecycle_and_deltas(rows: dict[str, list[dict[str, str]]]) -> None:
    versions = defaultdict(list)
    for r in rows["tickets"]:
        versions[r["ticket_id"]].append(r)
    multi = [v for v in versions.values() if len(v) > 1]
    assert multi, "tickets are re-exported when their state changes"
    for v in multi:
        stamps = [_ts(x["updated_at"]) for x in v]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    later = {r["_export_date"] for r in rows["tickets"]} | {r["_export_date"] for r in rows["customers"]}
    assert len(later) == 5, "every daily folder carries a delta"
    new = [c for c in rows["customers"] if c["_export_date"] > START.isoformat()]
    assert any(c["status"] == "active" for c in new) and any(c["status"] == "closed" for c in new)
    emails = [t for t in rows["tickets"] if re.search(r"[\w.]+@example\.\w+", t["text"])]
    assert emails, "some texts carry PII for redaction"
    assert {t["language"] for t in rows["tickets"]} == {"en", "zh-CN"}
    registered = {c["customer_id"]: _ts(c["registered_at"]) for c in rows["customers"]}
    for table, col in (("interactions", "event_ts"), ("orders", "order_ts"), ("tickets", "created_at")):
        late = [r for r in rows[table] if r["customer_id"] and _ts(r[col]) < registered[r["customer_id"]]]
        assert not late, table


def test_structure(rows: dict[str, list[dict[str, str]]]) -> None:
    end = datetime.combine(END + timedelta(days=1), datetime.min.time(), UTC)
    customers = _latest(rows["customers"], "customer_id")
    # spend: long tail, top 20 % hold most revenue, a handful above the VIP threshold
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    for o in _latest(rows["orders"], "order_id").values():
        if _ts(o["order_ts"]) >= end - timedelta(days=365):
            revenue[o["customer_id"]] += Decimal(o["net_amount"])
    spend = sorted((revenue.get(c, Decimal(0)) for c in customers), reverse=True)
    assert sum(spend[: len(spend) // 5]) / sum(spend) > Decimal("0.5")
    assert 1 <= sum(s > 100_000 for s in spend) < len(spend) * 0.02
    # complaints: a crisis-sensitive minority with more than 3
    tickets = _latest(rows["tickets"], "ticket_id").values()
    complaints: dict[str, int] = defaultdict(int)
    negative: dict[str, int] = defaultdict(int)
    harsh = tuple(OPENERS[0] + OPENERS[1])
    for t in tickets:
        if t["ticket_type"] == "complaint":
            complaints[t["customer_id"]] += 1
            negative[t["customer_id"]] += t["text"].startswith(harsh)
    share = sum(v > 3 for v in complaints.values()) / len(customers)
    assert 0.02 <= share <= 0.10
    # churners (no activity in the last 90 days) complained more and more harshly
    last: dict[str, datetime] = {}
    for table, col in (("interactions", "event_ts"), ("orders", "order_ts")):
        for r in rows[table]:
            ts = _ts(r[col])
            if r["customer_id"] not in last or ts > last[r["customer_id"]]:
                last[r["customer_id"]] = ts
    ever = [c for c in last if _ts(customers[c]["registered_at"]) < end - timedelta(days=180)]
    churned = [c for c in ever if last[c] < end - timedelta(days=90)]
    stayed = [c for c in ever if last[c] >= end - timedelta(days=90)]
    assert len(churned) > 100 and len(stayed) > 100

    def mean(d: dict[str, int], ids: list[str]) -> float:
        return sum(d.get(c, 0) for c in ids) / len(ids)

    def monthly(d: dict[str, int], ids: list[str]) -> float:
        """Per month of observed life: churners had less time to complain, yet complained more."""
        first = datetime.combine(START - timedelta(days=ARGS["history_days"]), datetime.min.time(), UTC)
        born = {c: max(first, _ts(customers[c]["registered_at"])) for c in ids}
        months = {c: max((last[c] - born[c]).days, 30) / 30 for c in ids}
        return sum(d.get(c, 0) / months[c] for c in ids) / len(ids)

    assert mean(complaints, churned) > mean(complaints, stayed)
    assert mean(negative, churned) > mean(negative, stayed)
    assert monthly(complaints, churned) > 1.5 * monthly(complaints, stayed)
    assert monthly(negative, churned) > 1.5 * monthly(negative, stayed)
    # crises: affected customers, linked complaints, one still active at the end
    affected = {(r["crisis_event_id"], r["customer_id"]) for r in rows["crisis_affected_customers"]}
    events = _latest(rows["crisis_events"], "crisis_event_id")
    assert len(events) >= 2 and len(affected) > 50
    assert any(e["resolved_at"] == "" and _ts(e["started_at"]) < end for e in events.values())
    linked = [t for t in tickets if t["crisis_event_id"]]
    assert linked and all(t["crisis_event_id"] in events for t in linked)
    # follow-ups exist for the business rules to work on
    surveys = rows["surveys"]
    assert any(
        s["trigger_type"] == "post_resolution_revisit" and s["score"] and int(s["score"]) <= 6
        for s in surveys
    )
    assert any(s["trigger_type"] == "post_crisis_revisit" for s in surveys)
    assert any(c["round_no"] == "2" for c in rows["compensations"])
    assert {"granted", "withdrawn"} <= {c["status"] for c in rows["consents"]}
    assert any(c["outcome"] == "opted_out" for c in rows["contacts"])


def _list_rows(n: int, rule: str, holdout_every: int = 10) -> list[dict]:
    return [
        {
            "customer_id": f"{rule}-{i:07d}",
            "rule_code": rule,
            "channel": "email",
            "contact_status": "holdout" if i % holdout_every == 0 else "ready",
        }
        for i in range(n)
    ]


def test_execution_plan_contacts_ready_rows_with_the_planted_effect() -> None:
    """demo.execute.plan: hold-outs never contacted, draws per customer (not per position), effect rate."""
    from crm_scoring.demo import effects
    from crm_scoring.demo.execute import plan

    day = date(2026, 11, 20)
    rows = _list_rows(10_000, "RL-01") + _list_rows(1_000, "RL-17")
    planned = plan(day, rows, [], seed=42)
    contacts = [r for _, r in planned["contacts"]]
    ready = {(r["customer_id"], r["rule_code"]) for r in rows if r["contact_status"] == "ready"}
    assert {(c["customer_id"], c["campaign_id"][-5:]) for c in contacts} == ready
    assert all(c["list_run_date"] == "2026-11-20" for c in contacts)
    assert {d for d, _ in planned["contacts"]} == {day + timedelta(days=effects.CONTACT_DELAY_DAYS)}
    orders = [r for _, r in planned["orders"]]
    treated_rl01 = sum(1 for c, r in ready if r == "RL-01")
    assert abs(len(orders) / treated_rl01 - effects.effect_of("RL-01")) < 0.01
    assert effects.effect_of("RL-17") == 0 and all(o["customer_id"].startswith("RL-01") for o in orders)
    converted = {o["customer_id"] for o in orders}
    assert all(c["outcome"] == "accepted" for c in contacts if c["customer_id"] in converted)
    lags = {(d - day).days for d, _ in planned["orders"]}
    assert lags == set(range(1, 1 + effects.RESPONSE_DAYS))
    assert all(o["order_ts"] > "2026-11-21T" for o in orders)
    # a customer's draws do not depend on who else is listed
    alone = plan(day, [rows[1]], [], seed=42)
    assert alone["contacts"][0][1]["outcome"] == next(
        c["outcome"] for c in contacts if c["customer_id"] == rows[1]["customer_id"]
    )
    assert plan(day, rows, [], seed=42) == planned


def test_execution_plan_grants_ready_compensations_with_a_notice() -> None:
    """demo.execute.plan: a grant (compensations.csv) and a CP-11 notice per `ready` compensation row."""
    from crm_scoring.contract import COMPENSATION_TYPE
    from crm_scoring.demo.execute import plan

    day = date(2026, 11, 20)
    base = {"rule_code": "CP-01", "ticket_id": "T1", "crisis_event_id": None, "notify_channel": "email"}
    comp = [
        base | {"customer_id": "C1", "ledger_key": "k1", "round_no": 1, "amount": Decimal("20"),
                "points": None, "status": "ready"},
        base | {"customer_id": "C2", "ledger_key": "k2", "round_no": 2, "amount": None, "points": 50,
                "status": "ready", "notify_channel": None},
        base | {"customer_id": "C3", "ledger_key": "k3", "round_no": 1, "amount": Decimal("900"),
                "points": None, "status": "needs_approval"},
    ]  # fmt: skip
    planned = plan(day, [], comp, seed=1)
    grants = [r for _, r in planned["compensations"]]
    assert [g["customer_id"] for g in grants] == ["C1", "C2"]  # needs_approval waits
    assert grants[0]["amount"] == "20.00" and grants[0]["compensation_type"] == "voucher"
    assert grants[1]["points"] == "50" and grants[1]["round_no"] == "2"
    assert all(g["compensation_type"] in COMPENSATION_TYPE and g["ticket_id"] == "T1" for g in grants)
    notices = [r for _, r in planned["contacts"]]
    assert [(n["customer_id"], n["purpose"], n["channel"]) for n in notices] == [
        ("C1", "compensation_notice", "email"),
        ("C2", "compensation_notice", "sms"),  # no consented channel on the row: the CRM's fallback
    ]
    assert all(n["contact_ts"] > g["issued_at"] for n, g in zip(notices, grants, strict=True))
