"""Support tickets with their lifecycle (first response, resolution, closure, reopen).

Each ticket is exported in the folder of every date on which its state changed, with the state
as of the end of that date, so a loader that keeps the latest `updated_at` sees the lifecycle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crm_scoring.contract import (
    CATEGORY_L1,
    COMPLAINT_TYPE,
    COMPLEXITY,
    PRIORITY,
    SEVERITY,
    TICKET_CHANNEL,
    TICKET_STATUS,
    TICKET_TYPE,
)
from crm_scoring.demo import fmt
from crm_scoring.demo.activity import not_before_registration
from crm_scoring.demo.crisis import Crisis
from crm_scoring.demo.draw import choose, choose_fixed, ids
from crm_scoring.demo.population import Population
from crm_scoring.demo.simulate import SimResult
from crm_scoring.demo.texts import ticket_texts
from crm_scoring.demo.timeline import DAY, Timeline, time_of_day
from crm_scoring.demo.writer import Block

NA = fmt.NA_TS
MODULES = ("login", "payment", "messaging", "personal_centre", "checkout", "delivery", "orders", "search")
# category_l1 per module: function, performance, security, other
MODULE_L1 = {
    "login": (0.45, 0.15, 0.40, 0.0),
    "payment": (0.55, 0.30, 0.15, 0.0),
    "messaging": (0.6, 0.4, 0.0, 0.0),
    "personal_centre": (0.6, 0.1, 0.3, 0.0),
    "checkout": (0.6, 0.4, 0.0, 0.0),
    "delivery": (0.1, 0.1, 0.0, 0.8),
    "orders": (0.3, 0.1, 0.0, 0.6),
    "search": (0.5, 0.5, 0.0, 0.0),
}
COMPLAINT_P = {
    "product_quality": 0.15,
    "service_delay": 0.12,
    "logistics_delay": 0.20,
    "technical": 0.18,
    "billing": 0.12,
    "after_sales": 0.12,
    "account_anomaly": 0.05,
    "data_security": 0.02,
    "other": 0.04,
}
COMPLAINT_MODULES = {
    "product_quality": ("orders",),
    "service_delay": ("messaging", "orders"),
    "logistics_delay": ("delivery",),
    "technical": ("login", "payment", "messaging", "personal_centre", "checkout", "search"),
    "billing": ("payment",),
    "after_sales": ("orders", "delivery"),
    "account_anomaly": ("login", "personal_centre"),
    "data_security": ("personal_centre",),
    "other": MODULES,
}
OTHER_TYPES = ("inquiry", "request", "feedback", "incident")
OTHER_TYPE_P = (0.50, 0.30, 0.12, 0.08)
CHANNEL_P = {
    "complaint": (0.25, 0.25, 0.20, 0.08, 0.12, 0.05, 0.05),
    "crisis": (0.20, 0.25, 0.10, 0.25, 0.15, 0.02, 0.03),
    "other": (0.15, 0.30, 0.20, 0.02, 0.15, 0.05, 0.13),
}
FRT_TARGET = np.array([15 * 60, 30 * 60, 4 * 3600, 4 * 3600])  # first-response SLA by priority
TTR_MEDIAN = np.array([2 * 3600, 6 * 3600, 20 * 3600, 60 * 3600])


@dataclass
class TicketFacts:
    """What the follow-ups (surveys, compensations, contacts) need, one entry per ticket."""

    number: np.ndarray
    cust: np.ndarray
    complaint: np.ndarray
    crisis: np.ndarray
    tone: np.ndarray
    breach: np.ndarray
    reopened: np.ndarray
    compensated: np.ndarray
    dissatisfied: np.ndarray
    anonymous: np.ndarray
    resolved: np.ndarray  # first resolution ts (NA if none by the end)
    closed: np.ndarray  # first closure ts (NA if none by the end)


def tickets_block(
    rng: np.random.Generator,
    chunk_no: int,
    pop: Population,
    sim: SimResult,
    crises: list[Crisis],
    tl: Timeline,
) -> tuple[Block, TicketFacts]:
    t = sim.tickets
    m = len(t)
    number = ids(chunk_no, m, 10**7)
    crisis = t.crisis.astype(np.int64)
    is_crisis = crisis >= 0

    ctype = np.full(m, -1)
    names = list(COMPLAINT_P)
    normal_c = t.complaint & ~is_crisis
    ctype[normal_c] = np.array([COMPLAINT_TYPE.index(c) for c in names])[
        choose_fixed(rng, list(COMPLAINT_P.values()), int(normal_c.sum()))
    ]
    for ci, c in enumerate(crises):
        sel = crisis == ci
        codes = np.array([COMPLAINT_TYPE.index(x) for x in c.complaint_types])
        ctype[sel] = codes[rng.integers(0, len(codes), int(sel.sum()))]
    ttype = np.where(
        t.complaint,
        0,
        np.array([TICKET_TYPE.index(x) for x in OTHER_TYPES])[choose_fixed(rng, OTHER_TYPE_P, m)],
    )

    module = np.empty(m, dtype=object)
    pick = rng.integers(0, 1 << 20, m)
    for i in range(m):
        if ctype[i] >= 0:
            opts = COMPLAINT_MODULES[COMPLAINT_TYPE[ctype[i]]]
            if is_crisis[i]:
                opts = crises[crisis[i]].modules
        else:
            opts = MODULES
        module[i] = opts[pick[i] % len(opts)]
    mod_idx = np.array([MODULES.index(x) for x in module]) if m else np.zeros(0, np.int64)
    l1 = choose(rng, np.array([MODULE_L1[x] for x in MODULES]), mod_idx)
    kind = np.where(is_crisis, 1, np.where(t.complaint, 0, 2))
    chan_p = np.array([CHANNEL_P["complaint"], CHANNEL_P["crisis"], CHANNEL_P["other"]])
    channel = choose(rng, chan_p, kind)
    prio = t.priority.astype(np.int64)
    urgent = np.where(rng.random(m) < 0.1, -1, ((prio <= 1) | (rng.random(m) < 0.03)).astype(np.int8))
    complexity = (rng.random(m) < np.where(prio <= 1, 0.7, 0.25)).astype(np.int64)
    complexity = np.where(rng.random(m) < 0.1, -1, complexity)  # simple=0, complex=1
    severity = np.select(
        [prio == 0, prio == 1, prio == 2], [2, 1 + (rng.random(m) < 0.5), rng.integers(0, 2, m)], 0
    )

    # lifecycle timestamps
    created = not_before_registration(rng, tl.ts(t.day, time_of_day(rng, m)), pop.reg_ts[t.cust])
    frt = FRT_TARGET[prio] * np.where(t.breach, 1.1 + rng.exponential(1.5, m), rng.uniform(0.05, 0.95, m))
    first = created + frt.astype(np.int64)
    ttr = TTR_MEDIAN[prio] * rng.lognormal(0, 0.8, m) * np.where(t.breach, 2.0, 1.0)
    resolved = np.where(t.unresolved, NA, first + 600 + ttr.astype(np.int64))
    closed = np.where(
        (resolved != NA) & (rng.random(m) < 0.85), resolved + rng.integers(3600, 72 * 3600, m), NA
    )
    reopen = np.where(t.reopen & (closed != NA), closed + rng.integers(DAY, 10 * DAY, m), NA)
    death_ts = tl.ts(sim.death_day[t.cust].clip(max=tl.n_days + 1))
    reopen = np.where(reopen < death_ts, reopen, NA)  # only a customer still around reopens
    res2 = np.where(reopen != NA, reopen + (DAY * rng.lognormal(0, 0.6, m)).astype(np.int64), NA)
    close2 = np.where(res2 != NA, res2 + rng.integers(3600, 48 * 3600, m), NA)
    events = np.stack([created, first, resolved, closed, reopen, res2, close2], axis=1)
    events = np.where((events != NA) & (events <= tl.end_ts), events, NA)

    # one version per (ticket, folder in which something happened)
    valid = events != NA
    tix = np.broadcast_to(np.arange(m)[:, None], events.shape)[valid]
    folder = tl.export_index(tl.day_of(events[valid]))
    key = np.unique(tix.astype(np.int64) * tl.n_dates + folder)
    v_t, v_f = key // tl.n_dates, key % tl.n_dates
    asof = tl.ts(v_f + tl.start_day + 1) - 1
    ev = events[v_t]
    seen = (ev != NA) & (ev <= asof[:, None])
    got = {name: seen[:, i] for i, name in enumerate(("c", "f", "r", "x", "o", "r2", "x2"))}
    status = np.select(
        [got["o"] & got["x2"], got["o"] & got["r2"], got["o"], got["x"], got["r"], got["f"]],
        [3, 2, 4, 3, 2, 1],
        0,
    )
    first_at = np.where(got["f"], ev[:, 1], NA)
    resolved_at = np.where(got["o"], np.where(got["r2"], ev[:, 5], NA), np.where(got["r"], ev[:, 2], NA))
    closed_at = np.where(got["o"], np.where(got["x2"], ev[:, 6], NA), np.where(got["x"], ev[:, 3], NA))
    updated = np.where(seen, ev, np.iinfo(np.int64).min).max(axis=1)

    anonymous = ~t.complaint & (rng.random(m) < 0.01)
    topic = [COMPLAINT_TYPE[c] if c >= 0 else TICKET_TYPE[tt] for c, tt in zip(ctype, ttype, strict=True)]
    text = ticket_texts(
        rng, t.tone, topic, list(module), pop.zh[t.cust], pop.email[t.cust], pop.phone[t.cust], number
    )
    lang = np.array(["zh-CN" if s and ord(s[0]) > 127 else "en" for s in text], dtype=object)
    crisis_id = np.array([crises[c].crisis_id if c >= 0 else "" for c in crisis], dtype=object)
    block = Block(
        "tickets",
        v_f,
        {
            "ticket_id": fmt.ident("TK", number[v_t], 10),
            "customer_id": fmt.lookup(np.where(anonymous, "", pop.cid[t.cust]), v_t),
            "created_at": fmt.ts(created[v_t]),
            "ticket_type": fmt.cat(ttype[v_t], TICKET_TYPE),
            "channel": fmt.cat(channel[v_t], TICKET_CHANNEL),
            "priority": fmt.cat(prio[v_t], PRIORITY),
            "is_urgent": fmt.boolean(urgent[v_t]),
            "complexity": fmt.cat(complexity[v_t], COMPLEXITY),
            "severity": fmt.cat(severity[v_t], SEVERITY),
            "category_l1": fmt.cat(l1[v_t], CATEGORY_L1),
            "module_l2": fmt.text(module[v_t]),
            "complaint_type": fmt.cat(ctype[v_t], COMPLAINT_TYPE),
            "status": fmt.cat(status, TICKET_STATUS),
            "first_response_at": fmt.ts(first_at),
            "resolved_at": fmt.ts(resolved_at),
            "closed_at": fmt.ts(closed_at),
            "reopened_count": fmt.integer(got["o"].astype(np.int64)),
            "crisis_event_id": fmt.text(crisis_id[v_t]),
            "language": fmt.text(lang[v_t]),
            "text": fmt.text(text[v_t]),
            "updated_at": fmt.ts(updated),
        },
    )
    facts = TicketFacts(
        number=number,
        cust=t.cust.astype(np.int64),
        complaint=t.complaint,
        crisis=crisis,
        tone=t.tone,
        breach=t.breach,
        reopened=events[:, 4] != NA,
        compensated=t.compensated,
        dissatisfied=t.dissatisfied,
        anonymous=anonymous,
        resolved=events[:, 2],
        closed=events[:, 3],
    )
    return block, facts
