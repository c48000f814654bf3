"""schemas/: lint rules (checked against Iglu's own meta-schema) and publishing to a stand-in Iglu Server."""

import copy
import json
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.stub import Stubber
from jsonschema import Draft4Validator
from referencing import Registry, Resource

from tests.conftest import BASE, ROOT, write_stack
from tests.json_handler import JsonHandler
from tests.test_enrichments import SCHEMAS_DIR, iglu_central  # noqa: F401 (fixture)
from tools import publish_schemas
from tools.schema_lint import SELF_DESCRIBING_META_SCHEMA, draft4_problems, header_problems, lint

WRITE_KEY = "0b5bd9e4-5a0f-4c6b-a0a6-3d6c2f3c9e71"
EXAMPLE = ROOT / "schemas" / "com.example" / "search_performed" / "jsonschema" / "1-0-0"


def schema(vendor="com.acme", name="click", version="1-0-0", **extra) -> dict:
    return {
        "$schema": SELF_DESCRIBING_META_SCHEMA,
        "self": {"vendor": vendor, "name": name, "format": "jsonschema", "version": version},
        "type": "object",
        "properties": {"id": {"type": "string"}},
        **extra,
    }


def write(root: Path, relative: str, body) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body if isinstance(body, str) else json.dumps(body))


# --- lint --------------------------------------------------------------------------------------


def test_the_repo_schemas_are_valid():
    schemas, problems = lint(ROOT / "schemas")
    assert problems == []
    assert [s.uri for s in schemas] == ["iglu:com.example/search_performed/jsonschema/1-0-0"]


BAD = {
    "not at an Iglu path": ("com.acme/click/1-0-0", schema(), "must sit at <vendor>/<name>/jsonschema/"),
    "not JSON": ("com.acme/click/jsonschema/1-0-0", "{nope", "not JSON"),
    "other meta-schema": (
        "com.acme/click/jsonschema/1-0-0",
        {**schema(), "$schema": "http://json-schema.org/draft-04/schema#"},
        "$schema must be",
    ),
    "no self": ("com.acme/click/jsonschema/1-0-0", {"$schema": SELF_DESCRIBING_META_SCHEMA}, "needs a `self`"),
    "self disagrees with path": ("com.acme/click/jsonschema/1-0-1", schema(), 'path says "1-0-1"'),
    "bad vendor": ("com acme/click/jsonschema/1-0-0", schema(vendor="com acme"), "self.vendor must match"),
    "extra self key": (
        "com.acme/click/jsonschema/1-0-0",
        {**schema(), "self": {**schema()["self"], "owner": "me"}},
        "self has keys the meta-schema forbids: owner",
    ),
    "invalid draft 4": ("com.acme/click/jsonschema/1-0-0", schema(type=5), "not a valid draft-4 JSON Schema at type"),
    "negative maxLength": (
        "com.acme/click/jsonschema/1-0-0",
        schema(properties={"id": {"type": "string", "maxLength": -1}}),
        "properties/id/maxLength",
    ),
}


@pytest.mark.parametrize("relative,body,message", BAD.values(), ids=list(BAD))
def test_lint_names_the_file_and_the_rule(tmp_path, relative, body, message):
    write(tmp_path, relative, body)
    schemas, problems = lint(tmp_path)
    assert schemas == []
    assert len(problems) >= 1 and problems[0].startswith(relative) and any(message in p for p in problems), problems


def test_lint_orders_versions_for_publishing_and_skips_readme(tmp_path):
    for version in ("1-0-10", "1-0-2", "2-0-0", "1-1-0"):
        write(tmp_path, f"com.acme/click/jsonschema/{version}", schema(version=version))
    write(tmp_path, "README.md", "# notes")
    schemas, problems = lint(tmp_path)
    assert problems == []
    assert [s.version for s in schemas] == ["1-0-2", "1-0-10", "1-1-0", "2-0-0"]


def _meta_schema_validator():
    meta = json.loads((SCHEMAS_DIR / "com.snowplowanalytics.self-desc" / "schema" / "jsonschema" / "1-0-0").read_text())
    registry = Registry().with_resource(
        "http://json-schema.org/draft-04/schema", Resource.from_contents(Draft4Validator.META_SCHEMA)
    )
    return Draft4Validator(meta, registry=registry)


AGREEMENT = {
    "example": json.loads(EXAMPLE.read_text()),
    "minimal": schema(),
    "bad vendor": schema(vendor="com acme"),
    "bad version": schema(version="1.0.0"),
    "extra self key": {**schema(), "self": {**schema()["self"], "owner": "me"}},
    "no self": {k: v for k, v in schema().items() if k != "self"},
    "invalid draft 4": schema(type=5),
    "bad required": schema(required=[]),
}


