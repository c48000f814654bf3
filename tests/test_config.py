"""Invalid stack config is rejected with the key, the bad value and what is allowed."""

import json

import pytest

from offline import preview
from stack_config import ConfigError, parse
from stack_config.load import key_path
from stack_config.regions import resolve_region
from stack_config.secrecy import UNDECRYPTED
from tests.conftest import BASE, write_stack

GOOD = {"environment": "dev", "acceptLimitedUseLicense": True}

# (overrides of the snowplow: namespace, key the message must name, the bad value as shown, what is allowed)
BAD_INPUTS = [
    ({"colector": {"minSize": 1}}, "snowplow:colector", '{"minSize": 1}', "allowed keys here: environment"),
    ({"environment": "staging"}, "snowplow:environment", '"staging"', "'dev' or 'prod'"),
    ({"acceptLimitedUseLicense": False}, "snowplow:acceptLimitedUseLicense", "false", "limited-use-license"),
    ({"acceptLimitedUseLicense": "yes"}, "snowplow:acceptLimitedUseLicense", '"yes"', "valid boolean"),
    ({"streams": {"shards": {"raw": 0}}}, "snowplow:streams.shards.raw", "0", "greater than or equal to 1"),
    ({"streams": {"shards": {"raw": 2.5}}}, "snowplow:streams.shards.raw", "2.5", "valid integer"),
    ({"streams": {"mode": "SERVERLESS"}}, "snowplow:streams.mode", '"SERVERLESS"', "'PROVISIONED' or 'ON_DEMAND'"),
    ({"streams": {"retentionHours": 12}}, "snowplow:streams.retentionHours", "12", "greater than or equal to 24"),
    (
        {"streams": {"mode": "ON_DEMAND", "shards": {"raw": 2}}},
        "snowplow:streams",
        '"mode": "ON_DEMAND"',
        "only applies to mode PROVISIONED",
    ),
    ({"streams": {"shard": {"raw": 2}}}, "snowplow:streams.shard", '{"raw": 2}', "allowed keys here: mode, shards"),
    ({"network": {"create": {"cidr": "10.0.0.0/8"}}}, "snowplow:network.create.cidr", '"10.0.0.0/8"', "/16 and /22"),
    ({"network": {"create": {"cidr": "not-a-cidr"}}}, "snowplow:network.create.cidr", '"not-a-cidr"', "IPv4 network"),
    ({"network": {"create": {"azs": 1}}}, "snowplow:network.create.azs", "1", "greater than or equal to 2"),
    (
        {"network": {"create": {"azs": 2, "natGateways": 3}}},
        "snowplow:network.create.natGateways",
        "3",
        "cannot exceed azs",
    ),
    ({"network": {}}, "snowplow:network", "{}", "exactly one of `create`"),
    (
        {"network": {"existing": {"vpcId": "vpc-1", "publicSubnetIds": [], "privateSubnetIds": []}}},
        "snowplow:network.existing.vpcId",
        '"vpc-1"',
        "must be a VPC id",
    ),
    (
        {"network": {"existing": {"vpcId": "vpc-0123456789abcdef0", "publicSubnetIds": ["subnet-0123456789abcdef0"]}}},
        "snowplow:network.existing.publicSubnetIds",
        '["subnet-0123456789abcdef0"]',
        "at least 2 items",
    ),
    ({"tags": {"project": "other"}}, "snowplow:tags", '"project"', "reserved keys"),
    ({"tags": {"aws:owner": "me"}}, "snowplow:tags", '"aws:owner"', "reserved prefix"),
    ({"tags": ["owner"]}, "snowplow:tags", '["owner"]', "valid dictionary"),
    ({"network": {"create": {"cidr": "10.0.0.0/15"}}}, "snowplow:network.create.cidr", '"10.0.0.0/15"', "/16 and /22"),
    ({"network": {"create": {"cidr": "10.0.0.0/23"}}}, "snowplow:network.create.cidr", '"10.0.0.0/23"', "/16 and /22"),
    ({"network": {"create": {"cidr": "10.0.0.1/16"}}}, "snowplow:network.create.cidr", '"10.0.0.1/16"', "host bits"),
    (
        {"collector": {"ingressCidrs": ["203.0.113.5/24"]}},
        "snowplow:collector.ingressCidrs[0]",
        '"203.0.113.5/24"',
        "must be a CIDR block such as 203.0.113.0/24 (203.0.113.5/24 has host bits set)",
    ),
    (
        {"collector": {"ingressCidrs": ["2001:db8::/32", "2001:0db8::/32"]}},
        "snowplow:collector.ingressCidrs",
        '"2001:0db8::/32"',
        "2001:0db8::/32 is listed twice (also as 2001:db8::/32); list each CIDR once",
    ),
    (
        {"tags": {f"team{i}": "x" for i in range(8)}},
        "snowplow:tags",
        '"team0"',
        "at most 7 tags: S3 objects accept 10 and the program sets project, stack and environment",
    ),
    ({"tags": {"Name": "x"}}, "snowplow:tags", '"Name"', "reserved keys: project, stack, environment, Name"),
    ({"tags": {"snowplow:app": "x"}}, "snowplow:tags", '"snowplow:app"', "uses a reserved prefix (aws: and snowplow:)"),
]


