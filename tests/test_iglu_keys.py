"""iglu_keys.py (run on the Iglu instances after boot): keys created once, checked each boot, races settled."""

import json
import os
import stat
import sys
import threading
import uuid
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from components.apps import iglu_keys
from tests.json_handler import JsonHandler
from tests.mutation_testing import under_mutation_testing

SUPER = "7d6b1c0e-2f4a-4b8e-9c3d-5e6f7a8b9c0d"
ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:snowplow-t/iglu-server/{}-AbCdEf"
SUPER_ARN, READ_ARN, WRITE_ARN = (ARN.format(n) for n in ("super-api-key", "read-key", "write-key"))

# A stand-in `aws secretsmanager` CLI: a JSON file of secrets, CAS on --client-request-token like the service.
FAKE_AWS = """#!{python}
import json, os, sys
state_path = os.environ["FAKE_AWS_STATE"]
state = json.load(open(state_path))
args = sys.argv[1:]
assert args[0] == "secretsmanager", args
def opt(name):
    return args[args.index(name) + 1]
secret = opt("--secret-id")
versions = state.setdefault(secret, [])
state.setdefault("_calls", []).append(args[1])
if args[1] == "get-secret-value":
    if "--version-id" in args:
        found = [v for v in versions if v[1] == opt("--version-id")]
    elif state.get("_stale_reads", 0) > 0:  # AWSCURRENT seen by a reader that lags one write behind
        state["_stale_reads"] -= 1
        found = versions[-2:-1]
    else:
        found = versions[-1:]
    if not found:
        sys.stderr.write("An error occurred (ResourceNotFoundException) when calling the GetSecretValue operation\\n")
        json.dump(state, open(state_path, "w"))
        sys.exit(254)
    value, version = found[0]
    print(json.dumps({{"ARN": secret, "SecretString": value, "VersionId": version}}))
elif args[1] == "put-secret-value":
    source = opt("--secret-string")
    assert source.startswith("file://"), "secret values must not be passed on the command line"
    value = open(source[len("file://"):]).read()
    token = opt("--client-request-token")
    existing = [v for v in versions if v[1] == token]
    if existing and existing[0][0] != value:
        sys.stderr.write("An error occurred (ResourceExistsException) when calling the PutSecretValue operation\\n")
        sys.exit(254)
    if not existing:
        versions.append([value, token])
    print(json.dumps({{"ARN": secret, "VersionId": token}}))
json.dump(state, open(state_path, "w"))
"""


