"""databricks-loader.hocon (Databricks Streaming Loader 0.5, Kinesis) as data.

Keys as the loader's configuration reference defines them (docs.snowplow.io, Databricks Streaming Loader
configuration reference; the 0.4.0 code's Config.scala and reference.conf). The token appears only as a
placeholder that the instance's boot replaces with the secret's value.
"""

from dataclasses import dataclass
from typing import Any

from components.apps.consumer_configs import HEALTH_PROBE_PORT
from components.apps.enrichment_files import secret_placeholder


@dataclass(frozen=True)
class DatabricksVolume:
    host: str
    catalog: str
    schema: str
    volume: str
    token_secret_arn: str


def render_databricks_loader_config(
    *,
    app_name: str,
    stream: str,
    initial_position: str,
    max_records: int,
    failures_stream: str,
    target: DatabricksVolume,
    telemetry: bool,
) -> dict[str, Any]:
    """Polling KCL consumer of the enriched stream (lease table `app_name`), failures to a Kinesis stream.

    `exitOnMissingIgluSchema` stays at its default (true): enriched events were validated against their schemas,
    so a schema the loader cannot resolve is an Iglu outage to fix, not events to fail.
    """
    return {
        "license": {"accept": True},
        "input": {
            "streamName": stream,
            "appName": app_name,
            "initialPosition": {"type": initial_position},
            "retrievalMode": {"type": "Polling", "maxRecords": max_records},
        },
        "output": {
            "good": {
                "host": target.host,
                "token": secret_placeholder(target.token_secret_arn),
                "catalog": target.catalog,
                "schema": target.schema,
                "volume": target.volume,
            },
            "bad": {"streamName": failures_stream},
        },
        "monitoring": {"healthProbe": {"port": HEALTH_PROBE_PORT}},
        "telemetry": {"disable": not telemetry},
    }
