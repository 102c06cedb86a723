"""Nightly scoring with models:/churn@champion: COPY features out, one vectorised predict, COPY scores in.

The rows of `run_date` are deleted and rewritten in one transaction, so a rerun replaces a night's
scores instead of duplicating them. The same transaction deletes the night's reason codes
(scoring.churn_reasons): they are computed later, with the scores' model version (`model.explain`:
the list candidates' inside the lists step, everyone else's after publishing), so readers never see
reasons from another model version than the scores.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import xgboost as xgb
from mlflow.models import Model
from psycopg import sql

from crm_scoring import failpoints, partitions, warehouse
from crm_scoring.model import clv as clv_model
from crm_scoring.model import registry
from crm_scoring.model.artifacts import CALIBRATION_FILE, FEATURES_FILE, LoadedModel
from crm_scoring.model.config import ModelConfig, load_config
from crm_scoring.model.dataset import load_scoring_frame, shard_predicate
from crm_scoring.model.margin import BASE_MARGIN_FILE
from crm_scoring.model.pyfunc import ARTIFACT_KEYS, BOOSTER_FILE, read_model_files

log = logging.getLogger(__name__)

_COPY_BATCH_ROWS = 200_000
SCORE_COLUMNS = (
    "run_date",
    "customer_id",
    "churn_probability",
    "model_name",
    "model_version",
    "mlflow_run_id",
    "scored_at",
    "clv_estimate",
)


@dataclass(frozen=True)
class ScoreResult:
    run_date: date
    rows: int
    model_name: str
    model_version: str
    mlflow_run_id: str
    mean_probability: float


def load_champion(config: ModelConfig | None = None) -> LoadedModel:
    cfg = config or load_config()
    mv = registry.version_by_alias(registry.CHAMPION, cfg.model_name)
    if mv is None:
        raise registry.NoChampionError(
            f"no @champion model registered for {cfg.model_name!r}: run `crm train --date ...` "
            "(or `crm model ensure-champion --date ...`)"
        )
    return load_version(str(mv.version), cfg)


def load_version(version: str, config: ModelConfig | None = None) -> LoadedModel:
    """A registered version with its features and calibration (the gate re-scores champions with it)."""
    cfg = config or load_config()
    mv = registry.client().get_model_version(cfg.model_name, str(version))
    with tempfile.TemporaryDirectory() as tmp:
        # Pin the version found above, so a concurrent promotion cannot mix two versions.
        local = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{cfg.model_name}/{mv.version}", dst_path=tmp
            )
        )
        packed = local / "artifacts"
        # the pyfunc layout (train._log_model): booster and/or margin (the regression family has no booster)
        if (packed / BOOSTER_FILE).exists() or (packed / BASE_MARGIN_FILE).exists():
            files = {k: str(packed / f) for k, f in ARTIFACT_KEYS.items()}
            files["base_margin"] = str(packed / BASE_MARGIN_FILE)
            return read_model_files(
                files, name=cfg.model_name, version=str(mv.version), run_id=mv.run_id or ""
            )
        booster = mlflow.xgboost.load_model(str(local))  # versions logged in the xgboost flavour
        extra = local / "extra_files"
        features_path = extra / FEATURES_FILE
        if features_path.exists():
            features = json.loads(features_path.read_text())["features"]
        else:  # a version registered by hand: fall back to the signature's input names
            signature = Model.load(str(local / "MLmodel")).signature
            if signature is None:
                raise RuntimeError(
                    f"{cfg.model_name} v{mv.version} has neither features.json nor a signature"
                )
            features = signature.inputs.input_names()
        calib_path = extra / CALIBRATION_FILE
        calibration = json.loads(calib_path.read_text()) if calib_path.exists() else {"method": "none"}
    if not isinstance(booster, xgb.Booster):
        booster = booster.get_booster()
    return LoadedModel(cfg.model_name, str(mv.version), mv.run_id or "", booster, features, calibration)


def _create_nightly_customer_table(
    conn, table: str, columns: tuple[str, ...], key: tuple[str, ...] = ()
) -> None:
    """Create `table` ("schema.name") and its schema when missing, in the frame the scores and the reasons
    share: (run_date, customer_id, *columns), primary key (run_date, customer_id, *key), partitioned by range
    of run_date so the retention drops whole months. The callers then add what came after their first
    release and call partitions.ensure."""
    schema, name = table.split(".")
    conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
    conn.execute(
        sql.SQL(
            """create table if not exists {} (
             run_date date not null,
             customer_id text not null,
             {},
             primary key ({}))
             partition by range (run_date)"""
        ).format(
            sql.Identifier(schema, name),
            sql.SQL(",\n             ").join(map(sql.SQL, columns)),
            sql.SQL(", ").join(map(sql.SQL, ("run_date", "customer_id", *key))),
        )
    )


def ensure_scores_table(conn, table: str) -> None:
    """scoring.churn_scores, partitioned by month of run_date (crm_scoring/partitions.py): the
    retention drops whole months. A plain table of an earlier release is converted in place first."""
    _create_nightly_customer_table(
        conn,
        table,
        (
            "churn_probability double precision not null check (churn_probability between 0 and 1)",
            "model_name text not null",
            "model_version text not null",
            "mlflow_run_id text",
            "scored_at timestamptz not null default now()",
            "clv_estimate double precision",
        ),
    )
    # CV-06: added after the first release; nullable (unset clv_horizon_months, no purchase history).
    conn.execute(
        sql.SQL("alter table {} add column if not exists clv_estimate double precision").format(
            sql.Identifier(*table.split("."))
        )
    )
    partitions.ensure(conn, table)  # its DEFAULT partition; a plain table of a release before converted


def _scores_table(
    frame_ids: pa.Array,
    probs: np.ndarray,
    run_date: date,
    model: LoadedModel,
    scored_at: str,
    clv: np.ndarray | None = None,
) -> pa.Table:
    n = len(probs)
    constant = {
        "run_date": run_date.isoformat(),
        "model_name": model.name,
        "model_version": model.version,
        "mlflow_run_id": model.run_id,
        "scored_at": scored_at,
    }
    columns = {c: pa.repeat(pa.scalar(v, pa.string()), n) for c, v in constant.items()}
    columns["customer_id"] = frame_ids
    columns["churn_probability"] = pa.array(probs, pa.float64())
    values = np.full(n, np.nan) if clv is None else np.asarray(clv, dtype=np.float64)
    columns["clv_estimate"] = pa.array(values, pa.float64(), mask=np.isnan(values))
    return pa.table({c: columns[c] for c in SCORE_COLUMNS})


def ensure_reasons_table(conn, table: str) -> None:
    """scoring.churn_reasons: up to top_k rows per scored customer and night (CH-06); partitioned
    like the scores."""
    _create_nightly_customer_table(
        conn,
        table,
        (
            "reason_rank smallint not null check (reason_rank >= 1)",
            "feature text not null",
            "feature_value double precision",
            "contribution double precision not null check (contribution > 0)",
            "reason_text text not null",
            "model_version text not null",
        ),
        key=("reason_rank",),
    )
    partitions.ensure(conn, table)


def copy_table(conn, target: str, table: pa.Table, columns: tuple[str, ...]) -> None:
    """COPY `columns` of an Arrow table into `target` as CSV, in batches (no per-row Python)."""
    statement = sql.SQL("copy {} ({}) from stdin (format csv)").format(
        sql.Identifier(*target.split(".")), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    options = pacsv.WriteOptions(include_header=False)
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for batch in table.select(list(columns)).to_batches(max_chunksize=_COPY_BATCH_ROWS):
            sink = pa.BufferOutputStream()
            pacsv.write_csv(pa.Table.from_batches([batch]), sink, options)
            copy.write(sink.getvalue().to_pybytes())


def write_scores(
    url: str,
    run_date: date,
    ids: pa.Array,
    probs: np.ndarray,
    model: LoadedModel,
    cfg: ModelConfig,
    clv: np.ndarray | None = None,
    shard: tuple[int, int] | None = None,
) -> None:
    """Replace `run_date`'s scores in one transaction: delete, then COPY; the night's reason codes of the
    same customers are deleted with them (they belong to the scores being replaced, see `model.explain`).
    `clv` (aligned with `ids`, NaN = unknown) fills the nullable clv_estimate column (CV-06).
    With `shard`, only that shard's rows of the night are replaced (the other shards' stay)."""
    in_shard = shard_predicate(shard)
    with warehouse.connect(url) as conn:
        ensure_scores_table(conn, cfg.scores_table)
        ensure_reasons_table(conn, cfg.reasons.table)
        for table in (cfg.scores_table, cfg.reasons.table):  # the night's month, before its rows
            partitions.ensure(conn, table, run_date)
        scored_at = conn.execute("select now()::text").fetchone()[0]
        for table in (cfg.scores_table, cfg.reasons.table):
            conn.execute(
                sql.SQL("delete from {} where run_date = %s and {}").format(
                    sql.Identifier(*table.split(".")), in_shard
                ),
                (run_date,),
            )
        failpoints.hit("score:inside")  # the date's scores deleted, the new ones not yet copied in
        copy_table(
            conn,
            cfg.scores_table,
            _scores_table(ids, probs, run_date, model, scored_at, clv),
            SCORE_COLUMNS,
        )


def customer_clv(url: str, run_date: date, customer_ids: pd.Series) -> np.ndarray | None:
    """CV-06 CLV per scored customer (NaN without purchases); None when clv_horizon_months is unset."""
    months = clv_model.horizon_months(url, run_date)
    if months is None:
        log.warning("clv_horizon_months is unset: clv_estimate stays null (CV-06)")
        return None
    summary = clv_model.purchase_summary(url, run_date)
    if summary is None:
        return None
    values = clv_model.clv(summary.set_index("customer_id"), months)
    return values.reindex(customer_ids.to_numpy()).to_numpy(dtype=np.float64)


def profiling_consented(url: str, run_date: date, frame: pd.DataFrame) -> pd.DataFrame:
    """PS-12: only customers who have not objected to profiling are scored (hence ranked, given reasons);
    PS-08: an erased customer's anonymised facts (ANON- ids) are never scored either."""
    from crm_scoring.privacy.consent import PROFILING, purpose_consent
    from crm_scoring.privacy.erasure import ANON_PREFIX

    with warehouse.connect(url) as conn:
        consent = purpose_consent(conn, PROFILING, run_date)
    ids = frame["customer_id"].to_numpy(dtype=object)
    keep = consent.mask(ids) & ~frame["customer_id"].astype(str).str.startswith(ANON_PREFIX).to_numpy()
    if not keep.all():
        log.info("PS-12: %d customers withdrew profiling consent and are not scored", int((~keep).sum()))
    return frame.loc[keep].reset_index(drop=True)


