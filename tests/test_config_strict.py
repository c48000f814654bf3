"""Stricter config: whole-string patterns, real regions, AWS tag alphabet, hostile text rejected or inert."""

import base64
import json
import typing
import unicodedata

import botocore
import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError
from pyhocon import ConfigFactory

from components.apps.collector_config import CollectorStreams, render_collector_config
from components.apps.config_bundle import MANIFEST_NAME
from offline.engine import StackFile, run_program
from stack_config import ConfigError, parse
from stack_config.base import pattern_of
from stack_config.load import key_path
from stack_config.model import StackConfig
from stack_config.regions import region_problem
from stack_config.screening import MAX_LINE, MAX_SOURCE, MULTI_LINE_KEYS, text_problem
from tests.conftest import BASE, of_type, write_stack
from tests.test_enrichments import FULL

GOOD = {"environment": "dev", "acceptLimitedUseLicense": True}
SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:snowplow/x-AbCdEf"
# A valid value for every pattern-checked key, by the key's last segment.
EXAMPLES = {
    "vpcId": "vpc-0123456789abcdef0",
    "publicSubnetIds[]": "subnet-0123456789abcdef0",
    "privateSubnetIds[]": "subnet-0123456789abcdef0",
    "domain": "collector.example.com",
    "domains[]": "example.com",
    "fallbackDomain": "example.com",
    "hostedZoneId": "Z0123456789ABC",
    "certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-0123456789ab",
    "name": "sp",
    "uri": "https://assets.acme.com/maxmind",
    "database": "GeoLite2-City.mmdb",
    "schemaCriterion": "iglu:com.acme/user/jsonschema/1-*-*",
    "schema": "iglu:com.acme/user/jsonschema/1-0-0",
    "jsonPath": "$.user.id",
    "saltSecretArn": SECRET_ARN,
    "apiKeySecretArn": SECRET_ARN,
    "passwordSecretArn": SECRET_ARN,
    "allowedArns[]": SECRET_ARN,
    "kmsKeyArns[]": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "baseCurrency": "EUR",
    "key": "client",
    "vendorPrefixes[]": "com.acme",
    "host": "crm.cluster-abc.eu-west-1.rds.amazonaws.com",
    "instanceClass": "db.t4g.small",
    "copyRoleArn": "arn:aws:iam::123456789012:role/redshift-copy",
    "securityGroupId": "sg-0123456789abcdef0",
    "username": "snowplow_loader",
    "adminUsername": "snowplow_admin",
    "account": "acme-analytics",
    "user": "SNOWPLOW_LOADER",
    "role": "SNOWPLOW_LOADER",
    "table": "events",
    "privateKeySecretArn": SECRET_ARN,
    "privateKeyPassphraseSecretArn": SECRET_ARN,
    "tokenSecretArn": SECRET_ARN,
    "catalog": "snowplow",
    "volume": "snowplow_staging",
    "engineVersion": "OpenSearch_2.19",
    "instanceType": "r6g.large.search",  # pattern-checked only on search domains (apps' types have a validator)
    "index": "snowplow",
    "readerRoleArn": "arn:aws:iam::123456789012:role/analysts",
    "clientCidrs[]": "10.70.0.0/16",
}
# Where one last segment names different things (a file, an Iglu schema, a warehouse object), by full path.
PATH_EXAMPLES = {
    **{f"destinations.redshift.{target}.database": "snowplow" for target in ("cluster", "workgroup", "serverless")},
    "destinations.redshift.schema": "atomic",
    "destinations.redshift.workgroup.name": "analytics",
    "destinations.snowflake.database": "SNOWPLOW",
    "destinations.snowflake.schema": "ATOMIC",
    "destinations.databricks.schema": "atomic",
    "destinations.databricks.host": "https://acme.cloud.databricks.com",
    "modeling.snowflakeWarehouse": "TRANSFORMING",
    "modeling.databricksHttpPath": "/sql/1.0/warehouses/0123456789abcdef",
    "modeling.databricksEventsTable": "events",
}


def example(path: str) -> str | None:
    return PATH_EXAMPLES.get(path, EXAMPLES.get(path.rsplit(".", 1)[-1]))


