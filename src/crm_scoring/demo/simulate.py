"""Day-by-day behavioural simulation of one customer chunk (vectorised over customers).

Churn is a hazard process, so the data carries a learnable signal:
    hazard = base(segment) * exp(PAIN_COEF * pain - ENG_COEF * log_engagement) * crisis * newcomer
`pain` accumulates from the customer's own tickets (complaint, harsh tone, SLA breach, never
resolved, reopened, still dissatisfied at the revisit; compensation lowers it) and decays with a
half-life; `log_engagement` is a slow random walk (falling activity raises the hazard). When the
hazard fires the customer enters a decline phase (activity fades to zero over 1-7 weeks), then
stops all activity (churned).

Key accounts: the top KEY_ACCOUNT_SHARE of live customers by spend over the past year transact every
day, so a network-wide crisis always reaches them, and they escalate with a complaint on every day it
lasts (the high-value complaints AL-08 watches).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crm_scoring.demo.crisis import Crisis
from crm_scoring.demo.population import Population
from crm_scoring.demo.timeline import Timeline

NEVER = np.iinfo(np.int32).max
PAIN_COEF = 0.6
ENG_COEF = 0.9
PAIN_HALF_LIFE_DAYS = 60
NEWCOMER_DAYS, NEWCOMER_MULT = 60, 1.8
ENG_PHI_WEEK, ENG_SD = 0.87, 0.5  # weekly persistence ~ 0.98 per day
KEY_ACCOUNT_SHARE = 0.001  # at least one key account per chunk

# tones of the customer's text, in contract-independent codes
TONES = ("angry", "disappointed", "worried", "neutral", "satisfied")
TONE_PAIN = np.array([1.0, 0.7, 0.4, 0.0, -0.2])
PRIORITY_P = {
    "complaint": np.array([0.03, 0.12, 0.50, 0.35]),
    "crisis": np.array([0.15, 0.45, 0.35, 0.05]),
    "other": np.array([0.01, 0.05, 0.44, 0.50]),
}


@dataclass
class Tickets:
    cust: np.ndarray
    day: np.ndarray
    complaint: np.ndarray  # bool
    crisis: np.ndarray  # index into the crisis list, -1 none
    tone: np.ndarray
    priority: np.ndarray  # 0..3 = P0..P3
    breach: np.ndarray  # first response slower than its SLA target
    unresolved: np.ndarray
    reopen: np.ndarray
    compensated: np.ndarray
    dissatisfied: np.ndarray  # NPS 0-6 at the post-resolution revisit

    def __len__(self) -> int:
        return len(self.cust)


@dataclass
class SimResult:
    death_day: np.ndarray  # first day without any activity; NEVER if still active at the end
    decay_start: np.ndarray
    inter_cust: np.ndarray
    inter_day: np.ndarray
    inter_kind: np.ndarray  # 0 normal, 1 troubled (return-policy/help browsing), 2 outage login failure
    order_cust: np.ndarray
    order_day: np.ndarray
    tickets: Tickets
    affected: list[np.ndarray]
    impact: list[np.ndarray]  # impact_value in cents, aligned with affected


def simulate(rng: np.random.Generator, pop: Population, crises: list[Crisis], tl: Timeline) -> SimResult:
    n = len(pop)
    active_from = np.where(pop.dormant, NEVER, pop.reg_day).astype(np.int64)
    death = np.full(n, NEVER, dtype=np.int64)
    # dormant customers lapsed before the window: a death day before day 0 (used for closures)
    span = np.maximum(-1 - pop.reg_day - 30, 1)
    death[pop.dormant] = (pop.reg_day + 30 + np.floor(rng.random(n) * span).astype(np.int64))[pop.dormant]
    decay_start = np.full(n, NEVER, dtype=np.int64)
    decay_len = np.ones(n)
    log_eng = rng.normal(0, ENG_SD, n)
    innov = ENG_SD * np.sqrt(1 - ENG_PHI_WEEK**2)
    pain = np.zeros(n)
    pain_keep = 0.5 ** (1 / PAIN_HALF_LIFE_DAYS)
    region_of = [np.isin(pop.region, c.regions) if c.regions else np.ones(n, bool) for c in crises]
    affected = [np.zeros(n, bool) for _ in crises]
    key_accounts = [np.zeros(0, np.int64) for _ in crises]
    impact: list[np.ndarray] = [np.zeros(0, np.int64) for _ in crises]

    inter, orders, tickets = [], [], []
    for d in range(tl.n_days):
        alive = (active_from <= d) & (death > d)
        if d % 7 == 0:  # engagement drifts weekly (AR(1) in log space)
            log_eng = ENG_PHI_WEEK * log_eng + innov * rng.standard_normal(n)
        decaying = decay_start <= d
        frac = np.clip((d - decay_start) / decay_len, 0.0, 1.0)
        died = alive & decaying & (frac >= 1.0)
        death[died] = d
        alive &= ~died
        eng = np.exp(log_eng) * (1.0 - frac) * alive

        cmult = np.ones(n)
        crisis_lam = []
        for ci, c in enumerate(crises):
            if d == c.start_day:
                p = (
                    c.affect_prob
                    * (1.5 if c.login_failures else 1.0)
                    * np.where(pop.channel_pref == 0, 1.2, 0.8)
                )
                affected[ci] = alive & region_of[ci] & (rng.random(n) < p)
                if c.scope == "network_wide":
                    key_accounts[ci] = _key_accounts(pop, orders, d, alive)
                    affected[ci][key_accounts[ci]] = True
                impact[ci] = _impact(rng, c, pop, np.flatnonzero(affected[ci]))
            if c.raises_hazard_on(d):
                cmult *= np.where(affected[ci], c.hazard_mult, 1.0)
            if c.active_on(d):
                crisis_lam.append((ci, c))

        # one uniform per customer and day, split into mutually exclusive rare events
        # (churn onset, complaint, other ticket, order): Bernoulli ~ Poisson at these rates
        newcomer = np.where(d - pop.reg_day < NEWCOMER_DAYS, NEWCOMER_MULT, 1.0)
        hazard = pop.base_hazard * np.exp(PAIN_COEF * pain - ENG_COEF * log_eng) * cmult * newcomer
        hazard = np.where(alive & ~decaying, np.minimum(hazard, 0.5), 0.0)
        soft = np.minimum(np.sqrt(eng), 1.5)
        p_compl = pop.complaint_rate * (0.5 + 0.5 * soft) * (1 + 0.2 * pain) * alive
        p_other = pop.request_rate * soft
        p_order = np.minimum(pop.order_rate * eng, 0.4)
        u = rng.random(n)
        c1 = hazard
        c2 = c1 + p_compl
        c3 = c2 + p_other
        start = u < c1
        decay_start[start] = d
        decay_len[start] = rng.integers(7, 50, int(start.sum()))
        oc = np.flatnonzero((u >= c3) & (u < c3 + p_order))
        orders.append((oc.astype(np.int32), np.full(len(oc), d, np.int32)))

        live = np.flatnonzero(alive)
        k = rng.poisson(pop.interaction_rate[live] * eng[live])
        cust = np.repeat(live, k)
        custs = [cust]
        kinds = [(decaying | (pain > 1.5))[cust].astype(np.int8)]
        for ci, c in crisis_lam:
            if c.login_failures:
                hit = np.flatnonzero(affected[ci] & alive)
                kf = rng.poisson(0.6, len(hit))
                custs.append(np.repeat(hit, kf))
                kinds.append(np.full(int(kf.sum()), 2, np.int8))
        cust = np.concatenate(custs)
        inter.append((cust.astype(np.int32), np.full(len(cust), d, np.int32), np.concatenate(kinds)))

        parts = [
            (np.flatnonzero((u >= c1) & (u < c2)), True, -1),
            (np.flatnonzero((u >= c2) & (u < c3)), False, -1),
        ]
        for ci, c in crisis_lam:
            hit = np.flatnonzero(affected[ci] & alive)
            parts.append((hit[rng.random(len(hit)) < c.complaint_rate], True, ci))
            keys = key_accounts[ci]
            parts.append((keys[alive[keys]], True, ci))
        for tc, is_complaint, ci in parts:
            if len(tc):
                t = _ticket_day(rng, tc, d, is_complaint, ci, pop, pain)
                np.add.at(pain, tc, t.pop("pain"))
                tickets.append(t)
        pain *= pain_keep

    ic, idy, ik = (np.concatenate(x) for x in zip(*inter, strict=True))
    oc, od = (np.concatenate(x) for x in zip(*orders, strict=True))
    return SimResult(
        death_day=death,
        decay_start=decay_start,
        inter_cust=ic,
        inter_day=idy,
        inter_kind=ik,
        order_cust=oc,
        order_day=od,
        tickets=_stack(tickets),
        affected=[np.flatnonzero(a) for a in affected],
        impact=impact,
    )


def _ticket_day(
    rng: np.random.Generator,
    cust: np.ndarray,
    d: int,
    is_complaint: bool,
    crisis: int,
    pop: Population,
    pain: np.ndarray,
) -> dict[str, np.ndarray]:
    """Attributes of the tickets opened on day d that drive the customer's pain (and so churn)."""
    m = len(cust)
    kind = "crisis" if crisis >= 0 else ("complaint" if is_complaint else "other")
    prio = np.searchsorted(np.cumsum(PRIORITY_P[kind]), rng.random(m) * 0.999999)
    mood = (
        pop.grumpiness[cust] * 0.6
        + 0.35 * pain[cust]
        + rng.normal(0, 0.8, m)
        + (0.9 if is_complaint else -0.6)
        + (0.4 if crisis >= 0 else 0.0)
    )
    tone = np.select([mood > 1.6, mood > 0.9, mood > 0.3, mood > -0.8], [0, 1, 2, 3], 4)
    if crisis >= 0:  # crisis contacts are anxious rather than calm
        tone = np.where((tone == 3) & (rng.random(m) < 0.5), 2, tone)
    vip = pop.segment[cust] == 0
    p_breach = np.where(crisis >= 0, 0.45, np.where(vip, 0.05, 0.12)) + 0.04 * (prio >= 2)
    breach = rng.random(m) < p_breach
    unresolved = rng.random(m) < (0.07 if is_complaint else 0.03) + 0.05 * breach
    reopen = ~unresolved & (rng.random(m) < (0.08 if is_complaint else 0.02) + 0.05 * breach)
    resolved = ~unresolved
    compensated = (
        is_complaint & resolved & (rng.random(m) < 0.15 + 0.15 * (tone == 0) + 0.10 * (prio <= 1) + 0.1 * vip)
    )
    logit = -1.2 + 1.3 * (tone == 0) + 0.8 * (tone == 1) + 1.0 * breach + 0.8 * reopen - 0.9 * compensated
    dissatisfied = is_complaint & resolved & (rng.random(m) < 1 / (1 + np.exp(-logit)))
    if is_complaint:
        add = (
            0.8
            + TONE_PAIN[tone]
            + 0.8 * breach
            + 1.2 * unresolved
            + 0.5 * reopen
            + 0.8 * dissatisfied
            - 0.5 * compensated
        )
    else:
        add = 0.15 + 0.5 * (tone <= 1) + 0.5 * breach + 0.5 * unresolved
    return {
        "cust": cust.astype(np.int32),
        "day": np.full(m, d, np.int32),
        "complaint": np.full(m, is_complaint),
        "crisis": np.full(m, crisis, np.int8),
        "tone": tone.astype(np.int8),
        "priority": prio.astype(np.int8),
        "breach": breach,
        "unresolved": unresolved,
        "reopen": reopen,
        "compensated": compensated,
        "dissatisfied": dissatisfied,
        "pain": add,
    }


