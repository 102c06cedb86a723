-- Roles and databases of the team stack's PostgreSQL server (the `warehouse` service).
--
-- The postgres image runs this once, on the first start with an empty data volume, as the
-- POSTGRES_USER superuser (docker-entrypoint-initdb.d, psql with ON_ERROR_STOP). Passwords are read
-- from the container's environment with \getenv (psql 15+), so no secret is ever written here.
--
--   crm_owner   NOLOGIN; owns database `crm` and every pipeline schema (raw, ops, enrichment, dbt's
--               schemas, scoring, lists, and `public` as the database owner). Nobody logs in as it and
--               no login is a member of it: what it owns only the superuser can drop.
--   crm_app     login, the runtime user: Airflow tasks, dbt and `crm` connect as this role. It may
--               CONNECT, create TEMP tables and run `create schema if not exists` in `crm` (CREATE on
--               the database: PostgreSQL checks it before it looks for the schema), and has USAGE and
--               CREATE in every pipeline schema. It owns the tables, views and functions it builds
--               (dbt renames and drops its own relations), never a schema of crm_owner nor the
--               database: DROP SCHEMA / DROP DATABASE / ALTER ... OWNER on them are refused.
--   crm_list_reader    NOLOGIN group: read access to the published lists only (audited). CRM teams get
--               their own login role in it: `crm warehouse grant-reader NAME` (docker/README.md).
--   crm_list_operator  NOLOGIN group: CRM operators who read and export the lists (audited) and see no
--               raw data; `crm warehouse grant-operator NAME` adds the export-audit function grant and
--               the audited-read policy (docs/privacy.md).
--   airflow     login; owns database `airflow` (the Airflow metadata DB).
--   mlflow      login; owns database `mlflow` (MLflow tracking store and model registry).
--
-- Everything after `\connect crm` is the privilege model of the warehouse database itself. The embedded
-- / any other warehouse gets the very same section from `crm warehouse init-roles`
-- (crm_scoring.lists.roles.apply_role_model reads it from this file), and tests/test_roles.py runs it
-- and tries, as each role, what it must be refused.

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

CREATE ROLE crm_owner NOLOGIN;
CREATE ROLE crm_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'crm_app_password';
CREATE ROLE crm_list_reader NOLOGIN;
CREATE ROLE crm_list_operator NOLOGIN;
CREATE ROLE airflow LOGIN PASSWORD :'airflow_db_password';
CREATE ROLE mlflow LOGIN PASSWORD :'mlflow_db_password';

-- Sessions of the platform run in UTC (warehouse.connect() sets it too; this covers other clients).
ALTER ROLE crm_app SET timezone = 'UTC';
ALTER ROLE airflow SET timezone = 'UTC';
ALTER ROLE mlflow SET timezone = 'UTC';

CREATE DATABASE crm OWNER crm_owner;
CREATE DATABASE airflow OWNER airflow;
CREATE DATABASE mlflow OWNER mlflow;

-- Each database is reachable only by the roles that need it (PUBLIC has CONNECT and TEMP by default).
REVOKE ALL ON DATABASE airflow FROM PUBLIC;
REVOKE ALL ON DATABASE mlflow FROM PUBLIC;

\connect crm

-- The database: owned by crm_owner (a non-owner cannot DROP DATABASE); PUBLIC loses CONNECT and TEMP;
-- the runtime user may connect, use temp tables and create schemas; the list groups may connect only.
-- (A DO block with current_database(), so the section serves a warehouse of any name.)
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I OWNER TO crm_owner', current_database());
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT, TEMPORARY, CREATE ON DATABASE %I TO crm_app', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO crm_list_reader, crm_list_operator', current_database());
END
$$;

-- The pipeline's schemas exist up front, owned by crm_owner; crm_app gets USAGE and CREATE in each, so
-- the code's and dbt's `create schema if not exists` find them and everything builds as before. An
-- existing warehouse (schemas created by crm_app) is handed over: ALTER SCHEMA ... OWNER is idempotent.
-- `public` belongs to pg_database_owner, i.e. to crm_owner now; nobody but crm_app creates objects in it.
DO $$
DECLARE
    s text;
BEGIN
    FOREACH s IN ARRAY ARRAY['raw', 'ops', 'enrichment', 'dbt', 'staging', 'intermediate', 'marts',
                             'policy', 'lists_build', 'scoring', 'lists', 'partitions']
    LOOP
        EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION crm_owner', s);
        EXECUTE format('ALTER SCHEMA %I OWNER TO crm_owner', s);
        EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', s);
        EXECUTE format('GRANT USAGE, CREATE ON SCHEMA %I TO crm_app', s);
    END LOOP;
END
$$;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO crm_app;

