"""Enrichment config: what users write, what is rejected, and that every rendered file satisfies its Iglu schema."""

import base64
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft4Validator, FormatChecker
from pydantic import Field, ValidationError

from components.apps.enrichment_files import SCHEMAS, render_enrichments
from stack_config.base import ConfigModel
from stack_config.enrichments import EnrichmentsConfig, parameters_model
from stack_config.load import describe

SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "shared" / "iglu-central" / "schemas"
_IGLU_URI = re.compile(r"^iglu:([a-zA-Z0-9_.-]+)/([a-zA-Z0-9_-]+)/([a-zA-Z0-9_-]+)/(\d+-\d+-\d+)$")
# The "instance" envelope also admits any "strict-uri", which no checker enforces; the Iglu-only one is exact.
ENVELOPE = "iglu:com.snowplowanalytics.self-desc/instance-iglu-only/jsonschema/1-0-0"

FORMATS = FormatChecker()


@FORMATS.checks("uri")
def _is_absolute_uri(value) -> bool:
    """jsonschema skips "uri" without the optional rfc3987 package; Iglu schemas rely on it."""
    return not isinstance(value, str) or (bool(urlsplit(value).scheme and urlsplit(value).netloc) and " " not in value)


@pytest.fixture
def iglu_central():
    if not SCHEMAS_DIR.is_dir():
        pytest.skip(f"Iglu Central schemas not found at {SCHEMAS_DIR}")


def iglu_schema(uri: str) -> dict:
    vendor, name, schema_format, version = _IGLU_URI.match(uri).groups()
    path = SCHEMAS_DIR / vendor / name / schema_format / version
    assert path.is_file(), f"{uri}: no such schema in {SCHEMAS_DIR}"
    return json.loads(path.read_text())


def assert_valid_self_describing(document: dict) -> None:
    """Envelope and `data` both validate (Iglu schemas are draft 4)."""
    Draft4Validator(iglu_schema(ENVELOPE), format_checker=FORMATS).validate(document)
    validator = Draft4Validator(iglu_schema(document["schema"]), format_checker=FORMATS)
    problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document["data"])]
    assert not problems, f"{document['schema']}: {problems}"


def arn(name: str) -> str:
    return f"arn:aws:secretsmanager:eu-west-1:123456789012:secret:snowplow/{name}-AbCdEf"


JS_SOURCE = """function process(event, params) {
  var internal = params.internalIps.indexOf(event.getUser_ipaddress()) >= 0;
  return [{schema: "iglu:com.acme/traffic/jsonschema/1-0-0", data: {internal: internal}}];
}"""

ASSETS = "s3://acme-snowplow-assets"

