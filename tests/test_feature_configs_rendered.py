"""Rendered Iglu Server and Postgres loader configs: the keys the apps read, secrets only as placeholders."""

import json
import re

import pytest
from pyhocon import ConfigFactory

from components.apps.hocon import hocon_text
from components.apps.iglu_server_config import HEALTH_PATH, IGLU_PORT, render_iglu_server_config
from components.destinations.postgres_loader_config import (
    RESOLVER_SCHEMA,
    IgluServerRepository,
    render_postgres_loader_config,
    render_postgres_loader_resolver,
)
from components.platform.database import PostgresConnection
from tests.test_enrichments import assert_valid_self_describing, iglu_central  # noqa: F401 (fixture)

PASSWORD_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:snowplow-t/iglu-db/master-password-AbCdEf"
SUPER_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:snowplow-t/iglu-server/super-api-key-AbCdEf"
READ_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:snowplow-t/iglu-server/read-key-AbCdEf"
TOKEN = re.compile(r"\{\{resolve:secretsmanager:([^}]+)\}\}")
DB = PostgresConnection("db.example.internal", 5432, "iglu", "iglu", PASSWORD_ARN)
EVENTS_DB = PostgresConnection("db.example.internal", 5432, "snowplow", "snowplow", PASSWORD_ARN)


def iglu_hocon(patches=False):
    return hocon_text(render_iglu_server_config(DB, SUPER_ARN, patches_allowed=patches))


def loader_hocon():
    return hocon_text(
        render_postgres_loader_config(
            app_name="snowplow-t-postgres-loader",
            stream="snowplow-t-enriched",
            region="eu-west-1",
            initial_position="TRIM_HORIZON",
            max_records=10000,
            failures_stream="snowplow-t-bad-2",
            database=EVENTS_DB,
            max_connections=10,
        )
    )


def resolve(text: str, secrets: dict[str, str]) -> str:
    """What the boot script does: swap each placeholder for its secret, JSON-escaped."""
    return TOKEN.sub(lambda m: json.dumps(secrets[m.group(1)])[1:-1], text)


def test_iglu_server_config_carries_what_the_server_requires():
    config = ConfigFactory.parse_string(iglu_hocon())
    assert config["license.accept"] is True
    assert (config["repoServer.interface"], config["repoServer.port"]) == ("0.0.0.0", IGLU_PORT)
    assert config["repoServer.idleTimeout"] == "65 seconds"  # longer than the ALB's 60 s idle timeout
    database = config["database"]
    assert (database["type"], database["host"], database["port"]) == ("postgres", "db.example.internal", 5432)
    assert (database["dbname"], database["username"]) == ("iglu", "iglu")
    assert config["debug"] is False and config["patchesAllowed"] is False
    assert HEALTH_PATH == "/api/meta/health"


def test_iglu_server_secrets_are_placeholders_that_stay_valid_hocon_once_resolved():
    text = iglu_hocon()
    assert sorted(TOKEN.findall(text)) == sorted([PASSWORD_ARN, SUPER_ARN])
    nasty = 'pa"ss\\word${x}'
    resolved = ConfigFactory.parse_string(
        resolve(text, {PASSWORD_ARN: nasty, SUPER_ARN: "6f1c3f33-7a4e-4f61-9d7a-0b7c9f6b0a11"})
    )
    assert resolved["database.password"] == nasty
    assert resolved["superApiKey"] == "6f1c3f33-7a4e-4f61-9d7a-0b7c9f6b0a11"


def test_postgres_loader_polls_the_enriched_stream_and_sends_failures_to_bad_2():
    config = ConfigFactory.parse_string(loader_hocon())
    source = config["input"]
    assert (source["type"], source["streamName"], source["region"]) == ("Kinesis", "snowplow-t-enriched", "eu-west-1")
    assert source["appName"] == "snowplow-t-postgres-loader"
    assert source["initialPosition"] == "TRIM_HORIZON"
    assert source["retrievalMode"] == {"type": "Polling", "maxRecords": 10000}  # not the loader's FanOut default
    assert dict(config["output.bad"]) == {"type": "Kinesis", "streamName": "snowplow-t-bad-2", "region": "eu-west-1"}
    assert config["purpose"] == "ENRICHED_EVENTS"
    assert config["monitoring.metrics.cloudWatch"] is False


def test_postgres_loader_writes_to_atomic_over_tls():
    good = ConfigFactory.parse_string(loader_hocon())["output.good"]
    assert (good["type"], good["host"], good["port"]) == ("Postgres", "db.example.internal", 5432)
    assert (good["database"], good["username"], good["schema"]) == ("snowplow", "snowplow", "atomic")
    assert good["sslMode"] == "REQUIRE"
    assert good["password"] == f"{{{{resolve:secretsmanager:{PASSWORD_ARN}}}}}"
    resolved = ConfigFactory.parse_string(resolve(loader_hocon(), {PASSWORD_ARN: "a\nb"}))
    assert resolved["output.good.password"] == "a\nb"


def test_loader_resolver_lists_only_iglu_servers_with_read_keys(iglu_central):
    own = IgluServerRepository("Iglu Server (this stack)", "https://iglu.example.com/api", READ_ARN)
    document = render_postgres_loader_resolver([own], cache_size=500, cache_ttl=0)
    assert document["schema"] == RESOLVER_SCHEMA == "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-2"
    assert_valid_self_describing(document)
    [repository] = document["data"]["repositories"]
    assert repository["connection"]["http"] == {
        "uri": "https://iglu.example.com/api",
        "apikey": f"{{{{resolve:secretsmanager:{READ_ARN}}}}}",
    }
    assert document["data"]["cacheTtl"] == 1


def test_loader_resolver_refuses_to_render_without_a_server():
    with pytest.raises(ValueError, match="at least one Iglu Server"):
        render_postgres_loader_resolver([], cache_size=500, cache_ttl=600)
