"""Reading the churn marts in bulk (COPY -> Arrow -> pandas) and the out-of-time split.

The marts can hold a million customers, so rows stream from `COPY ... TO STDOUT` straight into
Arrow's CSV reader: no per-row Python, no second copy of the whole text in memory.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import date

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql

from crm_scoring import warehouse
from crm_scoring.model.config import ModelConfig, SplitConfig, load_config

log = logging.getLogger(__name__)

# PostgreSQL types whose columns count as numeric features (booleans become 0/1).
_NUMERIC_PREFIXES = ("smallint", "integer", "bigint", "numeric", "real", "double precision", "boolean")


class DatasetError(RuntimeError):
    """The marts are missing, empty or too small to train or score on."""


def _ident(qualified: str) -> sql.Identifier:
    return sql.Identifier(*qualified.split("."))


def table_columns(conn: psycopg.Connection, table: str) -> dict[str, str]:
    """Column name -> PostgreSQL type, in table order; a clear error when the table does not exist."""
    row = conn.execute("select to_regclass(%s)::oid", (table,)).fetchone()
    if row is None or row[0] is None:
        raise DatasetError(f"table {table} does not exist: build the marts first (`crm run` / dbt)")
    rows = conn.execute(
        """select attname, format_type(atttypid, atttypmod) from pg_attribute
           where attrelid = %s and attnum > 0 and not attisdropped order by attnum""",
        (row[0],),
    ).fetchall()
    return {name: typ for name, typ in rows}


def is_numeric_type(pg_type: str) -> bool:
    return pg_type.startswith(_NUMERIC_PREFIXES)


def numeric_features(columns: dict[str, str], config: ModelConfig) -> list[str]:
    """Every numeric column that is not a key, the label, lineage or a protected attribute."""
    return [c for c, t in columns.items() if is_numeric_type(t) and c.lower() not in config.non_features]


def _as_float(column: str, pg_type: str) -> sql.Composable:
    if pg_type == "boolean":
        return sql.SQL("{}::int::float8 as {}").format(sql.Identifier(column), sql.Identifier(column))
    return sql.SQL("{}::float8 as {}").format(sql.Identifier(column), sql.Identifier(column))


class _CopyStream(io.RawIOBase):
    """A read-only file over a psycopg COPY TO STDOUT, so Arrow can parse while rows arrive."""

    def __init__(self, copy: psycopg.Copy) -> None:
        self._copy = copy
        self._chunk = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while not self._chunk:
            data = self._copy.read()
            if not data:
                return 0
            self._chunk = memoryview(bytes(data))
        n = min(len(buffer), len(self._chunk))
        buffer[:n] = self._chunk[:n]
        self._chunk = self._chunk[n:]
        return n


def copy_to_arrow(
    conn: psycopg.Connection, query: sql.Composable, schema: dict[str, pa.DataType]
) -> pa.Table:
    """Run `query` through COPY (CSV) and parse it with Arrow using the given column types."""
    statement = sql.SQL("copy ({}) to stdout (format csv, header true)").format(query)
    with conn.cursor() as cur, cur.copy(statement) as copy:
        stream = io.BufferedReader(_CopyStream(copy), buffer_size=1 << 20)
        table = pacsv.read_csv(
            stream,
            read_options=pacsv.ReadOptions(block_size=1 << 24),
            convert_options=pacsv.ConvertOptions(column_types=schema, strings_can_be_null=False),
        )
    return table


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    frame = table.to_pandas()
    if "customer_id" in frame:
        frame["customer_id"] = frame["customer_id"].astype(str)
    return frame


def load_training_set(
    url: str, run_date: date | None = None, *, config: ModelConfig | None = None
) -> pd.DataFrame:
    """The labelled snapshots: customer_id, as_of_date, [policy_version], churned, float64 features.

    When the mart keeps history per `run_date`, the latest build at or before `run_date` is used;
    cutoffs after `run_date` are never read (point-in-time).
    """
    cfg = config or load_config()
    with warehouse.connect(url) as conn:
        columns = table_columns(conn, cfg.training_table)
        for required in ("customer_id", "as_of_date", cfg.target):
            if required not in columns:
                raise DatasetError(f"{cfg.training_table} has no column {required!r}")
        features = numeric_features(columns, cfg)
        if not features:
            raise DatasetError(f"{cfg.training_table} has no numeric feature columns")
        select = [
            sql.SQL("customer_id::text as customer_id"),
            sql.SQL("as_of_date"),
            sql.SQL("{}::int as {}").format(sql.Identifier(cfg.target), sql.Identifier(cfg.target)),
        ]
        schema: dict[str, pa.DataType] = {"customer_id": pa.string(), "as_of_date": pa.date32()}
        schema[cfg.target] = pa.int8()
        if "policy_version" in columns:
            select.append(sql.SQL("policy_version::text as policy_version"))
            schema["policy_version"] = pa.string()
        select += [_as_float(c, columns[c]) for c in features]
        schema.update({c: pa.float64() for c in features})

        where: list[sql.Composable] = [sql.SQL("{} is not null").format(sql.Identifier(cfg.target))]
        table = _ident(cfg.training_table)
        if run_date is not None:
            where.append(sql.SQL("as_of_date <= {}").format(sql.Literal(run_date)))
        if "run_date" in columns:
            bound = (
                sql.SQL(" where run_date <= {}").format(sql.Literal(run_date)) if run_date else sql.SQL("")
            )
            where.append(sql.SQL("run_date = (select max(run_date) from {}{})").format(table, bound))
        query = sql.SQL("select {} from {} where {} order by as_of_date, customer_id").format(
            sql.SQL(", ").join(select), table, sql.SQL(" and ").join(where)
        )
        frame = _to_pandas(copy_to_arrow(conn, query, schema))
    if frame.empty:
        raise DatasetError(
            f"{cfg.training_table} has no labelled rows" + (f" up to {run_date}" if run_date else "")
        )
    log.info(
        "training set: %d rows, %d features, %d cutoffs",
        len(frame),
        len(features),
        frame["as_of_date"].nunique(),
    )
    return frame


def feature_columns(frame: pd.DataFrame, config: ModelConfig) -> list[str]:
    """Numeric columns of a loaded frame that are features (same rule as `numeric_features`)."""
    return [
        c
        for c in frame.columns
        if c.lower() not in config.non_features and pd.api.types.is_numeric_dtype(frame[c])
    ]


def shard_predicate(shard: tuple[int, int] | None, column: str = "customer_id") -> sql.Composable:
    """SQL true for the customers of shard `(index, count)`: a stable hash of the id, modulo count.

    The hash is the first 60 bits of md5(customer_id) (as the `uniform_draw` macro), so a customer
    is in the same shard whatever the night, the row order or the PostgreSQL version; None is all.
    """
    if shard is None:
        return sql.SQL("true")
    index, count = shard
    if not (count >= 1 and 0 <= index < count):
        raise ValueError(f"shard {shard}: want (index, count) with 0 <= index < count")
    return sql.SQL("mod(('x' || substr(md5({}::text), 1, 15))::bit(60)::bigint, {}) = {}").format(
        sql.Identifier(column), sql.Literal(count), sql.Literal(index)
    )


def load_scoring_frame(
    url: str,
    run_date: date,
    features: list[str],
    *,
    config: ModelConfig | None = None,
    shard: tuple[int, int] | None = None,
    where: sql.Composable | None = None,
) -> pd.DataFrame:
    """customer_id plus exactly the model's features (float64) from the feature mart for `run_date`
    (only shard `(index, count)` of the customers when given, see `shard_predicate`; only the rows
    where the SQL predicate `where` holds when given: the reason codes read the customers they explain,
    not the whole night)."""
    cfg = config or load_config()
    with warehouse.connect(url) as conn:
        columns = table_columns(conn, cfg.features_table)
        missing = [c for c in features if c not in columns]
        if missing:
            raise DatasetError(
                f"{cfg.features_table} lacks feature column(s) the model was trained on: {', '.join(missing)}"
            )
        date_column = "run_date" if "run_date" in columns else "as_of_date"
        query = sql.SQL(
            "select customer_id::text as customer_id, {} from {} where {} = {} and {} and {}"
        ).format(
            sql.SQL(", ").join(_as_float(c, columns[c]) for c in features),
            _ident(cfg.features_table),
            sql.Identifier(date_column),
            sql.Literal(run_date),
            shard_predicate(shard),
            sql.SQL("true") if where is None else where,
        )
        schema = {"customer_id": pa.string(), **{c: pa.float64() for c in features}}
        frame = _to_pandas(copy_to_arrow(conn, query, schema))
        # a shard or a subset may be empty (a small night, many shards); the night itself may not
        night_empty = frame.empty and (
            (shard is None and where is None)
            or conn.execute(
                sql.SQL("select not exists (select 1 from {} where {} = {})").format(
                    _ident(cfg.features_table), sql.Identifier(date_column), sql.Literal(run_date)
                )
            ).fetchone()[0]
        )
    if night_empty:
        raise DatasetError(f"{cfg.features_table} has no rows for {date_column} = {run_date}: run dbt first")
    if frame["customer_id"].duplicated().any():
        raise DatasetError(f"{cfg.features_table} has duplicate customer_id rows for {run_date}")
    return frame


@dataclass(frozen=True)
class Split:
    """Train / validation / test frames and how they were cut (logged as MLflow tags)."""

    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame
    strategy: str
    train_cutoffs: tuple[date, ...]
    valid_cutoffs: tuple[date, ...]
    test_cutoffs: tuple[date, ...]


def _customer_fraction(customer_ids: pd.Series) -> pd.Series:
    """A stable pseudo-random number in [0, 1) per customer (vectorised, seed-free, reproducible)."""
    hashed = pd.util.hash_pandas_object(customer_ids.reset_index(drop=True), index=False)
    return pd.Series((hashed.to_numpy() % 1_000_000) / 1_000_000, index=customer_ids.index)


def split_out_of_time(frame: pd.DataFrame, config: SplitConfig, target: str = "churned") -> Split:
    """Oldest cutoffs train, later ones validate, the latest tests; hash split when cutoffs are few."""
    cutoffs = sorted(frame["as_of_date"].unique())
    n_valid, n_test = config.valid_cutoffs, config.test_cutoffs
    by_cutoff = frame["as_of_date"]
    if len(cutoffs) >= n_valid + n_test + 1:
        train_c = cutoffs[: len(cutoffs) - n_valid - n_test]
        valid_c = cutoffs[len(train_c) : len(train_c) + n_valid]
        test_c = cutoffs[len(train_c) + n_valid :]
        train, valid, test = (frame[by_cutoff.isin(c)] for c in (train_c, valid_c, test_c))
        strategy = "out_of_time"
    elif len(cutoffs) >= 2:
        train_c, valid_c = cutoffs[:-1], cutoffs[-1:]
        test_c = valid_c
        latest = frame[by_cutoff == cutoffs[-1]]
        u = _customer_fraction(latest["customer_id"])
        train = frame[by_cutoff.isin(train_c)]
        valid, test = latest[u < config.fallback_valid_share], latest[u >= config.fallback_valid_share]
        strategy = "out_of_time_latest_hash_split"
    else:
        train_c = valid_c = test_c = cutoffs
        u = _customer_fraction(frame["customer_id"])
        holdout = config.fallback_holdout_share
        train = frame[u >= holdout]
        valid = frame[u < holdout * config.fallback_valid_share]
        test = frame[(u >= holdout * config.fallback_valid_share) & (u < holdout)]
        strategy = "customer_hash"
        log.warning("only one cutoff in the training set: falling back to a customer-hash split")
    for name, part in (("train", train), ("valid", valid), ("test", test)):
        positives = int(part[target].sum())
        negatives = len(part) - positives
        if (
            len(part) < config.min_rows_per_split
            or min(positives, negatives) < config.min_positives_per_split
        ):
            raise DatasetError(
                f"{name} split too small to train on ({len(part)} rows, {positives} churned, "
                f"{negatives} retained; need >= {config.min_rows_per_split} rows and "
                f">= {config.min_positives_per_split} of each class)"
            )
    return Split(train, valid, test, strategy, tuple(train_c), tuple(valid_c), tuple(test_c))