@pytest.mark.parametrize("overrides,key,shown,allowed", BAD_INPUTS, ids=[case[1] for case in BAD_INPUTS])
def test_bad_value_is_rejected_naming_key_value_and_rule(overrides, key, shown, allowed):
    with pytest.raises(ConfigError) as caught:
        parse({**GOOD, **overrides}, "eu-west-1", "snowplow", "test")
    line = next((p for p in caught.value.problems if p.startswith(key + ":")), None)
    assert line is not None, str(caught.value)
    assert allowed in line
    assert shown in line.replace("'", '"')


@pytest.mark.parametrize("cidr", ["10.0.0.0/16", "10.0.0.0/22"])
def test_the_vpc_prefix_bounds_are_accepted(cidr):
    parse({**GOOD, "network": {"create": {"cidr": cidr}}}, "eu-west-1", "snowplow", "test")


def test_seven_user_tags_of_one_character_keys_are_accepted():
    tags = {key: "x" for key in "abcdefg"}
    assert parse({**GOOD, "tags": tags}, "eu-west-1", "snowplow", "test").config.tags == tags


def test_prod_without_one_nat_per_az_is_rejected():
    with pytest.raises(ConfigError) as caught:
        parse(
            {**GOOD, "environment": "prod", "network": {"create": {"azs": 3, "natGateways": 1}}}, "eu-west-1", "p", "s"
        )
    assert "snowplow:network.create.natGateways: prod needs one NAT gateway per AZ" in str(caught.value)


def test_missing_required_keys_are_named():
    with pytest.raises(ConfigError) as caught:
        parse({}, "eu-west-1", "snowplow", "test")
    assert "snowplow:environment: required but not set" in caught.value.problems
    assert "snowplow:acceptLimitedUseLicense: required but not set" in caught.value.problems


def test_bad_region_is_named():
    with pytest.raises(ConfigError) as caught:
        parse(GOOD, "europe", "snowplow", "test")
    (line,) = caught.value.problems
    assert line.startswith("aws:region: must be an AWS region such as eu-west-1, as listed by botocore")
    assert line.endswith('(got "europe")')


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as caught:
        parse({"environment": "qa", "acceptLimitedUseLicense": False, "streams": {"mode": "x"}}, None, "p", "s")
    assert len(caught.value.problems) == 4


def test_environment_sets_defaults_that_were_not_written():
    dev = parse(GOOD, "eu-west-1", "snowplow", "dev").config
    prod = parse(
        {**GOOD, "environment": "prod", "network": {"create": {"azs": 3}}, "iglu": {"server": {"enabled": False}}},
        "eu-west-1",
        "snowplow",
        "p",
    ).config
    assert (dev.network.create.nat_gateways, dev.streams.retention_hours, dev.protect_data) == (1, 24, False)
    assert (prod.network.create.nat_gateways, prod.streams.retention_hours, prod.protect_data) == (3, 168, True)


def test_numeric_tag_values_are_accepted_as_text():
    config = parse({**GOOD, "tags": {"cost-center": 1234}}, "eu-west-1", "snowplow", "dev").config
    assert config.tags == {"cost-center": "1234"}


def test_preview_exits_1_with_message_and_writes_no_plan(tmp_path, capsys):
    stack = write_stack(tmp_path, "broken", {**BASE, "snowplow:streams": {"shards": {"raw": -1}}})
    plan = tmp_path / "plan.json"
    code = preview.main(["--config", str(stack), "--json", str(plan)])
    err = capsys.readouterr().err
    assert code == preview.EXIT_CONFIG
    assert "snowplow:streams.shards.raw" in err and "(got -1)" in err
    assert not plan.exists()


SQL_PASSWORD = "hunter2-Correct-Horse"
BEFORE_ANY_RESOURCE = [
    ({"snowplow:environment": "production"}, "snowplow:environment"),
    ({"aws:region": "eu-west-1\n"}, "aws:region"),
    ({"aws:region": "eu-wset-1"}, "aws:region"),
    ({"snowplow:tags": {"owner": "$(id)"}}, "snowplow:tags"),
    ({"snowplow:tags": {"snowplow:kcl-app": "x"}}, "snowplow:tags"),
    ({"snowplow:collector": {"cookie": {"name": "{{resolve:secretsmanager:x}}"}}}, "snowplow:collector.cookie.name"),
    (
        {
            "snowplow:iglu": {
                "registries": [{"name": "a", "uri": "https://i.acme.com/api", "apiKeySecretArn": SQL_PASSWORD}]
            }
        },
        "snowplow:iglu.registries[0].apiKeySecretArn",
    ),
    ({"snowplow:collector.size.minSize": 2}, "snowplow:collector.size.minSize"),
    ({"snowplow:collector": {"cookie": {"secure": True}}}, "snowplow:collector.cookie.secure"),
]


