"""What the Elasticsearch Loader (3.x, common-streams) and the domain it writes to are given, as data:
the loader's config, the index template of each index, the domain's security-plugin roles, and the shell
script an instance runs before its loader starts to put those into the domain with SigV4-signed requests."""

import json
import shlex
from dataclasses import dataclass
from typing import Any, Literal

from components.apps.consumer_configs import HEALTH_PROBE_PORT

Purpose = Literal["ENRICHED_EVENTS", "BAD_ROWS"]
SIGNING_SERVICE = "es"  # OpenSearch Service domains (Serverless collections would be "aoss")
TEMPLATE_FILE = "index-template.json"
SETUP_FILE = "opensearch-setup.sh"
BAD_ROWS_WRITER_ROLE = "snowplow_bad_rows_writer"
READER_ROLE = "snowplow_reader"
SETUP_ATTEMPTS = 30  # 10 s apart: a writer's mapping is made by the other loader's boot, minutes at most
TEMPLATE_PRIORITY = 100


@dataclass(frozen=True)
class LoaderInput:
    stream: str
    app_name: str  # also the KCL lease table's name
    initial_position: str
    max_records: int


def render_elasticsearch_loader_config(
    *,
    source: LoaderInput,
    endpoint: str,
    index: str,
    region: str,
    purpose: Purpose,
    failures_stream: str,
    telemetry: bool,
) -> dict[str, Any]:
    """Polling reads, SigV4 signing with the instance role over HTTPS, events the domain rejects to `failures_stream`."""
    return {
        "license": {"accept": True},
        "input": {
            "streamName": source.stream,
            "appName": source.app_name,
            "initialPosition": {"type": source.initial_position},
            "retrievalMode": {"type": "Polling", "maxRecords": source.max_records},
        },
        "output": {
            "good": {
                "url": f"https://{endpoint}:443",
                "index": index,
                "auth": {"type": "AWSSigning", "region": region, "serviceSigningName": SIGNING_SERVICE},
            },
            "bad": {"streamName": failures_stream},
        },
        "purpose": purpose,
        "monitoring": {"healthProbe": {"port": HEALTH_PROBE_PORT}},
        "telemetry": {"disable": not telemetry},
    }


def render_index_template(index: str, purpose: Purpose, replicas: int) -> dict[str, Any]:
    """A composable template for exactly `index`: whole values as keywords (no full-text analysis), and for
    enriched events the event's latitude/longitude pair as a geo point, so maps and distance queries work.
    `replicas` is 0 on a one-node domain, where a replica could never be placed (the cluster would stay yellow)."""
    template: dict[str, Any] = {
        "settings": {
            "number_of_replicas": replicas,
            "analysis": {"analyzer": {"default": {"type": "keyword"}}},
        }
    }
    if purpose == "ENRICHED_EVENTS":
        template["mappings"] = {"properties": {"geo_location": {"type": "geo_point"}}}
    return {
        "index_patterns": [index],
        "priority": TEMPLATE_PRIORITY,
        "template": template,
        "_meta": {"managed_by": "snowplow-pulumi", "purpose": purpose},
    }


def render_bad_rows_writer_role(index: str) -> dict[str, Any]:
    """Security-plugin role of the bad-rows loader: bulk writes to its index and its own index template only."""
    return {
        "description": "Snowplow bad-rows loader: writes its index",
        "cluster_permissions": ["cluster_composite_ops", "cluster_manage_index_templates"],
        "index_permissions": [{"index_patterns": [index], "allowed_actions": ["crud", "create_index"]}],
    }


def render_reader_role(indices: list[str]) -> dict[str, Any]:
    """Security-plugin role of the configured reader: search and read the stack's indices, nothing else."""
    return {
        "description": "Snowplow events: read only",
        "cluster_permissions": ["cluster_composite_ops_ro"],
        "index_permissions": [{"index_patterns": list(indices), "allowed_actions": ["read"]}],
    }


def render_role_mapping(role_arn: str) -> dict[str, Any]:
    """IAM role ARNs are backend roles under fine-grained access control."""
    return {"backend_roles": [role_arn]}


@dataclass(frozen=True)
class SetupRequest:
    """One PUT to the domain with a config file as body."""

    path: str
    file: str


def render_setup_script(app: str, endpoint: str, region: str, requests: list[SetupRequest]) -> str:
    """Run as root by the boot before the loader starts (CONFIG_DIR set): each PUT signed with the instance
    role's credentials, retried while the domain or this role's mapping is not ready; any failure fails the boot.
    PUTs replace what they name, so every boot converges the domain to this config."""
    lines = [
        "#!/bin/bash",
        f"# Prepares the OpenSearch domain for {app}: rendered by components/destinations/elasticsearch_loader_config.py.",
        "set -euo pipefail",
        f"ENDPOINT={shlex.quote('https://' + endpoint)}",
        f"REGION={shlex.quote(region)}",
        ': "${CONFIG_DIR:?set by the boot script}"',
        'eval "$(aws configure export-credentials --format env)"',
        "OUT=$(mktemp)",
        "trap 'rm -f \"$OUT\"' EXIT",
        "put() {",
        "  local attempt code",
        f"  for ((attempt = 1; attempt <= {SETUP_ATTEMPTS}; attempt++)); do",
        "    code=$(curl --silent --show-error --max-time 30 --output \"$OUT\" --write-out '%{http_code}' \\",
        f'      --aws-sigv4 "aws:amz:$REGION:{SIGNING_SERVICE}" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \\',
        '      --header "x-amz-security-token: $AWS_SESSION_TOKEN" --header "Content-Type: application/json" \\',
        '      --request PUT --data-binary "@$CONFIG_DIR/$2" "$ENDPOINT$1") || code=000',
        '    [[ $code == 2?? ]] && echo "PUT $1: $code" >&2 && return 0',
        '    echo "PUT $1 answered $code (attempt $attempt): $(head -c 300 "$OUT")" >&2',
        "    sleep 10",
        "  done",
        "  return 1",
        "}",
        *(f"put {shlex.quote(r.path)} {shlex.quote(r.file)}" for r in requests),
        "",
    ]
    return "\n".join(lines)


def json_file(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"
