"""postgres-bootstrap.sh against a real PostgreSQL on 127.0.0.1 (TLS only, an RDS-like non-superuser master).

Skips when the PostgreSQL server binaries, psql or openssl are not installed. The local server may be older
than the RDS engine the stack pins (16); the statements used exist unchanged in 15 and 16.
"""

import concurrent.futures
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from components.platform.database import DatabaseBootstrap
from components.platform.database_bootstrap import render_postgres_bootstrap
from tests.local_postgres import as_postgres as _as_postgres
from tests.local_postgres import free_port as _free_port
from tests.local_postgres import server_tool as _server_tool

TOOLS = {name: _server_tool(name) for name in ("initdb", "pg_ctl", "psql", "openssl")}
MASTER_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:t/iglu-db/master-password-AbCdEf"
ROLE_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:t/iglu-db/snowplow_loader-password-AbCdEf"

FAKE_AWS = """#!{python}
import json, os, sys
args = sys.argv[1:]
secrets = json.load(open(os.environ["FAKE_SECRETS"]))
assert args[:2] == ["secretsmanager", "get-secret-value"] and "--query" in args, args
print(secrets[args[args.index("--secret-id") + 1]])
"""

# CI (.ci/run) installs PostgreSQL, so there a missing server is a failure, not a skip.
pytestmark = pytest.mark.skipif(
    not all(TOOLS.values()) and not os.environ.get("CI"), reason=f"needs PostgreSQL server binaries: {TOOLS}"
)


@pytest.fixture(scope="module")
def server():
    # Not under pytest's tmp dir: that is private to the current user, and the server runs as `postgres`.
    root = Path(tempfile.mkdtemp(prefix="snowplow-pg-"))
    root.chmod(0o755)
    data, port = root / "data", _free_port()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    _as_postgres([TOOLS["initdb"], "-D", str(data), "--username=rdsadmin", "--auth=trust", "--no-sync"])
    subprocess.run(
        [TOOLS["openssl"], "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-keyout", str(data / "server.key"), "-out", str(data / "server.crt")],
        check=True, capture_output=True,
    )  # fmt: skip
    (data / "pg_hba.conf").write_text(
        "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 reject\n"
    )
    if os.geteuid() == 0:
        for path in (data / "server.key", data / "server.crt", data / "pg_hba.conf"):
            shutil.chown(path, "postgres")
    (data / "server.key").chmod(0o600)
    # log_statement=all: an operator's common debugging setting; the tests read this log for leaked passwords.
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c ssl=on -c fsync=off -c log_statement=all"
    _as_postgres([TOOLS["pg_ctl"], "-D", str(data), "-o", options, "-w", "-l", str(root / "log"), "start"])
    # Like RDS: the master user is no superuser, but may create roles and databases; RDS made its database.
    admin = [
        TOOLS["psql"],
        "-h",
        str(root),
        "-p",
        str(port),
        "-U",
        "rdsadmin",
        "-d",
        "postgres",
        "-v",
        "ON_ERROR_STOP=1",
    ]
    _as_postgres([*admin, "-c", "CREATE ROLE iglu LOGIN CREATEROLE CREATEDB PASSWORD 'master-pw'"])
    _as_postgres([*admin, "-c", "CREATE DATABASE iglu OWNER iglu"])
    yield {"port": port, "admin": admin, "log": root / "log"}
    _as_postgres([TOOLS["pg_ctl"], "-D", str(data), "-m", "immediate", "stop"])
    shutil.rmtree(root, ignore_errors=True)


def bootstrap(
    tmp_path, port: int, role_password: str, role: str = "snowplow_loader", database: str = "snowplow"
) -> subprocess.CompletedProcess:
    return run_bootstrap(*prepare_bootstrap(tmp_path, port, role_password, role, database))