@pytest.mark.parametrize("overrides,key", BEFORE_ANY_RESOURCE, ids=[case[1] for case in BEFORE_ANY_RESOURCE])
def test_config_error_happens_before_any_resource_is_registered(preview, overrides, key):
    from offline.engine import CapturingMonitor

    registered = []
    original = CapturingMonitor.RegisterResource

    def spy(self, request):
        registered.append(request.type)
        return original(self, request)

    CapturingMonitor.RegisterResource = spy
    try:
        with pytest.raises(ConfigError) as caught:
            preview(overrides)
    finally:
        CapturingMonitor.RegisterResource = original
    assert [t for t in registered if t.startswith("aws:")] == []
    assert any(p.startswith(key + ":") or p.startswith(key + " (") for p in caught.value.problems)
    assert SQL_PASSWORD not in str(caught.value)


def test_structured_values_round_trip_through_engine_strings(preview):
    run = preview({"snowplow:streams": {"retentionHours": 48}, "snowplow:tags": {"team": "x"}})
    streams = [r for r in run.resources if r["type"] == "aws:kinesis/stream:Stream"]
    assert {s["inputs"]["retentionPeriod"] for s in streams} == {48}
    assert json.loads(json.dumps(streams[0]["inputs"]["tags"]))["team"] == "x"


@pytest.mark.parametrize("stack", ["Prod", "team_analytics", "a-very-long-analytics-stack-name-eu-west"])
def test_stack_names_that_cannot_make_valid_physical_names_are_rejected(stack):
    with pytest.raises(ConfigError) as caught:
        parse(GOOD, "eu-west-1", "snowplow", stack)
    assert caught.value.problems[0].startswith(f"stack name {stack!r}: physical names start with")


def test_long_but_valid_stack_names_keep_load_balancer_names_within_32_characters(preview):
    from tests.conftest import of_type

    run = preview(stack="analytics-eu-west-1-stg")
    # the longest stack name allowed (physical-name prefix of 39 characters), with the ALB's log bucket
    iglu = {"server": {"enabled": True, "ingressCidrs": ["198.51.100.0/24"], "accessLogs": True}}
    longest = preview(
        {"snowplow:collector": {"accessLogs": True}, "snowplow:iglu": iglu}, stack="analytics-eu-west-1-staging-ab"
    )
    log_buckets = [
        r["inputs"]["bucket"] for r in of_type(longest, "aws:s3/bucket:Bucket") if r["name"].endswith("access-logs")
    ]
    # the Iglu Server's is cut to S3's 63 characters with a hash, the collector's fits whole
    assert sorted(len(b) for b in log_buckets) == [61, 63], log_buckets
    for resource in of_type(run, "aws:lb/loadBalancer:LoadBalancer") + of_type(run, "aws:lb/targetGroup:TargetGroup"):
        assert len(resource["inputs"]["name"]) <= 32, resource["inputs"]["name"]
    buckets = [r["inputs"]["bucket"] for r in of_type(run, "aws:s3/bucket:Bucket")]
    assert buckets and all(len(b) <= 63 for b in buckets)


@pytest.mark.parametrize(
    "cidr,azs,public,private",
    [
        (
            "10.40.0.0/16",
            3,
            ["10.40.0.0/19", "10.40.32.0/19", "10.40.64.0/19"],
            ["10.40.96.0/19", "10.40.128.0/19", "10.40.160.0/19"],
        ),
        ("10.40.0.0/22", 2, ["10.40.0.0/24", "10.40.1.0/24"], ["10.40.2.0/24", "10.40.3.0/24"]),
    ],
)
def test_a_created_vpc_is_split_into_equal_public_then_private_subnets(cidr, azs, public, private):
    network = parse({**GOOD, "network": {"create": {"cidr": cidr, "azs": azs}}}, "eu-west-1", "snowplow", "t")
    assert network.config.network.create.subnet_cidrs() == (public, private)


def test_the_region_comes_from_aws_region_else_the_providers_environment_variables_in_order():
    both = {"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-east-1"}
    assert resolve_region("eu-central-1", both) == ("eu-central-1", "aws:region")
    assert resolve_region(None, both) == ("eu-west-1", "AWS_REGION")
    assert resolve_region(None, {"AWS_DEFAULT_REGION": "us-east-1"}) == ("us-east-1", "AWS_DEFAULT_REGION")
    assert resolve_region(None, {}) == (None, "aws:region")


