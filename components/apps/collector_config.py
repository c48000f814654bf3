"""collector.hocon for the Scala Stream Collector 3.x (Kinesis sink) as data."""

from dataclasses import dataclass
from typing import Any

from stack_config.apps import CollectorConfig

COLLECTOR_PORT = 8080


@dataclass(frozen=True)
class CollectorStreams:
    region: str
    good: str
    bad: str


def _stream(name: str, region: str, buffer) -> dict[str, Any]:
    return {
        "name": name,
        "region": region,
        "aws": {"accessKey": "iam", "secretKey": "iam"},
        "buffer": {
            "byteLimit": buffer.byte_limit,
            "recordLimit": buffer.record_limit,
            "timeLimit": buffer.time_limit_ms,
        },
    }


def render_collector_config(config: CollectorConfig, streams: CollectorStreams, telemetry: bool) -> dict[str, Any]:
    cookie = config.cookie
    cookie_block: dict[str, Any] = {
        "enabled": cookie.enabled,
        "expiration": f"{cookie.expiration_days} days",
        "name": cookie.name,
        "domains": list(cookie.domains),
        "secure": cookie.secure,
        "httpOnly": cookie.http_only,
        "sameSite": cookie.same_site,
    }
    if cookie.fallback_domain:
        cookie_block["fallbackDomain"] = cookie.fallback_domain
    return {
        "collector": {
            "license": {"accept": True},
            "interface": "0.0.0.0",
            "port": COLLECTOR_PORT,
            "paths": dict(config.custom_paths),
            "cookie": cookie_block,
            "streams": {
                "good": _stream(streams.good, streams.region, config.buffer),
                "bad": _stream(streams.bad, streams.region, config.buffer),
                "useIpAddressAsPartitionKey": False,
            },
            "telemetry": {"disable": not telemetry},
        }
    }
