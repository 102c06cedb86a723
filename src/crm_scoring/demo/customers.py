"""Customer rows: a version at registration and one when the status changes (closed, suspended).

Some churned customers close their account weeks after their last activity; the change is
exported in the folder of the day it happened.
"""

from __future__ import annotations

import numpy as np

from crm_scoring.contract import CUSTOMER_STATUS
from crm_scoring.demo import fmt
from crm_scoring.demo.population import REGIONS, Population
from crm_scoring.demo.simulate import NEVER, SimResult
from crm_scoring.demo.timeline import DAY, Timeline
from crm_scoring.demo.writer import Block


def customers_block(rng: np.random.Generator, pop: Population, sim: SimResult, tl: Timeline) -> Block:
    n = len(pop)
    churned = sim.death_day < NEVER
    u = rng.random(n)
    new_status = np.where(churned & (u < 0.30), 1, np.where(churned & (u < 0.33), 2, 0))  # closed / suspended
    change_day = sim.death_day + rng.integers(0, 61, n)
    change_ts = tl.ts(np.where(new_status > 0, change_day, 0), rng.integers(0, DAY, n))
    changes = (new_status > 0) & (change_day <= tl.end_day) & (change_ts > pop.reg_ts)
    ex_reg = tl.export_index(pop.reg_day)
    ex_change = tl.export_index(change_day)
    merged = changes & (ex_change == ex_reg)

    later = np.flatnonzero(changes & ~merged)
    row = np.concatenate((np.arange(n), later))
    status = np.concatenate((np.where(merged, new_status, 0), new_status[later]))
    updated = np.concatenate((np.where(merged, change_ts, pop.reg_ts), change_ts[later]))
    ex = np.concatenate((ex_reg, ex_change[later]))

    country = np.array([r[0] for r in REGIONS], dtype=object)
    region = np.array([r[1] for r in REGIONS], dtype=object)
    tz = np.array([r[2] for r in REGIONS], dtype=object)
    md = np.datetime_as_string(
        np.datetime64("2001-01-01") + pop.birth_doy.clip(min=0).astype("timedelta64[D]")
    )
    birth = np.array(
        [s[5:10] if d >= 0 else "" for s, d in zip(md.tolist(), pop.birth_doy.tolist(), strict=True)],
        dtype=object,
    )
    manager = np.array([f"AM{a:03d}" if a >= 0 else "" for a in pop.account_manager.tolist()], dtype=object)
    lang = np.where(pop.zh, "zh-CN", "en").astype(object)
    r = pop.region[row]
    return Block(
        "customers",
        ex,
        {
            "customer_id": fmt.lookup(pop.cid, row),
            "registered_at": fmt.ts(pop.reg_ts[row]),
            "status": fmt.cat(status, CUSTOMER_STATUS),
            "country": fmt.text(country[r]),
            "region": fmt.text(region[r]),
            "timezone": fmt.text(tz[r]),
            "preferred_language": fmt.text(lang[row]),
            "birth_month_day": fmt.text(birth[row]),
            "email": fmt.text(pop.email[row]),
            "phone": fmt.text(pop.phone[row]),
            "account_manager_id": fmt.text(manager[row]),
            "updated_at": fmt.ts(updated),
        },
    )
