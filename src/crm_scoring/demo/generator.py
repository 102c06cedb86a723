"""Entry point: generate the demo landing folders, customer chunk by customer chunk."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
from tqdm import tqdm

from crm_scoring.demo.activity import interactions_block, orders_block
from crm_scoring.demo.consents import consents_block, draw_consents
from crm_scoring.demo.contacts import draw_contacts
from crm_scoring.demo.crisis import affected_block, crisis_event_block, design_crises
from crm_scoring.demo.customers import customers_block
from crm_scoring.demo.dsr import dsr_block
from crm_scoring.demo.followups import compensations_block, draw_compensations, draw_surveys, surveys_block
from crm_scoring.demo.population import draw_population
from crm_scoring.demo.simulate import simulate
from crm_scoring.demo.tickets import tickets_block
from crm_scoring.demo.timeline import Timeline
from crm_scoring.demo.writer import LandingWriter

CHUNK = 50_000  # customers per chunk: fixed, so output does not depend on machine or settings


def generate(
    out_dir: Path,
    start: date,
    end: date,
    customers: int,
    seed: int,
    history_days: int = 540,
    progress: bool = True,
    outage_start: date | None = None,
) -> list[Path]:
    """Write one landing folder per date in [start, end] under out_dir; returns the folders.

    The first folder holds the whole history since `start - history_days` (initial backfill); each
    later folder holds the rows created or updated that day. Same arguments, same bytes.
    `outage_start` moves the network-wide outage (default: three days before `end`) to that date.
    """
    if customers < 1:
        raise ValueError("customers must be positive")
    tl = Timeline.build(start, end, history_days)
    if outage_start is not None and not start <= outage_start <= end:
        raise ValueError("outage_start must lie within [start, end]")
    outage_day = None if outage_start is None else tl.start_day + (outage_start - start).days
    crises = design_crises(tl, outage_day)
    writer = LandingWriter(Path(out_dir), start, tl.n_dates)
    writer.write(crisis_event_block(crises, tl))
    chunks = range((customers + CHUNK - 1) // CHUNK)
    for chunk_no in tqdm(chunks, desc="demo-data", unit="chunk", disable=not progress):
        first = chunk_no * CHUNK
        n = min(CHUNK, customers - first)
        rng = np.random.default_rng([seed, chunk_no])
        pop = draw_population(rng, first + 1, n, tl)
        sim = simulate(rng, pop, crises, tl)
        writer.write(customers_block(rng, pop, sim, tl))
        writer.write(orders_block(rng, chunk_no, pop, sim, tl))
        writer.write(interactions_block(rng, chunk_no, pop, sim, tl))
        tickets, facts = tickets_block(rng, chunk_no, pop, sim, crises, tl)
        writer.write(tickets)
        surveys = draw_surveys(rng, pop, sim, facts, crises, tl)
        writer.write(surveys_block(rng, chunk_no, pop, surveys, crises, tl))
        comp = draw_compensations(rng, pop, sim, facts, surveys, crises, tl)
        writer.write(compensations_block(rng, chunk_no, pop, comp, crises, tl))
        consent = draw_consents(rng, pop, sim, tl)
        contacts, optouts = draw_contacts(rng, chunk_no, pop, sim, surveys, comp, consent, crises, tl)
        writer.write(contacts)
        writer.write(consents_block(pop, consent, optouts, tl))
        writer.write(affected_block(crises, sim.affected, sim.impact, pop.number, tl))
        writer.write(dsr_block(pop, tl))  # PS-08: access / restriction requests (no random draw)
    return writer.finish()
