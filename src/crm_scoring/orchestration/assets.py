"""Assets that link the DAGs: a publication of lists, a new raw load, a promoted champion model."""

from __future__ import annotations

from airflow.sdk import Asset

RAW_LOAD = Asset("crm://warehouse/raw", group="crm")
MARTS = Asset("crm://warehouse/marts", group="crm")
CHURN_SCORES = Asset("crm://warehouse/scoring/churn_scores", group="crm")
RETENTION_LIST = Asset("crm://warehouse/lists/retention_list", group="crm")
COMPENSATION_LIST = Asset("crm://warehouse/lists/compensation_list", group="crm")
CHAMPION_MODEL = Asset("crm://mlflow/models/churn@champion", group="crm")
