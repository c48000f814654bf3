"""Lint the repo's Iglu schemas and publish them to a stack's Iglu Server.

    make publish-schemas STACK=dev [CONFIG=path/Pulumi.x.yaml] [SCHEMAS=dir] [URL=https://...] [PUBLIC=1]
    make lint-schemas [SCHEMAS=dir]

The server's address is `https://<snowplow:iglu.server.domain>` when the stack has one, else the stack output
`iglu_server_url` (asked of the Pulumi CLI), else URL=. The write key is read from the stack's Secrets
Manager secret `<project>-<stack>/iglu-server/write-key` (written by the server at its first boot) with
your AWS credentials. Schemas already published unchanged are skipped; each other version is PUT in order.

Exit codes: 0 ok, 1 invalid schemas or stack config, 2 the server refused something.
"""

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from components.apps.iglu_server_config import WRITE_KEY_PATH
from offline.engine import PROJECT_DIR, StackFile, stack_deployment
from ops.aws import AWS_ERRORS, Clients, describe_error, error_code
from ops.outputs import OutputsError, from_pulumi
from stack_config import ConfigError
from tools.iglu_api import IgluServer, same_schema
from tools.schema_lint import SchemaFile, lint

EXIT_OK, EXIT_INVALID, EXIT_REFUSED = 0, 1, 2


class TargetError(Exception):
    """The stack has no Iglu Server to publish to, or its address cannot be found."""


@dataclass(frozen=True)
class Target:
    url: str
    secret_id: str
    region: str


def stack_target(stack_file: Path, url: str | None, secret_id: str | None) -> Target:
    """Where the stack's Iglu Server answers and which secret holds its write key."""
    try:
        deployment = stack_deployment(StackFile.read(stack_file))
    except ConfigError as err:
        raise TargetError(f"{stack_file.name}: {err}") from None
    server = deployment.config.iglu.server
    if not server.enabled:
        raise TargetError(f"{stack_file.name}: snowplow:iglu.server.enabled is false: the stack runs no Iglu Server")
    if url is None and server.tls and server.domain:
        url = f"https://{server.domain}"
    if url is None:
        url = _stack_output(deployment.stack, "iglu_server_url")
    return Target(url, secret_id or f"{deployment.prefix}/{WRITE_KEY_PATH}", deployment.region)


def _stack_output(stack: str, name: str) -> str:
    """One stack output through the operator tools' Pulumi call (time limit, secret outputs shown)."""
    try:
        value = from_pulumi(stack).get(name)
    except OutputsError as err:
        raise TargetError(f"{err}; or pass URL=") from None
    if not isinstance(value, str) or not value:
        raise TargetError(f"stack {stack} has no output {name}: pass URL=")
    return value


def read_write_key(secret_id: str, region: str, client=None) -> str:
    client = client or Clients(region)("secretsmanager")
    try:
        return client.get_secret_value(SecretId=secret_id)["SecretString"].strip()
    except AWS_ERRORS as err:
        if error_code(err) == "ResourceNotFoundException":
            raise TargetError(
                f"secret {secret_id} has no value yet: the Iglu Server writes it at its first healthy boot"
            ) from None
        raise TargetError(f"secret {secret_id}: {describe_error(err)}") from None


def publish(server: IgluServer, schemas: list[SchemaFile], public: bool, out=None) -> int:
    """PUT each schema not already published unchanged; the number the server refused."""
    out = out or sys.stdout
    refused = 0
    for schema in schemas:
        published = server.get_schema(schema.api_path)
        if published is not None and same_schema(published, schema.body):
            print(f"  unchanged  {schema.uri}", file=out)
            continue
        reply = server.put_schema(schema.api_path, schema.body, public)
        if reply.status in (200, 201):
            print(f"  {'created' if reply.status == 201 else 'updated'}    {schema.uri}", file=out)
            continue
        refused += 1
        hint = ""
        if reply.status == 409 and published is not None:
            hint = " (this version is already published with other content: publish a new version instead)"
        print(f"  REFUSED    {schema.uri}: {reply.status} {reply.message}{hint}", file=out)
    return refused


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make publish-schemas", description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--stack", default="dev", help="reads Pulumi.<stack>.yaml (default dev)")
    source.add_argument("--config", type=Path, help="path to any Pulumi.<name>.yaml stack file")
    parser.add_argument("--schemas", type=Path, default=PROJECT_DIR / "schemas", help="folder of schemas")
    parser.add_argument("--url", help="the Iglu Server's root URL, e.g. https://iglu.example.com")
    parser.add_argument("--secret-id", help="Secrets Manager name or ARN holding the write key")
    parser.add_argument("--public", action="store_true", help="publish schemas readable without a key")
    parser.add_argument("--lint-only", action="store_true", help="lint, publish nothing")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, secrets_client=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    schemas, problems = lint(args.schemas)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        return EXIT_INVALID
    print(f"{len(schemas)} schemas under {args.schemas} are valid self-describing JSON Schemas")
    if args.lint_only or not schemas:
        return EXIT_OK
    try:
        target = stack_target(args.config or PROJECT_DIR / f"Pulumi.{args.stack}.yaml", args.url, args.secret_id)
        server = IgluServer(target.url, read_write_key(target.secret_id, target.region, secrets_client))
        permission = server.permission()
    except (TargetError, OSError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_INVALID
    if not permission.get("schema") and not permission.get("key"):
        print(f"error: {target.url} does not know the key in {target.secret_id}", file=sys.stderr)
        return EXIT_REFUSED
    if target.url.startswith("http://"):
        print(f"warning: {target.url} is plain HTTP: the write key crosses the network unencrypted", file=sys.stderr)
    print(f"Publishing to {target.url} with the write key from {target.secret_id}")
    refused = publish(server, schemas, args.public)
    print(f"{len(schemas) - refused} of {len(schemas)} schemas published or unchanged")
    return EXIT_REFUSED if refused else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
