"""Data-subject requests (dsr_requests.csv, PS-08) of the demo: a few access and restriction requests.

Deterministic from the customer number (no random draw, so the rest of the demo is unchanged). The demo
writes no erasure request: an erasure needs the operator's CRM_PSEUDONYM_KEY and would change the demo's
lists; `crm privacy erase` and the tests exercise erasures."""

from __future__ import annotations

import numpy as np

from crm_scoring.contract import DSR_REQUEST_TYPE
from crm_scoring.demo import fmt
from crm_scoring.demo.population import Population
from crm_scoring.demo.timeline import Timeline
from crm_scoring.demo.writer import Block

EVERY = 500  # one customer in 500 asks for access, another for a restriction
DELAY_SECONDS = 30 * 86_400  # a month after registration


def dsr_block(pop: Population, tl: Timeline) -> Block:
    kind = np.full(len(pop), -1)
    kind[pop.number % EVERY == 7] = DSR_REQUEST_TYPE.index("access")
    kind[pop.number % EVERY == 257] = DSR_REQUEST_TYPE.index("restriction")
    ts = pop.reg_ts + DELAY_SECONDS
    c = np.flatnonzero((kind >= 0) & (ts <= tl.end_ts))
    return Block(
        "dsr_requests",
        tl.export_index(tl.day_of(ts[c])),
        {
            "request_id": fmt.ident("DSR", pop.number[c], 8),
            "customer_id": fmt.lookup(pop.cid, c),
            "request_type": fmt.cat(kind[c], DSR_REQUEST_TYPE),
            "requested_at": fmt.ts(ts[c]),
        },
    )
