"""collector.hocon as a whole: every key the Scala Stream Collector 3.x reads, spelt as its docs spell them."""

import pytest

from components.apps.collector_config import COLLECTOR_PORT, CollectorStreams, render_collector_config
from stack_config import ConfigError, parse

GOOD = {"environment": "dev", "acceptLimitedUseLicense": True}
CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-0123456789ab"
STREAMS = CollectorStreams("eu-west-1", "sp-prod-raw", "sp-prod-bad-1")


def collector(settings: dict):
    return parse({**GOOD, "collector": settings}, "eu-west-1", "snowplow", "dev").config.collector


def stream(name: str, byte_limit=3_145_728, record_limit=500, time_limit=5_000) -> dict:
    return {
        "name": name,
        "region": "eu-west-1",
        "aws": {"accessKey": "iam", "secretKey": "iam"},
        "buffer": {"byteLimit": byte_limit, "recordLimit": record_limit, "timeLimit": time_limit},
    }


def test_a_configured_collector_renders_the_whole_document():
    config = collector(
        {
            "certificateArn": CERTIFICATE,
            "cookie": {
                "name": "sp_id",
                "expirationDays": 30,
                "domains": ["acme.com", "acme.org"],
                "fallbackDomain": "acme.com",
                "httpOnly": False,
                "sameSite": "Lax",
            },
            "customPaths": {"/acme/track": "/com.snowplowanalytics.snowplow/tp2", "/acme/i": "/r/tp2"},
            "buffer": {"byteLimit": 1_000_000, "recordLimit": 100, "timeLimitMs": 250},
        }
    )
    assert render_collector_config(config, STREAMS, telemetry=True) == {
        "collector": {
            "license": {"accept": True},
            "interface": "0.0.0.0",
            "port": 8080,
            "paths": {"/acme/track": "/com.snowplowanalytics.snowplow/tp2", "/acme/i": "/r/tp2"},
            "cookie": {
                "enabled": True,
                "expiration": "30 days",
                "name": "sp_id",
                "domains": ["acme.com", "acme.org"],
                "fallbackDomain": "acme.com",
                "secure": True,
                "httpOnly": False,
                "sameSite": "Lax",
            },
            "streams": {
                "good": stream("sp-prod-raw", 1_000_000, 100, 250),
                "bad": stream("sp-prod-bad-1", 1_000_000, 100, 250),
                "useIpAddressAsPartitionKey": False,
            },
            "telemetry": {"disable": False},
        }
    }
    assert COLLECTOR_PORT == 8080  # the port the load balancer's target group and the boot's health check use


def test_defaults_render_a_secure_first_party_cookie_without_fallback_domain_and_telemetry_off():
    rendered = render_collector_config(collector({"certificateArn": CERTIFICATE}), STREAMS, telemetry=False)
    assert rendered["collector"]["cookie"] == {
        "enabled": True,
        "expiration": "365 days",
        "name": "sp",
        "domains": [],
        "secure": True,
        "httpOnly": True,
        "sameSite": "None",
    }
    assert rendered["collector"]["paths"] == {}
    assert rendered["collector"]["streams"]["good"] == stream("sp-prod-raw")
    assert rendered["collector"]["telemetry"] == {"disable": True}


@pytest.mark.parametrize(
    "settings,key,expected",
    [
        ({"customPaths": {"/acme": "/r/tp2"}}, "customPaths", "must be two segments with a leading slash"),
        ({"customPaths": {"/acme/x": "/i"}}, "customPaths", "must map to one of /com.snowplowanalytics.snowplow/tp2"),
        ({"domain": "c.acme.com"}, "", "domain needs hostedZoneId"),
        ({"hostedZoneId": "Z0123456789ABC"}, "", "hostedZoneId needs domain"),
        ({"cookie": {"sameSite": "None", "secure": False}}, "cookie.sameSite", "sameSite None requires a secure"),
    ],
)
def test_collector_settings_a_collector_cannot_serve_are_rejected_naming_the_key(settings, key, expected):
    with pytest.raises(ConfigError) as raised:
        collector({"certificateArn": CERTIFICATE, **settings} if "cookie" in settings else settings)
    name = "snowplow:collector" + (f".{key}" if key else "")
    assert any(p.startswith(name + ":") and expected in p for p in raised.value.problems), raised.value.problems
