"""Consents: service and profiling granted at registration, marketing per channel, some
withdrawn later (at random or by opting out of a marketing contact)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crm_scoring.contract import CONSENT_CHANNEL, CONSENT_PURPOSE, CONSENT_STATUS
from crm_scoring.demo import fmt
from crm_scoring.demo.population import Population
from crm_scoring.demo.simulate import SimResult
from crm_scoring.demo.timeline import Timeline
from crm_scoring.demo.writer import Block

NA = fmt.NA_TS
MARKETING_CHANNELS = ("email", "sms", "app_push", "wechat")
GRANT_P = np.array([0.60, 0.35, 0.50, 0.10])
GRANT_P_ZH = np.array([0.45, 0.40, 0.50, 0.65])


@dataclass
class ConsentState:
    profiling: np.ndarray  # bool
    marketing: np.ndarray  # (n, 4) bool: granted at registration
    withdrawn: np.ndarray  # (n, 4) ts of a spontaneous withdrawal, NA none


def draw_consents(rng: np.random.Generator, pop: Population, sim: SimResult, tl: Timeline) -> ConsentState:
    n = len(pop)
    p = np.where(pop.zh[:, None], GRANT_P_ZH, GRANT_P)
    marketing = rng.random((n, 4)) < p
    lo = np.maximum(pop.reg_day, 0)
    when = tl.ts(
        lo[:, None] + np.floor(rng.random((n, 4)) * (tl.n_days - lo[:, None])).astype(np.int64),
        rng.integers(0, 86_400, (n, 4)),
    )
    withdrawn = np.where(marketing & (rng.random((n, 4)) < 0.04) & (when > pop.reg_ts[:, None]), when, NA)
    return ConsentState(profiling=rng.random(n) < 0.75, marketing=marketing, withdrawn=withdrawn)


def consents_block(
    pop: Population, st: ConsentState, optouts: tuple[np.ndarray, np.ndarray, np.ndarray], tl: Timeline
) -> Block:
    n = len(pop)
    p_service, p_marketing, p_profiling = (
        CONSENT_PURPOSE.index(x) for x in ("service", "marketing", "profiling")
    )
    any_ch = CONSENT_CHANNEL.index("any")
    mch = np.array([CONSENT_CHANNEL.index(x) for x in MARKETING_CHANNELS])
    cust, purpose, channel, status, ts = [], [], [], [], []

    def add(c, pu, ch, s, t):
        cust.append(c)
        purpose.append(np.broadcast_to(pu, len(c)))
        channel.append(np.broadcast_to(ch, len(c)))
        status.append(np.broadcast_to(s, len(c)))
        ts.append(t)

    everyone = np.arange(n)
    add(everyone, p_service, any_ch, 0, pop.reg_ts)
    prof = np.flatnonzero(st.profiling)
    add(prof, p_profiling, any_ch, 0, pop.reg_ts[prof] + 1)
    for j in range(4):
        g = np.flatnonzero(st.marketing[:, j])
        add(g, p_marketing, mch[j], 0, pop.reg_ts[g] + 2 + j)
        w = np.flatnonzero(st.withdrawn[:, j] != NA)
        add(w, p_marketing, mch[j], 1, st.withdrawn[w, j])
    oc, och, ots = optouts
    add(oc, p_marketing, mch[och] if len(och) else np.zeros(0, np.int64), 1, ots)
    ts_all = np.concatenate(ts)
    keep = ts_all <= tl.end_ts
    c = np.concatenate(cust)[keep]
    return Block(
        "consents",
        tl.export_index(tl.day_of(ts_all[keep])),
        {
            "customer_id": fmt.lookup(pop.cid, c),
            "purpose": fmt.cat(np.concatenate(purpose)[keep], CONSENT_PURPOSE),
            "channel": fmt.cat(np.concatenate(channel)[keep], CONSENT_CHANNEL),
            "status": fmt.cat(np.concatenate(status)[keep], CONSENT_STATUS),
            "status_ts": fmt.ts(ts_all[keep]),
        },
    )
