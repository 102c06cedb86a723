"""Crisis events: one old regional logistics crisis, one small data incident, a local product-quality
recall resolved a couple of weeks before the first daily folder (post-crisis follow-ups such as the
RL-11 health check run in its aftermath), and a current network-wide service outage that is still
active during the last daily folders.

Affected customers file extra complaints (linked by crisis_event_id), suffer slower service and
carry a higher churn hazard for a while after the event.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crm_scoring.contract import CRISIS_TYPE, OPINION_LEVEL, SCOPE_LEVEL
from crm_scoring.demo import fmt
from crm_scoring.demo.timeline import Timeline
from crm_scoring.demo.writer import Block


@dataclass(frozen=True)
class Crisis:
    number: int
    crisis_type: str
    scope: str
    opinion: str
    start_day: int
    start_second: int
    duration_days: int
    affect_prob: float
    regions: tuple[int, ...] | None  # REGIONS indices; None = everyone
    complaint_rate: float  # extra complaints per affected customer per day while active
    complaint_types: tuple[str, ...]
    modules: tuple[str, ...]
    hazard_mult: float
    hazard_days: int  # how long after the end the hazard stays raised
    impact_type: str
    login_failures: bool
    description: str

    @property
    def crisis_id(self) -> str:
        return f"CE-{self.number:04d}"

    @property
    def end_day(self) -> int:
        return self.start_day + self.duration_days

    def started_ts(self, tl: Timeline) -> int:
        return int(tl.ts(self.start_day, self.start_second))

    def resolved_ts(self, tl: Timeline) -> int:
        return int(tl.ts(self.end_day, 14 * 3600 + 1800))

    def active_on(self, day: int) -> bool:
        return self.start_day <= day < self.end_day

    def raises_hazard_on(self, day: int) -> bool:
        return self.start_day <= day < self.end_day + self.hazard_days


def design_crises(tl: Timeline, outage_day: int | None = None) -> list[Crisis]:
    """Fixed, date-relative crisis calendar (deterministic, independent of the seed).

    The outage starts three days before the last export date, so the default demo's last nights are in
    an active crisis; `outage_day` moves its start (the multi-night crisis replay, `demo.crisis_replay`,
    puts it a few nights into the range so its nights see the crisis before, during and after).
    """
    h = tl.start_day
    old = max(5, h - min(210, int(h * 0.45)))
    breach = max(3, h - min(90, int(h * 0.2)))
    recall = max(2, h - 20)
    outage = max(1, tl.end_day - 3) if outage_day is None else outage_day
    return [
        Crisis(
            1,
            "logistics",
            "regional",
            "medium",
            old,
            9 * 3600,
            12,
            0.55,
            (0, 1, 12, 13),
            0.02,
            ("logistics_delay", "after_sales"),
            ("delivery", "orders"),
            2.2,
            120,
            "delayed_delivery",
            False,
            'Carrier strike in Europe: parcels delayed by 5-12 days, "we are also affected" statement.',
        ),
        Crisis(
            2,
            "data_breach",
            "local",
            "light",
            breach,
            16 * 3600,
            4,
            0.02,
            None,
            0.08,
            ("data_security", "account_anomaly"),
            ("personal_centre", "login"),
            2.5,
            180,
            "data_exposed",
            False,
            "Misconfigured export exposed names and e-mail addresses of a small set of accounts.",
        ),
        Crisis(
            3,
            "service_outage",
            "network_wide",
            "severe",
            outage,
            6 * 3600 + 1800,
            6,
            0.12,
            None,
            0.07,
            ("technical", "service_delay", "billing"),
            ("login", "payment", "messaging"),
            3.0,
            150,
            "service_unavailable",
            True,
            "App and payment platform outage: log-in and checkout failing for a large share of users.",
        ),
        Crisis(
            4,
            "product_quality",
            "local",
            "light",
            recall,
            10 * 3600,
            8,
            0.05,
            (7, 8, 9, 10, 11, 14),
            0.04,
            ("product_quality", "after_sales"),
            ("orders",),
            1.6,
            90,
            "defective_item",
            False,
            "Faulty batch of a best-selling kettle sold in Asia: recall, replacement or refund.",
        ),
    ]


def crisis_event_block(crises: list[Crisis], tl: Timeline) -> Block:
    """One version when the crisis starts and, if it ends within the run, one with resolved_at."""
    rows = []
    for c in crises:
        if c.started_ts(tl) > tl.end_ts:
            continue
        resolved = c.resolved_ts(tl)
        start_export = max(c.start_day, tl.start_day)
        end_export = max(c.end_day, tl.start_day)
        if resolved <= tl.end_ts and end_export == start_export:
            rows.append((c, start_export, resolved))
        else:
            rows.append((c, start_export, fmt.NA_TS))
            if resolved <= tl.end_ts:
                rows.append((c, end_export, resolved))
    day = np.array([r[1] for r in rows], dtype=np.int64)
    return Block(
        "crisis_events",
        tl.export_index(day),
        {
            "crisis_event_id": fmt.text(np.array([r[0].crisis_id for r in rows], dtype=object)),
            "crisis_type": fmt.cat(
                np.array([CRISIS_TYPE.index(r[0].crisis_type) for r in rows]), CRISIS_TYPE
            ),
            "scope_level": fmt.cat(np.array([SCOPE_LEVEL.index(r[0].scope) for r in rows]), SCOPE_LEVEL),
            "opinion_level": fmt.cat(
                np.array([OPINION_LEVEL.index(r[0].opinion) for r in rows]), OPINION_LEVEL
            ),
            "started_at": fmt.ts(np.array([r[0].started_ts(tl) for r in rows], dtype=np.int64)),
            "resolved_at": fmt.ts(np.array([r[2] for r in rows], dtype=np.int64)),
            "description": fmt.text(np.array([r[0].description for r in rows], dtype=object)),
        },
    )


def affected_block(
    crises: list[Crisis],
    affected: list[np.ndarray],
    impact: list[np.ndarray],
    customer_number: np.ndarray,
    tl: Timeline,
) -> Block:
    """crisis_affected_customers rows, exported on the crisis start date."""
    ids, custs, days, imp_type, imp_val = [], [], [], [], []
    for c, idx, val in zip(crises, affected, impact, strict=True):
        ids.append(np.full(len(idx), c.crisis_id, dtype=object))
        custs.append(customer_number[idx])
        days.append(np.full(len(idx), c.start_day, dtype=np.int64))
        imp_type.append(np.full(len(idx), c.impact_type, dtype=object))
        imp_val.append(val)
    return Block(
        "crisis_affected_customers",
        tl.export_index(np.concatenate(days)),
        {
            "crisis_event_id": fmt.text(np.concatenate(ids)),
            "customer_id": fmt.ident("C", np.concatenate(custs), 7),
            "impact_type": fmt.text(np.concatenate(imp_type)),
            "impact_value": fmt.cents(np.concatenate(imp_val)),
        },
    )