def prepare_bootstrap(
    tmp_path, port: int, role_password: str, role: str = "snowplow_loader", database: str = "snowplow"
) -> tuple[Path, dict]:
    """The rendered script, a fake `aws` and the secrets it serves, written before anything runs: an executable
    written while another thread forks can be held open in that child and fail to start ("Text file busy")."""
    script = tmp_path / "postgres-bootstrap.sh"
    script.write_text(
        render_postgres_bootstrap(
            [DatabaseBootstrap("127.0.0.1", port, "iglu", MASTER_ARN, role, ROLE_ARN, database, "atomic")]
        )
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    aws = bin_dir / "aws"
    aws.write_text(FAKE_AWS.format(python=sys.executable))
    aws.chmod(aws.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "secrets.json").write_text(f'{{"{MASTER_ARN}": "master-pw", "{ROLE_ARN}": "{role_password}"}}')
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_SECRETS": str(tmp_path / "secrets.json")}
    return script, env


def run_bootstrap(script: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env, timeout=60)


def as_loader(port: int, password: str, sql: str, sslmode: str = "require") -> subprocess.CompletedProcess:
    env = {**os.environ, "PGPASSWORD": password, "PGSSLMODE": sslmode}
    return subprocess.run(
        [TOOLS["psql"], "-h", "127.0.0.1", "-p", str(port), "-U", "snowplow_loader", "-d", "snowplow", "-v",
         "ON_ERROR_STOP=1", "-At", "-c", sql],
        capture_output=True, text=True, env=env, timeout=30,
    )  # fmt: skip


def admin_query(server, database: str, sql: str) -> str:
    command = [*server["admin"][:-4], "-d", database, "-At", "-c", sql]
    return _as_postgres(command).stdout.strip()


def test_bootstrap_prepares_what_the_postgres_loader_needs(server, tmp_path):
    done = bootstrap(tmp_path, server["port"], "loader-pw-1")
    assert done.returncode == 0, done.stderr
    assert "loader-pw-1" not in done.stdout + done.stderr
    # The loader's own start: create atomic.events in the schema it was given, over TLS, as its own role.
    created = as_loader(server["port"], "loader-pw-1", "CREATE TABLE atomic.events (event_id uuid) WITH (OIDS=FALSE)")
    assert created.returncode == 0, created.stderr
    owner = admin_query(server, "snowplow", "SELECT nspowner::regrole FROM pg_namespace WHERE nspname = 'atomic'")
    assert owner == "snowplow_loader"
    assert (
        admin_query(
            server, "postgres", "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = 'snowplow_loader'"
        )
        == "f"
    )
    # The database is closed to everyone else.
    assert admin_query(server, "postgres", "SELECT has_database_privilege('public', 'snowplow', 'CONNECT')") == "f"


def test_bootstrap_is_safe_to_repeat_and_follows_the_password_secret(server, tmp_path):
    assert bootstrap(tmp_path, server["port"], "loader-pw-1").returncode == 0
    again = bootstrap(tmp_path, server["port"], "loader-pw-2")
    assert again.returncode == 0, again.stderr
    assert as_loader(server["port"], "loader-pw-2", "SELECT 1").stdout.strip() == "1"
    assert as_loader(server["port"], "loader-pw-1", "SELECT 1").returncode != 0


def test_the_server_refuses_plain_connections(server, tmp_path):
    assert bootstrap(tmp_path, server["port"], "loader-pw-3").returncode == 0
    refused = as_loader(server["port"], "loader-pw-3", "SELECT 1", sslmode="disable")
    assert refused.returncode != 0


def test_the_role_password_never_reaches_the_server_in_clear(server, tmp_path):
    """Statements land in the server log (log_statement, or any failed statement at the default
    log_min_error_statement), and RDS exports that log to CloudWatch: only a SCRAM verifier may be sent."""
    done = bootstrap(tmp_path, server["port"], "loader-pw-in-clear")
    assert done.returncode == 0, done.stderr
    assert as_loader(server["port"], "loader-pw-in-clear", "SELECT 1").stdout.strip() == "1"
    log = server["log"].read_text()
    assert "ALTER ROLE" in log  # the log really records the bootstrap's statements
    assert "loader-pw-in-clear" not in log
    stored = admin_query(server, "postgres", "SELECT rolpassword FROM pg_authid WHERE rolname = 'snowplow_loader'")
    assert stored.startswith("SCRAM-SHA-256$4096:")


def test_instances_booting_together_bootstrap_without_tripping_over_each_other(server, tmp_path):
    """Two or more Iglu instances boot at once (prod runs two): every concurrent bootstrap must succeed."""
    for round_ in range(3):
        dirs = [tmp_path / f"round-{round_}-{i}" for i in range(4)]
        for path in dirs:
            path.mkdir()
        role, database = f"race_{round_}", f"race_db_{round_}"
        prepared = [prepare_bootstrap(path, server["port"], "pw", role, database) for path in dirs]
        with concurrent.futures.ThreadPoolExecutor(len(dirs)) as pool:
            runs = list(pool.map(lambda ready: run_bootstrap(*ready), prepared))
        assert [r.stderr for r in runs if r.returncode != 0] == []


def test_an_unreadable_or_empty_password_secret_stops_the_bootstrap(server, tmp_path):
    empty = bootstrap(tmp_path, server["port"], "", role="empty_loader", database="empty_db")
    assert empty.returncode != 0 and "holds an empty password" in empty.stderr
    assert admin_query(server, "postgres", "SELECT count(*) FROM pg_roles WHERE rolname = 'empty_loader'") == "0"


@pytest.mark.parametrize("field", ["role", "database", "schema"])
def test_only_plain_identifiers_reach_psql(field):
    good = DatabaseBootstrap("h", 5432, "m", MASTER_ARN, "snowplow_loader", ROLE_ARN, "snowplow", "atomic")
    # `\connect` would read "host=elsewhere" as a connection string, not a database name.
    bad = {**good.__dict__, field: "host=elsewhere"}
    with pytest.raises(ValueError, match=f"bootstrap {field} 'host=elsewhere' must be a lower-case identifier"):
        render_postgres_bootstrap([DatabaseBootstrap(**bad)])