# Every available enrichment with a realistic, complete parameter set.
FULL = {
    "campaign_attribution": {"fields": {"mktCampaign": ["utm_campaign", "cid"], "mktClickId": {"gbraid": "Google"}}},
    "event_fingerprint_config": {"hashAlgorithm": "SHA256", "excludeParameters": ["cv", "eid", "nuid", "stm", "dtm"]},
    "referer_parser": {
        "internalDomains": ["docs.acme.com"],
        "referrers": {
            "search": {"Acme Search": {"domains": ["search.acme.com"], "parameters": ["q"]}},
            "social": {"Acme Forum": {"domains": ["forum.acme.com"]}},
        },
    },
    "ua_parser_config": {"uri": f"{ASSETS}/ua-parser/", "database": "regexes-2026-01.yaml"},
    "yauaa_enrichment_config": {"cacheSize": 20000},
    "anon_ip": {"anonOctets": 2, "anonSegments": 3},
    "pii_enrichment_config": {
        "pii": [
            {"pojo": {"field": "user_id"}},
            {"pojo": {"field": "user_ipaddress"}},
            {
                "json": {
                    "field": "contexts",
                    "schemaCriterion": "iglu:com.acme/customer/jsonschema/1-*-*",
                    "jsonPath": "$.email",
                }
            },
        ],
        "strategy": {"pseudonymize": {"hashFunction": "SHA-256", "saltSecretArn": arn("pii-salt")}},
        "anonymousOnly": True,
    },
    "ip_lookups": {
        "geo": {"uri": f"{ASSETS}/maxmind", "database": "GeoIP2-City.mmdb"},
        "isp": {"uri": f"{ASSETS}/maxmind"},
        "domain": {"uri": f"{ASSETS}/maxmind"},
        "connectionType": {"uri": "https://assets.acme.com/maxmind"},
        "asn": {"uri": f"{ASSETS}/maxmind"},
    },
    "iab_spiders_and_robots_enrichment": {
        "ipFile": {"uri": f"{ASSETS}/iab"},
        "excludeUseragentFile": {"uri": f"{ASSETS}/iab"},
        "includeUseragentFile": {"uri": f"{ASSETS}/iab"},
        "excludeUseragents": ["BotNotCaughtByIAB"],
        "includeUseragents": ["AcmeServerSideTracker"],
    },
    "cookie_extractor_config": {"cookies": ["_fbp", "_ga"]},
    "http_header_extractor_config": {"headersPattern": "(?i)^(host|accept-language)$"},
    "currency_conversion_config": {
        "apiKeySecretArn": arn("openexchangerates"),
        "baseCurrency": "EUR",
        "accountType": "DEVELOPER",
    },
    "javascript_script_config": {"script": JS_SOURCE, "config": {"internalIps": ["10.0.0.1"]}},
    "api_request_enrichment_config": {
        "inputs": [
            {"key": "user", "pojo": {"field": "user_id"}},
            {
                "key": "client",
                "json": {
                    "field": "contexts",
                    "schemaCriterion": "iglu:com.acme/client/jsonschema/1-*-*",
                    "jsonPath": "$.clientId",
                },
            },
        ],
        "api": {
            "http": {
                "method": "GET",
                "uri": "https://api.acme.com/users/{{client}}/{{user}}?format=json",
                "timeout": 2000,
                "authentication": {"httpBasic": {"username": "enrich", "passwordSecretArn": arn("acme-api")}},
            }
        },
        "outputs": [{"schema": "iglu:com.acme/user/jsonschema/1-0-0", "json": {"jsonPath": "$.record"}}],
        "cache": {"size": 3000, "ttl": 60},
        "ignoreOnError": True,
    },
    "sql_query_enrichment_config": {
        "inputs": [{"placeholder": 1, "pojo": {"field": "user_id"}}],
        "database": {
            "postgresql": {
                "host": "crm.cluster-abc.eu-west-1.rds.amazonaws.com",
                "port": 5432,
                "username": "snowplow_enrich_ro",
                "passwordSecretArn": arn("crm-db"),
                "database": "crm",
            }
        },
        "query": {"sql": "SELECT plan, signup_date FROM customers WHERE user_id = ? LIMIT 1"},
        "output": {
            "expectedRows": "AT_MOST_ONE",
            "json": {
                "schema": "iglu:com.acme/customer/jsonschema/1-0-0",
                "describes": "ALL_ROWS",
                "propertyNames": "CAMEL_CASE",
            },
        },
        "cache": {"size": 3000, "ttl": 60},
    },
}
DEFAULT_ON = [
    "campaign_attribution",
    "event_fingerprint_config",
    "referer_parser",
    "ua_parser_config",
    "yauaa_enrichment_config",
]
SECRETS = sorted(arn(n) for n in ("pii-salt", "openexchangerates", "acme-api", "crm-db"))


class _Enrich(ConfigModel):
    enrichments: EnrichmentsConfig = Field(default={}, validate_default=True)


class _Root(ConfigModel):
    """Stands in for StackConfig so error keys read `snowplow:enrich.enrichments....`."""

    enrich: _Enrich = Field(default={}, validate_default=True)


def problems(enrichments) -> str:
    with pytest.raises(ValidationError) as caught:
        _Root.model_validate({"enrich": {"enrichments": enrichments}})
    return "\n".join(describe(caught.value, root=_Root))


def rendered(enrichments: dict) -> dict[str, dict]:
    return render_enrichments(EnrichmentsConfig.model_validate(enrichments))


FULL_FILES = rendered(FULL)


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_every_enrichment_renders_a_file_valid_against_its_iglu_schema(iglu_central, name):
    document = FULL_FILES[f"{name}.json"]
    assert document["data"]["name"] == name and document["data"]["enabled"] is True
    assert_valid_self_describing(document)


def test_each_schema_version_is_the_newest_in_iglu_central(iglu_central):
    for name, (vendor, version) in SCHEMAS.items():
        versions = [p.name for p in (SCHEMAS_DIR / vendor / name / "jsonschema").iterdir()]
        newest = max(versions, key=lambda v: tuple(map(int, v.split("-"))))
        assert version == newest, f"{name}: rendering {version}, Iglu Central has {newest}"


def test_defaults_render_exactly_the_five_quick_start_files():
    files = rendered({})
    assert sorted(files) == sorted(f"{name}.json" for name in DEFAULT_ON)
    assert files["event_fingerprint_config.json"]["data"]["parameters"] == {
        "hashAlgorithm": "MD5",
        "excludeParameters": ["cv", "eid", "nuid", "stm"],
    }
    assert "parameters" not in files["yauaa_enrichment_config.json"]["data"]


@pytest.mark.parametrize("name", DEFAULT_ON)
def test_default_files_are_valid_against_their_iglu_schemas(iglu_central, name):
    assert_valid_self_describing(rendered({})[f"{name}.json"])