@pytest.mark.parametrize("body", AGREEMENT.values(), ids=list(AGREEMENT))
def test_lint_agrees_with_iglu_central_self_describing_meta_schema(iglu_central, body):
    """Our header rules are written here; Iglu's meta-schema (from ../shared) must reach the same verdict."""
    ours = not (header_problems(body) or draft4_problems(body))
    theirs = _meta_schema_validator().is_valid(body)
    assert ours == theirs


def test_iglu_central_schemas_pass_the_lint(iglu_central):
    schemas, problems = lint(SCHEMAS_DIR)
    assert problems == [] and len(schemas) >= 40


# --- publish -----------------------------------------------------------------------------------


class StandIn:
    """A local Iglu Server stand-in: records requests; knows one write key; stores schemas like the server."""

    def __init__(self, conflict: set[str] = frozenset()):
        self.requests: list[dict] = []
        self.stored: dict[str, dict] = {}
        self.conflict = conflict
        stand_in = self

        class Handler(JsonHandler):
            def _record(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                url = urlsplit(self.path)
                stand_in.requests.append(
                    {
                        "method": self.command,
                        "path": url.path,
                        "query": parse_qs(url.query),
                        "apikey": self.headers.get("apikey"),
                        "body": body,
                    }
                )
                return url.path, body

            def do_GET(self):
                path, _ = self._record()
                known = self.headers.get("apikey") == WRITE_KEY
                if path == "/api/meta/server":
                    auth = {"vendor": "", "schema": "CREATE_VENDOR", "key": []} if known else {"schema": None}
                    return self.reply(200, {"version": "0.14.2", "authInfo": auth})
                key = path.removeprefix("/api/schemas/")
                if key in stand_in.stored and known:
                    vendor, name, fmt, version = key.split("/")
                    canonical = copy.deepcopy(stand_in.stored[key])
                    canonical["self"] = {"vendor": vendor, "name": name, "format": fmt, "version": version}
                    canonical["$schema"] = SELF_DESCRIBING_META_SCHEMA
                    return self.reply(200, canonical)
                return self.reply(404, {"message": "The schema is not found"})

            def do_PUT(self):
                path, body = self._record()
                key = path.removeprefix("/api/schemas/")
                if self.headers.get("apikey") != WRITE_KEY:
                    return self.reply(403, {"message": "Not sufficient privileges"})
                if key in stand_in.conflict or key in stand_in.stored:
                    return self.reply(409, {"message": "Schema already exists"})
                stand_in.stored[key] = body
                return self.reply(201, {"message": "Schema created", "updated": False, "location": key})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def secrets_client(secret_id: str, value: str | None = WRITE_KEY):
    client = boto3.client(
        "secretsmanager", region_name="eu-west-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    stubber = Stubber(client)
    if value is None:
        stubber.add_client_error(
            "get_secret_value", "ResourceNotFoundException", expected_params={"SecretId": secret_id}
        )
    else:
        stubber.add_response(
            "get_secret_value",
            {"ARN": f"arn:aws:secretsmanager:eu-west-1:123456789012:secret:{secret_id}-AbCdEf", "SecretString": value},
            {"SecretId": secret_id},
        )
    stubber.activate()
    return client, stubber


@pytest.fixture
def stack_with_iglu(tmp_path):
    return write_stack(tmp_path, "pub", {**BASE, "snowplow:iglu": {"server": {"enabled": True}}})


def run(stack: Path, schemas: Path, url: str, secret_value=WRITE_KEY, extra=()):
    client, stubber = secrets_client("snowplow-pub/iglu-server/write-key", secret_value)
    code = publish_schemas.main(
        ["--config", str(stack), "--schemas", str(schemas), "--url", url, *extra], secrets_client=client
    )
    stubber.assert_no_pending_responses()
    return code


def test_publishes_each_schema_with_the_write_key_from_secrets_manager(stack_with_iglu, tmp_path, capsys):
    root = tmp_path / "schemas"
    write(root, "com.acme/click/jsonschema/1-0-1", schema(version="1-0-1"))
    write(root, "com.acme/click/jsonschema/1-0-0", schema())
    with StandIn() as server:
        assert run(stack_with_iglu, root, server.url) == publish_schemas.EXIT_OK
    puts = [r for r in server.requests if r["method"] == "PUT"]
    assert [p["path"] for p in puts] == [
        "/api/schemas/com.acme/click/jsonschema/1-0-0",
        "/api/schemas/com.acme/click/jsonschema/1-0-1",
    ]
    assert all(p["apikey"] == WRITE_KEY and p["query"] == {"isPublic": ["false"]} for p in puts)
    assert puts[0]["body"] == schema()
    assert {r["apikey"] for r in server.requests} == {WRITE_KEY}
    out = capsys.readouterr().out
    assert "created    iglu:com.acme/click/jsonschema/1-0-0" in out and WRITE_KEY not in out


def test_a_second_run_changes_nothing(stack_with_iglu, tmp_path, capsys):
    with StandIn() as server:
        assert run(stack_with_iglu, ROOT / "schemas", server.url) == 0
        assert run(stack_with_iglu, ROOT / "schemas", server.url) == 0
    assert [r["method"] for r in server.requests].count("PUT") == 1
    assert "unchanged  iglu:com.example/search_performed/jsonschema/1-0-0" in capsys.readouterr().out


def test_a_changed_published_version_is_refused_with_advice(stack_with_iglu, tmp_path, capsys):
    root = tmp_path / "schemas"
    write(root, "com.acme/click/jsonschema/1-0-0", schema())
    with StandIn() as server:
        assert run(stack_with_iglu, root, server.url) == 0
        write(root, "com.acme/click/jsonschema/1-0-0", schema(description="changed"))
        assert run(stack_with_iglu, root, server.url) == publish_schemas.EXIT_REFUSED
    assert "publish a new version instead" in capsys.readouterr().out


def test_invalid_schemas_stop_before_any_request(stack_with_iglu, tmp_path):
    root = tmp_path / "schemas"
    write(root, "com.acme/click/jsonschema/1-0-0", schema(type=5))
    with StandIn() as server:
        code = publish_schemas.main(["--config", str(stack_with_iglu), "--schemas", str(root), "--url", server.url])
    assert code == publish_schemas.EXIT_INVALID and server.requests == []


def test_a_key_the_server_does_not_know_publishes_nothing(stack_with_iglu, capsys):
    with StandIn() as server:
        code = run(stack_with_iglu, ROOT / "schemas", server.url, secret_value="11111111-2222-4333-8444-555555555555")
    assert code == publish_schemas.EXIT_REFUSED
    assert [r["method"] for r in server.requests] == ["GET"]
    assert "does not know the key" in capsys.readouterr().err


def test_before_the_server_wrote_its_keys_the_error_says_so(stack_with_iglu, capsys):
    with StandIn() as server:
        code = run(stack_with_iglu, ROOT / "schemas", server.url, secret_value=None)
    assert code == publish_schemas.EXIT_INVALID and server.requests == []
    assert "has no value yet" in capsys.readouterr().err


def test_a_stack_without_an_iglu_server_is_named(tmp_path, capsys):
    stack = write_stack(tmp_path, "none", BASE)
    assert publish_schemas.main(["--config", str(stack), "--url", "http://127.0.0.1:9"]) == 1
    assert "snowplow:iglu.server.enabled is false" in capsys.readouterr().err


def test_the_stack_domain_is_the_default_address(tmp_path):
    tls = {"enabled": True, "domain": "iglu.example.com", "hostedZoneId": "Z0123456789EXAMPLE"}
    stack = write_stack(tmp_path, "tls", {**BASE, "snowplow:iglu": {"server": tls}})
    target = publish_schemas.stack_target(stack, None, None)
    assert (target.url, target.secret_id, target.region) == (
        "https://iglu.example.com",
        "snowplow-tls/iglu-server/write-key",
        "eu-west-1",
    )


def test_without_a_domain_the_address_is_the_stack_output_even_when_secret(stack_with_iglu, tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "pulumi"
    fake.parent.mkdir()
    fake.write_text(
        '#!/bin/sh\necho "$@" > "${0%/*}/args"\necho \'{"iglu_server_url": "http://iglu-alb.example.com"}\'\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    target = publish_schemas.stack_target(stack_with_iglu, None, None)
    assert target.url == "http://iglu-alb.example.com"
    assert "--show-secrets" in (fake.parent / "args").read_text().split()


def test_an_aws_error_on_the_write_key_is_one_line_not_a_trace(capsys):
    client = boto3.client(
        "secretsmanager", region_name="eu-west-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    stubber = Stubber(client)
    stubber.add_client_error("get_secret_value", "AccessDeniedException", "not allowed")
    stubber.activate()
    with pytest.raises(publish_schemas.TargetError, match="secret s/write-key: AccessDeniedException: not allowed"):
        publish_schemas.read_write_key("s/write-key", "eu-west-1", client)
