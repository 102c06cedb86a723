"""How many shards the nightly scoring is split into: `CRM_SCORE_SHARDS` (default 1, at most 64).

With N > 1, `crm_nightly` scores and explains the customers in N mapped Airflow tasks (dynamic task
mapping), one per shard of a stable hash of customer_id (`model.dataset.shard_predicate`), which the
executor spreads over its workers (CeleryExecutor: over machines). N is read when the DAG file is
parsed, so every component of a deployment (DAG processor, scheduler, workers) must see the same
value; changing it changes the DAG's shape from the next parse on. Tens of shards, not thousands:
each shard loads the champion model and reads the feature mart once, so a shard should hold
hundreds of thousands of customers (docker/README.md, "Scale-out").
"""

from __future__ import annotations

import os
import socket

ENV = "CRM_SCORE_SHARDS"
MAX_SHARDS = 64
# names the process that ran a shard in its XCom (the distributed test; the UI shows it too)
WORKER_ENV = "CRM_WORKER_NAME"


def score_shards() -> int:
    """N from the environment; a value outside 1..MAX_SHARDS is an error, not silently clamped."""
    raw = os.environ.get(ENV, "1").strip() or "1"
    try:
        count = int(raw)
    except ValueError:
        raise ValueError(f"{ENV}={raw!r}: want a whole number of shards, 1..{MAX_SHARDS}") from None
    if not 1 <= count <= MAX_SHARDS:
        raise ValueError(f"{ENV}={count}: want 1..{MAX_SHARDS} shards")
    return count


def worker_name() -> str:
    """The worker that runs this process: `CRM_WORKER_NAME` when the deployment sets it, else the host."""
    return os.environ.get(WORKER_ENV) or socket.gethostname()
