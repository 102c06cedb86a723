"""Which dbt nodes each step builds: the names of the selectors in `dbt_project/selectors.yml`.

The selections themselves (methods, exclusions, indirect selection of tests) live only in that YAML,
so the DAGs' cosmos tasks, `crm train`, the in-process demo night and `crm bench` build exactly the
same nodes. Kept apart from dbt_config (which imports cosmos) so `crm train` does not pay for Airflow.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from crm_scoring import settings

# crm_nightly, before scoring: the seeds and the models the scores and the lists read (publish first)
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
# crm_nightly, after publishing: every other model of the night (monitoring and alerts, which read the
# night's scores, drift and stage timings; complaint, crisis and campaign reporting; rule activity; load
# bookkeeping). None is read by the scores or the lists, so the lists never wait for them.
REPORTING = "nightly_reporting"
# a warehouse's day before its first lists (the bench's day 0): nightly_reporting without what reads the
# lists build (rule_activity and its readers), which would find no lists_build relation to read
REPORTING_BEFORE_LISTS = "reporting_before_lists"
# the same day: nightly_candidates without what reads the scores (int_lists__consent, incremental by
# customer, gets its first build, so the first night with lists extends it as every later night does)
CANDIDATES_BEFORE_SCORES = "candidates_before_scores"
# the feature mart of one date alone: `crm train` before the date's first night, the real-data benchmark
SCORING_FEATURES = "scoring_features"
# what the CH-07 backtest labels matured cutoffs with, and the backtests' mart (the real-data benchmark;
# in the night nightly_marts and nightly_reporting hold them)
BACKTEST_INPUTS = "backtest_inputs"
# not a step: the column tests each model's crm_column_tests checks in one query; every step above leaves
# them out (dbt_project/tests/generic/crm_column_tests.sql)
BATCHED_COLUMN_TESTS = "batched_column_tests"
BACKTEST_PERFORMANCE = "backtest_performance"


def selectors_file() -> Path:
    return settings.dbt_project_dir() / "selectors.yml"


def selector_names() -> set[str]:
    """The selectors dbt knows (read from the YAML, so a renamed selector fails a test, not a night)."""
    data = yaml.safe_load(selectors_file().read_text()) or {}
    return {s["name"] for s in data.get("selectors", [])}


def build_args(selector: str) -> list[str]:
    """`dbt build` arguments of one step, for the paths that call dbt directly (dbtRunner)."""
    return ["build", "--selector", selector]
