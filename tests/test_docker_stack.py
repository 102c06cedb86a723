"""Static checks of the team Docker stack (docker/): no Docker engine needed.

They catch what `docker compose config` would, plus the stack's own rules: every secret comes from
`${VAR}` interpolation, the Airflow services share one anchored configuration, and the image is
built from the committed lock.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
COMPOSE_FILE = DOCKER / "docker-compose.yml"
DOCKERFILE = DOCKER / "Dockerfile"
ENV_EXAMPLE = DOCKER / ".env.example"
INIT_SQL = DOCKER / "init-warehouse.sql"

AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}
SECRET_KEY = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|_KEY$")
INTERPOLATION = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")
URL_PASSWORD = re.compile(r"://[^:/@\s]+:([^@\s]+)@")


def _compose_text_without_comments() -> str:
    lines = COMPOSE_FILE.read_text().splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("#"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def _host_path(source: str) -> Path:
    """A bind-mount source relative to docker/, with `${VAR:-default}` resolved to its default."""
    resolved = INTERPOLATION.sub(lambda m: m.group(3) or "", source)
    return (DOCKER / resolved).resolve()


def _bind_mounts(service: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Container path -> (host source, mode) for the short-syntax bind mounts of a service."""
    mounts = {}
    for volume in service.get("volumes", []):
        parts = volume.split(":")
        # `${VAR:-default}` contains a colon; rejoin it.
        if parts[0].startswith("${") and not parts[0].endswith("}"):
            parts = [parts[0] + ":" + parts[1], *parts[2:]]
        source, target, mode = parts[0], parts[1], parts[2] if len(parts) > 2 else "rw"
        if source.startswith((".", "/", "${")):
            mounts[target] = (source, mode)
    return mounts


def test_every_service_has_an_image_or_a_build(services: dict[str, Any]) -> None:
    assert {"warehouse", "mlflow", *AIRFLOW_SERVICES} <= set(services)
    for name, service in services.items():
        assert service.get("image") or service.get("build"), name
        build = service.get("build")
        if build:
            context = (DOCKER / build["context"]).resolve()
            assert context == ROOT, name
            assert (context / build["dockerfile"]).is_file(), name
    assert services["warehouse"]["image"] == "postgres:16"


