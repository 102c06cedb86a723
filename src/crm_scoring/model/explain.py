"""Which customers get their reason codes (CH-06) when: the list candidates first, everyone else later.

Exact TreeSHAP costs ~60 CPU s per million customers (docs/scaling.md), and the lists only carry the
reasons of the customers they name. So the night explains in two disjoint parts, each with the model
version that wrote the night's scores (not whatever is champion by then):

- `CANDIDATES`: the customers of the night's candidate tables (`ReasonConfig.candidates`: every list
  row is a candidate row), inside the lists step, after dbt built the candidates and before it builds
  the list models that carry the reasons;
- `REST`: every other scored customer, after publishing (audit and appeals need them, not the lists).

Each part is replaced in one transaction (delete its customers' reasons of the date, COPY the new
ones), so a rerun writes the same rows, and the two parts together are exactly the reasons of every
scored customer that one call over all of them would write: a customer's reasons depend only on its
own feature row and the model (`reasons.compute_reason_codes` works row by row).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal

from psycopg import sql

from crm_scoring import failpoints, warehouse
from crm_scoring.model.config import ModelConfig, load_config
from crm_scoring.model.dataset import load_scoring_frame, shard_predicate
from crm_scoring.model.reasons import REASON_COLUMNS, compute_reason_codes
from crm_scoring.model.score import copy_table, ensure_reasons_table, ensure_scores_table, load_version

if TYPE_CHECKING:
    from crm_scoring.model.artifacts import LoadedModel

log = logging.getLogger(__name__)

Part = Literal["candidates", "rest"]
CANDIDATES: Part = "candidates"
REST: Part = "rest"


@dataclass(frozen=True)
class ExplainResult:
    run_date: date
    part: str
    customers: int
    reason_rows: int
    model_version: str | None


def _ident(qualified: str) -> sql.Identifier:
    return sql.Identifier(*qualified.split("."))


def _who(
    conn, cfg: ModelConfig, run_date: date, part: Part, shard: tuple[int, int] | None, outer: str
) -> sql.Composable:
    """SQL predicate on `outer`'s customer_id (the table the predicate filters, named so the subqueries can
    correlate to it): the scored customers of `part` (and of `shard`, when given).

    `CANDIDATES` is a semi-join (`in`), `REST` one anti-join (`not exists`) per candidate table:
    `not in (subquery)` cannot be hashed once the candidates outgrow work_mem, and at 1M customers its plan
    compares every row with every candidate. Candidate tables dbt has not built yet count as empty (a
    warehouse that never ran the lists step: every scored customer is then in `REST`)."""
    if part not in (CANDIDATES, REST):
        raise ValueError(f"part {part!r}: want {CANDIDATES!r} or {REST!r}")
    customer = sql.SQL("{}.customer_id").format(_ident(outer))
    scored = sql.SQL("{} in (select customer_id from {} where run_date = {})").format(
        customer, _ident(cfg.scores_table), sql.Literal(run_date)
    )
    tables = [t for t in cfg.reasons.candidates if conn.execute("select to_regclass(%s)", (t,)).fetchone()[0]]
    if part == CANDIDATES:  # a semi-join
        ids = [
            sql.SQL("select c.customer_id::text from {} c where c.run_date = {}").format(
                _ident(t), sql.Literal(run_date)
            )
            for t in tables
        ]
        listed = (
            sql.SQL("{} in ({})").format(customer, sql.SQL(" union all ").join(ids))
            if ids
            else sql.SQL("false")
        )
    else:  # an anti-join per candidate table
        listed = sql.SQL(" and ").join(
            [
                sql.SQL(
                    "not exists (select 1 from {} c where c.run_date = {} and c.customer_id::text = {})"
                ).format(_ident(t), sql.Literal(run_date), customer)
                for t in tables
            ]
            or [sql.SQL("true")]
        )
    return sql.SQL(" and ").join([scored, listed, shard_predicate(shard)])


def _scores_version(conn, cfg: ModelConfig, run_date: date) -> str | None:
    """The model version of the night's scores (None when nothing is scored); a mixed night fails."""
    versions = [
        r[0]
        for r in conn.execute(
            sql.SQL("select distinct model_version from {} where run_date = %s order by 1").format(
                _ident(cfg.scores_table)
            ),
            (run_date,),
        ).fetchall()
    ]
    if len(versions) > 1:
        raise RuntimeError(f"the scores of {run_date} come from several model versions {versions}: rescore")
    return versions[0] if versions else None


def explain(
    url: str,
    run_date: date,
    part: Part,
    *,
    config: ModelConfig | None = None,
    shard: tuple[int, int] | None = None,
    failpoint: str | None = None,
    model: LoadedModel | None = None,
) -> ExplainResult:
    """Replace the reason codes of `part`'s customers for `run_date` (see the module docstring).

    `failpoint` names the fail-point hit inside the write transaction (the caller's stage: the crash
    tests kill there, between the delete and the COPY). `model` passes the scores' model already
    loaded (the scoring bench's booster is not registered); its version must be the scores'."""
    cfg = config or load_config()
    with warehouse.connect(url) as conn:
        ensure_scores_table(conn, cfg.scores_table)
        ensure_reasons_table(conn, cfg.reasons.table)
        version = _scores_version(conn, cfg, run_date)
        who_features = _who(conn, cfg, run_date, part, shard, cfg.features_table)
        who_reasons = _who(conn, cfg, run_date, part, shard, cfg.reasons.table)
    if version is None:
        log.info("reason codes (%s) for %s: nothing scored", part, run_date)
        return ExplainResult(run_date, part, 0, 0, None)
    if model is None:
        model = load_version(version, cfg)
    elif model.version != version:
        raise RuntimeError(f"the scores of {run_date} are v{version}, not v{model.version}")
    frame = load_scoring_frame(url, run_date, model.features, config=cfg, where=who_features)
    reasons = compute_reason_codes(model, frame, run_date, config=cfg) if len(frame) else None
    with warehouse.connect(url) as conn:
        # Hash plans only, as dbt's planner_settings() does for the models: the reasons the listed part
        # has just COPYed for this date are not in the statistics yet, so the date's rows are estimated
        # at about one and the anti-joins of the rest's delete became nested loops over the candidates
        # (quadratic: one delete ran > 20 min at 100,000 customers on the 4th bench night, session 10).
        conn.execute("set local enable_nestloop = off")
        conn.execute("set local jit = off")
        conn.execute(
            sql.SQL("delete from {} where run_date = %s and {}").format(
                _ident(cfg.reasons.table), who_reasons
            ),
            (run_date,),
        )
        if failpoint:
            failpoints.hit(failpoint)  # the part's reasons deleted, the new ones not yet copied in
        if reasons is not None:
            copy_table(conn, cfg.reasons.table, reasons, REASON_COLUMNS)
    result = ExplainResult(run_date, part, len(frame), 0 if reasons is None else reasons.num_rows, version)
    log.info(
        "reason codes (%s) for %s: %d customers, %d rows, model v%s",
        part,
        run_date,
        result.customers,
        result.reason_rows,
        version,
    )
    return result
