"""transformer.hocon (Snowplow RDB Transformer Kinesis 6.x) as data: keys as its configuration reference names them."""

from typing import Any, Literal

# Polling, as the app's own default; the transformer never uses more than one instance (see redshift.py).
MAX_RECORDS = 10_000


def render_transformer_config(
    *,
    app_name: str,
    stream: str,
    region: str,
    initial_position: Literal["TRIM_HORIZON", "LATEST"],
    output_path: str,
    bad_stream: str,
    queue_name: str,
    window_minutes: int,
    transformation_type: Literal["shred", "widerow"],
    telemetry: bool,
) -> dict[str, Any]:
    """Enriched events from Kinesis into `output_path` (s3://bucket/prefix/), one folder per window; failed
    events to the bad stream; one message per finished window on the SQS FIFO queue `queue_name`."""
    if not output_path.startswith("s3://") or not output_path.endswith("/"):
        raise ValueError(f"output_path must be an s3:// folder ending in / (got {output_path!r})")
    formats: dict[str, Any] = {"transformationType": transformation_type}
    if transformation_type == "shred":
        # TSV for every schema: tables are created and migrated by the loader from Iglu, no JSONPaths files.
        formats.update({"default": "TSV", "json": [], "tsv": [], "skip": []})
    else:
        formats["fileFormat"] = "json"
    return {
        "license": {"accept": True},
        "input": {
            "type": "kinesis",
            "appName": app_name,
            "streamName": stream,
            "region": region,
            "position": initial_position,
            "retrievalMode": {"type": "Polling", "maxRecords": MAX_RECORDS},
        },
        "output": {
            "path": output_path,
            "compression": "GZIP",
            "region": region,
            "bad": {"type": "kinesis", "streamName": bad_stream, "region": region},
        },
        "queue": {"type": "sqs", "queueName": queue_name, "region": region},
        "windowing": f"{window_minutes} minutes",
        "formats": formats,
        # KCL CloudWatch metrics off: no cloudwatch:PutMetricData grant, no per-shard metric bill.
        "monitoring": {"metrics": {"cloudwatch": False}},
        "telemetry": {"disable": not telemetry},
    }
