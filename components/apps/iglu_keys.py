"""Make sure the stack's Iglu read and write keys exist, are valid, and sit in their Secrets Manager secrets.

Shipped to the Iglu Server instances with their config and run after the server is healthy (post-start),
once on every new instance (user data runs once per instance; a reboot does not run it again):

    python3 iglu_keys.py --settings iglu-keys.json

where the settings file holds {"server": "http://127.0.0.1:8080", "superKeySecret": ARN,
"readKeySecret": ARN, "writeKeySecret": ARN}.

For each of the two secrets: if it holds a key the server grants exactly the expected permission (read:
READ on every vendor, no key management; write: CREATE_VENDOR on every vendor, no key management), nothing
happens. Otherwise (no value, a key the server does not know, a value that is no UUID, a narrower or wider
key) a key pair is generated with the super key (`POST /api/auth/keygen`, vendor prefix `*`) and the needed
key is stored with a client request token derived from the secret version that was seen. When several
instances race, only the first write lands: Secrets Manager refuses a token already used for other content
(ResourceExistsException); the others revoke the keys they generated and read the winner's version by its
id (the token), which does not depend on how soon AWSCURRENT moves. Keys never appear in a command line or
in the output.

Standard library only (the host's python3 is 3.9) plus the aws CLI.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import uuid

# What /api/meta/server reports for each key: (vendor, schema action, key actions). The vendor of a key
# for every vendor ("*") is reported as "".
EXPECTED = {"read": ("", "READ", []), "write": ("", "CREATE_VENDOR", [])}
TIMEOUT = 10


def log(message: str) -> None:
    print(f"iglu-keys: {message}", file=sys.stderr)


class Aws:
    """The few Secrets Manager calls needed, through the aws CLI (replaceable in tests)."""

    def __init__(self, command: str = "aws"):
        self.command = command

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([self.command, "secretsmanager", *args], capture_output=True, text=True)

    def get(self, secret_arn: str, version_id: str | None = None) -> tuple[str | None, str | None]:
        """(value, version id) of the current (or the given) version; (None, None) while there is none."""
        version = ["--version-id", version_id] if version_id else []
        run = self._run("get-secret-value", "--secret-id", secret_arn, *version, "--output", "json")
        if run.returncode != 0:
            if "ResourceNotFoundException" in run.stderr:
                return None, None
            raise RuntimeError(f"reading {secret_arn} failed: {run.stderr.strip()[-300:]}")
        reply = json.loads(run.stdout)
        return reply.get("SecretString"), reply.get("VersionId")

    def put(self, secret_arn: str, value: str, token: str) -> bool:
        """Store a new current version; False if another writer used `token` first with another value."""
        with tempfile.NamedTemporaryFile("w", suffix=".key") as handle:  # 0600: the value stays off argv
            handle.write(value)
            handle.flush()
            run = self._run(
                "put-secret-value",
                "--secret-id",
                secret_arn,
                "--secret-string",
                f"file://{handle.name}",
                "--client-request-token",
                token,
            )
        if run.returncode == 0:
            return True
        if "ResourceExistsException" in run.stderr:
            return False
        raise RuntimeError(f"writing {secret_arn} failed: {run.stderr.strip()[-300:]}")


class Server:
    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")

    def _call(self, method: str, path: str, key: str, body: dict | None = None) -> tuple[int, object]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("apikey", key)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as reply:
                status, raw = reply.status, reply.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode("utf-8", "replace")

    def grants(self, key: str) -> tuple[str | None, str | None, list]:
        """(vendor, schema action, key actions) the server grants `key`; no schema action for an unknown key."""
        status, body = self._call("GET", "/api/meta/server", key)
        if status != 200 or not isinstance(body, dict):
            raise RuntimeError(f"GET /api/meta/server answered {status}")
        auth = body.get("authInfo") or {}
        return auth.get("vendor"), auth.get("schema"), sorted(auth.get("key") or [])

    def keygen(self, super_key: str) -> dict:
        status, body = self._call("POST", "/api/auth/keygen", super_key, {"vendorPrefix": "*"})
        if status not in (200, 201) or not isinstance(body, dict) or not {"read", "write"} <= set(body):
            raise RuntimeError(f"POST /api/auth/keygen answered {status}")
        return body

    def revoke(self, super_key: str, key: str) -> None:
        status, _ = self._call("DELETE", f"/api/auth/keygen?key={key}", super_key)
        if status != 200:
            log(f"could not revoke an unused key (DELETE /api/auth/keygen answered {status})")


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def valid(server: Server, kind: str, key: str | None) -> bool:
    """The server grants `key` exactly the `kind` permission. A value that is no UUID is no key (the server
    would answer 400 to it, which must not fail every boot)."""
    if not key or not is_uuid(key.strip()):
        return False
    vendor, schema, key_actions = server.grants(key.strip())
    expected_vendor, expected_schema, expected_actions = EXPECTED[kind]
    return (vendor, schema, key_actions) == (expected_vendor, expected_schema, sorted(expected_actions))


def ensure(server: Server, aws: Aws, super_key: str, kind: str, secret_arn: str) -> str:
    """Make `secret_arn` hold a valid `kind` key; returns what happened."""
    value, version = aws.get(secret_arn)
    if valid(server, kind, value):
        return "valid"
    pair = server.keygen(super_key)
    other = "write" if kind == "read" else "read"
    token = hashlib.sha256(f"{secret_arn}|{version or 'none'}".encode()).hexdigest()
    if aws.put(secret_arn, pair[kind], token):
        server.revoke(super_key, pair[other])
        return "generated" if value is None else "replaced (the stored key was unknown to the server)"
    server.revoke(super_key, pair[kind])
    server.revoke(super_key, pair[other])
    value, _ = aws.get(secret_arn, version_id=token)  # the winner's version carries the token as its id
    if not valid(server, kind, value):
        raise RuntimeError(f"another instance stored a {kind} key in {secret_arn} that the server does not accept")
    return "stored by another instance"


def main(argv: list[str] | None = None, aws: Aws | None = None) -> int:
    parser = argparse.ArgumentParser(description="Ensure the stack's Iglu read and write keys")
    parser.add_argument("--settings", required=True, help="JSON: server, superKeySecret, readKeySecret, writeKeySecret")
    args = parser.parse_args(argv)
    aws = aws or Aws(os.environ.get("AWS_CLI", "aws"))
    try:
        with open(args.settings) as handle:
            settings = json.load(handle)
        server = Server(settings["server"])
        super_key, _ = aws.get(settings["superKeySecret"])
        if not super_key:
            raise RuntimeError(f"{settings['superKeySecret']} has no value")
        for kind in ("read", "write"):
            secret_arn = settings[f"{kind}KeySecret"]
            log(f"{kind} key in {secret_arn}: {ensure(server, aws, super_key.strip(), kind, secret_arn)}")
    except (RuntimeError, OSError, ValueError, KeyError) as err:
        log(f"failed: {err}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