def test_false_turns_a_default_off_and_true_keeps_it_on():
    config = EnrichmentsConfig.model_validate({"campaign_attribution": False, "ua_parser_config": True})
    assert config.enabled_names() == [n for n in DEFAULT_ON if n != "campaign_attribution"]
    assert "campaign_attribution.json" not in render_enrichments(config)


def test_everything_on_lists_every_name_once():
    assert EnrichmentsConfig.model_validate(FULL).enabled_names() == list(SCHEMAS)


NEEDS_PARAMETERS = [name for name in SCHEMAS if parameters_model(name).needs]


@pytest.mark.parametrize("name", NEEDS_PARAMETERS)
def test_true_is_rejected_where_parameters_are_required(name):
    message = problems({name: True})
    assert f"snowplow:enrich.enrichments.{name}: `true` is not enough here: set " in message
    assert parameters_model(name).needs in message and "(got true)" in message


def test_only_enrichments_without_defaults_need_parameters():
    assert sorted(set(SCHEMAS) - set(NEEDS_PARAMETERS)) == sorted(DEFAULT_ON)


def _with(name: str, **changes) -> dict:
    return {name: {**FULL[name], **changes}}


_POSTGRES = FULL["sql_query_enrichment_config"]["database"]["postgresql"]

# (enrichments config, key the message must name, a fragment of the message)
BAD = [
    ({"anon_ip": {"anonOctets": 5}}, "anon_ip.anonOctets", "less than or equal to 4"),
    ({"anon_ip": {"anonOctets": 1, "anonSegments": 9}}, "anon_ip.anonSegments", "less than or equal to 8"),
    ({"anon_ip": {"anonOctet": 2}}, "anon_ip.anonOctet", "allowed keys here: anonOctets, anonSegments"),
    ({"anon_ip": {"anonOctets": "2"}}, "anon_ip.anonOctets", "valid integer"),
    ({"ip_lookups": {"geo": {"uri": "http://assets.acme.com/mm"}}}, "ip_lookups.geo.uri", "s3://<bucket>/<prefix>"),
    ({"ip_lookups": {"geo": {"uri": "maxmind/"}}}, "ip_lookups.geo.uri", "https://<host>/<path>"),
    (
        {"ip_lookups": {"geo": {"uri": f"{ASSETS}/maxmind", "database": "GeoLite2-Country.mmdb"}}},
        "ip_lookups.geo.database",
        "'GeoLite2-City.mmdb' or 'GeoIP2-City.mmdb'",
    ),
    ({"ip_lookups": {"geo": {"uri": f"{ASSETS}/GeoLite2-City.mmdb"}}}, "ip_lookups.geo", "remove the file name"),
    ({"ip_lookups": {}}, "ip_lookups", "at least one MaxMind database"),
    ({"ip_lookups": {"asn": {}}}, "ip_lookups.asn.uri", "required but not set"),
    (
        {"iab_spiders_and_robots_enrichment": {"ipFile": {"uri": f"{ASSETS}/iab"}}},
        "iab_spiders_and_robots_enrichment.excludeUseragentFile",
        "required but not set",
    ),
    (
        _with("pii_enrichment_config", pii=[{"pojo": {"field": "email"}}]),
        "pii_enrichment_config.pii[0].pojo.field",
        "'user_id'",
    ),
    (
        _with("pii_enrichment_config", pii=[{"pojo": {"field": "user_id"}, **FULL["pii_enrichment_config"]["pii"][2]}]),
        "pii_enrichment_config.pii[0]",
        "exactly one of `pojo`",
    ),
    (
        _with("pii_enrichment_config", strategy={"pseudonymize": {"hashFunction": "SHA-256", "salt": "pepper123"}}),
        "pii_enrichment_config.strategy.pseudonymize.salt",
        "allowed keys here: hashFunction, saltSecretArn",
    ),
    (
        _with("pii_enrichment_config", strategy={"pseudonymize": {"hashFunction": "MD5", "saltSecretArn": "pepper"}}),
        "pii_enrichment_config.strategy.pseudonymize.saltSecretArn",
        "ARN of a Secrets Manager secret",
    ),
    (_with("pii_enrichment_config", pii=[]), "pii_enrichment_config.pii", "at least 1 item"),
    (
        _with("currency_conversion_config", apiKey="0123456789abcdef"),
        "currency_conversion_config.apiKey",
        "allowed keys here: apiKeySecretArn",
    ),
    (
        _with("currency_conversion_config", baseCurrency="euro"),
        "currency_conversion_config.baseCurrency",
        "ISO 4217 currency code",
    ),
    (
        _with("currency_conversion_config", apiKeySecretArn="arn:aws:ssm:eu-west-1:123456789012:parameter/oer"),
        "currency_conversion_config.apiKeySecretArn",
        "Secrets Manager",
    ),
    (_with("javascript_script_config", script="var x;"), "javascript_script_config.script", "function named process"),
    (_with("cookie_extractor_config", cookies=[]), "cookie_extractor_config.cookies", "at least 1 item"),
    (
        _with("api_request_enrichment_config", inputs=[{"key": "user", "pojo": {"field": "user_id"}}]),
        "api_request_enrichment_config",
        "uses {{client}} but no input has key 'client'",
    ),
    (
        _with("api_request_enrichment_config", inputs=[{"key": "user"}]),
        "api_request_enrichment_config.inputs[0]",
        "exactly one of `pojo`",
    ),
    (
        _with("api_request_enrichment_config", outputs=[{"schema": "com.acme/user/1-0-0", "json": {"jsonPath": "$"}}]),
        "api_request_enrichment_config.outputs[0].schema",
        "Iglu schema URI",
    ),
    (
        _with("sql_query_enrichment_config", database={"mysql": _POSTGRES, "postgresql": _POSTGRES}),
        "sql_query_enrichment_config.database",
        "exactly one of `postgresql` or `mysql`",
    ),
    (
        _with("sql_query_enrichment_config", database={"mysql": {}}),
        "sql_query_enrichment_config.database.mysql.host",
        "required but not set",
    ),
    (
        _with(
            "sql_query_enrichment_config",
            database={"postgresql": {**_POSTGRES, "password": "x"}},
        ),
        "sql_query_enrichment_config.database.postgresql.password",
        "allowed keys here: host, port, sslMode, username, passwordSecretArn, database",
    ),
    (
        _with("referer_parser", referrers={"search": {"Acme": {"domains": []}}}),
        "referer_parser.referrers.search.Acme.domains",
        "at least 1 item",
    ),
    ({"campaign_attribution": "yes"}, "campaign_attribution", "must be true, false or a mapping"),
    ({"campaign_attribution": None}, "campaign_attribution", "must be true, false or a mapping"),
    ({"weather_enrichment_config": True}, "weather_enrichment_config", "allowed keys here: campaign_attribution"),
]