-- List readers and operators see the published lists, nothing else: current tables and every table
-- crm_app creates there later (list publishing creates them on the first run; each publish re-applies
-- the audited-read policy, privacy/audit.py). Operators also use `ops` for the SECURITY DEFINER audit
-- functions only (no table of ops is granted); the EXECUTE grants follow once the pipeline created them.
GRANT USAGE ON SCHEMA lists TO crm_list_reader, crm_list_operator;
GRANT SELECT ON ALL TABLES IN SCHEMA lists TO crm_list_reader, crm_list_operator;
ALTER DEFAULT PRIVILEGES FOR ROLE crm_app IN SCHEMA lists
    GRANT SELECT ON TABLES TO crm_list_reader, crm_list_operator;
GRANT USAGE ON SCHEMA ops TO crm_list_reader, crm_list_operator;

-- Drop guard. PostgreSQL ties DROP / RENAME of a relation to its ownership, and the runtime user must own
-- what it builds (dbt swaps and drops its relations; every night's `alter table ... add column if not
-- exists`, `create index if not exists` and the audited-read policy check ownership before they find
-- nothing to do), so ownership alone cannot keep it from dropping data nobody can rebuild. An event
-- trigger can: every table ever created in raw, ops, enrichment, scoring or lists (the tables dbt reads
-- but does not build: landing history, audit, ledger, labels, scores, published lists) is recorded in
-- ops.protected_relations, by oid, so renaming it or moving it to another schema does not free it;
-- dropping such a table or one of its columns (DROP TABLE, DROP OWNED, DROP SCHEMA ... CASCADE,
-- ALTER TABLE ... DROP COLUMN) is refused for everyone but a superuser. dbt's own schemas (staging,
-- intermediate, marts, policy, lists_build, dbt) are rebuilt from those tables and stay droppable. The
-- function belongs to crm_owner (the runtime user can neither replace nor drop it), the event triggers to
-- the superuser that runs this section (only a superuser may create one; any other admin gets a WARNING
-- and no guard). Rows can still be deleted (reruns reload a date, erasure deletes): see docs/privacy.md.
CREATE TABLE IF NOT EXISTS ops.protected_relations (
    relid oid PRIMARY KEY,
    first_name text NOT NULL,
    protected_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE ops.protected_relations OWNER TO crm_owner;
REVOKE ALL ON ops.protected_relations FROM PUBLIC;
GRANT SELECT ON ops.protected_relations TO crm_app;
INSERT INTO ops.protected_relations (relid, first_name)
SELECT c.oid, format('%I.%I', n.nspname, c.relname)
  FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND n.nspname IN ('raw', 'ops', 'enrichment', 'scoring', 'lists')
ON CONFLICT (relid) DO NOTHING;

CREATE OR REPLACE FUNCTION ops.guard_protected_relations() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    superuser boolean := (SELECT rolsuper FROM pg_roles WHERE rolname = session_user);
    hit text;
BEGIN
    IF tg_event = 'ddl_command_end' THEN
        INSERT INTO ops.protected_relations (relid, first_name)
        SELECT c.objid, c.object_identity
          FROM pg_event_trigger_ddl_commands() AS c
         WHERE c.classid = 'pg_class'::regclass AND c.object_type = 'table'
           AND c.schema_name IN ('raw', 'ops', 'enrichment', 'scoring', 'lists')
        ON CONFLICT (relid) DO NOTHING;
        RETURN;
    END IF;
    -- sql_drop: the dropped objects are gone from the catalogue, their oids still name them
    SELECT string_agg(DISTINCT p.first_name || coalesce(' (' || d.object_type || ')', ''), ', ')
      INTO hit
      FROM pg_event_trigger_dropped_objects() AS d
      JOIN ops.protected_relations AS p ON p.relid = d.objid
     WHERE d.classid = 'pg_class'::regclass AND d.object_type IN ('table', 'table column');
    IF hit IS NULL THEN
        RETURN;
    ELSIF superuser THEN  -- a deliberate migration by the DBA: the oids are free again
        DELETE FROM ops.protected_relations AS p
         USING pg_event_trigger_dropped_objects() AS d
         WHERE p.relid = d.objid AND d.classid = 'pg_class'::regclass AND d.object_type = 'table';
        RETURN;
    END IF;
    RAISE EXCEPTION 'crm drop guard: % may not drop %', session_user, hit
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'raw, ops, enrichment, scoring and lists tables hold data nobody can rebuild; a superuser may drop them.';
END
$$;
ALTER FUNCTION ops.guard_protected_relations() OWNER TO crm_owner;
REVOKE ALL ON FUNCTION ops.guard_protected_relations() FROM PUBLIC;

DO $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE WARNING 'not a superuser: the drop guard of the protected tables is not installed';
        RETURN;
    END IF;
    DROP EVENT TRIGGER IF EXISTS crm_protect_created;
    DROP EVENT TRIGGER IF EXISTS crm_protect_dropped;
    CREATE EVENT TRIGGER crm_protect_created ON ddl_command_end
        WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO')
        EXECUTE FUNCTION ops.guard_protected_relations();
    CREATE EVENT TRIGGER crm_protect_dropped ON sql_drop
        EXECUTE FUNCTION ops.guard_protected_relations();
END
$$;
