"""The host script that prepares apps' roles, databases and schemas on RDS PostgreSQL, as a pure renderer.

RDS creates one database and a master user; the apps must not run as that master user, and the Postgres
loader needs its database and schema to exist before it starts (it creates only tables). This script, run
on a host whose role may read the master secrets, creates what is missing and keeps each role's password
equal to its secret. It is safe to run on every boot and on several hosts at once: every statement checks
before it creates, and an advisory lock per database serialises concurrent runs.

The role's password never reaches the server in clear: the host sends a SCRAM-SHA-256 verifier, so the
server log (which RDS exports to CloudWatch, and which records failed statements by default) cannot hold it.
"""

import re
import shlex

from components.platform.database import DatabaseBootstrap

SCRIPT_NAME = "postgres-bootstrap.sh"
# Names are sent as psql variables and quoted by format('%I'), but `\connect` reads a name holding '=' as a
# connection string: allow only plain lower-case identifiers.
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")

# psql variables: role, database, schema (set on the command line), role_verifier (from the environment).
# The advisory lock is per database and per session, so each of the two sessions takes it.
_SQL = r"""\getenv role_verifier ROLE_VERIFIER
SELECT pg_advisory_lock(hashtext('snowplow-postgres-bootstrap')) AS locked \gset
SELECT format('CREATE ROLE %I LOGIN', :'role') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', :'role', :'role_verifier') \gexec
SELECT format('GRANT %I TO CURRENT_USER', :'role')
  WHERE NOT pg_has_role(CURRENT_USER, :'role', 'MEMBER') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'role')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'database') \gexec
\connect :database
SELECT pg_advisory_lock(hashtext('snowplow-postgres-bootstrap')) AS locked \gset
SELECT format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', :'schema', :'role') \gexec
"""

# SCRAM-SHA-256 verifier of $ROLE_PASSWORD as PostgreSQL stores it (RFC 5802/7677; 4096 iterations, its
# default). Passwords are generated letters and digits, for which SASLprep changes nothing.
_VERIFIER = r"""import base64, hashlib, hmac, os
password, salt, rounds = os.environ["ROLE_PASSWORD"].encode(), os.urandom(16), 4096
salted = hashlib.pbkdf2_hmac("sha256", password, salt, rounds)
stored = hashlib.sha256(hmac.new(salted, b"Client Key", "sha256").digest()).digest()
server = hmac.new(salted, b"Server Key", "sha256").digest()
b64 = lambda raw: base64.b64encode(raw).decode()
print(f"SCRAM-SHA-256${rounds}:{b64(salt)}${b64(stored)}:{b64(server)}")"""

_FUNCTIONS = (
    r"""secret() { aws secretsmanager get-secret-value --secret-id "$1" --query SecretString --output text; }

# The verifier is computed from the environment, so the password is never a command-line argument.
scram_verifier() {
  python3 - <<'VERIFIER'
"""
    + _VERIFIER
    + r"""
VERIFIER
}

# bootstrap HOST PORT MASTER_USER MASTER_SECRET_ARN ROLE ROLE_SECRET_ARN DATABASE SCHEMA
bootstrap() {
  local password role_password role_verifier
  password=$(secret "$4")
  role_password=$(secret "$6")
  if [[ -z $password || -z $role_password ]]; then
    echo "postgres bootstrap: $4 or $6 holds an empty password" >&2
    return 1
  fi
  role_verifier=$(ROLE_PASSWORD=$role_password scram_verifier)
  PGPASSWORD=$password ROLE_VERIFIER=$role_verifier PGSSLMODE=require PGCONNECT_TIMEOUT=15 \
    psql --no-psqlrc --quiet --host "$1" --port "$2" --username "$3" --dbname postgres \
    --set ON_ERROR_STOP=1 --set role="$5" --set database="$7" --set schema="$8" <<'SQL'
"""
    + _SQL
    + """SQL
  echo "postgres bootstrap: role $5, database $7, schema $8 ready on $1"
}
"""
)

# AL2023 ships versioned clients (postgresql15, and postgresql16 since 2023.6); psql 15+ is needed for
# \getenv. A repository hiccup is retried before the boot gives up.
_INSTALL_PSQL = r"""install_psql() {
  local attempt
  for attempt in 1 2 3; do
    if dnf install -y --quiet postgresql16 || dnf install -y --quiet postgresql15; then
      return 0
    fi
    echo "postgres bootstrap: installing psql failed (attempt $attempt/3)" >&2
    sleep $((attempt * 10))
  done
  return 1
}
command -v psql >/dev/null || install_psql"""


def _check_names(bootstrap: DatabaseBootstrap) -> None:
    for kind in ("role", "database", "schema"):
        name = getattr(bootstrap, kind)
        if not _IDENTIFIER.fullmatch(name):
            raise ValueError(f"bootstrap {kind} {name!r} must be a lower-case identifier ([a-z_][a-z0-9_]*, 63 max)")


def render_postgres_bootstrap(bootstraps: list[DatabaseBootstrap]) -> str:
    """Bash: install a psql client if missing, then bootstrap each app's role, database and schema."""
    for bootstrap in bootstraps:
        _check_names(bootstrap)
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
            _INSTALL_PSQL,
            _FUNCTIONS,
            *calls,
            "",
        ]
    )
