"""The dbt project in tests: which models may still probe the warehouse, and policy-seed edits."""

from __future__ import annotations

# Models that still ask the warehouse what exists (owned by the monitoring work; they read ops/scoring/lists
# tables that create_source_tables() creates, so they compile alike once the hook ran). Remove a name here
# when its model reads source() unconditionally; tests/test_architecture.py keeps the set honest.
STILL_PROBING = frozenset(
    {
        "stg_monitoring__list_publications",
        "stg_monitoring__stage_runs",
        "stg_monitoring__drift_metrics",
        "stg_monitoring__load_audit",
    }
)
