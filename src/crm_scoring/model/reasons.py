"""Reason codes (CH-06): the top-k features pushing each customer's churn risk UP, in business words.

Contributions are XGBoost's own exact tree SHAP values (`pred_contribs=True`) in the booster's
log-odds space; calibration is monotonic, so it changes no ranking of reasons. The selection is
vectorised (argpartition over the contribution matrix) and the wording is rendered once per distinct
(feature, value) pair, not per customer, so a million customers cost one predict plus numpy work.

The contributions are computed once per distinct *decision pattern*, not once per customer: a tree
ensemble sees a row only through which side of each split threshold each feature falls on (and
whether it is missing), and TreeSHAP (like the Saabas approximation) depends on nothing else, so rows
with the same pattern have bit-identical contributions. Customers share patterns massively (counts,
flags, bounded windows), so this is exact and several times cheaper (`crm bench` reports both).
From PER_TREE_MIN_ROWS patterns on, the same idea per tree (`tree_contributions`): a tree's
contributions depend only on the row's way at that tree's few nodes, so XGBoost explains each tree
once per distinct key and numpy sums the trees in XGBoost's order (the same float32 bits; issue 12:
~7x less CPU at 1M on the bench's booster, docs/scaling.md "Session 13").

A booster boosted from the RFM regression's logit (`models/churn/config.yaml` xgboost.base_margin)
explains only the residual; the regression's own linear contributions, coef x (x - training mean) in
the same log-odds space, are added per feature (`margin_contributions`), so the top reasons explain
the whole margin (a customer's 200 days of silence is a reason even when the trees add nothing to it).
A logistic-regression champion (model.family) has no trees: its reasons are those linear terms alone.
"""

from __future__ import annotations

import json
import logging
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import xgboost as xgb
import yaml

from crm_scoring.model.config import ModelConfig, churn_dir, load_config

if TYPE_CHECKING:
    from crm_scoring.model.artifacts import LoadedModel
    from crm_scoring.model.margin import LinearMargin

log = logging.getLogger(__name__)

REASON_COLUMNS = (
    "run_date",
    "customer_id",
    "reason_rank",
    "feature",
    "feature_value",
    "contribution",
    "reason_text",
    "model_version",
)


@dataclass(frozen=True)
class Wording:
    """How one feature reads to a CRM agent: a format template for `value`, plus special cases."""

    template: str
    zero: str | None = None
    missing: str | None = None

    def render(self, feature: str, value: float) -> str:
        return self._one(humanise(feature), value)

    def _one(self, label: str, value: float) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return self.missing or f"no data on {label}"
        if value == 0 and self.zero is not None:
            return self.zero
        try:
            return self.template.format(value=value, feature=label)
        except (ValueError, KeyError, IndexError):
            return f"{label}: {value:g}"

    def render_many(self, feature: str, values: np.ndarray) -> np.ndarray:
        """`render` of many float values of one feature: the label worked out once, and the values
        without a special case (missing, a zero wording) formatted in one comprehension."""
        label = humanise(feature)
        texts = np.empty(len(values), dtype=object)
        plain = ~np.isnan(values) & ((values != 0) | (self.zero is None))
        texts[~plain] = _objects([self._one(label, v) for v in values[~plain].tolist()])
        format_ = self.template.format
        try:
            texts[plain] = _objects([format_(value=v, feature=label) for v in values[plain].tolist()])
        except (ValueError, KeyError, IndexError):  # a broken template: `render`'s fallback per value
            texts[plain] = _objects([self._one(label, v) for v in values[plain].tolist()])
        return texts


def _objects(strings: list[str]) -> np.ndarray:
    out = np.empty(len(strings), dtype=object)
    out[:] = strings
    return out


def humanise(feature: str) -> str:
    """A column name as words ("visit_days_30d" -> "visit days 30d"): the last resort, never shown for a
    catalogued feature (tests/test_model_reasons.py requires an entry for every mart feature)."""
    return feature.replace("_", " ").strip()


def _fallback(feature: str) -> Wording:
    """Features the catalogue does not know yet still get a readable, honest reason."""
    return Wording(template="{feature}: {value:g}")


