# Shared by the equality scripts (reasons_equality.py, demo_tables_equality.py): the demo nights D0, D1 run in
# process with one source tree (CRM_HOME / PYTHONPATH), on a fresh database of the local server.
import os, sys
from datetime import date
from pathlib import Path

D0, D1 = date(2024, 3, 4), date(2024, 3, 5)
SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def run_demo_nights(name: str, customers: int, root: Path, db_prefix: str):
    """Generate (once per size) the demo export, train the shared champion as of D0, run D0 and D1.

    Returns (warehouse url, database name, [each night's step results]). The environment is set before crm_scoring is
    imported, so every path (state, MLflow, dbt target) lives under `root`."""
    landing = root / f"landing-{customers}"
    os.environ.update({
        "CRM_STATE_DIR": str(root / f"state-{name}"),
        "CRM_LANDING_DIR": str(landing),
        "MLFLOW_TRACKING_URI": f"sqlite:///{root / f'mlflow-{customers}.db'}",
        "CRM_MLFLOW_ARTIFACT_ROOT": (root / f"artifacts-{customers}").as_uri(),
        "DBT_TARGET_PATH": str(root / f"dbt_target-{name}"),
        "DBT_LOG_PATH": str(root / f"dbt_logs-{name}"),
        "GX_ANALYTICS_ENABLED": "False",
        "OMP_NUM_THREADS": "1",
    })
    from crm_scoring import settings, warehouse
    from crm_scoring.demo import generate
    from crm_scoring.demo.replay import nightly_in_process
    from crm_scoring.orchestration.training import ensure_champion_through

    print("tree:", settings.project_root(), file=sys.stderr)
    if not (landing / "done").exists():
        generate(landing, D0, D1, customers, 5, history_days=400, progress=False)
        (landing / "done").write_text("ok")
    db = warehouse.create_database(SERVER, f"{db_prefix}_{name}")
    url = warehouse.with_database(SERVER, db)
    os.environ["CRM_WAREHOUSE_URL"] = url
    print("champion", ensure_champion_through(url, D0), file=sys.stderr)
    return url, db, [nightly_in_process(d, url) for d in (D0, D1)]
