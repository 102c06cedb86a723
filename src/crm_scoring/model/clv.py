"""Customer lifetime value over a horizon (CV-06): BG/NBD purchase counts x Gamma-Gamma spend per purchase.

Method (documented in models/churn/MODEL_CARD.md, section "CLV"):

- purchases: BG/NBD (Fader, Hardie & Lee 2005). Each customer buys at a Poisson rate and may drop out
  after any purchase; rates and drop-out probabilities vary across customers (gamma / beta). Fitted by
  maximum likelihood on every customer's (x = repeat purchase days, t_x = days from first to last
  purchase day, T = days from first purchase day to the run date), as known on the run date: no label,
  no future data, so it is fitted afresh each night, point-in-time.
- spend per purchase day: Gamma-Gamma (Fader, Hardie & Lee 2005b), fitted on customers with repeat
  purchases; a customer's expected spend shrinks their own mean towards the population mean, more so
  the fewer purchases they have (one-time buyers get the population mean).
- CLV = expected purchase days in the next `clv_horizon_months` x expected spend per purchase day,
  undiscounted, in the reporting currency. Non-null for every customer with a paid purchase.

Written by the scoring step to scoring.churn_scores.clv_estimate (nullable: null when the policy
parameter clv_horizon_months is unset, or for customers without purchases).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

log = logging.getLogger(__name__)

DAYS_PER_MONTH = 365.25 / 12
_MIN_REPEAT_CUSTOMERS = 20  # fewer repeat buyers: the Gamma-Gamma fit is skipped (own mean used)


@dataclass(frozen=True)
class BgNbd:
    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    v: float


def _bgnbd_nll(
    log_params: np.ndarray, x: np.ndarray, tx: np.ndarray, t_age: np.ndarray, weight: np.ndarray
) -> float:
    r, alpha, a, b = np.exp(log_params)
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
    alive = -(r + x) * np.log(alpha + t_age)
    with np.errstate(divide="ignore", invalid="ignore"):
        dropped = np.where(
            x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-12)) - (r + x) * np.log(alpha + tx), -np.inf
        )
    top = np.maximum(alive, dropped)
    ll = common + top + np.log(np.exp(alive - top) + np.exp(dropped - top))
    # A standard-normal prior on the log parameters: irrelevant where the data speak, it keeps a short
    # history (drop-out not yet identified) from sending a -> 0, b -> infinity.
    return float(-np.sum(weight * ll) + 0.5 * np.sum(log_params**2))


def fit_bgnbd(x: np.ndarray, tx: np.ndarray, t_age: np.ndarray) -> BgNbd:
    """Penalised maximum likelihood over the distinct (x, t_x, T) triples, weighted by their counts (a
    million customers collapse to far fewer triples), on a time scale of the longest age."""
    scale = max(float(np.max(t_age)), 1.0)
    triples, weight = np.unique(np.column_stack([x, tx, t_age]), axis=0, return_counts=True)
    res = minimize(
        _bgnbd_nll,
        np.zeros(4),
        args=(triples[:, 0], triples[:, 1] / scale, triples[:, 2] / scale, weight.astype(float)),
        method="Nelder-Mead",
        options={"maxiter": 4000, "xatol": 1e-7, "fatol": 1e-7},
    )
    r, alpha, a, b = np.exp(res.x)
    return BgNbd(float(r), float(alpha * scale), float(a), float(b))


def p_alive(m: BgNbd, x: np.ndarray, tx: np.ndarray, t_age: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        odds = np.where(
            x > 0,
            m.a
            / np.maximum(m.b + x - 1, 1e-12)
            * np.exp((m.r + x) * (np.log(m.alpha + t_age) - np.log(m.alpha + tx))),
            0.0,
        )
    return 1.0 / (1.0 + odds)


def expected_purchases(m: BgNbd, x: np.ndarray, tx: np.ndarray, t_age: np.ndarray, t: float) -> np.ndarray:
    """E[purchase days in (T, T + t] | x, t_x, T] (BG/NBD conditional expectation)."""
    ratio = (m.alpha + t_age) / (m.alpha + t_age + t)
    z = t / (m.alpha + t_age + t)
    alive = p_alive(m, x, tx, t_age)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        head = (m.a + m.b + x - 1) / (m.a - 1)
        body = 1 - ratio ** (m.r + x) * hyp2f1(m.r + x, m.b + x, m.a + m.b + x - 1, z)
        out = head * body * alive
    # Where the closed form is numerically unusable (a close to 1, overflowing 2F1), the no-drop-out
    # bound: the posterior purchase rate times the horizon, times P(alive).
    bound = (m.r + x) / (m.alpha + t_age) * t * alive
    return np.where(np.isfinite(out) & (out >= 0) & (out <= bound), out, bound)


def _gg_nll(log_params: np.ndarray, x: np.ndarray, mbar: np.ndarray) -> float:
    """Gamma-Gamma negative log likelihood, with the same weak prior on the log parameters."""
    p, q, v = np.exp(log_params)
    px = p * x
    ll = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(v)
        + (px - 1) * np.log(mbar)
        + px * np.log(x)
        - (px + q) * np.log(x * mbar + v)
    )
    return float(-np.sum(ll) + 0.5 * np.sum(log_params**2))


def fit_gamma_gamma(x: np.ndarray, mbar: np.ndarray) -> GammaGamma:
    scale = max(float(np.median(mbar)), 1e-6)
    res = minimize(
        _gg_nll, np.zeros(3), args=(x, mbar / scale), method="Nelder-Mead", options={"maxiter": 4000}
    )
    p, q, v = np.exp(res.x)
    return GammaGamma(float(p), float(q), float(v * scale))


def expected_spend(g: GammaGamma | None, x: np.ndarray, mbar: np.ndarray) -> np.ndarray:
    """E[spend per purchase day | x repeat days, mean spend mbar] (own mean when no fit is possible)."""
    if g is None or g.q <= 1:
        return mbar
    return g.p * (g.v + x * mbar) / (g.p * x + g.q - 1)


def clv(summary: pd.DataFrame, horizon_months: float) -> pd.Series:
    """CLV per customer of `summary` (columns x, t_x, t_age in days, mean_spend), index preserved.

    x = repeat purchase days (purchase days - 1), t_x = last - first purchase day, t_age = run date -
    first purchase day (so a purchase on the run date counts), mean_spend = mean paid revenue per day.
    """
    if summary.empty:
        return pd.Series(dtype=float)
    x = summary["x"].to_numpy(dtype=float)
    tx = summary["t_x"].to_numpy(dtype=float)
    t_age = summary["t_age"].to_numpy(dtype=float)
    mbar = summary["mean_spend"].to_numpy(dtype=float)
    model = fit_bgnbd(x, tx, t_age)
    repeat = (x > 0) & (mbar > 0)
    gg = fit_gamma_gamma(x[repeat], mbar[repeat]) if repeat.sum() >= _MIN_REPEAT_CUSTOMERS else None
    purchases = expected_purchases(model, x, tx, t_age, horizon_months * DAYS_PER_MONTH)
    spend = expected_spend(gg, x, np.where(mbar > 0, mbar, np.nan))
    value = purchases * np.nan_to_num(spend, nan=0.0)
    # Degenerate fits (e.g. a handful of customers) fall back to the customer's own purchase rate.
    naive = (x + 1) / np.maximum(t_age, 1.0) * horizon_months * DAYS_PER_MONTH * np.nan_to_num(mbar, nan=0.0)
    value = np.where(np.isfinite(value) & (value >= 0), value, naive)
    log.info("CLV: BG/NBD %s, Gamma-Gamma %s, %d customers", model, gg, len(summary))
    return pd.Series(value, index=summary.index, name="clv_estimate")


SUMMARY_SQL = """
select customer_id::text as customer_id,
       (count(*) - 1)::float8 as x,
       (max(activity_date) - min(activity_date))::float8 as t_x,
       ({run_date}::date - min(activity_date))::float8 as t_age,
       avg(paid_revenue)::float8 as mean_spend