def load_catalogue(path: Path | None = None, config: ModelConfig | None = None) -> dict[str, Wording]:
    """feature -> Wording from models/churn/feature_catalogue.yaml (`features:` mapping)."""
    cfg = config or load_config()
    path = path or churn_dir() / cfg.reasons.catalogue
    if not path.exists():
        return {}
    with path.open(encoding="utf-8") as fh:
        raw: dict[str, Any] = yaml.safe_load(fh) or {}
    out = {}
    for feature, spec in (raw.get("features") or {}).items():
        if isinstance(spec, str):
            spec = {"template": spec}
        out[str(feature)] = Wording(
            template=str(spec["template"]), zero=spec.get("zero"), missing=spec.get("missing")
        )
    return out


def contributions(
    booster: xgb.Booster, matrix: np.ndarray, features: list[str], *, approximate: bool = False
) -> np.ndarray:
    """(rows, features) contribution matrix in log-odds, bias column dropped.

    Exact tree SHAP by default; `approximate` uses XGBoost's per-path (Saabas) attribution, ~20x
    cheaper but with a different top-3 for many customers (models/churn/config.yaml decides).
    """
    dm = xgb.DMatrix(matrix, feature_names=features)
    return booster.predict(dm, pred_contribs=True, approx_contribs=approximate)[:, : len(features)]


def _model_json(booster: xgb.Booster) -> dict[str, Any]:
    """The booster's JSON model: the exact float32 split conditions XGBoost compares against (the text
    dump rounds them)."""
    return json.loads(booster.save_raw("json"))


def _json_trees(model: dict[str, Any]) -> list[dict[str, Any]]:
    trees = model["learner"]["gradient_booster"]["model"]["trees"]
    for tree in trees:
        if any(int(t) != 0 for t in tree.get("split_type", [])):
            raise ValueError("categorical splits: decision patterns need the category sets")
    return trees


def split_thresholds(
    booster: xgb.Booster, n_features: int, *, model: dict[str, Any] | None = None
) -> list[np.ndarray]:
    """Per feature index: the sorted distinct float32 thresholds the ensemble splits that feature on.

    Read from the JSON model (`_model_json`). Categorical splits are not used by this model; they
    raise rather than mis-group rows.
    """
    per_feature: list[list[np.ndarray]] = [[] for _ in range(n_features)]
    for tree in _json_trees(model or _model_json(booster)):
        left = np.asarray(tree["left_children"])
        inner = left != -1
        idx = np.asarray(tree["split_indices"])[inner]
        cond = np.asarray(tree["split_conditions"], dtype=np.float32)[inner]
        for j in np.unique(idx):
            per_feature[int(j)].append(cond[idx == j])
    return [np.unique(np.concatenate(parts)) if parts else np.empty(0, np.float32) for parts in per_feature]


