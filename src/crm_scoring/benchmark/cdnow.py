"""The CDNOW transaction log, as shipped inside the `lifetimes` package, mapped into the landing contract.

Provenance: CDNOW Ltd. purchase records of the cohort of 23,570 customers who made their first
purchase in 1997-Q1, followed to 1998-06-30 (69,659 transaction lines: customer, date, number of CDs,
dollar value); the 1/10 sample holds 2,357 of those customers. Published by Fader & Hardie with
"Counting Your Customers the Easy Way" (Marketing Science, 2005) and redistributed, unchanged, as
`lifetimes/datasets/CDNOW_master.txt` and `CDNOW_sample.txt` in the `lifetimes` package (MIT licence,
Cameron Davidson-Pilon, https://github.com/CamDavidsonPilon/lifetimes). Only the data file is read: the
package's own modules are never imported (they predate numpy 2 / pandas 3).

Mapping (customers + orders only, as a customers-and-orders-only export would be):
- customers.csv: `cdnow-<id>`, registered_at = first purchase date (CDNOW has no sign-up date), active;
- orders.csv: one order per transaction line, order_ts = the purchase date at 12:00 UTC (no time of day
  is recorded), completed, net_amount = dollar value (currency USD), channel online.
Two exports per as-of date A: folder A holds the history up to A (a backfill), folder A + horizon
the delta after it, so the platform sees at A exactly what was known at A.
"""

from __future__ import annotations

import csv
import importlib.metadata
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

PACKAGE = "lifetimes"
FILES = {"full": "lifetimes/datasets/CDNOW_master.txt", "sample": "lifetimes/datasets/CDNOW_sample.txt"}
SOURCE = {
    "name": "CDNOW transaction log (1997-Q1 cohort, to 1998-06-30)",
    "publisher": "Peter S. Fader and Bruce G. S. Hardie (brucehardie.com), from CDNOW Ltd. records",
    "reference": "Fader, Hardie & Lee (2005), 'Counting Your Customers the Easy Way', "
    "Marketing Science 24(2)",
    "shipped_in": "PyPI package lifetimes 0.11.3 (lifetimes/datasets/), MIT licence",
    "licence": "no explicit licence from the publishers (made available for research and teaching); "
    "redistributed inside lifetimes, whose package is MIT-licensed",
}
# Last as-of date the benchmark may use for development (issue 11): later cutoffs are kept unseen.
MAX_AS_OF = date(1997, 6, 30)


class CdnowError(RuntimeError):
    """The data file is missing (package not installed) or unreadable."""


@dataclass(frozen=True)
class Transactions:
    """One row per transaction line: customer_id (text), order_date (date), cds (int), amount (float),
    line_no (1.. per customer). `max_as_of`: the last as-of date a benchmark may use (CDNOW: later cutoffs
    are kept unseen); `notes`: what the mapping did, for the result's provenance."""

    frame: pd.DataFrame
    variant: str
    path: Path
    max_as_of: date | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    def latest_as_of(self, horizon_days: int) -> date:
        """The last as-of date whose label window (as_of, as_of + horizon] ends by the log's last purchase."""
        return max(self.frame["order_date"]) - timedelta(days=horizon_days)


def data_path(variant: str = "full") -> Path:
    """Where the installed `lifetimes` distribution keeps the file (found without importing it)."""
    try:
        dist = importlib.metadata.distribution(PACKAGE)
    except importlib.metadata.PackageNotFoundError as exc:
        raise CdnowError(f"the {PACKAGE} package is not installed: `make venv` installs it") from exc
    path = Path(str(dist.locate_file(FILES[variant])))
    if not path.is_file():
        raise CdnowError(f"{path} not found in the installed {PACKAGE} package")
    return path


def load(variant: str = "full") -> Transactions:
    """Parse the whitespace-separated file; the sample has an extra column (the id within the sample)."""
    path = data_path(variant)
    names = (
        ["customer", "order_date", "cds", "amount"]
        if variant == "full"
        else ["customer", "sample_id", "order_date", "cds", "amount"]
    )
    raw = pd.read_csv(
        path,
        sep=r"\s+",
        header=0 if variant == "full" else None,
        names=names,
        dtype={"customer": str, "order_date": str},
        engine="python",
    )
    frame = pd.DataFrame(
        {
            "customer_id": "cdnow-" + raw["customer"].str.zfill(5),
            "order_date": pd.to_datetime(raw["order_date"], format="%Y%m%d").dt.date,
            "cds": raw["cds"].astype(int),
            "amount": raw["amount"].astype(float),
        }
    )
    frame = frame.sort_values(["customer_id", "order_date"], kind="stable").reset_index(drop=True)
    frame["line_no"] = frame.groupby("customer_id").cumcount() + 1
    return Transactions(frame, variant, path, max_as_of=MAX_AS_OF)


def _write_export(folder: Path, customers: pd.DataFrame, orders: pd.DataFrame) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "customers.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["customer_id", "registered_at", "status", "updated_at"])
        for cid, first in zip(customers["customer_id"], customers["first_date"], strict=True):
            ts = f"{first.isoformat()}T00:00:00Z"
            writer.writerow([cid, ts, "active", ts])
    with (folder / "orders.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ["order_id", "customer_id", "order_ts", "status", "net_amount", "currency", "channel"]
        )
        for cid, line, day, amount in zip(
            orders["customer_id"], orders["line_no"], orders["order_date"], orders["amount"], strict=True
        ):
            writer.writerow(
                [
                    f"{cid}-{line:04d}",
                    cid,
                    f"{day.isoformat()}T12:00:00Z",
                    "completed",
                    f"{amount:.2f}",
                    "USD",
                    "online",
                ]
            )


def write_landing(tx: Transactions, root: Path, as_of: date, horizon_days: int) -> tuple[date, date]:
    """Export folder `as_of` (history up to it) and `as_of + horizon_days` (the delta after it)."""
    label_end = as_of + timedelta(days=horizon_days)
    frame = tx.frame[tx.frame["order_date"] <= label_end]
    first = (
        frame.groupby("customer_id", as_index=False)["order_date"]
        .min()
        .rename(columns={"order_date": "first_date"})
    )
    before = frame["order_date"] <= as_of
    _write_export(root / as_of.isoformat(), first[first["first_date"] <= as_of], frame[before])
    _write_export(root / label_end.isoformat(), first[first["first_date"] > as_of], frame[~before])
    return as_of, label_end


def labels(tx: Transactions, as_of: date, horizon_days: int) -> pd.DataFrame:
    """The truth, straight from the source file: churned = no purchase in (as_of, as_of + horizon]."""
    frame = tx.frame
    known = frame[frame["order_date"] <= as_of]
    future = frame[
        (frame["order_date"] > as_of) & (frame["order_date"] <= as_of + timedelta(days=horizon_days))
    ]
    out = (
        known.groupby("customer_id", as_index=False)["order_date"]
        .max()
        .rename(columns={"order_date": "last_order_date"})
    )
    out["churned"] = (~out["customer_id"].isin(set(future["customer_id"]))).astype(int)
    return out
