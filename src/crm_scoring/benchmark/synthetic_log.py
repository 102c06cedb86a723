"""A multi-cohort transaction log from the textbook purchase process, to check `crm evaluate log` on a
second data shape.

Why: CDNOW, the one real log a registry package ships, is a single cohort: every customer joined in
1997-Q1, so every earlier training cutoff holds younger customers than the ones scored (the no-overlap
guard in model/family.py picks the regression there). Real logs are mostly multi-cohort. Customers join
all the time, and training and scoring populations overlap. This module writes such a log. It comes from
Pareto/NBD (Schmittlein, Morrison & Colombo 1987) with Gamma-Gamma spend (Fader, Hardie & Lee 2005), not
from the demo generator. The check is that the platform runs on it end to end and does not lose to its
baselines. It is synthetic and never a figure about real customers, and nothing is tuned on it.

The process:
- each customer joins on a uniform day of the first `join_days`;
- while alive, the customer buys at Poisson rate lambda ~ Gamma(r, alpha) per day;
- the customer dies at rate mu ~ Gamma(s, beta);
- each purchase is worth Gamma(p, nu) with nu ~ Gamma(q, gamma);
- each purchase is split into 1 to 3 invoice lines, time-stamped in UTC-5;
- 3 % of purchases are followed by a return, a credit note of its own with a negative amount;
- 200 guest lines carry no customer id.

The columns are laid out like the UCI Online Retail II file (`Customer ID`, `InvoiceDate`, `Invoice`,
`Total`):

    .venv/bin/python -m crm_scoring.benchmark.synthetic_log /tmp/log.csv --customers 4000 --seed 1
    .venv/bin/crm evaluate log /tmp/log.csv --customer-col "Customer ID" --date-col InvoiceDate \\
        --amount-col Total --order-col Invoice --quarantine /tmp/guests.csv
"""

from __future__ import annotations

import argparse
import csv
from datetime import date, timedelta
from pathlib import Path

import numpy as np

COLUMNS = ("Customer ID", "InvoiceDate", "Invoice", "Total")
GUEST_LINES = 200
RETURN_SHARE = 0.03


# Pareto/NBD (per day) and Gamma-Gamma parameters: about one purchase per 37 days and a mean lifetime of
# about 333 days, both widely heterogeneous; a purchase is worth about 22 on average
PARETO_NBD = {"r": 0.8, "alpha": 30.0, "s": 0.6, "beta": 200.0}
GAMMA_GAMMA = {"p": 6.0, "q": 4.0, "gamma": 15.0}
START, DAYS, JOIN_DAYS = date(2021, 1, 1), 900, 540  # the span, and the first days customers join in


def write(path: Path, customers: int, seed: int, join_days: int = JOIN_DAYS) -> int:
    """Write the log to `path`, sorted by time; returns its data rows. Same arguments, same bytes.
    `join_days` 90 makes a single cohort, like CDNOW's (everyone joins in the first quarter)."""
    rng = np.random.default_rng(seed)
    r, alpha, s, beta = (PARETO_NBD[k] for k in ("r", "alpha", "s", "beta"))
    p, q, gamma = (GAMMA_GAMMA[k] for k in ("p", "q", "gamma"))
    rows: list[tuple[str, str, str, float]] = []
    invoice = 0
    for i in range(customers):
        joined = float(rng.integers(0, join_days))
        rate = rng.gamma(r, 1 / alpha)
        lifetime = rng.exponential(1 / rng.gamma(s, 1 / beta))
        nu = rng.gamma(q, 1 / gamma)
        t, end = joined, min(float(DAYS), joined + lifetime)
        while t < end:
            invoice += 1
            stamp = _stamp(t, rng)
            value = rng.gamma(p, 1 / nu)
            lines = int(rng.integers(1, 4))
            for _ in range(lines):
                rows.append((f"C{i:06d}", stamp, f"INV{invoice}", round(value / lines, 2)))
            if rng.random() < RETURN_SHARE:
                rows.append((f"C{i:06d}", stamp, f"RET{invoice}", -round(value / lines, 2)))
            t += rng.exponential(1 / rate)
    for g in range(GUEST_LINES):
        rows.append(("", _stamp(float(g % DAYS), rng), f"G{g}", 12.5))
    rows.sort(key=lambda row: (row[1], row[2], row[0]))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        w.writerows(rows)
    return len(rows)


def _stamp(day: float, rng: np.random.Generator) -> str:
    """ISO timestamp with a UTC-5 offset on that day (the platform dates an order by its UTC date)."""
    when = START + timedelta(days=int(day))
    return f"{when.isoformat()}T{int(rng.integers(0, 24)):02d}:{int(rng.integers(0, 60)):02d}:00-05:00"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--customers", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--join-days", type=int, default=JOIN_DAYS, help="90: a single cohort")
    args = parser.parse_args(argv)
    print(f"{write(args.out, args.customers, args.seed, args.join_days):,} rows written to {args.out}")


if __name__ == "__main__":
    main()