def decision_patterns(matrix: np.ndarray, thresholds: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(first row of each distinct pattern, pattern index per row).

    A row's pattern per feature is the number of thresholds <= its float32 value (XGBoost sends
    `x < threshold` left), or -1 when missing. Equal patterns take the same branch at every node.

    The patterns are told apart by a 64-bit hash of their codes, then every row is checked against its
    pattern's first row, code by code: a collision (two patterns, one hash) is found, never trusted, and
    falls back to sorting the whole rows. Sorting rows of 90 codes took 3.0 s for 564,433 candidates at
    1,000,000 customers (issue 12), the hash a fraction of it. The patterns' order differs between the
    two ways; no caller depends on it (each row gets its own pattern's contributions).
    """
    n, f = matrix.shape
    codes = np.empty((f, n), dtype=np.int32)  # feature-major: each code column contiguous
    for j in range(f):
        col = matrix[:, j].astype(np.float32)
        code = np.searchsorted(thresholds[j], col, side="right").astype(np.int32)
        code[np.isnan(col)] = -1
        codes[j] = code
    hashed = _pattern_hash(codes)
    if hashed is not None:
        _, first, inverse = np.unique(hashed, return_index=True, return_inverse=True)
        inverse = np.asarray(inverse).reshape(-1)
        representative = first[inverse]
        if all(np.array_equal(codes[j], codes[j].take(representative)) for j in range(f)):
            return first, inverse
        log.warning("decision patterns: a 64-bit hash collision; sorting the rows instead")
    rows = np.ascontiguousarray(codes.T).view(np.dtype((np.void, codes.dtype.itemsize * f))).ravel()
    _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
    return first, np.asarray(inverse).reshape(-1)


_HASH_SEED = 0x5EED_C0DE


def _pattern_hash(codes: np.ndarray) -> np.ndarray | None:
    """A 64-bit hash per column of the (features, rows) codes: per feature a multiply by a fixed odd
    random constant and a xor-shift mix, wrapping in uint64. None without features."""
    f, n = codes.shape
    if f == 0:
        return None
    rng = np.random.default_rng(_HASH_SEED)
    factors = rng.integers(1, 2**63, size=f, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    h = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(f):
            h ^= (codes[j].astype(np.int64).view(np.uint64) + np.uint64(j + 1)) * factors[j]
            h = (h ^ (h >> np.uint64(29))) * np.uint64(0xBF58476D1CE4E5B9)
    return h


@dataclass(frozen=True)
class _Tree:
    """One tree's internal nodes, in node order: split feature, float32 condition, missing goes left."""

    features: np.ndarray
    conditions: np.ndarray
    default_left: np.ndarray

    @property
    def used(self) -> np.ndarray:
        """The features this tree splits on: the only non-zero columns of its contributions."""
        return np.unique(self.features)


PER_TREE_MIN_ROWS = 4096  # fewer patterns: one XGBoost call over them costs less than ~4 ms per tree
_SLICE_BLOCK = 32  # a slice costs time in the booster's size: single trees are cut from blocks of trees
_MAX_TREE_NODES = 62  # a node-decision key fits one int64; deeper trees are explained whole (`contributions`)
_TABLE_NODES = 16  # up to 2**16 keys: distinct keys through a lookup table instead of a sort
_THREAD_MIN_ROWS = 50_000  # rows per thread below which one more thread costs more than it saves
_TOP_BLOCK_ROWS = 16_384  # rows per block of top_positive: its temporaries stay a few MB (see there)


def _plain_trees(booster: xgb.Booster, model: dict[str, Any]) -> list[_Tree] | None:
    """The ensemble as a list of single trees, in boosting order, or None when tree t is not iteration t
    of one output (dart weights, parallel trees, several classes) or a tree is too deep for one key."""
    learner = model["learner"]
    gbm = learner["gradient_booster"]
    if gbm.get("name") != "gbtree":
        return None
    params = gbm["model"]["gbtree_model_param"]
    trees = _json_trees(model)
    if (
        int(params.get("num_parallel_tree", 1)) != 1
        or int(learner["learner_model_param"].get("num_class", 0)) > 1
        or len(trees) != booster.num_boosted_rounds()
        or any(int(g) != 0 for g in gbm["model"].get("tree_info", []))
    ):
        return None
    out = []
    for tree in trees:
        inner = np.asarray(tree["left_children"]) != -1
        if inner.sum() > _MAX_TREE_NODES:
            return None
        out.append(
            _Tree(
                features=np.asarray(tree["split_indices"], dtype=np.int64)[inner],
                conditions=np.asarray(tree["split_conditions"], dtype=np.float32)[inner],
                default_left=np.asarray(tree["default_left"], dtype=bool)[inner],
            )
        )
    return out


def _node_keys(tree: _Tree, values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Per row (columns of the feature-major float32 `values`): bit i set when the row goes left at the
    tree's internal node i (`x < condition`, or missing with the default branch left)."""
    dtype = np.int32 if len(tree.features) <= 30 else np.int64
    key = np.zeros(values.shape[1], dtype=dtype)
    for bit, (j, cond, left) in enumerate(
        zip(tree.features, tree.conditions, tree.default_left, strict=True)
    ):
        go = values[j] < cond  # NaN compares False: a missing value goes right unless default left
        if left:
            go |= missing[j]
        key |= go.astype(dtype) << dtype(bit)
    return key


def _distinct(
    key: np.ndarray, nodes: int, positions: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(one row per distinct key, index of its key per row).

    The index is `np.intp`, numpy's own index type: the caller gathers with it once per feature the tree
    uses, and `take` would convert any other integer type first, a pass and an allocation over every
    row each time (issue 12: 40 % of the per-tree path's time at 300,000 rows went to such gathers).
    `positions` may pass `np.arange(len(key))`, shared by every tree."""
    if nodes <= _TABLE_NODES:
        present = np.flatnonzero(np.bincount(key, minlength=1 << nodes))
        table = np.zeros(1 << nodes, dtype=np.intp)
        table[present] = np.arange(len(present), dtype=np.intp)
        inverse = table[key]
        rows = np.empty(len(present), dtype=np.intp)
        # any row of a key will do: they all get its contributions
        rows[inverse] = np.arange(len(key), dtype=np.intp) if positions is None else positions
        return rows, inverse
    _, rows, inverse = np.unique(key, return_index=True, return_inverse=True)
    return rows, np.asarray(inverse, dtype=np.intp).reshape(-1)


def reason_threads() -> int:
    """Threads for `tree_contributions`: the cores this process may run on. Its heavy steps (numpy's
    comparisons, gathers and sums over whole columns, XGBoost's predict through ctypes) release the GIL,
    so row chunks on separate threads run on separate cores."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def tree_contributions(
    booster: xgb.Booster,
    matrix: np.ndarray,
    features: list[str],
    *,
    approximate: bool = False,
    model: dict[str, Any] | None = None,
    threads: int | None = None,
) -> np.ndarray:
    """`contributions`, the same float32 values, computed tree by tree once per distinct *node-decision
    key* of that tree.

    XGBoost's contributions of a row are the float32 sum, tree by tree in boosting order, of each tree's
    own contributions (a one-tree slice of the booster), and a tree's contributions of a row depend only on
    which way the row goes at each of that tree's nodes (TreeSHAP and Saabas alike). A depth-4 tree has
    15 nodes, so at most 32,768 keys however many customers: XGBoost computes a few thousand rows per
    tree instead of every row through every tree, and numpy adds the tree's non-zero columns (the
    features it splits on) to the running sums in the same order, which gives the same bits (a tree
    that does not use a feature adds 0.0 to it in XGBoost: only the sign of a zero can differ, and no
    reason is ever given for a zero). Ensembles that are not one plain tree per iteration fall back to
    one XGBoost call over all rows.

    `threads` (default: `reason_threads()`, at most one per _THREAD_MIN_ROWS rows): the rows are cut
    into that many contiguous chunks, each summed on its own thread. A row's sums are still added tree
    by tree in boosting order, so the bits do not depend on the number of threads; only the distinct
    keys are found per chunk.
    """
    model = model or _model_json(booster)
    trees = _plain_trees(booster, model)
    n = len(matrix)
    if trees is None or n == 0:
        return contributions(booster, matrix, features, approximate=approximate)
    rows32 = np.ascontiguousarray(matrix, dtype=np.float32)  # what a DMatrix holds (same rounding)
    singles = _single_trees(booster, trees)
    if threads is None:
        threads = min(reason_threads(), n // _THREAD_MIN_ROWS)
    workers = max(1, min(threads, n))
    if workers == 1:
        return _tree_sums(singles, trees, rows32, approximate)
    bounds = np.linspace(0, n, workers + 1).astype(int)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="reasons") as pool:
        parts = list(
            pool.map(
                lambda b: _tree_sums(singles, trees, rows32[b[0] : b[1]], approximate),
                zip(bounds[:-1], bounds[1:], strict=True),
            )
        )
    return np.concatenate(parts)


def _single_trees(booster: xgb.Booster, trees: list[_Tree]) -> list[xgb.Booster | None]:
    """One single-tree booster per tree (None for a lone leaf), cut once, before any thread predicts:
    XGBoost explains only whole prefixes (`iteration_range` with a start > 0 is refused for
    contributions), and predicting with one booster from several threads is safe while slicing is not
    documented to be."""
    singles: list[xgb.Booster | None] = []
    block = booster
    for t, tree in enumerate(trees):
        if t % _SLICE_BLOCK == 0:
            block = booster[t : min(t + _SLICE_BLOCK, len(trees))]
            # one thread, inherited by its slices: after hundreds of small parallel calls OpenMP's
            # spin-waits cost more CPU than the work
            block.set_param({"nthread": 1})
        # a single leaf: its value goes to the bias column only
        singles.append(None if len(tree.features) == 0 else block[t % _SLICE_BLOCK : t % _SLICE_BLOCK + 1])
    return singles


def _tree_sums(
    singles: list[xgb.Booster | None], trees: list[_Tree], rows32: np.ndarray, approximate: bool
) -> np.ndarray:
    """(rows, features) float32 contributions of `rows32`, tree by tree in boosting order."""
    n, f = rows32.shape
    values = np.ascontiguousarray(rows32.T)  # feature-major: one feature's rows contiguous
    missing = np.isnan(values)
    sums = np.zeros((f, n), dtype=np.float32)
    positions = np.arange(n, dtype=np.intp)
    for tree, one in zip(trees, singles, strict=True):
        if one is None:
            continue
        rows, inverse = _distinct(_node_keys(tree, values, missing), len(tree.features), positions)
        per_key = one.predict(
            xgb.DMatrix(rows32[rows], nthread=1),  # positional columns, as in `contributions`: no names
            pred_contribs=True,
            approx_contribs=approximate,
            validate_features=False,
        )
        for j in tree.used:
            sums[j] += per_key[:, j].take(inverse)
    return np.ascontiguousarray(sums.T)


def pattern_contributions(
    booster: xgb.Booster, matrix: np.ndarray, features: list[str], *, approximate: bool = False
) -> tuple[np.ndarray, int]:
    """`contributions` computed once per distinct decision pattern and broadcast (bit-identical rows),
    tree by tree (`tree_contributions`) from PER_TREE_MIN_ROWS patterns on; also returns the number of
    patterns computed."""
    if len(matrix) == 0:  # XGBoost returns a flat array for no rows
        return np.zeros((0, len(features)), dtype=np.float32), 0
    model = _model_json(booster)
    first, inverse = decision_patterns(matrix, split_thresholds(booster, len(features), model=model))
    if len(first) < PER_TREE_MIN_ROWS:
        unique = contributions(booster, matrix[first], features, approximate=approximate)
    else:
        unique = tree_contributions(booster, matrix[first], features, approximate=approximate, model=model)
    return unique[inverse], len(first)


def margin_contributions(margin: LinearMargin | None, matrix: np.ndarray, features: list[str]) -> np.ndarray:
    """(rows, features) linear contributions of the base margin in the booster's feature order (zeros for
    the features it does not use; a plain 0 without a margin, which broadcasts)."""
    if margin is None:
        return np.zeros(1, dtype=np.float64)
    out = np.zeros((len(matrix), len(features)), dtype=np.float64)
    idx = margin.indices(features)
    out[:, idx] = margin.contributions(matrix[:, idx])
    return out


def model_contributions(
    model: LoadedModel, matrix: np.ndarray, *, approximate: bool = False
) -> tuple[np.ndarray, int]:
    """(rows, features) log-odds contributions of a loaded model of either family, and the number of tree
    decision patterns computed (0 without trees).

    XGBoost: exact tree SHAP of the residual plus the base margin's linear terms. Logistic regression
    (no booster): its exact contributions coef_j * (t_j(x) - training mean_j) / scale_j, summed per
    source feature, in the same logit space, so the reasons table and the top-k policy are unchanged.
    """
    if model.booster is None:
        return margin_contributions(model.margin, matrix, model.features), 0
    contrib, patterns = pattern_contributions(model.booster, matrix, model.features, approximate=approximate)
    if model.margin is not None:  # the trees explain the residual; the regression explains the rest
        contrib = contrib.astype(np.float64) + margin_contributions(model.margin, matrix, model.features)
    return contrib, patterns


def top_positive(contrib: np.ndarray, top_k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, rank, feature index) of the up-to-k largest POSITIVE contributions per row, rank 0 = largest.

    Rows with fewer than k positive contributions get fewer reasons: a feature lowering the risk is
    never given as a reason for it.

    In blocks of _TOP_BLOCK_ROWS rows (each row is independent, so the result is the same): over all
    564,433 candidates at 1,000,000 customers at once, the masked and negated copies were two fresh
    400 MB arrays whose first touch cost the kernel 1-7 s from one call to the next (7.1-7.5 s of the
    codes' 16-21 s, docs/scaling.md, session 35); a block's copies are a few MB, reused.
    """
    n, f = contrib.shape
    k = min(top_k, f)
    if n == 0 or k == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    rows, ranks, features = [], [], []
    for start in range(0, n, _TOP_BLOCK_ROWS):
        r, rank, feature = _top_positive_block(contrib[start : start + _TOP_BLOCK_ROWS], k)
        rows.append(r + start)
        ranks.append(rank)
        features.append(feature)
    return np.concatenate(rows), np.concatenate(ranks), np.concatenate(features)


def _top_positive_block(contrib: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """top_positive of one block of rows (row numbers within the block)."""
    f = contrib.shape[1]
    masked = np.where(contrib > 0, contrib, -np.inf)
    idx = (
        np.argpartition(-masked, k - 1, axis=1)[:, :k] if k < f else np.tile(np.arange(f), (len(contrib), 1))
    )
    vals = np.take_along_axis(masked, idx, axis=1)
    order = _order_rows(vals, idx)
    idx = np.take_along_axis(idx, order, axis=1)
    vals = np.take_along_axis(vals, order, axis=1)
    rows, ranks = np.nonzero(np.isfinite(vals))
    return rows, ranks, idx[rows, ranks]


def _order_rows(vals: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Per row: descending contribution, ties broken by feature position (deterministic)."""
    # Sort by feature index first, then stably by -value: equal values keep feature order.
    by_idx = np.argsort(idx, axis=1, kind="stable")
    vals_sorted = np.take_along_axis(vals, by_idx, axis=1)
    by_val = np.argsort(-vals_sorted, axis=1, kind="stable")
    return np.take_along_axis(by_idx, by_val, axis=1)


def _render_texts(
    feature_idx: np.ndarray, values: np.ndarray, features: list[str], catalogue: dict[str, Wording]
) -> np.ndarray:
    """Reason text per reason row, formatting each distinct (feature, value) pair once: one stable sort
    by feature, then per feature the distinct values (all missing values are one; -0.0 reads as 0)."""
    texts = np.empty(len(feature_idx), dtype=object)
    if len(feature_idx) == 0:
        return texts
    order = np.argsort(feature_idx, kind="stable")
    sorted_idx = feature_idx[order]
    starts = np.flatnonzero(np.r_[True, sorted_idx[1:] != sorted_idx[:-1]])
    for start, end in zip(starts, [*starts[1:], len(order)], strict=True):
        at = order[start:end]
        name = features[int(sorted_idx[start])]
        distinct, inverse = np.unique(values[at] + 0.0, return_inverse=True)  # NaNs collapse into one
        rendered = catalogue.get(name, _fallback(name)).render_many(name, distinct)
        texts[at] = rendered[np.asarray(inverse).reshape(-1)]
    return texts


def compute_reason_codes(
    model: LoadedModel,
    frame: pd.DataFrame,
    run_date: date,
    *,
    top_k: int | None = None,
    catalogue: dict[str, Wording] | None = None,
    matrix: np.ndarray | None = None,
    config: ModelConfig | None = None,
) -> pa.Table:
    """Reason rows (REASON_COLUMNS) for every customer of `frame` (customer_id + the model's features).

    `matrix` may pass the float64 feature matrix already built for scoring, to avoid a second copy;
    `config` the caller's ModelConfig (top_k, approximate, catalogue), read from disk when None.
    """
    cfg = config or load_config()
    k = cfg.reasons.top_k if top_k is None else top_k
    words = load_catalogue(config=cfg) if catalogue is None else catalogue
    x = frame[model.features].to_numpy(dtype=np.float64) if matrix is None else matrix
    contrib, patterns = model_contributions(model, x, approximate=cfg.reasons.approximate)
    log.info("reason codes: %d customers, %d distinct decision patterns", len(x), patterns)
    rows, ranks, feat_idx = top_positive(contrib, k)
    values = x[rows, feat_idx]
    texts = _render_texts(feat_idx, values, model.features, words)
    ids = pa.array(frame["customer_id"].to_numpy(dtype=object), pa.string())
    n = len(rows)
    return pa.table(
        {
            "run_date": pa.repeat(pa.scalar(run_date, pa.date32()), n),
            "customer_id": ids.take(pa.array(rows, pa.int64())),
            "reason_rank": pa.array(ranks + 1, pa.int16()),
            "feature": pa.array(np.asarray(model.features, dtype=object)[feat_idx], pa.string()),
            "feature_value": pa.array(values, pa.float64(), mask=np.isnan(values)),
            "contribution": pa.array(contrib[rows, feat_idx].astype(np.float64), pa.float64()),
            "reason_text": pa.array(texts, pa.string()),
            "model_version": pa.repeat(pa.scalar(model.version, pa.string()), n),
        }
    )
