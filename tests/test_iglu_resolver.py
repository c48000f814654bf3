"""Iglu resolver: HTTPS registries, read keys only as Secrets Manager placeholders, a valid resolver-config."""

import json

import pytest
from pydantic import Field, ValidationError

from components.apps.iglu_resolver import render_resolver
from stack_config.base import ConfigModel
from stack_config.iglu import IgluConfig, IgluRegistry
from stack_config.load import describe
from tests.test_enrichments import assert_valid_self_describing, iglu_central  # noqa: F401 (fixture)

KEY_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:snowplow/iglu-read-key-AbCdEf"
SERVER = {"name": "Acme Iglu Server", "uri": "https://iglu.acme.com/api", "vendorPrefixes": ["com.acme"]}


class _Root(ConfigModel):
    """Stands in for StackConfig so error keys read `snowplow:iglu....`."""

    iglu: IgluConfig = Field(default={}, validate_default=True)


def problems(iglu) -> str:
    with pytest.raises(ValidationError) as caught:
        _Root.model_validate({"iglu": iglu})
    return "\n".join(describe(caught.value, root=_Root))


def resolver(iglu: dict) -> dict:
    return render_resolver(IgluConfig.model_validate(iglu))


STATIC = {"name": "Acme static", "uri": "https://schemas.acme.com", "priority": 5}
INTERNAL = {"name": "Internal", "uri": "http://iglu.internal:8080/api", "allowInsecure": True}
CONFIGS = {
    "defaults": {},
    "server with read key": {"registries": [{**SERVER, "apiKeySecretArn": KEY_ARN}], "cacheSize": 1000, "cacheTtl": 60},
    "static and insecure": {"registries": [STATIC, INTERNAL]},
}


@pytest.mark.parametrize("config", CONFIGS.values(), ids=list(CONFIGS))
def test_resolver_is_valid_against_resolver_config_schema(iglu_central, config):
    assert_valid_self_describing(resolver(config))


def test_default_resolver_reads_iglu_central_over_https():
    document = resolver({})
    assert document["schema"] == "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-3"
    assert document["data"]["cacheSize"] == 500 and document["data"]["cacheTtl"] == 600
    [central] = document["data"]["repositories"]
    assert central["connection"] == {"http": {"uri": "https://iglucentral.com"}}


def test_private_registry_key_is_a_secrets_manager_placeholder():
    config = CONFIGS["server with read key"]
    document = resolver(config)
    central, server = document["data"]["repositories"]
    assert server == {
        "name": "Acme Iglu Server",
        "priority": 0,
        "vendorPrefixes": ["com.acme"],
        "connection": {"http": {"uri": SERVER["uri"], "apikey": f"{{{{resolve:secretsmanager:{KEY_ARN}}}}}"}},
    }
    assert server["priority"] < central["priority"]
    assert (document["data"]["cacheSize"], document["data"]["cacheTtl"]) == (1000, 60)
    assert IgluConfig.model_validate(config).secret_arns() == [KEY_ARN]


def test_static_registry_without_key_and_opted_in_http_registry():
    document = resolver(CONFIGS["static and insecure"])
    assert [r["connection"]["http"] for r in document["data"]["repositories"][1:]] == [
        {"uri": "https://schemas.acme.com"},
        {"uri": "http://iglu.internal:8080/api"},
    ]
    assert IgluConfig.model_validate({"registries": [STATIC]}).secret_arns() == []


def test_no_field_takes_a_key_value():
    """Keys are referenced by secret ARN only; there is no place for an Iglu Server super key."""
    aliases = {f.alias for f in IgluRegistry.model_fields.values()}
    assert aliases == {"name", "uri", "priority", "vendorPrefixes", "apiKeySecretArn", "allowInsecure"}


# (iglu config, key the message must name, a fragment of the message)
BAD = [
    ({"registries": [{**SERVER, "uri": "iglu.acme.com/api"}]}, "registries[0].uri", "must start with https://"),
    ({"registries": [{**SERVER, "uri": "http://iglu.acme.com/api"}]}, "registries[0]", "set allowInsecure: true"),
    ({"registries": [{**SERVER, "uri": "https://iglu.acme.com/api/"}]}, "registries[0].uri", "trailing /"),
    ({"registries": [{**SERVER, "uri": "https://iglu acme.com/api"}]}, "registries[0].uri", "must be a URL"),
    (
        {"registries": [{**SERVER, "uri": "https://iglu.acme.com", "apiKeySecretArn": KEY_ARN}]},
        "registries[0]",
        "ends in /api (e.g. https://iglu.acme.com/api)",
    ),
    (
        {"registries": [{**SERVER, "apiKey": "5e1f0b8a-0000-4000-a000-000000000000"}]},
        "registries[0].apiKey",
        "allowed keys here: name, uri, priority, vendorPrefixes, apiKeySecretArn, allowInsecure",
    ),
    ({"registries": [{**SERVER, "superApiKey": "x"}]}, "registries[0].superApiKey", "unknown key"),
    ({"registries": [{**SERVER, "apiKeySecretArn": "5e1f0b8a"}]}, "registries[0].apiKeySecretArn", "Secrets Manager"),
    ({"registries": [{**SERVER, "priority": -1}]}, "registries[0].priority", "greater than or equal to 0"),
    ({"registries": [{**SERVER, "vendorPrefixes": ["com acme"]}]}, "registries[0].vendorPrefixes[0]", "schema vendor"),
    ({"registries": [{**SERVER, "name": "Iglu Central"}]}, "registries", "always included"),
    ({"registries": [SERVER, SERVER]}, "registries", "must not repeat"),
    ({"cacheSize": 0}, "cacheSize", "greater than or equal to 1"),
    ({"cacheTtl": -1}, "cacheTtl", "greater than or equal to 0"),
]


@pytest.mark.parametrize("iglu,key,fragment", BAD, ids=[case[1] + ":" + case[2] for case in BAD])
def test_bad_iglu_config_is_rejected_naming_the_key(iglu, key, fragment):
    message = problems(iglu)
    line = next((p for p in message.splitlines() if p.startswith(f"snowplow:iglu.{key}:")), None)
    assert line is not None, message
    assert fragment in line, message


def test_rendered_resolver_is_plain_json():
    text = json.dumps(resolver({"registries": [{**SERVER, "apiKeySecretArn": KEY_ARN}]}))
    assert "SecretArn" not in text and text.count("{{resolve:secretsmanager:") == 1
