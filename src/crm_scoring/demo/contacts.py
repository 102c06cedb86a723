"""Outbound contact history of the source CRM: compensation notices, revisit calls, crisis status
updates, monthly marketing (consent-gated, with opt-outs), wake-up and win-back attempts, and
account-manager care calls for the top segment.

Every other e-mail campaign is a small A/B send-time test (RP-11): arm A is the usual 10:00 UTC send,
arm B goes out two hours earlier and converts slightly better (accepted 7 % instead of 5 %, planted in
MKT_OUTCOME_P_B). With a few hundred contacts per arm such a difference is usually *not* significant,
which is what an honest report of a small test shows. The arm is a hash of the customer and the
campaign, and arm A's outcomes come from the very uniform draws the untested campaigns use, so the
random stream, and every other demo output, is the same as without the test."""

from __future__ import annotations

from datetime import date

import numpy as np

from crm_scoring.contract import CONTACT_CHANNEL, CONTACT_OUTCOME, CONTACT_PURPOSE
from crm_scoring.demo import fmt
from crm_scoring.demo.consents import MARKETING_CHANNELS, ConsentState
from crm_scoring.demo.crisis import Crisis
from crm_scoring.demo.draw import choose_fixed, ids
from crm_scoring.demo.followups import Compensations, Surveys
from crm_scoring.demo.population import Population
from crm_scoring.demo.simulate import NEVER, SimResult
from crm_scoring.demo.timeline import Timeline, time_of_day
from crm_scoring.demo.writer import Block

NA = fmt.NA_TS
CH = {name: i for i, name in enumerate(CONTACT_CHANNEL)}
PU = {name: i for i, name in enumerate(CONTACT_PURPOSE)}
OUT = {name: i for i, name in enumerate(CONTACT_OUTCOME)}
MKT_OUTCOME = ("delivered", "opened", "responded", "accepted", "opted_out")
MKT_OUTCOME_P = (0.52, 0.33, 0.09, 0.05, 0.01)
MKT_OUTCOME_P_B = (0.45, 0.36, 0.11, 0.07, 0.01)  # arm B of an A/B campaign (see the module docstring)
AB_EVERY = 4  # campaign k is an A/B test when k % AB_EVERY == 0 (every other e-mail campaign)
AB_B_SHIFT_S = -2 * 3600  # arm B is sent two hours earlier


def ab_arm_b(customers: np.ndarray, campaign_no: int) -> np.ndarray:
    """Arm B for about half of the customers, fixed per (customer, campaign); no random draw."""
    h = (customers.astype(np.uint64) + np.uint64(campaign_no)) * np.uint64(0x9E3779B1)
    return ((h >> np.uint64(16)) & np.uint64(1)).astype(bool)


def _outcomes_by_arm(rng: np.random.Generator, arm_b: np.ndarray) -> np.ndarray:
    """Marketing outcomes: the draw `rng.choice(p=MKT_OUTCOME_P)` makes (one uniform per contact, read
    through the cumulative shares), with arm B's contacts read through MKT_OUTCOME_P_B instead."""
    u = rng.random(len(arm_b))
    shares = [np.asarray(p, dtype=float) / sum(p) for p in (MKT_OUTCOME_P, MKT_OUTCOME_P_B)]
    cdf_a, cdf_b = (np.cumsum(p) / np.cumsum(p)[-1] for p in shares)
    cdf = np.where(arm_b[:, None], cdf_b, cdf_a)
    idx = np.minimum((cdf <= u[:, None]).sum(axis=1), len(MKT_OUTCOME) - 1)
    return np.array([OUT[x] for x in MKT_OUTCOME])[idx]


def _pick(
    rng: np.random.Generator, names: tuple[str, ...], p: tuple[float, ...], lookup: dict[str, int], n: int
) -> np.ndarray:
    return np.array([lookup[x] for x in names])[choose_fixed(rng, list(p), n)]