def test_key_paths_are_written_as_pulumi_config_set_path_takes_them():
    assert key_path("snowplow", ()) == "snowplow"
    assert key_path("snowplow", ("collector", "ingressCidrs", 0)) == "snowplow:collector.ingressCidrs[0]"
    assert key_path("snowplow", ("tags", "a" * 64)) == "snowplow:tags." + "a" * 64
    assert key_path("snowplow", ("tags", "a" * 65)) == 'snowplow:tags["' + "a" * 64 + '..."]'
    assert key_path("snowplow", ("tags", "cost center")) == 'snowplow:tags["cost center"]'
    assert key_path("snowplow", ("tags", 'say "hi"')) == r'snowplow:tags["say \"hi\""]'
    assert key_path("snowplow", ("x y",)) == 'snowplow:["x y"]'


# --- what describe() says: unknown keys deep in lists and maps, values the offline preview cannot decrypt --------


@pytest.mark.parametrize(
    "overrides,expected",
    [
        (
            {"iglu": {"registries": [{"name": "acme", "uri": "https://iglu.example.com/api", "bogus": 1}]}},
            "snowplow:iglu.registries[0].bogus: unknown key (value 1); allowed keys here: name, uri, priority, "
            "vendorPrefixes, apiKeySecretArn, allowInsecure",
        ),
        (
            {"enrich": {"enrichments": {"referer_parser": {"referrers": {"search": {"Acme": {"bogus": 1}}}}}}},
            "snowplow:enrich.enrichments.referer_parser.referrers.search.Acme.bogus: unknown key (value 1); "
            "allowed keys here: domains, parameters",
        ),
    ],
)
def test_an_unknown_key_inside_a_list_item_or_a_map_value_lists_the_keys_allowed_there(overrides, expected):
    with pytest.raises(ConfigError) as caught:
        parse({**GOOD, **overrides}, "eu-west-1", "snowplow", "t")
    assert expected in caught.value.problems


UNDECRYPTABLE_NOTE = (
    "; the value is encrypted (set with --secret) and the offline preview cannot decrypt it, so it cannot be "
    "checked here: preview this stack with the Pulumi CLI"
)


@pytest.mark.parametrize(
    "registry,expected",
    [
        (  # the undecryptable value is the one checked
            {"name": "acme", "uri": UNDECRYPTED},
            "snowplow:iglu.registries[0].uri: must start with https:// (the resolver needs the scheme): "
            f"https://iglu.example.com/api{UNDECRYPTABLE_NOTE} (got [secret])",
        ),
        (  # a check of the whole entry, which holds an undecryptable value
            {"name": UNDECRYPTED, "uri": "http://iglu.example.com"},
            f"snowplow:iglu.registries[0]: [secret] is plain http: use https://, or set allowInsecure: true to "
            f"accept the risk{UNDECRYPTABLE_NOTE} (got [secret])",
        ),
        (  # a decrypted value that fails its check gets no such note
            {"name": "acme", "uri": "ftp://iglu.example.com"},
            "snowplow:iglu.registries[0].uri: must start with https:// (the resolver needs the scheme): "
            "https://iglu.example.com/api (got [secret])",
        ),
    ],
)
def test_a_check_failing_on_a_value_the_offline_preview_cannot_decrypt_says_so(registry, expected):
    with pytest.raises(ConfigError) as caught:
        parse({**GOOD, "iglu": {"registries": [registry]}}, "eu-west-1", "s", "t", secret_keys=frozenset({"iglu"}))
    assert caught.value.problems == [expected]


def test_the_iglu_servers_certificate_must_be_in_the_stacks_region_too():
    certificate = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-0123456789ab"
    server = {"enabled": True, "domain": "iglu.example.com", "hostedZoneId": "Z0123456789EXAMPLE"}
    with pytest.raises(ConfigError) as caught:
        parse({**GOOD, "iglu": {"server": {**server, "certificateArn": certificate}}}, "eu-west-1", "s", "t")
    assert caught.value.problems == [
        "snowplow:iglu.server.certificateArn: must be a certificate in the stack's region eu-west-1 (a load balancer "
        f'only uses certificates of its own region) (got "{certificate}")'
    ]
    same_region = certificate.replace("us-east-1", "eu-west-1")
    parse({**GOOD, "iglu": {"server": {**server, "certificateArn": same_region}}}, "eu-west-1", "s", "t")


def test_a_key_name_of_exactly_64_characters_is_quoted_whole_and_a_longer_one_shortened():
    exactly = "a" * 63 + " "
    assert key_path("snowplow", ("tags", exactly)) == f'snowplow:tags["{exactly}"]'
    longer = exactly + "b"
    assert key_path("snowplow", ("tags", longer)) == f'snowplow:tags["{exactly}..."]'