def _stack(parts: list[dict[str, np.ndarray]]) -> Tickets:
    fields = [f for f in Tickets.__dataclass_fields__]
    if not parts:
        empty = {f: np.zeros(0, np.int32) for f in fields}
        return Tickets(**empty)
    cat = {f: np.concatenate([p[f] for p in parts]) for f in fields}
    order = np.lexsort((cat["cust"], cat["day"]))
    return Tickets(**{f: v[order] for f, v in cat.items()})


def _key_accounts(
    pop: Population, orders: list[tuple[np.ndarray, np.ndarray]], d: int, alive: np.ndarray
) -> np.ndarray:
    """Live customers with the highest expected spend (orders x median basket) in the year before day d."""
    n = len(pop)
    recent = [oc[od >= d - 365] for oc, od in orders[-365:]]
    cust = np.concatenate(recent) if recent else np.zeros(0, np.int32)
    spend = np.bincount(cust, weights=pop.basket[cust], minlength=n) * alive
    k = max(1, int(round(n * KEY_ACCOUNT_SHARE)))
    top = np.argsort(-spend, kind="stable")[:k]
    return top[spend[top] > 0].astype(np.int64)


def _impact(rng: np.random.Generator, c: Crisis, pop: Population, idx: np.ndarray) -> np.ndarray:
    """impact_value in cents: delayed order value, exposed fields, or hours without service."""
    m = len(idx)
    if c.impact_type in ("delayed_delivery", "defective_item"):
        return np.round(pop.basket[idx] * rng.lognormal(0, 0.4, m) * 100).astype(np.int64)
    if c.impact_type == "data_exposed":
        return rng.integers(2, 6, m).astype(np.int64) * 100
    return np.round(rng.uniform(1.5, 30.0, m) * 100).astype(np.int64)


__all__ = ["simulate", "SimResult", "Tickets", "TONES", "NEVER"]