class FakeIglu:
    """Permissions like Iglu Server 0.14: super key from config, keygen pairs, revocation, /api/meta/server."""

    def __init__(self):
        self.keys: dict[str, tuple] = {}  # key -> (schema action, key actions[, vendor if not every vendor])
        self.calls: list[str] = []
        self.before_keygen = None
        fake = self

        class Handler(JsonHandler):
            def auth(self):
                key = self.headers.get("apikey")
                if key == SUPER:
                    return ("CREATE_VENDOR", ["CREATE", "DELETE"])
                return fake.keys.get(key, (None, []))[:2]

            def bad_key(self):
                """Like the server's PermissionMiddleware: an apikey header that is no UUID is a 400."""
                key = self.headers.get("apikey")
                try:
                    key is None or uuid.UUID(key)
                except ValueError:
                    self.reply(400, {"message": "Invalid UUID for ApiKey"})
                    return True
                return False

            def do_GET(self):
                fake.calls.append(f"GET {self.path}")
                if self.bad_key():
                    return
                schema, key = self.auth()
                vendor = fake.keys.get(self.headers.get("apikey"), (None, [], ""))[2:] or ("",)
                self.reply(200, {"version": "0.14.2", "authInfo": {"vendor": vendor[0], "schema": schema, "key": key}})

            def do_POST(self):
                fake.calls.append(f"POST {self.path}")
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                assert body == {"vendorPrefix": "*"}
                if "CREATE" not in self.auth()[1]:
                    return self.reply(403, {"message": "Not sufficient privileges to create keys"})
                if fake.before_keygen:
                    hook, fake.before_keygen = fake.before_keygen, None
                    hook()
                pair = {"read": str(uuid.uuid4()), "write": str(uuid.uuid4())}
                fake.keys[pair["read"]] = ("READ", [])
                fake.keys[pair["write"]] = ("CREATE_VENDOR", [])
                self.reply(200, pair)

            def do_DELETE(self):
                fake.calls.append(f"DELETE {self.path}")
                if "DELETE" not in self.auth()[1]:
                    return self.reply(403, {"message": "no"})
                fake.keys.pop(parse_qs(urlsplit(self.path).query)["key"][0], None)
                self.reply(200, {"message": "Keys have been deleted"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def iglu():
    server = FakeIglu()
    yield server
    server.close()


@pytest.fixture
def aws(tmp_path, monkeypatch):
    cli = tmp_path / "aws"
    cli.write_text(FAKE_AWS.format(python=sys.executable))
    cli.chmod(cli.stat().st_mode | stat.S_IEXEC)
    state = tmp_path / "secrets.json"
    state.write_text(json.dumps({SUPER_ARN: [[SUPER, "v1"]]}))
    monkeypatch.setenv("FAKE_AWS_STATE", str(state))
    monkeypatch.setenv("AWS_CLI", str(cli))
    return state


def secrets(state: Path) -> dict:
    return json.loads(state.read_text())


def store(state: Path, name: str, value) -> None:
    """Set one entry of the stand-in's state (a secret's versions, or a knob such as `_stale_reads`)."""
    data = secrets(state)
    data[name] = value
    state.write_text(json.dumps(data))


def current(state: Path, arn: str) -> str | None:
    versions = secrets(state).get(arn) or []
    return versions[-1][0] if versions else None


@pytest.fixture
def settings(tmp_path, iglu):
    path = tmp_path / "iglu-keys.json"
    body = {"server": iglu.url, "superKeySecret": SUPER_ARN, "readKeySecret": READ_ARN, "writeKeySecret": WRITE_ARN}
    path.write_text(json.dumps(body))
    return str(path)


def run(settings: str) -> int:
    return iglu_keys.main(["--settings", settings])


def ensure_read_key(iglu: FakeIglu) -> str:
    """One instance's boot-time check of the read key, as main() runs it for each key."""
    return iglu_keys.ensure(iglu_keys.Server(iglu.url), iglu_keys.Aws(os.environ["AWS_CLI"]), SUPER, "read", READ_ARN)


def test_first_boot_creates_a_read_key_and_a_write_key_that_are_not_the_super_key(iglu, aws, settings, capsys):
    assert run(settings) == 0
    read, write = current(aws, READ_ARN), current(aws, WRITE_ARN)
    assert iglu.keys[read] == ("READ", []) and iglu.keys[write] == ("CREATE_VENDOR", [])
    assert SUPER not in (read, write) and read != write
    assert len(iglu.keys) == 2  # the unused half of each generated pair was revoked
    logged = capsys.readouterr()
    assert not any(k in logged.out + logged.err for k in (read, write, SUPER))


def test_later_boots_only_check_the_stored_keys(iglu, aws, settings):
    assert run(settings) == 0
    before = secrets(aws)
    iglu.calls.clear()
    assert run(settings) == 0
    assert {k: v for k, v in secrets(aws).items() if k != "_calls"} == {
        k: v for k, v in before.items() if k != "_calls"
    }
    assert all(call.startswith("GET /api/meta/server") for call in iglu.calls)


def test_a_key_the_server_no_longer_knows_is_replaced(iglu, aws, settings):
    assert run(settings) == 0
    old_read = current(aws, READ_ARN)
    iglu.keys.pop(old_read)  # e.g. the database was restored from an older snapshot
    assert run(settings) == 0
    assert current(aws, READ_ARN) != old_read and iglu.keys[current(aws, READ_ARN)] == ("READ", [])


def test_a_super_key_stored_as_read_key_is_not_accepted(iglu, aws, settings):
    store(aws, READ_ARN, [[SUPER, "v0"]])
    assert run(settings) == 0
    assert current(aws, READ_ARN) != SUPER and iglu.keys[current(aws, READ_ARN)] == ("READ", [])


def test_when_two_instances_race_the_first_write_wins_and_the_loser_revokes_its_keys(iglu, aws, settings):
    # Instance B reads "no key yet"; before it stores its pair, instance A completes.
    iglu.before_keygen = lambda: ensure_read_key(iglu)
    outcome = ensure_read_key(iglu)
    assert outcome == "stored by another instance"
    winner = current(aws, READ_ARN)
    assert len(secrets(aws)[READ_ARN]) == 1 and iglu.keys[winner] == ("READ", [])
    assert list(iglu.keys) == [winner]  # both of B's keys and A's unused write key were revoked


def test_without_the_super_key_the_boot_fails(iglu, aws, settings, capsys):
    store(aws, SUPER_ARN, [])
    assert run(settings) == 1
    assert "has no value" in capsys.readouterr().err


def test_the_script_runs_on_the_hosts_python_39():
    """AL2023's python3 is 3.9: no syntax newer than that, stdlib only."""
    import ast

    source = Path(iglu_keys.__file__).read_text()
    ast.parse(source, feature_version=(3, 9))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])
    }
    mutmut = {"mutmut"} if under_mutation_testing() else set()  # the mutated copy calls into mutmut
    assert imported <= set(sys.stdlib_module_names) | {"__future__"} | mutmut


def test_a_stored_value_that_is_no_uuid_is_replaced_not_fatal(iglu, aws, settings):
    """The server answers 400 to such an apikey; every Iglu boot would fail on it forever."""
    store(aws, READ_ARN, [['{"key":"value"}', "v0"]])  # what the console's key/value editor stores by default
    assert run(settings) == 0
    assert iglu.keys[current(aws, READ_ARN)] == ("READ", [])


def test_a_read_key_for_one_vendor_only_is_replaced(iglu, aws, settings):
    narrow = str(uuid.uuid4())
    iglu.keys[narrow] = ("READ", [], "com.acme")  # reads com.acme.* only, not Iglu Central's or the user's schemas
    store(aws, READ_ARN, [[narrow, "v0"]])
    assert run(settings) == 0
    assert current(aws, READ_ARN) != narrow and iglu.keys[current(aws, READ_ARN)] == ("READ", [])


def test_the_race_loser_reads_the_winners_version_even_when_awscurrent_lags(iglu, aws, settings):
    def winner():
        ensure_read_key(iglu)
        store(aws, "_stale_reads", 5)  # the loser's reads of AWSCURRENT still see "no value"

    iglu.before_keygen = winner
    outcome = ensure_read_key(iglu)
    assert outcome == "stored by another instance"
    assert list(iglu.keys) == [current(aws, READ_ARN)]
