"""The host script that prepares apps' roles, databases and schemas on RDS PostgreSQL, as a pure renderer.

RDS creates one database and a master user; the apps must not run as that master user, and the Postgres
loader needs its database and schema to exist before it starts (it creates only tables). This script, run
on a host whose role may read the master secrets, creates what is missing and keeps each role's password
equal to its secret. It is safe to run on every boot: every statement checks before it creates.
"""

import shlex

from components.platform.database import DatabaseBootstrap

SCRIPT_NAME = "postgres-bootstrap.sh"

# psql variables: role, database, schema (set on the command line), role_password (from the environment,
# so it never appears in a process list).
_SQL = r"""\getenv role_password ROLE_PASSWORD
SELECT format('CREATE ROLE %I LOGIN', :'role') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', :'role', :'role_password') \gexec
SELECT format('GRANT %I TO CURRENT_USER', :'role') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'role')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'database') \gexec
\connect :database
SELECT format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', :'schema', :'role') \gexec
"""

_FUNCTIONS = (
    r"""secret() { aws secretsmanager get-secret-value --secret-id "$1" --query SecretString --output text; }

# bootstrap HOST PORT MASTER_USER MASTER_SECRET_ARN ROLE ROLE_SECRET_ARN DATABASE SCHEMA
bootstrap() {
  local password role_password
  password=$(secret "$4")
  role_password=$(secret "$6")
  PGPASSWORD=$password ROLE_PASSWORD=$role_password PGSSLMODE=require PGCONNECT_TIMEOUT=15 \
    psql --no-psqlrc --quiet --host "$1" --port "$2" --username "$3" --dbname postgres \
    --set ON_ERROR_STOP=1 --set role="$5" --set database="$7" --set schema="$8" <<'SQL'
"""
    + _SQL
    + """SQL
  echo "postgres bootstrap: role $5, database $7, schema $8 ready on $1"
}
"""
)


def render_postgres_bootstrap(bootstraps: list[DatabaseBootstrap]) -> str:
    """Bash: install a psql client if missing, then bootstrap each app's role, database and schema."""
    calls = [
        "bootstrap "
        + " ".join(
            shlex.quote(str(v))
            for v in (
                b.host,
                b.port,
                b.master_username,
                b.master_secret_arn,
                b.role,
                b.role_secret_arn,
                b.database,
                b.schema,
            )
        )
        for b in bootstraps
    ]
    return "\n".join(
        [
            "#!/bin/bash",
            "# Roles, databases and schemas of the stack's apps on RDS PostgreSQL; safe to run on every boot.",
            "set -euo pipefail",
            # AL2023 ships versioned clients; psql 15+ is needed for \\getenv.
            "command -v psql >/dev/null || dnf install -y --quiet postgresql16 || dnf install -y --quiet postgresql15",
            _FUNCTIONS,
            *calls,
            "",
        ]
    )
