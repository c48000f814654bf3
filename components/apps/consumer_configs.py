"""enrich.hocon (Enrich 6.x, Kinesis) and s3-loader.hocon (S3 Loader 3.x) as data."""

from dataclasses import dataclass
from typing import Any, Literal

# Enrich 6 and S3 Loader 3 (common-streams apps) answer any GET on this port with 200 when healthy, 503
# otherwise (runtime-common HealthProbe); it is their default `monitoring.healthProbe.port`, set explicitly.
HEALTH_PROBE_PORT = 8000
# Enriched files land under `<path>/load_date=<yyyy-MM-dd>/` (the UTC day the loader writes them; the loader accepts
# only date placeholders for enriched events): one prefix per day, which Athena's partition projection reads.
ENRICHED_PARTITION_COLUMN = "load_date"
ENRICHED_PARTITION_FORMAT = ENRICHED_PARTITION_COLUMN + "={yyyy}-{MM}-{dd}"


def _monitoring() -> dict[str, Any]:
    return {"healthProbe": {"port": HEALTH_PROBE_PORT}}


@dataclass(frozen=True)
class KinesisInput:
    """A KCL consumer's input: `app_name` is also the name of its DynamoDB lease table."""

    stream: str
    app_name: str
    initial_position: str


def _input(source: KinesisInput) -> dict[str, Any]:
    return {
        "streamName": source.stream,
        "appName": source.app_name,
        "initialPosition": {"type": source.initial_position},
    }


def render_enrich_config(source: KinesisInput, good: str, bad: str, telemetry: bool) -> dict[str, Any]:
    return {
        "license": {"accept": True},
        "input": _input(source),
        "output": {"good": {"streamName": good}, "bad": {"streamName": bad}},
        "monitoring": _monitoring(),
        "telemetry": {"disable": not telemetry},
    }


def render_s3_loader_config(
    source: KinesisInput,
    purpose: Literal["ENRICHED_EVENTS", "SELF_DESCRIBING"],
    path: str,
    bad_stream: str,
    max_bytes: int,
    max_delay_seconds: int,
) -> dict[str, Any]:
    good: dict[str, Any] = {"path": path}
    good["partitionFormat"] = "{vendor}.{schema}" if purpose == "SELF_DESCRIBING" else ENRICHED_PARTITION_FORMAT
    return {
        "license": {"accept": True},
        "input": _input(source),
        "output": {"good": good, "bad": {"streamName": bad_stream}},
        "purpose": purpose,
        "batching": {"maxBytes": max_bytes, "maxDelay": f"{max_delay_seconds} seconds"},
        "monitoring": _monitoring(),
    }
