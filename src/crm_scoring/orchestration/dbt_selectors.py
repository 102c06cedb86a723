"""Which dbt nodes each step builds: written once for the DAGs' dbt tasks and the direct `crm` paths.

Kept apart from dbt_config (which imports cosmos) so `crm train` does not pay for Airflow imports.
"""

from __future__ import annotations

# crm_nightly, before scoring: seeds, staging, intermediate and marts. Tests come in through
# indirect selection only, so a test of a list model never runs before that model exists.
MARTS_SELECT = ["resource_type:seed", "resource_type:model"]
MARTS_EXCLUDE = ["tag:lists", "tag:training"]
# crm_nightly, after scoring: candidates and lists (they read the scores)
LISTS_SELECT = ["tag:lists"]
# churn_training and `crm train`: the point-in-time training snapshots and what they read
TRAINING_SELECT = ["+tag:training"]
# A test runs in the step that builds the last of its parents: "buildable" takes a test when all its
# parents are selected or upstream of the selection (e.g. lists' relationships tests to staging).
INDIRECT_SELECTION = "buildable"
# crm_nightly, after publishing: the monitoring marts (drift, data and pipeline health) and the alerts
# marts that read them, rebuilt for the run date now that scores, drift and stage timings exist. dbt_marts
# builds them too (so marts.alerts never reads a missing table on a fresh warehouse); this step
# completes them.
MONITORING_SELECT = ["tag:monitoring", "alerts+"]
