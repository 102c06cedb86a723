"""Which dbt nodes each step builds: the names of the selectors in `dbt_project/selectors.yml`.

The selections themselves (methods, exclusions, indirect selection of tests) live only in that YAML,
so the DAGs' cosmos tasks, `crm train`, the in-process demo night and `crm bench` build exactly the
same nodes. Kept apart from dbt_config (which imports cosmos) so `crm train` does not pay for Airflow.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from crm_scoring import settings

# crm_nightly, before scoring: seeds, staging, intermediate and marts
MARTS = "nightly_marts"
# crm_nightly, after scoring: candidates and lists (they read the scores); the dbt_lists step builds it
# in two parts, with the candidates' reason codes between them (tasks.build_lists):
LISTS = "nightly_lists"
# ... first the candidates and the list models they read (none carries reason codes) ...
CANDIDATES = "nightly_candidates"
# ... then the rest of nightly_lists: the lists, which carry the candidates' reasons, and what reads them
LISTS_AFTER_REASONS = "nightly_lists_after_reasons"
# churn_training and `crm train`: the point-in-time training snapshots and what they read
TRAINING = "training_snapshots"
# crm_nightly, after publishing: the monitoring marts (drift, data and pipeline health) and the alerts
# marts that read them, rebuilt for the run date now that scores, drift and stage timings exist. dbt_marts
# builds them too (so marts.alerts never reads a missing table on a fresh warehouse); this step
# completes them.
MONITORING = "nightly_monitoring"


def selectors_file() -> Path:
    return settings.dbt_project_dir() / "selectors.yml"


def selector_names() -> set[str]:
    """The selectors dbt knows (read from the YAML, so a renamed selector fails a test, not a night)."""
    data = yaml.safe_load(selectors_file().read_text()) or {}
    return {s["name"] for s in data.get("selectors", [])}


def build_args(selector: str) -> list[str]:
    """`dbt build` arguments of one step, for the paths that call dbt directly (dbtRunner)."""
    return ["build", "--selector", selector]
