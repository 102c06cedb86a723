-- Roles and databases of the team stack's PostgreSQL server (the `warehouse` service).
--
-- The postgres image runs this once, on the first start with an empty data volume, as the
-- POSTGRES_USER superuser (docker-entrypoint-initdb.d, psql with ON_ERROR_STOP). Passwords are read
-- from the container's environment with \getenv (psql 15+), so no secret is ever written here.
--
--   crm_app     login; owns database `crm` and every pipeline schema (raw, ops, dbt's schemas,
--               scoring, lists). Airflow tasks, dbt and `crm` connect as this role.
--   crm_reader  NOLOGIN group: read access to the published lists only. CRM teams get their own
--               login role that is a member of it (see docker/README.md).
--   crm_list_operator  NOLOGIN group: CRM operators who read and export the lists (audited) and see no
--               raw data; `crm warehouse grant-operator NAME` adds the export-audit function grant and
--               the audited-read policy (docs/privacy.md).
--   airflow     login; owns database `airflow` (the Airflow metadata DB).
--   mlflow      login; owns database `mlflow` (MLflow tracking store and model registry).

\set ON_ERROR_STOP on

\getenv crm_app_password CRM_APP_PASSWORD
\getenv airflow_db_password AIRFLOW_DB_PASSWORD
\getenv mlflow_db_password MLFLOW_DB_PASSWORD

-- Refuse to create a login role without a password: an unset variable stops the init (and the container).
\if :{?crm_app_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'CRM_APP_PASSWORD is not set in the warehouse container'; END $$;
\endif
\if :{?airflow_db_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'AIRFLOW_DB_PASSWORD is not set in the warehouse container'; END $$;
\endif
\if :{?mlflow_db_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'MLFLOW_DB_PASSWORD is not set in the warehouse container'; END $$;
\endif

CREATE ROLE crm_app LOGIN PASSWORD :'crm_app_password';
CREATE ROLE crm_reader NOLOGIN;
CREATE ROLE crm_list_operator NOLOGIN;
CREATE ROLE airflow LOGIN PASSWORD :'airflow_db_password';
CREATE ROLE mlflow LOGIN PASSWORD :'mlflow_db_password';

-- Sessions of the platform run in UTC (warehouse.connect() sets it too; this covers other clients).
ALTER ROLE crm_app SET timezone = 'UTC';
ALTER ROLE airflow SET timezone = 'UTC';
ALTER ROLE mlflow SET timezone = 'UTC';

CREATE DATABASE crm OWNER crm_app;
CREATE DATABASE airflow OWNER airflow;
CREATE DATABASE mlflow OWNER mlflow;

-- Each database is reachable only by the roles that need it (PUBLIC has CONNECT and TEMP by default).
REVOKE ALL ON DATABASE crm FROM PUBLIC;
REVOKE ALL ON DATABASE airflow FROM PUBLIC;
REVOKE ALL ON DATABASE mlflow FROM PUBLIC;
GRANT CONNECT ON DATABASE crm TO crm_reader;
GRANT CONNECT ON DATABASE crm TO crm_list_operator;

\connect crm

-- The pipeline's schemas exist up front, owned by crm_app: the code's `create schema if not exists`
-- then finds them, and the default privileges below can be attached to `lists` before its first table.
CREATE SCHEMA raw AUTHORIZATION crm_app;
CREATE SCHEMA ops AUTHORIZATION crm_app;
CREATE SCHEMA dbt AUTHORIZATION crm_app;
CREATE SCHEMA staging AUTHORIZATION crm_app;
CREATE SCHEMA intermediate AUTHORIZATION crm_app;
CREATE SCHEMA marts AUTHORIZATION crm_app;
CREATE SCHEMA policy AUTHORIZATION crm_app;
CREATE SCHEMA lists_build AUTHORIZATION crm_app;
CREATE SCHEMA scoring AUTHORIZATION crm_app;
CREATE SCHEMA lists AUTHORIZATION crm_app;

-- Nobody but crm_app creates objects in `public` (PostgreSQL 15+ already revokes CREATE from PUBLIC).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
-- `public` belongs to pg_database_owner, i.e. to crm_app as the owner of `crm`, which could then drop it.
-- The runtime user owns the pipeline's schemas only (issue 14): `public` goes to the role running this
-- script (POSTGRES_USER), crm_app keeps USAGE and CREATE on it (tests/test_roles.py runs this section).
ALTER SCHEMA public OWNER TO CURRENT_USER;
GRANT USAGE, CREATE ON SCHEMA public TO crm_app;

-- List readers see the published lists, nothing else: current tables and every table crm_app
-- creates there later (list publishing creates them on the first run).
GRANT USAGE ON SCHEMA lists TO crm_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA lists TO crm_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE crm_app IN SCHEMA lists GRANT SELECT ON TABLES TO crm_reader;

-- CRM operators: the same read access; exporting also needs EXECUTE on ops.record_list_export, granted by
-- `crm warehouse grant-operator` once the pipeline has created the function (docs/privacy.md).
GRANT USAGE ON SCHEMA lists TO crm_list_operator;
GRANT SELECT ON ALL TABLES IN SCHEMA lists TO crm_list_operator;
ALTER DEFAULT PRIVILEGES FOR ROLE crm_app IN SCHEMA lists GRANT SELECT ON TABLES TO crm_list_operator;
