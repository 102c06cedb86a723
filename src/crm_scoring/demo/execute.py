"""`crm demo execute-lists`: the demo CRM works a published list, writing what it did into the landing.

A real CRM would contact the customers of the morning's lists and record it in its next exports. The
demo does the same for one list date D, into the landing folders D+1, D+2, ... that exist:

- contacts.csv: one contact per `ready` retention row (`list_run_date` = D, purpose and channel of the
  row, an outcome), one `compensation_notice` per `ready` compensation row (CP-11);
- compensations.csv: the grant of every `ready` compensation row (so the CP-14 ledger sees it);
- orders.csv: the reactivation orders of the contacted customers the rule's planted effect converts
  (`demo.effects`): the known truth `marts.list_outcomes` must recover.

Hold-out rows (CH-08) and over-capacity rows are never contacted. Every draw is a hash of (seed, list
date, rule, customer), so the same list gives the same rows whatever else is listed, and the rows carry
ids derived from D (`CTX<D>-n`, `ORX<D>-n`, `CPX<D>-n`): executing D again replaces exactly D's rows, so
re-execution is idempotent and the files stay byte-identical. Executed rows follow the generator's rows,
sorted by id; the folder's `_manifest.json` is rewritten. A touched folder that the warehouse already
loaded is reloaded, so the warehouse matches the landing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from statistics import NormalDist

import pyarrow as pa

from crm_scoring import contract, settings
from crm_scoring.demo import effects

log = logging.getLogger(__name__)

PREFIX = {"contacts": "CTX", "orders": "ORX", "compensations": "CPX"}
LINE_END = "\r\n"  # what the generator (csv.writer) writes
_NORMAL = NormalDist()


@dataclass
class ExecuteResult:
    list_date: date
    contacts: int = 0
    orders: int = 0
    grants: int = 0
    not_contacted: dict[str, int] = field(default_factory=dict)  # contact_status -> rows
    beyond_landing: int = 0  # planned rows whose day has no landing folder (not written)
    folders: list[date] = field(default_factory=list)
    reloaded: list[date] = field(default_factory=list)

    def summary(self) -> str:
        skipped = ", ".join(f"{k} {v}" for k, v in sorted(self.not_contacted.items())) or "none"
        folders = ", ".join(d.isoformat() for d in self.folders) or "none"
        return (
            f"list {self.list_date}: {self.contacts} contacts, {self.grants} compensation grants, "
            f"{self.orders} reactivation orders into {folders}; not contacted: {skipped}; "
            f"{self.beyond_landing} rows beyond the last landing folder; reloaded: "
            f"{', '.join(d.isoformat() for d in self.reloaded) or 'none'}"
        )


def uniform(seed: int, list_date: date, *key: str) -> float:
    """A deterministic U[0, 1) draw for one (list date, rule, customer, purpose) key."""
    text = "|".join([str(seed), list_date.isoformat(), *key])
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def _ts(day: date, seconds: float) -> str:
    seconds = int(min(max(seconds, 0), 86_399))
    return (datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=seconds)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def _money(value: object) -> str:
    if value is None:
        return ""
    return f"{Decimal(str(value)).quantize(Decimal('0.01'))}"


def _non_converted_outcome(u: float) -> str:
    acc = 0.0
    for outcome, p in effects.NON_CONVERTED_OUTCOMES:
        acc += p
        if u < acc:
            return outcome
    return effects.NON_CONVERTED_OUTCOMES[-1][0]


def _channel(value: object) -> str:
    return value if value in contract.CONTACT_CHANNEL else effects.FALLBACK_CHANNEL


def _compensation_type(row: dict) -> str:
    if row.get("amount") is not None:
        return "voucher"
    if row.get("points") is not None:
        return "points"
    if row.get("benefit_days") is not None:
        return "membership_rights"
    return "in_kind"


Planned = dict[str, list[tuple[date, dict[str, str]]]]  # table -> (day, row)


def _converted(list_date: date, retention: list[dict], seed: int) -> set[tuple[str, str]]:
    """The (rule, customer) pairs a contact converts: exactly round(effect x contacted) per rule.

    A fixed share rather than an independent coin per customer, so the planted effect is known exactly in
    every sample (the treated arm's extra reactivation is the effect, up to rounding) and only the
    customers' own behaviour is noise; which customers convert is a hash draw, deterministic per seed.
    """
    ready: dict[str, list[str]] = defaultdict(list)
    for row in retention:
        if row.get("contact_status") == "ready":
            ready[row["rule_code"]].append(row["customer_id"])
    out: set[tuple[str, str]] = set()
    for rule, customers in ready.items():
        n = round(effects.effect_of(rule) * len(customers))
        ranked = sorted(customers, key=lambda c: (uniform(seed, list_date, rule, c, "convert"), c))
        out.update((rule, c) for c in ranked[:n])
    return out


def plan(list_date: date, retention: list[dict], compensation: list[dict], seed: int) -> Planned:
    """The rows the CRM writes for one list date's published rows (no I/O; deterministic)."""
    out: Planned = defaultdict(list)
    tag = list_date.strftime("%Y%m%d")
    contact_day = list_date + timedelta(days=effects.CONTACT_DELAY_DAYS)
    campaign = f"LIST-{list_date.isoformat()}"
    n_contact = n_order = n_grant = 0

    def contact(row: dict, purpose: str, channel: str, ts: str, outcome: str, rule: str) -> None:
        nonlocal n_contact
        n_contact += 1
        out["contacts"].append(
            (
                contact_day,
                {
                    "contact_id": f"{PREFIX['contacts']}{tag}-{n_contact:07d}",
                    "customer_id": row["customer_id"],
                    "contact_ts": ts,
                    "channel": channel,
                    "purpose": purpose,
                    "list_run_date": list_date.isoformat(),
                    "campaign_id": f"{campaign}-{rule}",
                    "outcome": outcome,
                },
            )
        )

    converts = _converted(list_date, retention, seed)
    for row in sorted(retention, key=lambda r: (r["rule_code"], r["customer_id"])):
        if row.get("contact_status") != "ready":
            continue
        rule, cust = row["rule_code"], row["customer_id"]
        at = 9 * 3600 + uniform(seed, list_date, rule, cust, "contact_time") * 3 * 3600
        converted = (rule, cust) in converts
        outcome = (
            "accepted"
            if converted
            else _non_converted_outcome(uniform(seed, list_date, rule, cust, "outcome"))
        )
        purpose = effects.PURPOSE_BY_RULE.get(rule, effects.DEFAULT_PURPOSE)
        contact(row, purpose, _channel(row.get("channel")), _ts(contact_day, at), outcome, rule)
        if not converted:
            continue
        lag = int(uniform(seed, list_date, rule, cust, "lag") * effects.RESPONSE_DAYS)
        day = contact_day + timedelta(days=lag)
        u = uniform(seed, list_date, rule, cust, "order_time")
        order_at = at + 3600 + u * (86_399 - at - 3600) if lag == 0 else 8 * 3600 + u * 14 * 3600
        z = _NORMAL.inv_cdf(min(max(uniform(seed, list_date, rule, cust, "amount"), 1e-9), 1 - 1e-9))
        cents = max(990, round(effects.ORDER_MEDIAN_AMOUNT * math.exp(effects.ORDER_AMOUNT_SIGMA * z) * 100))
        amount = f"{cents // 100}.{cents % 100:02d}"
        n_order += 1
        ts = _ts(day, order_at)
        out["orders"].append(
            (
                day,
                {
                    "order_id": f"{PREFIX['orders']}{tag}-{n_order:07d}",
                    "customer_id": cust,
                    "order_ts": ts,
                    "status": "completed",
                    "net_amount": amount,
                    "gross_amount": amount,
                    "discount_amount": "0.00",
                    "refund_amount": "0.00",
                    "channel": "online",
                    "points_earned": str(cents // 100),
                    "updated_at": ts,
                },
            )
        )

    for row in sorted(compensation, key=lambda r: (r.get("ledger_key") or "", r["customer_id"])):
        if row.get("status") != "ready":
            continue
        rule, cust = row["rule_code"], row["customer_id"]
        at = 10 * 3600 + uniform(seed, list_date, rule, cust, "grant_time") * 2 * 3600
        n_grant += 1
        round_no = row.get("round_no")
        out["compensations"].append(
            (
                contact_day,
                {
                    "compensation_id": f"{PREFIX['compensations']}{tag}-{n_grant:07d}",
                    "customer_id": cust,
                    "ticket_id": row.get("ticket_id") or "",
                    "crisis_event_id": row.get("crisis_event_id") or "",
                    "round_no": str(round_no if round_no is not None else 1),
                    "compensation_type": _compensation_type(row),
                    "amount": _money(row.get("amount")),
                    "points": "" if row.get("points") is None else str(int(row["points"])),
                    "issued_at": _ts(contact_day, at),
                },
            )
        )
        contact(
            row,
            "compensation_notice",
            _channel(row.get("notify_channel")),
            _ts(contact_day, at + 600),
            "delivered",
            rule,
        )
    return out


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return header, list(reader)


def _write_folder_table(folder: Path, table: str, list_date: date, rows: list[dict[str, str]]) -> int:
    """Replace this list date's executed rows of `table` in `folder` (generator rows stay first)."""
    from crm_scoring.ingest.discover import find_table_file

    path = find_table_file(folder, table) or folder / f"{table}.csv"
    if path.suffix != ".csv":
        raise ValueError(f"{path}: the demo executes lists into plain CSV landing files only")
    columns = contract.TABLES[table].column_names
    header, existing = _read_csv(path) if path.exists() else (list(columns), [])
    id_col = header.index(columns[0])
    mine = f"{PREFIX[table]}{list_date.strftime('%Y%m%d')}-"
    kept = [r for r in existing if not r[id_col].startswith(mine)]
    generated = [r for r in kept if not r[id_col].startswith(PREFIX[table])]
    executed = [r for r in kept if r[id_col].startswith(PREFIX[table])]
    executed += [[row.get(c, "") for c in header] for row in rows]
    executed.sort(key=lambda r: r[id_col])
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator=LINE_END)
    writer.writerow(header)
    writer.writerows(generated + executed)
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")
    return len(generated) + len(executed)


def _rewrite_manifest(folder: Path, export_date: date, counts: dict[str, int]) -> None:
    path = folder / contract.MANIFEST
    manifest = (
        json.loads(path.read_text())
        if path.exists()
        else {"export_date": export_date.isoformat(), "files": {}}
    )
    for table, rows in counts.items():
        file = folder / f"{table}.csv"
        manifest["files"][file.name] = {
            "rows": rows,
            "sha256": hashlib.sha256(file.read_bytes()).hexdigest(),
        }
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def _published(list_date: date, list_name: str, url: str | None) -> list[dict]:
    from crm_scoring.lists.export import read_list

    try:
        tbl: pa.Table = read_list(list_date, list_name, include_holdout=True, url=url)
    except RuntimeError:  # that list was never published
        return []
    return tbl.to_pylist()


def execute_lists(
    list_date: date,
    landing_root: Path | None = None,
    url: str | None = None,
    seed: int = 42,
    reload: bool = True,
) -> ExecuteResult:
    """Execute the lists published for `list_date` into the following landing folders (idempotent)."""
    from crm_scoring import warehouse
    from crm_scoring.ingest import load_export_date, loaded_dates

    root = Path(landing_root or settings.landing_dir())
    url = url or warehouse.warehouse_url()
    retention = _published(list_date, "retention", url)
    compensation = _published(list_date, "compensation", url)
    result = ExecuteResult(list_date)
    for row in retention:
        if row.get("contact_status") != "ready":
            status = str(row.get("contact_status"))
            result.not_contacted[status] = result.not_contacted.get(status, 0) + 1
    planned = plan(list_date, retention, compensation, seed)

    by_day: dict[date, dict[str, list[dict[str, str]]]] = defaultdict(lambda: defaultdict(list))
    for table, rows in planned.items():
        for day, row in rows:
            if (root / day.isoformat()).is_dir():
                by_day[day][table].append(row)
            else:
                result.beyond_landing += 1
    # every later folder is rewritten (even without rows) so that a shorter re-execution removes rows
    later = sorted(
        d for d in (_as_date(p.name) for p in root.iterdir() if p.is_dir()) if d is not None and d > list_date
    )
    for day in later:
        folder = root / day.isoformat()
        counts = {}
        for table in PREFIX:
            rows = by_day.get(day, {}).get(table, [])
            if not rows and not _has_rows_of(folder, table, list_date):
                continue
            counts[table] = _write_folder_table(folder, table, list_date, rows)
        if counts:
            _rewrite_manifest(folder, day, counts)
            result.folders.append(day)
    written = {t: sum(len(tables.get(t, [])) for tables in by_day.values()) for t in PREFIX}
    result.contacts, result.orders, result.grants = (
        written["contacts"],
        written["orders"],
        written["compensations"],
    )
    if reload:
        done = set(loaded_dates(url))
        for day in result.folders:
            if day in done:
                load_export_date(url, root, day)
                result.reloaded.append(day)
    log.info(result.summary())
    return result


def _as_date(name: str) -> date | None:
    try:
        return date.fromisoformat(name)
    except ValueError:
        return None


def _has_rows_of(folder: Path, table: str, list_date: date) -> bool:
    path = folder / f"{table}.csv"
    if not path.exists():
        return False
    needle = f"{PREFIX[table]}{list_date.strftime('%Y%m%d')}-".encode()
    return needle in path.read_bytes()


__all__ = ["ExecuteResult", "execute_lists", "plan", "uniform"]