def campaign_days(tl: Timeline) -> list[tuple[int, str]]:
    """The 5th of every month inside the window, with a campaign id."""
    out = []
    y, m = tl.history_start.year, tl.history_start.month
    while True:
        d = (date(y, m, 5) - tl.history_start).days
        if d > tl.end_day:
            return out
        if d >= 0:
            out.append((d, f"CMP-{y}{m:02d}"))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def draw_contacts(
    rng: np.random.Generator,
    chunk_no: int,
    pop: Population,
    sim: SimResult,
    s: Surveys,
    comp: Compensations,
    consent: ConsentState,
    crises: list[Crisis],
    tl: Timeline,
) -> tuple[Block, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    n = len(pop)
    parts = []  # (cust, ts, channel, purpose, outcome, campaign, ab_variant)
    # compensation notices
    m = len(comp.cust)
    parts.append(
        (
            comp.cust,
            comp.issued + 600,
            _pick(rng, ("sms", "email", "app_push"), (0.4, 0.4, 0.2), CH, m),
            PU["compensation_notice"],
            _pick(rng, ("delivered", "opened"), (0.5, 0.5), OUT, m),
            "",
            "",
        )
    )
    # revisit calls that carried the post-resolution NPS survey
    sel = np.flatnonzero(s.trigger == 1)
    m = len(sel)
    parts.append(
        (
            s.cust[sel],
            s.sent[sel] - rng.integers(60, 600, m),
            _pick(rng, ("phone", "sms", "email"), (0.5, 0.3, 0.2), CH, m),
            PU["revisit"],
            np.where(s.score[sel] >= 0, OUT["responded"], OUT["no_answer"]),
            "",
            "",
        )
    )
    # crisis status updates to affected customers
    for ci, cr in enumerate(crises):
        aff = sim.affected[ci]
        m = len(aff)
        parts.append(
            (
                aff,
                cr.started_ts(tl) + rng.integers(3600, 4 * 3600, m),
                _pick(rng, ("app_push", "sms", "email"), (0.5, 0.3, 0.2), CH, m),
                PU["status_update"],
                _pick(rng, ("delivered", "opened"), (0.6, 0.4), OUT, m),
                "",
                "",
            )
        )
    # wake-up when activity fades, win-back after it stopped
    sel = np.flatnonzero((sim.decay_start < NEVER) & (rng.random(n) < 0.15))
    m = len(sel)
    parts.append(
        (
            sel,
            tl.ts(sim.decay_start[sel] + rng.integers(7, 11, m), time_of_day(rng, m)),
            _pick(rng, ("sms", "email", "app_push"), (0.3, 0.4, 0.3), CH, m),
            PU["wake_up"],
            _pick(rng, ("delivered", "opened", "responded"), (0.6, 0.3, 0.1), OUT, m),
            "",
            "",
        )
    )
    sel = np.flatnonzero((sim.death_day < NEVER) & (sim.death_day >= 0) & (rng.random(n) < 0.2))
    m = len(sel)
    parts.append(
        (
            sel,
            tl.ts(sim.death_day[sel] + rng.integers(30, 91, m), time_of_day(rng, m)),
            _pick(rng, ("phone", "email", "sms"), (0.3, 0.4, 0.3), CH, m),
            PU["winback"],
            _pick(rng, ("no_answer", "declined", "opened", "accepted"), (0.5, 0.25, 0.2, 0.05), OUT, m),
            "",
            "",
        )
    )
    # quarterly care calls by account managers (top segment)
    top = np.flatnonzero(pop.account_manager >= 0)
    for d in range(15, tl.n_days, 91):
        c = top[(pop.reg_day[top] <= d) & (sim.death_day[top] > d) & (rng.random(len(top)) < 0.7)]
        m = len(c)
        parts.append(
            (
                c,
                tl.ts(np.full(m, d), rng.integers(9 * 3600, 17 * 3600, m)),
                _pick(rng, ("phone", "video", "wechat"), (0.6, 0.2, 0.2), CH, m),
                PU["care"],
                _pick(rng, ("responded", "no_answer"), (0.7, 0.3), OUT, m),
                "",
                "",
            )
        )
    # monthly marketing, only on channels with consent, with opt-outs withdrawing it
    optout = np.full((n, 4), NA, dtype=np.int64)
    for k, (d, campaign) in enumerate(campaign_days(tl)):
        j = (0, 2)[k % 2]  # alternate e-mail and app push
        ts = tl.ts(np.full(n, d), 10 * 3600 + rng.integers(0, 3600, n))
        arm_b = ab_arm_b(np.arange(n), k) if k % AB_EVERY == 0 else np.zeros(n, dtype=bool)
        ts = np.where(arm_b, ts + AB_B_SHIFT_S, ts)
        ok = (
            (pop.reg_day <= d)
            & (sim.death_day > d)
            & consent.marketing[:, j]
            & ((consent.withdrawn[:, j] == NA) | (consent.withdrawn[:, j] > ts))
            & (optout[:, j] == NA)
            & (rng.random(n) < 0.4)
        )
        c = np.flatnonzero(ok)
        outcome = _outcomes_by_arm(rng, arm_b[c])
        out_c = c[outcome == OUT["opted_out"]]
        optout[out_c, j] = ts[out_c] + 60
        parts.append(
            (
                c,
                ts[c],
                CH[MARKETING_CHANNELS[j]],
                PU["marketing"],
                outcome,
                f"{campaign}-{MARKETING_CHANNELS[j].upper()}",
                np.where(arm_b[c], "B", "A") if k % AB_EVERY == 0 else "",
            )
        )

    cust = np.concatenate([p[0] for p in parts]).astype(np.int64)
    ts = np.concatenate([p[1] for p in parts]).astype(np.int64)
    size = [len(p[0]) for p in parts]
    channel = np.concatenate([np.broadcast_to(p[2], k) for p, k in zip(parts, size, strict=True)])
    purpose = np.concatenate([np.broadcast_to(p[3], k) for p, k in zip(parts, size, strict=True)])
    outcome = np.concatenate([np.broadcast_to(p[4], k) for p, k in zip(parts, size, strict=True)])
    campaign = np.concatenate([np.full(k, p[5], dtype=object) for p, k in zip(parts, size, strict=True)])
    variant = np.concatenate(
        [np.broadcast_to(np.asarray(p[6], dtype=object), k) for p, k in zip(parts, size, strict=True)]
    )
    # a contact lands inside its day and never after the run's end
    ts = np.minimum(ts, tl.ts(tl.day_of(ts) + 1) - 1)
    keep = (ts <= tl.end_ts) & (ts >= tl.base)
    m = int(keep.sum())
    block = Block(
        "contacts",
        tl.export_index(tl.day_of(ts[keep])),
        {
            "contact_id": fmt.ident("CT", ids(chunk_no, m, 10**8), 10),
            "customer_id": fmt.lookup(pop.cid, cust[keep]),
            "contact_ts": fmt.ts(ts[keep]),
            "channel": fmt.cat(channel[keep], CONTACT_CHANNEL),
            "purpose": fmt.cat(purpose[keep], CONTACT_PURPOSE),
            "campaign_id": fmt.text(campaign[keep]),
            "ab_variant": fmt.text(variant[keep]),
            "outcome": fmt.cat(outcome[keep], CONTACT_OUTCOME),
        },
    )
    oc, och = np.nonzero((optout != NA) & (optout <= tl.end_ts))
    return block, (oc, och, optout[oc, och])


__all__ = ["draw_contacts"]