def score(
    url: str, run_date: date, *, config: ModelConfig | None = None, shard: tuple[int, int] | None = None
) -> ScoreResult:
    """Score every customer of `marts.churn_features` for `run_date` into `scoring.churn_scores`.

    Scores only: the reason codes (CH-06) are computed by `model.explain`, the list candidates' in the
    lists step and the others' after publishing, so exact TreeSHAP for a million customers is not on
    the path to the lists (docs/scaling.md). `shard=(index, count)` scores only the customers of that
    shard, by a stable hash of customer_id (`dataset.shard_predicate`): `count` such calls, in any
    order or on any machine, write exactly the rows of one unsharded call.
    """
    cfg = config or load_config()
    model = load_champion(cfg)
    frame = load_scoring_frame(url, run_date, model.features, config=cfg, shard=shard)
    frame = profiling_consented(url, run_date, frame)
    matrix = frame[model.features].to_numpy(dtype=np.float64)
    probs = model.predict(matrix) if len(frame) else np.empty(0, dtype=np.float64)
    ids = pa.array(frame["customer_id"].to_numpy(dtype=object), pa.string())
    clv = customer_clv(url, run_date, frame["customer_id"])
    write_scores(url, run_date, ids, probs, model, cfg, clv, shard=shard)
    result = ScoreResult(
        run_date,
        len(frame),
        model.name,
        model.version,
        model.run_id,
        float(np.mean(probs)) if len(probs) else float("nan"),
    )
    log.info(
        "scored %d customers for %s with %s v%s (mean p=%.4f)",
        result.rows,
        run_date,
        model.name,
        model.version,
        result.mean_probability,
    )
    return result
