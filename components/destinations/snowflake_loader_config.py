"""snowflake-loader.hocon (Snowflake Streaming Loader 0.6, Kinesis) as data.

Keys as the loader's configuration reference defines them (docs.snowplow.io, Snowflake Streaming Loader
configuration reference; the 0.4.1 code's Config.scala and reference.conf). Secrets appear only as
placeholders that the instance's boot replaces with the secret's value.
"""

from dataclasses import dataclass
from typing import Any

from components.apps.consumer_configs import HEALTH_PROBE_PORT
from components.apps.enrichment_files import secret_placeholder
from components.apps.hocon import EnvSubstitution

# Each instance opens its channels as `<prefix>-<n>`; instances sharing a prefix would take over each other's
# channels, so the prefix is the instance id (the boot passes it to the container in this variable).
CHANNEL_PREFIX = EnvSubstitution("SNOWPLOW_INSTANCE_ID")


@dataclass(frozen=True)
class SnowflakeTarget:
    url: str
    user: str
    role: str
    database: str
    schema: str
    table: str
    private_key_secret_arn: str
    private_key_passphrase_secret_arn: str | None = None


def render_snowflake_loader_config(
    *,
    app_name: str,
    stream: str,
    initial_position: str,
    max_records: int,
    failures_stream: str,
    target: SnowflakeTarget,
    telemetry: bool,
) -> dict[str, Any]:
    """Polling KCL consumer of the enriched stream (lease table `app_name`), failures to a Kinesis stream."""
    good: dict[str, Any] = {
        "url": target.url,
        "user": target.user,
        "privateKey": secret_placeholder(target.private_key_secret_arn),
        "role": target.role,
        "database": target.database,
        "schema": target.schema,
        "table": target.table,
        "channel": CHANNEL_PREFIX,
    }
    if target.private_key_passphrase_secret_arn:
        good["privateKeyPassphrase"] = secret_placeholder(target.private_key_passphrase_secret_arn)
    return {
        "license": {"accept": True},
        "input": {
            "streamName": stream,
            "appName": app_name,
            "initialPosition": {"type": initial_position},
            "retrievalMode": {"type": "Polling", "maxRecords": max_records},
        },
        "output": {"good": good, "bad": {"streamName": failures_stream}},
        "monitoring": {"healthProbe": {"port": HEALTH_PROBE_PORT}},
        "telemetry": {"disable": not telemetry},
    }
