"""Monitoring as data (AL-14, DQ-07, DQ-08, DQ-12, AL-20) and alert delivery (AL-17, AL-20).

Drift metrics are computed here in numpy / scipy and written to `scoring.drift_metrics`; everything
that compares a metric with a policy threshold is SQL (dbt marts `marts.monitoring_drift`,
`marts.data_health`, `marts.pipeline_health`), so each threshold is read in one place.
"""
