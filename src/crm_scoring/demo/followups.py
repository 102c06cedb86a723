"""Surveys (CSAT after tickets, NPS revisits after complaints and crises, periodic NPS, a daily CSAT
pulse during network-wide crises) and compensations the CRM already granted (complaints, second
rounds, crises).

Scores follow the ticket experience: harsh tone, SLA breaches and reopens lower CSAT, and the
complaints flagged as still dissatisfied in the simulation answer the revisit with NPS 0-6.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crm_scoring.contract import COMPENSATION_TYPE, SURVEY_TRIGGER, SURVEY_TYPE
from crm_scoring.demo import fmt
from crm_scoring.demo.crisis import Crisis
from crm_scoring.demo.draw import choose_fixed, ids
from crm_scoring.demo.population import Population
from crm_scoring.demo.simulate import SimResult
from crm_scoring.demo.texts import survey_comments
from crm_scoring.demo.tickets import TicketFacts
from crm_scoring.demo.timeline import DAY, Timeline
from crm_scoring.demo.writer import Block

NA = fmt.NA_TS
TONE_CSAT = np.array([-1.6, -1.0, -0.5, 0.0, 0.3])
# crisis pulse: share of the affected asked each day, answer rate, and the unhappy share on the first
# day and its growth per day the crisis lasts (patience wears thin: the AL-03 bad-review jump)
PULSE_SHARE, PULSE_ANSWER, PULSE_UNHAPPY, PULSE_UNHAPPY_GROWTH = 0.5, 0.55, 0.2, 1.5


@dataclass
class Surveys:
    cust: np.ndarray
    stype: np.ndarray  # 0 CSAT, 1 NPS
    trigger: np.ndarray
    ticket: np.ndarray  # ticket number, -1 none
    crisis: np.ndarray  # crisis index, -1 none
    sent: np.ndarray
    responded: np.ndarray
    score: np.ndarray  # -1 unanswered


def alive_at(sim: SimResult, tl: Timeline, cust: np.ndarray, ts: np.ndarray) -> np.ndarray:
    return tl.day_of(ts) < sim.death_day[cust]


def _answer(
    rng: np.random.Generator, sim: SimResult, tl: Timeline, cust: np.ndarray, sent: np.ndarray, p: float
) -> tuple[np.ndarray, np.ndarray]:
    """Answered surveys come back within hours, inside the day they were sent."""
    m = len(cust)
    ok = (rng.random(m) < p) & alive_at(sim, tl, cust, sent)
    day_end = tl.ts(tl.day_of(sent) + 1) - 1
    return ok, np.where(ok, np.minimum(sent + rng.integers(300, 6 * 3600, m), day_end), NA)


def _nps(rng: np.random.Generator, unhappy: np.ndarray) -> np.ndarray:
    low = rng.choice(7, size=len(unhappy), p=[0.08, 0.06, 0.08, 0.12, 0.16, 0.22, 0.28])
    high = rng.choice([7, 8, 9, 10], size=len(unhappy), p=[0.25, 0.3, 0.25, 0.2])
    return np.where(unhappy, low, high)


def draw_surveys(
    rng: np.random.Generator,
    pop: Population,
    sim: SimResult,
    f: TicketFacts,
    crises: list[Crisis],
    tl: Timeline,
) -> Surveys:
    parts = []
    # CSAT after closure, within 24 h
    sel = np.flatnonzero((f.closed != NA) & ~f.anonymous & (rng.random(len(f.cust)) < 0.7))
    sent = f.closed[sel] + rng.integers(600, 20 * 3600, len(sel))
    c = f.cust[sel]
    ok, resp = _answer(rng, sim, tl, c, sent, 0.45)
    raw = (
        4.3
        + TONE_CSAT[f.tone[sel]]
        - 0.9 * f.breach[sel]
        - 0.6 * f.reopened[sel]
        + rng.normal(0, 0.6, len(sel))
    )
    score = np.where(ok, np.clip(np.round(raw), 1, 5), -1)
    parts.append((c, 0, 0, f.number[sel], -1, sent, resp, score))
    # NPS revisit ~7 days after a complaint is resolved
    sel = np.flatnonzero((f.resolved != NA) & f.complaint & (rng.random(len(f.cust)) < 0.8))
    sent = f.resolved[sel] + rng.integers(5 * DAY, 8 * DAY, len(sel))
    c = f.cust[sel]
    ok, resp = _answer(rng, sim, tl, c, sent, 0.55)
    parts.append((c, 1, 1, f.number[sel], -1, sent, resp, np.where(ok, _nps(rng, f.dissatisfied[sel]), -1)))
    # post-crisis revisit within a week of the crisis ending
    for ci, cr in enumerate(crises):
        aff = sim.affected[ci]
        aff = aff[rng.random(len(aff)) < 0.5]
        sent = cr.resolved_ts(tl) + rng.integers(DAY, 7 * DAY, len(aff))
        ok, resp = _answer(rng, sim, tl, aff, sent, 0.5)
        unhappy = rng.random(len(aff)) < 0.45
        parts.append((aff, 1, 2, -1, ci, sent, resp, np.where(ok, _nps(rng, unhappy), -1)))
    # daily CSAT pulse (periodic) to a sample of the customers hit by a network-wide crisis while it lasts
    for ci, cr in enumerate(crises):
        if cr.scope != "network_wide":
            continue
        aff = sim.affected[ci]
        for k in range(cr.duration_days):
            asked = aff[rng.random(len(aff)) < PULSE_SHARE]
            sent = tl.ts(np.full(len(asked), cr.start_day + k), rng.integers(9 * 3600, 12 * 3600, len(asked)))
            ok, resp = _answer(rng, sim, tl, asked, sent, PULSE_ANSWER)
            unhappy = rng.random(len(asked)) < min(0.9, PULSE_UNHAPPY * PULSE_UNHAPPY_GROWTH**k)
            csat = np.where(unhappy, rng.integers(1, 4, len(asked)), rng.integers(4, 6, len(asked)))
            parts.append((asked, 0, 3, -1, ci, sent, resp, np.where(ok, csat, -1)))
    # periodic relationship NPS
    n = len(pop)
    k = rng.poisson(tl.n_days / 180 * 0.4, n)
    c = np.repeat(np.arange(n), k)
    lo = np.maximum(pop.reg_day[c], 0)
    hi = np.minimum(sim.death_day[c], tl.n_days)
    keep = hi > lo
    c, lo, hi = c[keep], lo[keep], hi[keep]
    sent = tl.ts(
        lo + np.floor(rng.random(len(c)) * (hi - lo)).astype(np.int64),
        rng.integers(8 * 3600, 20 * 3600, len(c)),
    )
    ok, resp = _answer(rng, sim, tl, c, sent, 0.3)
    unhappy = rng.random(len(c)) < 1 / (1 + np.exp(-(-1.0 + 0.8 * pop.grumpiness[c])))
    parts.append((c, 1, 3, -1, -1, sent, resp, np.where(ok, _nps(rng, unhappy), -1)))

    cols = list(zip(*[[np.broadcast_to(np.asarray(x), len(p[0])) for x in p] for p in parts], strict=True))
    s = Surveys(*(np.concatenate(col).astype(np.int64) for col in cols))
    keep = s.sent <= tl.end_ts
    return Surveys(*(getattr(s, name)[keep] for name in Surveys.__dataclass_fields__))


def surveys_block(
    rng: np.random.Generator, chunk_no: int, pop: Population, s: Surveys, crises: list[Crisis], tl: Timeline
) -> Block:
    m = len(s.cust)
    answered = s.score >= 0
    comment = survey_comments(
        rng, s.score, np.where(s.stype == 0, 5, 10), answered & (rng.random(m) < 0.4), pop.email[s.cust]
    )
    crisis_ids = np.array([c.crisis_id for c in crises] + [""], dtype=object)
    return Block(
        "surveys",
        tl.export_index(tl.day_of(s.sent)),
        {
            "survey_id": fmt.ident("SV", ids(chunk_no, m, 10**8), 10),
            "customer_id": fmt.lookup(pop.cid, s.cust),
            "survey_type": fmt.cat(s.stype, SURVEY_TYPE),
            "trigger_type": fmt.cat(s.trigger, SURVEY_TRIGGER),
            "related_ticket_id": fmt.text(
                np.array([f"TK{t:010d}" if t >= 0 else "" for t in s.ticket], dtype=object)
            ),
            "related_crisis_event_id": fmt.text(crisis_ids[s.crisis]),
            "sent_at": fmt.ts(s.sent),
            "responded_at": fmt.ts(s.responded),
            "score": fmt.integer(s.score),
            "comment": fmt.text(comment),
        },
    )


# compensation types by code, and amount ranges (CNY) for the ones that carry money
COMP = {name: i for i, name in enumerate(COMPENSATION_TYPE)}
MONEY = {"voucher": (20, 300), "refund": (50, 800), "in_kind": (100, 500)}


@dataclass
class Compensations:
    cust: np.ndarray
    ticket: np.ndarray
    crisis: np.ndarray
    round_no: np.ndarray
    ctype: np.ndarray
    issued: np.ndarray


def draw_compensations(
    rng: np.random.Generator,
    pop: Population,
    sim: SimResult,
    f: TicketFacts,
    s: Surveys,
    crises: list[Crisis],
    tl: Timeline,
) -> Compensations:
    parts = []
    # first round for complaints the CRM compensated after resolution
    sel = np.flatnonzero(f.compensated & (f.resolved != NA))
    vip = pop.segment[f.cust[sel]] == 0
    regular_t = np.array(
        [COMP[x] for x in ("voucher", "points", "refund", "priority_handling", "service_extension")]
    )[choose_fixed(rng, [0.35, 0.30, 0.15, 0.10, 0.10], len(sel))]
    vip_t = np.array([COMP[x] for x in ("voucher", "dedicated_advisor", "in_kind")])[
        rng.integers(0, 3, len(sel))
    ]
    parts.append(
        (
            f.cust[sel],
            f.number[sel],
            -1,
            1,
            np.where(vip, vip_t, regular_t),
            f.resolved[sel] + rng.integers(3600, 72 * 3600, len(sel)),
        )
    )
    # second round for complaints still dissatisfied at the revisit (NPS 0-6)
    sel = np.flatnonzero(
        (s.trigger == 1) & (s.score >= 0) & (s.score <= 6) & (rng.random(len(s.cust)) < 0.35)
    )
    parts.append(
        (
            s.cust[sel],
            s.ticket[sel],
            -1,
            2,
            np.array([COMP["voucher"], COMP["points"], COMP["membership_rights"]])[
                rng.integers(0, 3, len(sel))
            ],
            s.responded[sel] + rng.integers(DAY, 3 * DAY, len(sel)),
        )
    )
    # crisis compensation already granted by hand
    for ci, cr in enumerate(crises):
        aff = sim.affected[ci]
        if cr.crisis_type == "logistics":
            got = aff[rng.random(len(aff)) < 0.6]
            parts.append(
                (got, -1, ci, 1, COMP["voucher"], cr.resolved_ts(tl) + rng.integers(DAY, 5 * DAY, len(got)))
            )
        elif cr.crisis_type == "data_breach":
            got = aff[rng.random(len(aff)) < 0.8]
            parts.append(
                (
                    got,
                    -1,
                    ci,
                    1,
                    COMP["consultation"],
                    cr.resolved_ts(tl) + rng.integers(DAY, 3 * DAY, len(got)),
                )
            )
        else:
            got = aff[rng.random(len(aff)) < 0.05]
            parts.append(
                (got, -1, ci, 1, COMP["points"], cr.started_ts(tl) + rng.integers(DAY, 2 * DAY, len(got)))
            )
    cols = list(zip(*[[np.broadcast_to(np.asarray(x), len(p[0])) for x in p] for p in parts], strict=True))
    c = Compensations(*(np.concatenate(col).astype(np.int64) for col in cols))
    keep = c.issued <= tl.end_ts
    return Compensations(*(getattr(c, name)[keep] for name in Compensations.__dataclass_fields__))


def compensations_block(
    rng: np.random.Generator,
    chunk_no: int,
    pop: Population,
    c: Compensations,
    crises: list[Crisis],
    tl: Timeline,
) -> Block:
    m = len(c.cust)
    amount = np.full(m, -1, dtype=np.int64)
    for name, (lo, hi) in MONEY.items():
        sel = c.ctype == COMP[name]
        amount[sel] = rng.integers(lo * 100, hi * 100, int(sel.sum())) // 100 * 100
    points = np.where(c.ctype == COMP["points"], rng.integers(2, 31, m) * 100, -1)
    crisis_ids = np.array([x.crisis_id for x in crises] + [""], dtype=object)
    return Block(
        "compensations",
        tl.export_index(tl.day_of(c.issued)),
        {
            "compensation_id": fmt.ident("CP", ids(chunk_no, m, 10**8), 10),
            "customer_id": fmt.lookup(pop.cid, c.cust),
            "ticket_id": fmt.text(
                np.array([f"TK{t:010d}" if t >= 0 else "" for t in c.ticket], dtype=object)
            ),
            "crisis_event_id": fmt.text(crisis_ids[c.crisis]),
            "round_no": fmt.integer(c.round_no),
            "compensation_type": fmt.cat(c.ctype, COMPENSATION_TYPE),
            "amount": fmt.cents(amount),
            "points": fmt.integer(points),
            "issued_at": fmt.ts(c.issued),
        },
    )