from intermediate.int_activity__customer_days
where paid_orders > 0 and activity_date <= {run_date}::date
group by customer_id
"""


ACTIVITY_TABLE = "intermediate.int_activity__customer_days"


def purchase_summary(url: str, run_date: date) -> pd.DataFrame | None:
    """(x, t_x, t_age, mean_spend) per customer with a paid purchase day up to `run_date`: one set-based
    aggregate over the daily activity table, streamed through COPY into Arrow. None when the dbt table
    does not exist (a warehouse without the marts: scoring still works, CLV stays null)."""
    import pyarrow as pa
    from psycopg import sql

    from crm_scoring import warehouse
    from crm_scoring.model.dataset import _to_pandas, copy_to_arrow

    query = sql.SQL(SUMMARY_SQL).format(run_date=sql.Literal(run_date))
    schema = {"customer_id": pa.string(), **{c: pa.float64() for c in ("x", "t_x", "t_age", "mean_spend")}}
    with warehouse.connect(url) as conn:
        if conn.execute("select to_regclass(%s)", (ACTIVITY_TABLE,)).fetchone()[0] is None:
            log.warning("%s does not exist: no CLV", ACTIVITY_TABLE)
            return None
        return _to_pandas(copy_to_arrow(conn, query, schema))


def horizon_months(url: str, run_date: date) -> float | None:
    """Policy parameter clv_horizon_months in force on run_date; None when unset (CLV stays null)."""
    from crm_scoring import warehouse
    from crm_scoring.enrich.policy import parameter_values

    with warehouse.connect(url) as conn:
        value = parameter_values(conn, run_date).get("clv_horizon_months")
    return None if value is None else float(value)