def pattern_checked(annotation, path: str = "") -> typing.Iterator[tuple[str, object]]:
    """(path, annotated type) of every string checked by `matching(...)`, at any depth of StackConfig."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base, *metadata = typing.get_args(annotation)
        assert not [m for m in metadata if isinstance(getattr(m, "pattern", None), str)], (
            f"{path}: use stack_config.base.matching, not pydantic's pattern= (other semantics, regex as message)"
        )
        if any(pattern_of(m) for m in metadata):
            yield path, annotation
        yield from pattern_checked(base, path)
    elif origin is list:
        yield from pattern_checked(typing.get_args(annotation)[0], path + "[]")
    elif origin is dict:
        key, value = typing.get_args(annotation)
        yield from pattern_checked(key, path + "{key}")
        yield from pattern_checked(value, path + "{}")
    elif origin is not None:
        for arg in typing.get_args(annotation):
            yield from pattern_checked(arg, path)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for field in annotation.model_fields.values():
            inner = typing.Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation
            yield from pattern_checked(inner, f"{path}.{field.alias}" if path else field.alias)


PATTERN_KEYS = sorted(set(pattern_checked(StackConfig)), key=lambda item: item[0])


def test_the_pattern_catalogue_covers_every_pattern_checked_key():
    assert len(PATTERN_KEYS) >= 40
    missing = [path for path, _ in PATTERN_KEYS if example(path) is None]
    assert missing == []


@pytest.mark.parametrize("path,annotation", PATTERN_KEYS, ids=[p for p, _ in PATTERN_KEYS])
def test_every_pattern_matches_the_whole_string(path, annotation):
    adapter = TypeAdapter(annotation)
    good = example(path)
    assert adapter.validate_python(good) == good
    variants = [good + "\n", "\n" + good, good + "\r\n", good + "\x00", good + " ", "\t" + good]
    if any(c.isdigit() for c in good):  # another script's digit is not 0-9
        variants.append(next(good.replace(c, "\u0661", 1) for c in good if c.isdigit()))
    if path.endswith("jsonPath"):  # free text after the `$`, but one line
        variants = [v for v in variants if not v.endswith(" ")]
    for bad in variants:
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)


@pytest.mark.parametrize(
    "overrides,key",
    [
        ({"collector": {"size": {"instanceType": "t3a.small\n"}}}, "snowplow:collector.size.instanceType"),
        ({"collector": {"customPaths": {"/com.acme/track\n": "/r/tp2"}}}, "snowplow:collector.customPaths"),
        ({"collector": {"cookie": {"name": "sp\n"}}}, "snowplow:collector.cookie.name"),
        (
            {"iglu": {"registries": [{"name": "a", "uri": "https://iglu.acme.com/api\n"}]}},
            "snowplow:iglu.registries[0].uri",
        ),
        ({"environment": "dev\n"}, "snowplow:environment"),
    ],
)
def test_a_trailing_newline_is_rejected_naming_the_key(overrides, key):
    with pytest.raises(ConfigError) as caught:
        parse({**GOOD, **overrides}, "eu-west-1", "snowplow", "test")
    assert any(line.startswith(key + ":") for line in caught.value.problems), caught.value.problems


# --- the region ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "region,expected",
    [
        ("eu-west-1\n", "remove the spaces or line break around it"),
        ("eu-wset-1", "did you mean eu-west-1?"),
        ("eu-west-9", "as listed by botocore"),
        ("europe", "as listed by botocore"),
        ("cn-north-1", "only regions of the aws partition are supported, not aws-cn"),
        (None, "required but not set"),
    ],
)
def test_region_must_be_one_botocore_lists(region, expected):
    with pytest.raises(ConfigError) as caught:
        parse(GOOD, region, "snowplow", "test")
    (line,) = caught.value.problems
    assert line.startswith("aws:region") and expected in line


def test_every_current_commercial_region_is_accepted():
    for region in ("us-east-1", "eu-central-2", "ap-southeast-7", "mx-central-1", "il-central-1"):
        assert parse(GOOD, region, "snowplow", "test").region == region


def test_without_aws_region_the_provider_environment_variable_is_used(tmp_path, monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-north-1")
    config = {k: v for k, v in BASE.items() if k != "aws:region"}
    run = run_program(StackFile.read(write_stack(tmp_path, "env", config)))
    (stream, *_) = of_type(run, "aws:kinesis/stream:Stream")
    assert run.outputs["kms_key_arn"].startswith("arn:aws:kms:eu-north-1:")
    assert stream["inputs"]["name"].startswith("snowplow-env-")

    monkeypatch.setenv("AWS_REGION", "eu-west-1\n")  # AWS_REGION wins over AWS_DEFAULT_REGION, as in the provider
    with pytest.raises(ConfigError) as caught:
        run_program(StackFile.read(write_stack(tmp_path, "env", config)))
    assert caught.value.problems[0].startswith("aws:region (not set, so AWS_REGION is used, as the provider does):")


def test_a_certificate_from_another_region_is_rejected():
    certificate = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-0123456789ab"
    with pytest.raises(ConfigError) as caught:
        parse({**GOOD, "collector": {"certificateArn": certificate}}, "eu-west-1", "snowplow", "test")
    assert caught.value.problems[0].startswith("snowplow:collector.certificateArn: must be a certificate in the stack")


# --- tags ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tags,expected",
    [
        ({"owner": 'data "platform"'}, "value must be 0-256 of letters"),
        ({"owner": "$(curl evil.example)"}, "value must be 0-256 of letters"),
        ({"owner": "`id`"}, "value must be 0-256 of letters"),
        ({"owner": "a\nb"}, "control characters"),
        ({"owner": "a\x00b"}, "control characters"),
        ({"owner": "x" * 257}, "value must be 0-256"),
        ({"team's": "x"}, 'tag key "team\'s" must be 1-128'),
        ({"k" * 129: "x"}, "must be 1-128"),
        ({"": "x"}, "must be 1-128"),
        ({"aws:cloudformation:stack-name": "x"}, "reserved prefix"),
        ({"AWS:owner": "x"}, "reserved prefix"),
        ({"snowplow:kcl-app": "x"}, "reserved prefix"),
        ({"Snowplow:anything": "x"}, "reserved prefix"),
        ({"Name": "x"}, "set by the program"),
    ],
)
def test_tags_follow_the_aws_tag_alphabet_and_reserved_prefixes(tags, expected):
    with pytest.raises(ConfigError) as caught:
        parse({**GOOD, "tags": tags}, "eu-west-1", "snowplow", "test")
    text = "\n".join(caught.value.problems).replace("'", '"')
    assert text.startswith("snowplow:tags") and expected.replace("'", '"') in text


def test_tags_accept_every_character_aws_allows():
    tags = {"équipe données": "Analytics-Team_1 @ HQ", "コスト:センター/=+": "x" * 256, "empty": "", "k" * 128: "v"}
    assert parse({**GOOD, "tags": tags}, "eu-west-1", "snowplow", "test").config.tags == tags


# --- hostile text -------------------------------------------------------------------------------

# Accepted where text is free, and inert where it lands (JSON strings): quotes, shell syntax, HOCON
# substitutions, separators, direction overrides, and a long run.
INERT = " \"quoted\" 'single' `id` $(touch /tmp/pwned) ${HOME} ${?x} \\ ; | & < > # \u2028 \u202e " + "y" * 1_500
REJECTED = {
    "line break": "\nrm -rf /",
    "NUL": "\x00",
    "escape": "\x1b[31m",
    "too long": "z" * 3_000,
    "resolver": "{{resolve:secretsmanager:arn:aws:secretsmanager:eu-west-1:210987654321:secret:x}}",
}
HOSTILE_BASE = {
    **GOOD,
    "iglu": {
        "registries": [{"name": "Acme registry", "uri": "https://iglu.acme.com/api", "vendorPrefixes": ["com.acme"]}]
    },
    "collector": {"cookie": {"name": "sp", "domains": ["example.com"]}, "customPaths": {"/com.acme/t": "/r/tp2"}},
    "enrich": {"enrichments": FULL},
    "tags": {"owner": "data-platform"},
}


def string_leaves(value, loc=()):
    """Paths of every string value and mapping key (as ("key", path)) of a raw config."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield ("key", (*loc, key))
            yield from string_leaves(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from string_leaves(item, (*loc, index))
    elif isinstance(value, str):
        yield ("value", loc)


def mutated(config, kind, loc, change):
    """A deep copy of `config` with the string at `loc` (a value, or a mapping key) changed by `change`."""
    copy = json.loads(json.dumps(config))
    parent = copy
    for part in loc[:-1]:
        parent = parent[part]
    if kind == "value":
        parent[loc[-1]] = change(parent[loc[-1]])
    else:
        parent[change(loc[-1])] = parent.pop(loc[-1])
    return copy


def key_of(loc) -> str:
    return key_path("snowplow", loc)


LEAVES = list(string_leaves(HOSTILE_BASE))


def test_the_hostile_base_config_is_valid_and_covers_every_free_text_key():
    parse(HOSTILE_BASE, "eu-west-1", "snowplow", "test")
    assert len(LEAVES) > 100


@pytest.mark.parametrize("name", list(REJECTED))
def test_control_characters_overlong_text_and_resolver_references_are_rejected_in_every_key(name):
    payload = REJECTED[name]
    for kind, loc in LEAVES:
        if kind == "value" and loc[-1] in MULTI_LINE_KEYS and name in ("line break", "too long"):
            continue  # JavaScript and SQL span lines (tested below)
        with pytest.raises(ConfigError) as caught:
            parse(mutated(HOSTILE_BASE, kind, loc, lambda text: text + payload), "eu-west-1", "snowplow", "test")
        problems = caught.value.problems
        target = key_of(loc[:-1]) if kind == "key" else key_of(loc)
        assert any(p.startswith((target + ":", target + ".", target + "[")) for p in problems), (kind, loc, problems)
        assert not [p for p in problems if any(unicodedata.category(c) == "Cc" for c in p)], problems
        if kind == "value" and name in ("line break", "NUL", "escape"):
            assert payload not in "\n".join(problems), problems


def test_source_keys_may_span_lines_but_hold_no_other_control_character():
    script = FULL["javascript_script_config"]["script"] + "\r\n\t// done\n"
    enrichments = {**FULL, "javascript_script_config": {**FULL["javascript_script_config"], "script": script}}
    parse({**HOSTILE_BASE, "enrich": {"enrichments": enrichments}}, "eu-west-1", "snowplow", "test")
    enrichments["javascript_script_config"]["script"] += "\x07"
    with pytest.raises(ConfigError, match=r"javascript_script_config\.script: must not contain control characters"):
        parse({**HOSTILE_BASE, "enrich": {"enrichments": enrichments}}, "eu-west-1", "snowplow", "test")


def test_hostile_text_is_rejected_or_lands_only_as_json_strings(tmp_path):
    """Every key that accepts the payload gets it at once; the program then carries it only inside JSON strings."""
    config, accepted = HOSTILE_BASE, []
    # Values first, then keys deepest first, so renaming a key never moves a path still to visit.
    for kind, loc in sorted(LEAVES, key=lambda leaf: (leaf[0] == "key", -len(leaf[1]))):
        candidate = mutated(config, kind, loc, lambda text: text + INERT)
        try:
            parse(candidate, "eu-west-1", "snowplow", "test")
        except ConfigError:
            continue
        config, accepted = candidate, [*accepted, (kind, loc)]
    # Free text: names, patterns, SQL, JavaScript, field names, user agents, usernames... (not ids, URIs, tags).
    assert len(accepted) >= 25
    assert not [loc for _, loc in accepted if loc[0] == "tags"]

    stack = write_stack(tmp_path, "hostile", {**BASE, **{f"snowplow:{k}": v for k, v in config.items()}})
    run = run_program(StackFile.read(stack))
    texts = []
    for resource in of_type(run, "aws:s3/bucketObjectv2:BucketObjectv2"):
        if resource["inputs"]["metadata"]["snowplow-file"] == MANIFEST_NAME:
            continue  # checksums the boot script verifies, no config text
        content = run.revealed_inputs[resource["urn"]]["content"]
        document = json.loads(content)  # JSON, and HOCON files are JSON too
        if resource["inputs"]["metadata"]["snowplow-file"].endswith(".hocon"):
            ConfigFactory.parse_string(content)  # a HOCON parser takes them as they are: no substitution
        texts.extend(text for _, text in _strings(document))
    texts += [base64.b64decode(t).decode() for t in texts if _is_base64(t)]  # the JavaScript file
    hostile = {text for _, text in _strings(config) if INERT in text}
    assert len(hostile) >= 30
    missing = [h for h in hostile if not any(h in text for text in texts)]
    assert missing == []  # every accepted hostile string reaches its file intact, inside one JSON string

    for template in of_type(run, "aws:ec2/launchTemplate:LaunchTemplate"):
        script = base64.b64decode(run.revealed_inputs[template["urn"]]["userData"]).decode()
        assert "pwned" not in script and "`id`" not in script and "\u202e" not in script
    for resource in run.resources:
        assert "pwned" not in resource["name"] and "pwned" not in json.dumps(resource["inputs"].get("tags", {}))


def _strings(value, loc=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield loc, key
            yield from _strings(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*loc, index))
    elif isinstance(value, str):
        yield loc, value


def _is_base64(text: str) -> bool:
    try:
        return len(text) > 40 and base64.b64encode(base64.b64decode(text, validate=True)).decode() == text
    except ValueError:
        return False


# --- the collector cookie -----------------------------------------------------------------------

CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-0123456789ab"


def cookie_block(collector: dict) -> dict:
    config = parse({**GOOD, "collector": collector}, "eu-west-1", "snowplow", "test").config.collector
    rendered = render_collector_config(config, CollectorStreams("eu-west-1", "raw", "bad"), telemetry=False)
    return rendered["collector"]["cookie"]


def test_cookie_follows_tls():
    plain = cookie_block({})
    assert (plain["secure"], plain["sameSite"]) == (False, "Lax")
    tls = cookie_block({"certificateArn": CERTIFICATE})
    assert (tls["secure"], tls["sameSite"]) == (True, "None")
    assert cookie_block({"certificateArn": CERTIFICATE, "cookie": {"sameSite": "Strict"}})["sameSite"] == "Strict"
    assert cookie_block({"cookie": {"secure": False, "sameSite": "Strict"}})["sameSite"] == "Strict"


@pytest.mark.parametrize(
    "cookie,expected",
    [
        ({"secure": True}, "browsers would drop it"),
        ({"sameSite": "None"}, "sameSite None requires a secure cookie"),
    ],
)
def test_cookie_settings_browsers_drop_without_tls_are_rejected(cookie, expected):
    with pytest.raises(ConfigError) as caught:
        parse({**GOOD, "collector": {"cookie": cookie}}, "eu-west-1", "snowplow", "test")
    key = "snowplow:collector.cookie." + next(iter(cookie))
    assert any(p.startswith(key + ":") and expected in p for p in caught.value.problems), caught.value.problems


def test_each_text_problem_says_what_is_allowed_where():
    assert text_problem(("iglu", "name"), "{{resolve:secretsmanager:x}}") == (
        "Secrets Manager references ({{resolve:...}}) are not accepted in stack config: put the secret's ARN in the "
        "matching *SecretArn key (e.g. passwordSecretArn) and the program references it where it belongs"
    )
    assert text_problem(("iglu", "name"), "a\nb") == (
        "must not contain control characters such as '\\n' (line breaks and tabs only in script, sql, "
        "snowflakePrivateKey)"
    )
    assert text_problem(("sql",), "a\x00b\n") == "must not contain control characters such as '\\x00'"
    assert text_problem(("sql",), "select 1\n\tfrom t\r\n") is None
    assert text_problem(("iglu", "name"), "x" * MAX_LINE) is None
    assert text_problem(("iglu", "name"), "x" * (MAX_LINE + 1)) == f"must be at most {MAX_LINE} characters"
    assert text_problem(("script",), "x" * (MAX_LINE + 1)) is None
    assert text_problem(("script",), "x" * (MAX_SOURCE + 1)) == f"must be at most {MAX_SOURCE} characters"


def test_each_region_problem_names_where_the_value_came_from_and_the_likely_fix():
    listed = f"must be an AWS region such as eu-west-1, as listed by botocore {botocore.__version__}"
    assert region_problem(None, "aws:region") == (
        "aws:region: required but not set: run `pulumi config set aws:region eu-west-1` "
        "(or export AWS_REGION or AWS_DEFAULT_REGION)"
    )
    assert region_problem(" eu-west-1 ", "aws:region") == (
        f'aws:region: {listed}; remove the spaces or line break around it (got " eu-west-1 ")'
    )
    assert region_problem("eu-wést-1", "AWS_REGION") == (
        f"aws:region (not set, so AWS_REGION is used, as the provider does): {listed}; did you mean eu-west-1? "
        '(got "eu-wést-1")'
    )
    assert region_problem(5, "aws:region") == f"aws:region: {listed} (got 5)"
    assert region_problem("us-zzzzzzzzzzzz-9", "aws:region") == (
        f"aws:region: {listed}; if AWS opened it after botocore {botocore.__version__}, raise botocore in "
        'requirements.txt (got "us-zzzzzzzzzzzz-9")'
    )
    assert region_problem("cn-north-1", "aws:region") == (
        'aws:region: only regions of the aws partition are supported, not aws-cn (got "cn-north-1")'
    )