@pytest.mark.parametrize("enrichments,key,fragment", BAD, ids=[case[1] for case in BAD])
def test_bad_enrichment_config_is_rejected_naming_the_key(enrichments, key, fragment):
    message = problems(enrichments)
    line = next((p for p in message.splitlines() if p.startswith(f"snowplow:enrich.enrichments.{key}:")), None)
    assert line is not None, message
    assert fragment in line, message


def test_secrets_are_rendered_as_placeholders_and_listed():
    config = EnrichmentsConfig.model_validate(FULL)
    assert config.secret_arns() == SECRETS
    text = json.dumps(render_enrichments(config))
    assert "SecretArn" not in text
    for secret in SECRETS:
        assert text.count(f'"{{{{resolve:secretsmanager:{secret}}}}}"') == 1
    files = render_enrichments(config)
    assert files["pii_enrichment_config.json"]["data"]["parameters"]["strategy"]["pseudonymize"]["salt"] == (
        "{{resolve:secretsmanager:" + arn("pii-salt") + "}}"
    )
    assert EnrichmentsConfig.model_validate({}).secret_arns() == []


def test_s3_asset_uris_are_every_s3_object_enrich_downloads():
    assert EnrichmentsConfig.model_validate(FULL).s3_asset_uris() == sorted(
        [
            f"{ASSETS}/ua-parser/regexes-2026-01.yaml",
            f"{ASSETS}/maxmind/GeoIP2-City.mmdb",
            f"{ASSETS}/maxmind/GeoIP2-ISP.mmdb",
            f"{ASSETS}/maxmind/GeoIP2-Domain.mmdb",
            f"{ASSETS}/maxmind/GeoLite2-ASN.mmdb",
            f"{ASSETS}/iab/ip_exclude_current_cidr.txt",
            f"{ASSETS}/iab/exclude_current.txt",
            f"{ASSETS}/iab/include_current.txt",
        ]
    )
    assert EnrichmentsConfig.model_validate({}).s3_asset_uris() == []  # hosted defaults are fetched over HTTPS


def test_javascript_source_is_shipped_base64_encoded():
    parameters = FULL_FILES["javascript_script_config.json"]["data"]["parameters"]
    assert base64.b64decode(parameters["script"]).decode() == JS_SOURCE
    assert parameters["config"] == {"internalIps": ["10.0.0.1"]}


def test_pii_flags_sit_at_the_top_of_data():
    data = FULL_FILES["pii_enrichment_config.json"]["data"]
    assert data["emitEvent"] is False and data["anonymousOnly"] is True
    assert "anonymousOnly" not in data["parameters"]
