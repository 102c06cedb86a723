"""Interactions (logins, app opens, page views) and orders from the simulated event days."""

from __future__ import annotations

import numpy as np

from crm_scoring.contract import EVENT_TYPE, INTERACTION_CHANNEL, ORDER_CHANNEL, ORDER_STATUS
from crm_scoring.demo import fmt
from crm_scoring.demo.draw import choose, choose_fixed, ids
from crm_scoring.demo.population import Population
from crm_scoring.demo.simulate import SimResult
from crm_scoring.demo.timeline import Timeline, time_of_day
from crm_scoring.demo.writer import Block

# EVENT_TYPE order: login, login_failed, app_open, page_view, feature_use, add_to_cart,
# checkout_start, share, search
EVENT_P = np.array(
    [
        [0.28, 0.01, 0.25, 0.20, 0.08, 0.06, 0.03, 0.01, 0.08],  # normal
        [0.22, 0.04, 0.18, 0.40, 0.04, 0.03, 0.01, 0.00, 0.08],  # troubled: browsing help / return policy
        [0.00, 1.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00],  # outage: failed logins
    ]
)
PAGES = ("product", "home", "help", "checkout", "account", "return_policy", "search")
PAGE_P = np.array(
    [
        [0.50, 0.20, 0.07, 0.10, 0.08, 0.03, 0.02],
        [0.20, 0.05, 0.25, 0.03, 0.12, 0.35, 0.00],
    ]
)
# INTERACTION_CHANNEL order: web, app, store, call_centre; rows = channel preference
INTER_CHANNEL_P = np.array([[0.18, 0.80, 0.01, 0.01], [0.78, 0.20, 0.01, 0.01], [0.35, 0.35, 0.25, 0.05]])
# ORDER_CHANNEL order: online, app, store, phone, marketplace
ORDER_CHANNEL_P = np.array(
    [[0.20, 0.65, 0.05, 0.02, 0.08], [0.60, 0.15, 0.07, 0.03, 0.15], [0.10, 0.10, 0.70, 0.05, 0.05]]
)
ORDER_STATUS_P = [0.88, 0.04, 0.045, 0.035]  # completed, cancelled, returned, partially_returned


def not_before_registration(rng: np.random.Generator, ts: np.ndarray, reg_ts: np.ndarray) -> np.ndarray:
    """On the registration day, activity starts after the registration (which is before 23:00)."""
    return np.maximum(ts, reg_ts + rng.integers(60, 1800, len(ts)))


def interactions_block(
    rng: np.random.Generator, chunk_no: int, pop: Population, sim: SimResult, tl: Timeline
) -> Block:
    cust, day, kind = sim.inter_cust, sim.inter_day, sim.inter_kind
    m = len(cust)
    etype = choose(rng, EVENT_P, kind)
    channel = choose(rng, INTER_CHANNEL_P, pop.channel_pref[cust])
    channel = np.where(etype == EVENT_TYPE.index("app_open"), INTERACTION_CHANNEL.index("app"), channel)
    page = np.full(m, -1)
    views = etype == EVENT_TYPE.index("page_view")
    page[views] = choose(rng, PAGE_P, np.minimum(kind[views], 1))
    page[etype == EVENT_TYPE.index("add_to_cart")] = PAGES.index("product")
    page[etype == EVENT_TYPE.index("checkout_start")] = PAGES.index("checkout")
    page[etype == EVENT_TYPE.index("search")] = PAGES.index("search")
    ts = not_before_registration(rng, tl.ts(day, time_of_day(rng, m)), pop.reg_ts[cust])
    return Block(
        "interactions",
        tl.export_index(day),
        {
            "event_id": fmt.ident("EV", ids(chunk_no, m, 10**9), 12),
            "customer_id": fmt.lookup(pop.cid, cust),
            "event_ts": fmt.ts(ts),
            "event_type": fmt.cat(etype, EVENT_TYPE),
            "channel": fmt.cat(channel, INTERACTION_CHANNEL),
            "page_type": fmt.cat(page, PAGES),
        },
    )


def orders_block(
    rng: np.random.Generator, chunk_no: int, pop: Population, sim: SimResult, tl: Timeline
) -> Block:
    """One version at purchase; returns add a later version (status, refund, net) on the return date."""
    cust, day = sim.order_cust, sim.order_day
    m = len(cust)
    number = ids(chunk_no, m, 10**8)
    order_ts = not_before_registration(rng, tl.ts(day, time_of_day(rng, m)), pop.reg_ts[cust])
    gross = np.maximum(np.round(pop.basket[cust] * rng.lognormal(0, 0.6, m) * 100), 990).astype(np.int64)
    discount = np.where(rng.random(m) < 0.35, np.round(gross * rng.uniform(0.05, 0.25, m)), 0).astype(
        np.int64
    )
    paid = gross - discount
    status = choose_fixed(rng, ORDER_STATUS_P, m)
    channel = choose(rng, ORDER_CHANNEL_P, pop.channel_pref[cust])
    cancelled = status == 1
    returned = status >= 2
    refund_final = np.where(
        status == 2, paid, np.where(status == 3, np.round(paid * rng.uniform(0.2, 0.6, m)), 0)
    )
    refund_final = np.where(cancelled, paid, refund_final).astype(np.int64)
    day_end = tl.ts(day + 1) - 1
    cancel_ts = np.minimum(order_ts + rng.integers(60, 4 * 3600, m), day_end)
    return_ts = tl.ts(day + rng.integers(3, 22, m), time_of_day(rng, m))
    has_return = returned & (return_ts <= tl.end_ts)
    ex_order = tl.export_index(day)
    ex_return = tl.export_index(tl.day_of(return_ts))
    merged = has_return & (ex_order == ex_return)

    # first version: at purchase (final state when the return falls in the same folder)
    st1 = np.where(cancelled, 1, np.where(merged, status, 0))
    ref1 = np.where(cancelled | merged, refund_final, 0)
    upd1 = np.where(cancelled, cancel_ts, np.where(merged, return_ts, order_ts))
    # second version: the return, in a later folder
    later = np.flatnonzero(has_return & ~merged)
    row = np.concatenate((np.arange(m), later))
    st = np.concatenate((st1, status[later]))
    ref = np.concatenate((ref1, refund_final[later]))
    upd = np.concatenate((upd1, return_ts[later]))
    ex = np.concatenate((ex_order, ex_return[later]))
    net = paid[row] - ref
    points = np.where(st == 0, net // 100, np.where(st == 3, net // 100, 0))
    return Block(
        "orders",
        ex,
        {
            "order_id": fmt.ident("OR", number[row], 10),
            "customer_id": fmt.lookup(pop.cid, cust[row]),
            "order_ts": fmt.ts(order_ts[row]),
            "status": fmt.cat(st, ORDER_STATUS),
            "net_amount": fmt.cents(net),
            "gross_amount": fmt.cents(gross[row]),
            "discount_amount": fmt.cents(discount[row]),
            "refund_amount": fmt.cents(ref),
            "currency": fmt.const("CNY"),
            "channel": fmt.cat(channel[row], ORDER_CHANNEL),
            "points_earned": fmt.integer(points),
            "updated_at": fmt.ts(upd),
        },
    )
