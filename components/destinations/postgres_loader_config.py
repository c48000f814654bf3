"""postgres-loader.hocon and its Iglu resolver (Snowplow Postgres Loader 0.3) as data."""

from dataclasses import dataclass
from typing import Any

from components.apps.enrichment_files import secret_placeholder
from components.apps.iglu_resolver import repository_entry
from components.platform.database import PostgresConnection

EVENTS_SCHEMA = "atomic"
# The loader's Iglu client (iglu-scala-client 1.1.1) embeds resolver-config up to 1-0-2 only.
RESOLVER_SCHEMA = "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-2"


@dataclass(frozen=True)
class IgluServerRepository:
    """An Iglu Server the loader may list and fetch schemas from: `uri` ends in /api, key as a secret ARN."""

    name: str
    uri: str
    api_key_secret_arn: str | None
    priority: int = 0
    vendor_prefixes: tuple[str, ...] = ()


def render_postgres_loader_config(
    *,
    app_name: str,
    stream: str,
    region: str,
    initial_position: str,
    max_records: int,
    failures_stream: str,
    database: PostgresConnection,
    max_connections: int,
) -> dict[str, Any]:
    """Polling (the loader defaults to enhanced fan-out, billed per consumer-shard hour), failures to a stream."""
    return {
        "input": {
            "type": "Kinesis",
            "appName": app_name,
            "streamName": stream,
            "region": region,
            "initialPosition": initial_position,
            "retrievalMode": {"type": "Polling", "maxRecords": max_records},
        },
        "output": {
            "good": {
                "type": "Postgres",
                "host": database.host,
                "port": database.port,
                "database": database.database,
                "username": database.username,
                "password": secret_placeholder(database.password_secret_arn),
                "schema": EVENTS_SCHEMA,
                "sslMode": "REQUIRE",
                "maxConnections": max_connections,
            },
            "bad": {"type": "Kinesis", "streamName": failures_stream, "region": region},
        },
        "purpose": "ENRICHED_EVENTS",
        # KCL and KPL CloudWatch metrics off: no cloudwatch:PutMetricData grant, no per-shard metric bill.
        "monitoring": {"metrics": {"cloudWatch": False}},
    }


def render_postgres_loader_resolver(repositories: list[IgluServerRepository], cache_size: int, cache_ttl: int) -> dict:
    """Only Iglu Servers: the loader lists every schema's versions, which static registries cannot answer."""
    if not repositories:
        raise ValueError("the Postgres loader needs at least one Iglu Server")
    return {
        "schema": RESOLVER_SCHEMA,
        "data": {
            "cacheSize": cache_size,
            "cacheTtl": max(cache_ttl, 1),  # 1-0-2 requires at least 1 second
            "repositories": [_repository(r) for r in repositories],
        },
    }


def _repository(repository: IgluServerRepository) -> dict:
    return repository_entry(
        repository.name, repository.uri, repository.api_key_secret_arn, repository.priority, repository.vendor_prefixes
    )