def test_no_secret_value_is_hardcoded(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for key, value in _environment(service).items():
            if SECRET_KEY.search(key) and not key.endswith("_FILE"):
                assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", value), f"{name}.{key} must be ${{VAR:?}}: {value}"
            for password in URL_PASSWORD.findall(value):
                assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", password), f"{name}.{key} embeds a password"


def test_secrets_have_no_default_anywhere_in_the_compose_file() -> None:
    for var, op, _default in INTERPOLATION.findall(_compose_text_without_comments()):
        if SECRET_KEY.search(var):
            assert op == ":?", f"{var} must be required (${{{var}:?...}}), not defaulted"


def test_env_example_defines_every_required_variable_with_placeholders(env_example: dict[str, str]) -> None:
    required = {var for var, op, _ in INTERPOLATION.findall(_compose_text_without_comments()) if op == ":?"}
    assert required, "the compose file should require its secrets"
    assert required <= set(env_example), f"missing from .env.example: {required - set(env_example)}"
    for key, value in env_example.items():
        if SECRET_KEY.search(key):
            assert value == "CHANGE_ME", f".env.example must not carry a real {key}"


def _anchor_target(document: yaml.MappingNode, key: str) -> yaml.Node:
    for key_node, value_node in document.value:
        if key_node.value == key:
            return value_node
    raise KeyError(key)


def test_airflow_services_merge_the_common_anchor() -> None:
    """Checked on the YAML node graph: each service merges the very node anchored as x-airflow-common."""
    assert re.search(r"^x-airflow-common: &airflow-common$", COMPOSE_FILE.read_text(), re.M)
    document = yaml.compose(COMPOSE_FILE.read_text())
    common = _anchor_target(document, "x-airflow-common")
    services = _anchor_target(document, "services")
    merged = {}
    for key_node, value_node in services.value:
        merges = [v for k, v in value_node.value if k.tag == "tag:yaml.org,2002:merge"]
        merged[key_node.value] = any(node is common for node in merges)
    assert {name for name, uses in merged.items() if uses} == AIRFLOW_SERVICES


def test_airflow_environment(compose: dict[str, Any], services: dict[str, Any]) -> None:
    common = _environment(compose["x-airflow-common"])
    assert common["CRM_WAREHOUSE_URL"].startswith("postgresql://crm_app:${CRM_APP_PASSWORD:?")
    assert common["CRM_WAREHOUSE_URL"].endswith("@warehouse:5432/crm")
    assert common["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    assert common["CRM_HOME"] == "/opt/crm"
    assert common["CRM_LANDING_DIR"] == "/opt/crm/data/landing"
    assert common["GX_ANALYTICS_ENABLED"] == "False"
    assert common["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/crm/dags"
    assert common["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert common["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert common["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    for key in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"):
        assert common[key].startswith("postgresql+psycopg://airflow:"), key
        assert common[key].endswith("@warehouse:5432/airflow"), key
    for key in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__CORE__FERNET_KEY"):
        assert common[key].startswith("${"), key
    assert "SimpleAuthManager" in common["AIRFLOW__CORE__AUTH_MANAGER"]
    for name in AIRFLOW_SERVICES:
        env = _environment(services[name])
        assert common.items() <= env.items(), name
    assert "airflow db migrate" in "\n".join(services["airflow-init"]["command"])
    assert "api-server" in services["airflow-apiserver"]["command"]
    assert "scheduler" in services["airflow-scheduler"]["command"]
    assert "dag-processor" in services["airflow-dag-processor"]["command"]
    assert "triggerer" in services["airflow-triggerer"]["command"]


def test_celery_workers_scale_out(compose: dict[str, Any], services: dict[str, Any]) -> None:
    """CeleryExecutor with a Redis broker: `up --scale airflow-worker=N` must be able to start N replicas."""
    common = _environment(compose["x-airflow-common"])
    broker = common["AIRFLOW__CELERY__BROKER_URL"]
    assert broker.startswith("redis://default:${REDIS_PASSWORD:?") and broker.endswith("@redis:6379/0")
    backend = common["AIRFLOW__CELERY__RESULT_BACKEND"]
    assert backend.startswith("db+postgresql+psycopg://airflow:${AIRFLOW_DB_PASSWORD:?")
    assert backend.endswith("@warehouse:5432/airflow")
    # every component parses the DAG with the same number of scoring shards
    assert common["CRM_SCORE_SHARDS"] == "${CRM_SCORE_SHARDS:-1}"
    worker = services["airflow-worker"]
    assert worker["command"][:3] == ["airflow", "celery", "worker"]
    # replicas: no fixed container name, no published host port
    assert "container_name" not in worker and "ports" not in worker
    assert "inspect ping" in " ".join(worker["healthcheck"]["test"])
    assert worker["depends_on"]["redis"]["condition"] == "service_healthy"
    assert worker["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"
    redis = services["redis"]
    assert redis["image"].startswith("redis:")
    assert "--requirepass" in " ".join(redis["command"])
    assert _environment(redis)["REDIS_PASSWORD"] == "${REDIS_PASSWORD:?set REDIS_PASSWORD in docker/.env}"
    # the scheduler queues only: nothing of the tasks' stack needs to run there
    assert services["airflow-scheduler"]["command"] == ["airflow", "scheduler"]
    # the lock ships the executor and the broker client the image installs
    lock = (ROOT / "requirements.lock").read_text()
    assert re.search(r"^apache-airflow-providers-celery==", lock, re.M)
    assert re.search(r"^redis==", lock, re.M)


def test_airflow_services_wait_for_init_and_the_warehouse(services: dict[str, Any]) -> None:
    for name in AIRFLOW_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["warehouse"]["condition"] == "service_healthy", name
        if name != "airflow-init":
            assert depends["airflow-init"]["condition"] == "service_completed_successfully", name


def test_project_folders_are_mounted(compose: dict[str, Any], services: dict[str, Any]) -> None:
    mounts = _bind_mounts(compose["x-airflow-common"])
    for folder in ("dags", "dbt_project", "models", "expectations"):
        source, mode = mounts[f"/opt/crm/{folder}"]
        assert _host_path(source) == ROOT / folder, folder
        assert mode == "ro", folder
    for folder in ("dags", "dbt_project", "models"):
        assert (ROOT / folder).is_dir(), folder
    source, mode = mounts["/opt/crm/data/landing"]
    assert _host_path(source) == ROOT / "data" / "landing"
    assert mode == "ro"
    for name in AIRFLOW_SERVICES:
        assert _bind_mounts(services[name]) == mounts, name


def test_named_volumes_are_declared(compose: dict[str, Any], services: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/", "$")):
                assert source in declared, f"{name} uses undeclared volume {source}"
    assert any(v.endswith(":/mlartifacts") for v in services["mlflow"]["volumes"])


def test_warehouse_init_script(services: dict[str, Any]) -> None:
    mounts = _bind_mounts(services["warehouse"])
    source, _ = mounts["/docker-entrypoint-initdb.d/10-init-warehouse.sql"]
    assert _host_path(source) == INIT_SQL and INIT_SQL.is_file()
    sql = INIT_SQL.read_text()
    for statement in (
        "CREATE ROLE crm_owner NOLOGIN",
        "CREATE ROLE crm_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE",
        "CREATE ROLE crm_list_reader NOLOGIN",
        "CREATE ROLE crm_list_operator NOLOGIN",
        "CREATE DATABASE crm OWNER crm_owner",
        "CREATE DATABASE airflow",
        "CREATE DATABASE mlflow",
    ):
        assert statement in sql
    # Passwords come from the container environment, never from the file.
    assert not re.search(r"PASSWORD\s+'", sql)
    env = _environment(services["warehouse"])
    for var in re.findall(r"\\getenv\s+\w+\s+(\w+)", sql):
        assert env[var] == f"${{{var}:?set {var} in docker/.env}}", var


def _installed(package: str) -> Path:
    """The folder of an installed top-level package, found without importing it."""
    spec = importlib.util.find_spec(package)
    assert spec and spec.submodule_search_locations, f"{package} is not installed"
    return Path(next(iter(spec.submodule_search_locations)))


def _init_sql_logins() -> tuple[dict[str, str], dict[str, str]]:
    """From init-warehouse.sql: login role -> the container variable its password is read from (\\getenv),
    and database -> owner."""
    sql = INIT_SQL.read_text()
    getenv = dict(re.findall(r"^\\getenv\s+(\w+)\s+(\w+)", sql, re.M))
    logins = {
        role: getenv[var]
        for role, var in re.findall(r"^CREATE ROLE (\w+) LOGIN\b[^;]*PASSWORD :'(\w+)';", sql, re.M)
    }
    databases = dict(re.findall(r"^CREATE DATABASE (\w+) OWNER (\w+);", sql, re.M))
    return logins, databases


def _container_ports(service: dict[str, Any]) -> set[int]:
    return {int(str(mapping).rsplit(":", 1)[-1]) for mapping in service.get("ports", [])}


# libyaml when present: the installed Airflow's OpenAPI spec and config template are large
FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
POSTGRES_URL = re.compile(r"postgresql(?:\+\w+)?://(\w+):\$\{(\w+):\?[^}]*\}@([\w-]+):(\d+)/(\w+)$")


def test_every_database_url_logs_in_as_a_role_the_init_script_creates(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    """Each PostgreSQL URL of the stack (platform, Airflow metadata and Celery results, MLflow's backend
    store) names a login role of init-warehouse.sql with the very variable that role's password is set from,
    a database the script creates, and the warehouse service at the port its server listens on."""
    logins, databases = _init_sql_logins()
    warehouse_port = _container_ports(services["warehouse"])
    envs = {"x-airflow-common": _environment(compose["x-airflow-common"])}
    envs |= {name: _environment(service) for name, service in services.items()}
    urls = {
        f"{owner}.{key}": value.removeprefix("db+")
        for owner, env in envs.items()
        for key, value in env.items()
        if value.removeprefix("db+").startswith("postgresql")
    }
    assert {"x-airflow-common.CRM_WAREHOUSE_URL", "mlflow.MLFLOW_BACKEND_STORE_URI"} <= set(urls)
    for where, url in urls.items():
        match = POSTGRES_URL.match(url)
        assert match, f"{where}: not a postgresql://role:${{VAR:?}}@host:port/db URL: {url}"
        role, password_var, host, port, database = match.groups()
        assert logins.get(role) == password_var, (
            f"{where}: {role} is no login of the init SQL set from {password_var}"
        )
        assert database in databases, f"{where}: the init SQL creates no database {database}"
        assert host == "warehouse" and {int(port)} == warehouse_port, where
    # the warehouse container gets every variable the script reads
    warehouse_env = _environment(services["warehouse"])
    for var in logins.values():
        assert var in warehouse_env, var


def test_healthchecks_probe_what_each_service_serves(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    """A healthcheck that probes the wrong port, path, login or job type keeps a healthy service
    unhealthy forever (and everything that depends on it from starting): each probe is checked against
    what the service's command serves, the init SQL creates or the installed package defines."""
    for name, service in services.items():
        if name != "airflow-init":
            assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    probe = {name: " ".join(s["healthcheck"]["test"]) for name, s in services.items() if "healthcheck" in s}

    # HTTP probes: the port the command serves (--port), the path the installed server routes
    def http(name: str) -> tuple[int, str]:
        match = re.search(r"urlopen\('http://localhost:(\d+)(/[^']*)'", probe[name])
        assert match, f"{name}: no HTTP probe of localhost: {probe[name]}"
        return int(match.group(1)), match.group(2)

    def served_port(name: str) -> int:
        command = [str(part) for part in services[name]["command"]]
        return int(command[command.index("--port") + 1])

    port, path = http("mlflow")
    assert port == served_port("mlflow") and port in _container_ports(services["mlflow"])
    assert f'_add_static_prefix("{path}")' in (_installed("mlflow") / "server" / "__init__.py").read_text()

    port, path = http("airflow-apiserver")
    assert port == served_port("airflow-apiserver") and port in _container_ports(
        services["airflow-apiserver"]
    )
    airflow = _installed("airflow")
    openapi = airflow / "api_fastapi/core_api/openapi/v2-rest-api-generated.yaml"
    spec = yaml.load(openapi.read_text(), Loader=FAST_LOADER)
    assert "get" in spec["paths"].get(path, {}), f"the installed Airflow API serves no GET {path}"

    # the scheduler serves its health check only when enabled, on Airflow's configured port
    port, path = http("airflow-scheduler")
    env = _environment(compose["x-airflow-common"])
    assert env["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "True"
    config = yaml.load((airflow / "config_templates/config.yml").read_text(), Loader=FAST_LOADER)
    scheduler = config["scheduler"]["options"]
    configured = env.get("AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT")
    assert port == int(configured or scheduler["scheduler_health_check_server_port"]["default"])
    assert f'self.path == "{path}"' in (airflow / "utils/scheduler_health.py").read_text()

    # pg_isready as the platform's login on its database: healthy = the init SQL has run
    logins, databases = _init_sql_logins()
    args = dict(re.findall(r"(-[hpUd])\s+(\S+)", probe["warehouse"].split("pg_isready", 1)[1].strip('"')))
    assert args["-U"] in logins and args["-d"] in databases
    assert int(args["-p"]) in _container_ports(services["warehouse"])
    app_url = POSTGRES_URL.match(env["CRM_WAREHOUSE_URL"])
    assert app_url and (app_url.group(1), app_url.group(5)) == (args["-U"], args["-d"])

    # job checks name a job type a runner of the installed Airflow records
    job_types = {
        m for f in (airflow / "jobs").glob("*.py") for m in re.findall(r'job_type = "(\w+)"', f.read_text())
    }
    for name in ("airflow-dag-processor", "airflow-triggerer"):
        job_type = re.search(r"--job-type (\w+)", probe[name])
        assert job_type and job_type.group(1) in job_types, name

    # the worker's probe pings the Celery app of the installed provider
    app = re.search(r"--app ([\w.]+)\.app\b", probe["airflow-worker"])
    assert app, probe["airflow-worker"]
    module = _installed("airflow") / Path(*app.group(1).split(".")[1:]).with_suffix(".py")
    assert module.is_file() and 'if name == "app":' in module.read_text(), app.group(1)

    # redis-cli authenticates with the password the server requires (REDISCLI_AUTH, same variable)
    redis_env = _environment(services["redis"])
    assert "$$REDIS_PASSWORD" in " ".join(services["redis"]["command"])
    assert redis_env["REDISCLI_AUTH"] == redis_env["REDIS_PASSWORD"]


def test_mlflow_server(compose: dict[str, Any], services: dict[str, Any]) -> None:
    """What `mlflow server` reads and where its clients reach it (the backend store URI's role and
    database: test_every_database_url_logs_in_as_a_role_the_init_script_creates)."""
    from mlflow.cli import server

    mlflow = services["mlflow"]
    env = _environment(mlflow)
    options = {p.name: p for p in server.params}
    # the installed `mlflow server` reads the backend store and the allowed hosts from these variables
    assert (
        options["backend_store_uri"].envvar == "MLFLOW_BACKEND_STORE_URI" and env["MLFLOW_BACKEND_STORE_URI"]
    )
    assert options["allowed_hosts"].envvar == "MLFLOW_SERVER_ALLOWED_HOSTS"
    command = [str(part) for part in mlflow["command"]]
    for flag in (c for c in command if c.startswith("--")):
        assert any(flag in p.opts for p in server.params), f"mlflow server has no option {flag}"
    # the backend store's driver is in the lock
    driver = re.match(r"postgresql\+(\w+)://", env["MLFLOW_BACKEND_STORE_URI"])
    assert driver and re.search(rf"^{driver.group(1)}==", (ROOT / "requirements.lock").read_text(), re.M)
    # artifacts land on a declared named volume, so they outlive the container
    destination = command[command.index("--artifacts-destination") + 1]
    volumes = {v.split(":")[1]: v.split(":")[0] for v in mlflow["volumes"]}
    assert volumes.get(destination) in set(compose["volumes"]), destination
    # the Airflow tasks' tracking URI: this service, its served port, a Host header it accepts
    tracking = re.fullmatch(
        r"http://([\w-]+):(\d+)", _environment(compose["x-airflow-common"])["MLFLOW_TRACKING_URI"]
    )
    assert tracking and tracking.group(1) == "mlflow"
    assert int(tracking.group(2)) == int(command[command.index("--port") + 1])
    assert command[command.index("--host") + 1] not in {"127.0.0.1", "localhost"}  # other containers connect
    allowed = INTERPOLATION.sub(lambda m: m.group(3) or "", env["MLFLOW_SERVER_ALLOWED_HOSTS"]).split(",")
    assert "mlflow:*" in allowed or f"mlflow:{tracking.group(2)}" in allowed


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            instructions.append((word.upper(), rest.strip()))
    return instructions


def test_dockerfile_installs_from_the_lock() -> None:
    instructions = _dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    runs = [rest for word, rest in instructions if word == "RUN"]
    # bytecode baked in: the image sets PYTHONDONTWRITEBYTECODE, so nothing would ever cache it
    assert any("uv pip install --system --compile-bytecode -r requirements.lock" in run for run in runs)
    assert any("uv pip install --system --compile-bytecode --no-deps ." in run for run in runs)
    copies = [rest.split() for word, rest in instructions if word == "COPY"]
    sources = {src.rstrip("/") for parts in copies for src in parts[:-1] if not src.startswith("--")}
    assert {"requirements.lock", "pyproject.toml", "src", "dags", "dbt_project", "models"} <= sources
    assert any(src.startswith("expectation") for src in sources)
    for src in sources:
        if not any(ch in src for ch in "*?["):
            assert (ROOT / src).exists(), f"COPY source {src} is missing"
    users = [rest for word, rest in instructions if word == "USER"]
    assert users and users[-1] not in {"root", "0"}


def test_dockerignore_keeps_local_state_out_of_the_context() -> None:
    patterns = [
        line.strip()
        for line in (DOCKER / "Dockerfile.dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", "the context is an allow-list"
    allowed = {p[1:] for p in patterns if p.startswith("!")}
    assert {"requirements.lock", "pyproject.toml", "src", "dags", "dbt_project", "models"} <= allowed
    assert not allowed & {".venv", ".crm", "data", "mlruns", ".git", ".env", "docker"}
