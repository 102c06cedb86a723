"""`crm policy bands`: evidence for the CH-05 churn-band thresholds from the champion's out-of-time holdout.

Band thresholds are policy (churn_band_high_min / churn_band_medium_min), applied to the CALIBRATED
probability. This report re-scores the latest matured training cutoff (the same out-of-time test split the
training run and the promotion gate use) with the champion and prints, per candidate threshold, how many
customers reach it, how many of them really churned (precision, against the calibrated mean prediction)
and the lift over the base rate, so a threshold is chosen from calibration and lift, not at random.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

DEFAULT_GRID = (0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.50, 0.60, 0.70, 0.80)


@dataclass(frozen=True)
class BandRow:
    label: str
    customers: int
    share: float
    churn_rate: float
    mean_probability: float
    lift: float
    capture: float


@dataclass(frozen=True)
class BandReport:
    model_version: str
    test_cutoffs: tuple[str, ...]
    rows: int
    base_rate: float
    thresholds: list[BandRow]
    bands: list[BandRow]


def _row(label: str, mask: np.ndarray, y: np.ndarray, p: np.ndarray, base: float) -> BandRow:
    n = int(mask.sum())
    rate = float(y[mask].mean()) if n else float("nan")
    return BandRow(
        label=label,
        customers=n,
        share=n / len(y),
        churn_rate=rate,
        mean_probability=float(p[mask].mean()) if n else float("nan"),
        lift=rate / base if n and base else float("nan"),
        capture=float(y[mask].sum() / y.sum()) if y.sum() else float("nan"),
    )


def summarise(
    y: np.ndarray, p: np.ndarray, high: float, medium: float, grid: tuple[float, ...] = DEFAULT_GRID
) -> tuple[float, list[BandRow], list[BandRow]]:
    """Pure: per-threshold cumulative rows (p >= t) and the three bands the two thresholds cut."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    base = float(y.mean())
    cumulative = [_row(f"p >= {t:.2f}", p >= t, y, p, base) for t in grid]
    bands = [
        _row(f"high   (p >= {high:.2f})", p >= high, y, p, base),
        _row(f"medium ({medium:.2f} <= p < {high:.2f})", (p >= medium) & (p < high), y, p, base),
        _row(f"low    (p < {medium:.2f})", p < medium, y, p, base),
    ]
    return base, cumulative, bands


def band_report(url: str, run_date: date | None, high: float, medium: float) -> BandReport:
    """Score the out-of-time test split with the champion and summarise it (MLflow + warehouse)."""
    from crm_scoring.model.config import load_config
    from crm_scoring.model.dataset import load_training_set, split_out_of_time
    from crm_scoring.model.score import load_champion

    cfg = load_config()
    split = split_out_of_time(load_training_set(url, run_date, config=cfg), cfg.split, cfg.target)
    model = load_champion(cfg)
    test = split.test
    p = model.predict(test[model.features].to_numpy(dtype=np.float64))
    y = test[cfg.target].to_numpy()
    base, cumulative, bands = summarise(y, p, high, medium)
    return BandReport(
        model_version=model.version,
        test_cutoffs=tuple(str(c) for c in split.test_cutoffs),
        rows=len(test),
        base_rate=base,
        thresholds=cumulative,
        bands=bands,
    )


def render(report: BandReport) -> str:
    head = f"  {'':34} {'customers':>9} {'share':>7} {'churned':>8} {'mean p':>7} {'lift':>5} {'capture':>8}"

    def line(r: BandRow) -> str:
        return (
            f"  {r.label:34} {r.customers:9d} {r.share:7.1%} {r.churn_rate:8.1%} {r.mean_probability:7.3f}"
            f" {r.lift:5.2f} {r.capture:8.1%}"
        )

    return "\n".join(
        [
            f"champion v{report.model_version}, out-of-time test cutoff(s) {', '.join(report.test_cutoffs)}: "
            f"{report.rows} customers, churn rate {report.base_rate:.1%}",
            "cumulative (customers at or above the threshold):",
            head,
            *(line(r) for r in report.thresholds),
            "bands:",
            head,
            *(line(r) for r in report.bands),
        ]
    )
