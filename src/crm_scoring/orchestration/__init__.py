"""What the DAG files share: the dbt profile and paths for cosmos, the Assets, and the task bodies."""
