"""The OpenSearch destination: its config rules, the loader's rendered files, and the domain's security in plans.

`tests/stacks/Pulumi.full.yaml` runs it prod-shaped with the bad-rows index and a reader role; the dev stack
here runs the defaults.
"""

import base64
import json
import subprocess

import pytest
from pyhocon import ConfigFactory

from components.destinations.elasticsearch_loader_config import (
    LoaderInput,
    SetupRequest,
    render_elasticsearch_loader_config,
    render_index_template,
    render_setup_script,
)
from offline.engine import StackFile, run_program
from stack_config import ConfigError, parse
from tests.conftest import BASE, ROOT, of_type, write_stack
from tests.policy_helpers import (
    TAGS,
    UNKNOWN_STRING,
    assert_passes,
    assert_survives_unknowns,
    assert_violates,
    pack,  # noqa: F401  (session fixture)
    policy_document,
    resource,
)

FULL = ROOT / "tests" / "stacks" / "Pulumi.full.yaml"
DOMAIN = "aws:opensearch/domain:Domain"
DEV = {"environment": "dev", "acceptLimitedUseLicense": True}
PROD = {
    "environment": "prod",
    "acceptLimitedUseLicense": True,
    "network": {"create": {"azs": 2}},
    "iglu": {"server": {"enabled": False}},
}
SEARCH = {"destinations": {"opensearch": {"enabled": True}}}


def config(raw: dict):
    return parse(raw, "eu-west-1", "snowplow", "t").config


def problems(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(raw, "eu-west-1", "snowplow", "t")
    return caught.value.problems


@pytest.fixture(scope="module")
def full():
    return run_program(StackFile.read(FULL))


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    stack = {**BASE, "snowplow:destinations": {"opensearch": {"enabled": True}}}
    return run_program(StackFile.read(write_stack(tmp_path_factory.mktemp("dev"), "dev", stack)))


def domain_of(run) -> dict:
    (domain,) = of_type(run, DOMAIN)
    return domain


def files_of(run, app: str) -> dict[str, str]:
    return {
        r["inputs"]["metadata"]["snowplow-file"]: r["inputs"]["content"]
        for r in of_type(run, "aws:s3/bucketObjectv2:BucketObjectv2")
        if r["inputs"]["metadata"]["snowplow-app"] == app
    }


def named(run, type_token: str, name: str) -> dict:
    (found,) = [r for r in of_type(run, type_token) if r["name"] == name]
    return found


# --- config -------------------------------------------------------------------------------------------------


def test_off_by_default_and_sized_per_environment():
    assert config(DEV).destinations.opensearch.enabled is False
    dev = config({**DEV, **SEARCH}).destinations.opensearch.domain
    assert (dev.instance_type, dev.instance_count, dev.volume_size_gb, dev.zone_awareness) == (
        "t3.small.search",
        1,
        10,
        False,
    )
    assert dev.dedicated_masters.count == 0
    prod = config({**PROD, **SEARCH}).destinations.opensearch.domain
    assert (prod.instance_type, prod.instance_count, prod.volume_size_gb, prod.zone_awareness) == (
        "r6g.large.search",
        2,
        100,
        2,
    )
    assert (prod.dedicated_masters.count, prod.dedicated_masters.instance_type) == (3, "m6g.large.search")


@pytest.mark.parametrize(
    ("opensearch", "key", "expected"),
    [
        ({"domain": {"instanceType": "t2.small.search"}}, "domain.instanceType", "cannot encrypt at rest"),
        ({"domain": {"instanceType": "m6g.large"}}, "domain.instanceType", "OpenSearch Service instance type"),
        ({"engineVersion": "Elasticsearch_7.10"}, "engineVersion", "OpenSearch engine version"),
        ({"domain": {"zoneAwareness": 2, "instanceCount": 3}}, "domain", "multiple of zoneAwareness"),
        ({"domain": {"dedicatedMasters": {"count": 2}}}, "domain.dedicatedMasters.count", "0, 3 or 5"),
        ({"readerRoleArn": "arn:aws:iam::123456789012:role/*"}, "readerRoleArn", "exact ARN of an IAM role"),
        ({"index": "Snowplow"}, "index", "lowercase index name"),
        ({"badRows": {"enabled": True, "index": "snowplow"}}, "", "badRows.index must differ"),
        ({"clientCidrs": ["10.0.0.0"]}, "clientCidrs[0]", "IPv4 CIDR block"),
    ],
)
def test_invalid_settings_name_their_key(opensearch, key, expected):
    [line] = problems({**DEV, "destinations": {"opensearch": {"enabled": True, **opensearch}}})
    path = "snowplow:destinations.opensearch" + (f".{key}" if key else "")
    assert line.startswith(path + ":"), line
    assert expected in line


def test_more_loader_instances_than_shards_and_more_zones_than_subnets_are_rejected():
    raw = {
        **PROD,
        "streams": {"shards": {"enriched": 1}},
        "destinations": {"opensearch": {"enabled": True, "domain": {"zoneAwareness": 3, "instanceCount": 3}}},
    }
    found = problems(raw)
    assert any(p.startswith("snowplow:destinations.opensearch.size.maxSize: 2 exceeds") for p in found)
    assert any(p.startswith("snowplow:destinations.opensearch.domain.zoneAwareness: 3 zones") for p in found)


def test_indicative_is_refused_with_the_decision_and_without_echoing_the_value():
    [line] = problems({**DEV, "destinations": {"indicative": {"apiKey": "ind-0123456789abcdef"}}})
    assert line.startswith("snowplow:destinations.indicative: not offered")
    assert "2021" in line and "snowplow:destinations.opensearch" in line
    assert "ind-0123456789abcdef" not in line


# --- rendered files -----------------------------------------------------------------------------------------


def test_loader_config_pins_signing_https_polling_and_failures():
    rendered = render_elasticsearch_loader_config(
        source=LoaderInput("s-enriched", "s-elasticsearch-loader", "LATEST", 500),
        endpoint="vpc-x.eu-west-1.es.amazonaws.com",
        index="snowplow",
        region="eu-west-1",
        purpose="ENRICHED_EVENTS",
        failures_stream="s-bad-2",
        telemetry=False,
    )
    assert rendered == {
        "license": {"accept": True},
        "input": {
            "streamName": "s-enriched",
            "appName": "s-elasticsearch-loader",
            "initialPosition": {"type": "LATEST"},
            "retrievalMode": {"type": "Polling", "maxRecords": 500},
        },
        "output": {
            "good": {
                "url": "https://vpc-x.eu-west-1.es.amazonaws.com:443",
                "index": "snowplow",
                "auth": {"type": "AWSSigning", "region": "eu-west-1", "serviceSigningName": "es"},
            },
            "bad": {"streamName": "s-bad-2"},
        },
        "purpose": "ENRICHED_EVENTS",
        "monitoring": {"healthProbe": {"port": 8000}},
        "telemetry": {"disable": True},
    }


def test_index_templates_map_whole_values_and_the_geo_point():
    enriched = render_index_template("snowplow", "ENRICHED_EVENTS", 1)
    assert enriched["index_patterns"] == ["snowplow"]
    assert enriched["template"]["settings"]["number_of_replicas"] == 1
    assert enriched["template"]["settings"]["analysis"]["analyzer"]["default"] == {"type": "keyword"}
    assert enriched["template"]["mappings"]["properties"]["geo_location"] == {"type": "geo_point"}
    assert "mappings" not in render_index_template("snowplow-bad", "BAD_ROWS", 0)["template"]


def test_setup_script_is_valid_bash_and_puts_each_file_signed():
    script = render_setup_script(
        "elasticsearch-loader", "vpc-x.es.amazonaws.com", "eu-west-1", [SetupRequest("/_index_template/a", "t.json")]
    )
    subprocess.run(["bash", "-n"], input=script, text=True, check=True)
    assert '--aws-sigv4 "aws:amz:$REGION:es"' in script
    assert "ENDPOINT=https://vpc-x.es.amazonaws.com" in script
    assert script.rstrip().endswith("put /_index_template/a t.json")


def test_full_stack_renders_both_loaders_with_their_templates_and_the_masters_role_mappings(full):
    master, bad = files_of(full, "elasticsearch-loader"), files_of(full, "elasticsearch-loader-bad")
    good = ConfigFactory.parse_string(master["elasticsearch-loader.hocon"])
    assert good["input.streamName"] == "snowplow-full-enriched"
    assert good["output.bad.streamName"] == "snowplow-full-bad-2"
    assert good["output.good.url"].startswith("https://vpc-snowplow-full-search-")
    failed = ConfigFactory.parse_string(bad["elasticsearch-loader.hocon"])
    assert (failed["purpose"], failed["input.streamName"], failed["output.good.index"]) == (
        "BAD_ROWS",
        "snowplow-full-bad-1",
        "snowplow-bad",
    )
    assert failed["output.bad.streamName"] == "snowplow-full-bad-2"
    puts = [line.split()[1] for line in master["opensearch-setup.sh"].splitlines() if line.startswith("put /")]
    assert puts == [
        "/_plugins/_security/api/roles/snowplow_bad_rows_writer",
        "/_plugins/_security/api/rolesmapping/snowplow_bad_rows_writer",
        "/_plugins/_security/api/roles/snowplow_reader",
        "/_plugins/_security/api/rolesmapping/snowplow_reader",
        "/_index_template/snowplow",
    ]
    assert json.loads(master["mapping-reader.json"]) == {
        "backend_roles": ["arn:aws:iam::123456789012:role/acme-analysts"]
    }
    assert json.loads(master["mapping-bad-rows-writer.json"]) == {
        "backend_roles": ["arn:aws:iam::123456789012:role/snowplow-full-elasticsearch-loader-bad"]
    }
    assert json.loads(master["index-template.json"])["template"]["settings"]["number_of_replicas"] == 1
    assert [line for line in bad["opensearch-setup.sh"].splitlines() if line.startswith("put ")] == [
        "put /_index_template/snowplow-bad index-template.json"
    ]


def test_the_boot_runs_the_setup_before_the_loader(full):
    template = named(full, "aws:ec2/launchTemplate:LaunchTemplate", "opensearch-elasticsearch-loader-lt")
    boot = base64.b64decode(template["inputs"]["userData"]).decode()
    setup = boot.index('bash "$CONFIG_DIR"/opensearch-setup.sh')
    assert boot.index("run_pre_start() {") < setup < boot.index("return 0", setup)
    assert "snowplow/elasticsearch-loader:3.0.1" in boot


# --- the domain in plans ------------------------------------------------------------------------------------


def test_full_domain_is_encrypted_private_https_only_and_fine_grained(full):
    inputs = domain_of(full)["inputs"]
    assert full.outputs["kms_key_arn"].startswith("arn:aws:kms:eu-west-1:123456789012:key/")
    assert inputs["encryptAtRest"] == {"enabled": True, "kmsKeyId": full.outputs["kms_key_arn"]}
    assert inputs["nodeToNodeEncryption"] == {"enabled": True}
    assert inputs["domainEndpointOptions"] == {
        "enforceHttps": True,
        "tlsSecurityPolicy": "Policy-Min-TLS-1-2-PFS-2023-10",
    }
    assert len(inputs["vpcOptions"]["subnetIds"]) == 2 and inputs["vpcOptions"]["securityGroupIds"]
    security = inputs["advancedSecurityOptions"]
    assert security["enabled"] and not security["internalUserDatabaseEnabled"] and not security["anonymousAuthEnabled"]
    assert security["masterUserOptions"]["masterUserArn"] == (
        "arn:aws:iam::123456789012:role/snowplow-full-elasticsearch-loader"
    )
    assert inputs["engineVersion"] == "OpenSearch_2.19"
    cluster = inputs["clusterConfig"]
    assert (cluster["zoneAwarenessEnabled"], cluster["zoneAwarenessConfig"]) == (True, {"availabilityZoneCount": 2})
    assert (cluster["dedicatedMasterEnabled"], cluster["dedicatedMasterCount"]) == (True, 3)
    assert domain_of(full)["protect"] is True


def test_access_policy_names_only_the_loaders_and_the_reader(full):
    (policy,) = of_type(full, "aws:opensearch/domainPolicy:DomainPolicy")
    statements = json.loads(policy["inputs"]["accessPolicies"])["Statement"]
    principals = []
    for statement in statements:
        assert statement["Effect"] == "Allow" and set(statement["Principal"]) == {"AWS"}
        named_roles = statement["Principal"]["AWS"]
        principals += [named_roles] if isinstance(named_roles, str) else named_roles
        assert statement["Resource"] == "arn:aws:es:eu-west-1:123456789012:domain/snowplow-full-search/*"
    assert sorted(principals) == [
        "arn:aws:iam::123456789012:role/acme-analysts",
        "arn:aws:iam::123456789012:role/snowplow-full-elasticsearch-loader",
        "arn:aws:iam::123456789012:role/snowplow-full-elasticsearch-loader-bad",
    ]


def test_domain_logs_are_encrypted_and_only_this_domain_may_write_them(full):
    published = domain_of(full)["inputs"]["logPublishingOptions"]
    assert sorted(p["logType"] for p in published) == ["ES_APPLICATION_LOGS", "INDEX_SLOW_LOGS", "SEARCH_SLOW_LOGS"]
    groups = [g for g in of_type(full, "aws:cloudwatch/logGroup:LogGroup") if "/aws/opensearch/" in g["inputs"]["name"]]
    assert len(groups) == 3 and all(g["inputs"]["kmsKeyId"] for g in groups)
    (resource_policy,) = of_type(full, "aws:cloudwatch/logResourcePolicy:LogResourcePolicy")
    (statement,) = json.loads(resource_policy["inputs"]["policyDocument"])["Statement"]
    assert statement["Principal"] == {"Service": "es.amazonaws.com"}
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"] == (
        "arn:aws:es:eu-west-1:123456789012:domain/snowplow-full-search"
    )
    key_policy = json.loads(of_type(full, "aws:kms/key:Key")[0]["inputs"]["policy"])
    (logs,) = [s for s in key_policy["Statement"] if s["Sid"] == "CloudWatchLogsEncryptsThisStacksLogGroups"]
    assert (
        "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/opensearch/snowplow-full-*/*"
        in logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    )


def test_dev_domain_is_one_small_node_in_one_subnet_and_unprotected(dev):
    inputs = domain_of(dev)["inputs"]
    assert inputs["clusterConfig"]["instanceType"] == "t3.small.search"
    assert inputs["clusterConfig"]["instanceCount"] == 1
    assert inputs["clusterConfig"]["zoneAwarenessEnabled"] is False
    assert inputs["clusterConfig"]["dedicatedMasterEnabled"] is False
    assert inputs["ebsOptions"] == {"ebsEnabled": True, "volumeType": "gp3", "volumeSize": 10}
    assert len(inputs["vpcOptions"]["subnetIds"]) == 1
    template = json.loads(files_of(dev, "elasticsearch-loader")["index-template.json"])
    assert template["template"]["settings"]["number_of_replicas"] == 0  # one node: a replica has nowhere to go
    assert not domain_of(dev).get("protect")
    groups = [g["inputs"]["name"] for g in of_type(dev, "aws:autoscaling/group:Group")]
    assert "dev-elasticsearch-loader" in [g.removeprefix("snowplow-") for g in groups]
    assert not [g for g in groups if g.endswith("elasticsearch-loader-bad")]


def test_domain_is_reachable_on_443_only_from_the_loaders_and_configured_clients(full):
    rules = [
        r
        for r in of_type(full, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r["name"].startswith("opensearch-ingress-")
    ]
    assert {r["name"] for r in rules} == {
        "opensearch-ingress-from-elasticsearch-loader",
        "opensearch-ingress-from-elasticsearch-loader-bad",
        "opensearch-ingress-client-0",
    }
    assert all((r["inputs"]["fromPort"], r["inputs"]["toPort"]) == (443, 443) for r in rules)
    assert [r["inputs"]["cidrIpv4"] for r in rules if r["inputs"].get("cidrIpv4")] == ["10.70.0.0/16"]


# --- the pack's rule on access policies ---------------------------------------------------------------------

RULE = "opensearch-domain-policy-forbid-public-access"
ANYONE = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "es:ESHttp*", "Resource": "arn:aws:es:*:*:domain/d/*"}
NAMED = {**ANYONE, "Principal": {"AWS": ["arn:aws:iam::123456789012:role/loader"]}}


@pytest.mark.parametrize("type_", ["aws:opensearch/domain:Domain", "aws:elasticsearch/domain:Domain"])
def test_pack_refuses_a_domain_open_to_anyone(pack, type_):
    domain = resource(type_, "search", {"accessPolicies": policy_document(ANYONE), "tags": TAGS})
    assert_violates(pack, RULE, [domain], contains="to everyone")


@pytest.mark.parametrize(
    "type_", ["aws:opensearch/domainPolicy:DomainPolicy", "aws:elasticsearch/domainPolicy:DomainPolicy"]
)
def test_pack_refuses_a_domain_policy_open_to_anyone(pack, type_):
    principal_star = {**ANYONE, "Principal": "*"}
    policy = resource(type_, "access", {"domainName": "d", "accessPolicies": policy_document(NAMED, principal_star)})
    assert_violates(pack, RULE, [policy])


def test_pack_accepts_named_roles_a_restricting_condition_and_an_unknown_document(pack):
    account_only = {**ANYONE, "Condition": {"StringEquals": {"aws:PrincipalAccount": "123456789012"}}}
    named = resource(
        "aws:opensearch/domainPolicy:DomainPolicy",
        "access",
        {"domainName": "d", "accessPolicies": policy_document(NAMED)},
    )
    conditioned = resource(
        "aws:opensearch/domain:Domain", "search", {"accessPolicies": policy_document(account_only), "tags": TAGS}
    )
    assert_passes(pack, RULE, [named, conditioned])
    unknown = resource("aws:opensearch/domainPolicy:DomainPolicy", "later", {"accessPolicies": UNKNOWN_STRING})
    assert_survives_unknowns(pack, RULE, [unknown])


def test_signals_alarm_on_the_domain_and_on_each_loader():
    """What the observability layer is given: the domain's red status and free storage, each loader's stream
    age and in-service instances."""
    from types import SimpleNamespace

    from components.destinations.opensearch import OpenSearchDestination, _Loader
    from components.platform.streams import StreamInfo

    search = config({**PROD, **SEARCH}).destinations.opensearch
    holder = SimpleNamespace(
        _ctx=SimpleNamespace(account_id="123456789012"),
        _args=SimpleNamespace(config=search),
        domain_name="snowplow-prod-search",
    )
    service = SimpleNamespace(asg_name="snowplow-prod-elasticsearch-loader")
    loader = _Loader(
        "elasticsearch-loader", StreamInfo("enriched", "snowplow-prod-enriched", None), 1, service, None, None
    )
    signals = {s.name: s for s in OpenSearchDestination._signals(holder, [loader])}
    assert sorted(signals) == [
        "elasticsearch-loader-instances",
        "elasticsearch-loader-iterator-age",
        "opensearch-cluster-red",
        "opensearch-free-storage",
    ]
    red, storage = signals["opensearch-cluster-red"], signals["opensearch-free-storage"]
    assert (red.namespace, red.metric_name, dict(red.dimensions)) == (
        "AWS/ES",
        "ClusterStatus.red",
        {"DomainName": "snowplow-prod-search", "ClientId": "123456789012"},
    )
    assert (storage.metric_name, storage.statistic, storage.threshold) == ("FreeStorageSpace", "Minimum", 25_600)
    age = signals["elasticsearch-loader-iterator-age"]
    assert (age.metric_name, dict(age.dimensions), age.threshold) == (
        "GetRecords.IteratorAgeMilliseconds",
        {"StreamName": "snowplow-prod-enriched"},
        900_000,
    )
    instances = signals["elasticsearch-loader-instances"]
    assert (instances.comparison, instances.threshold) == ("LessThanThreshold", 1)


def test_each_opensearch_loader_is_held_to_its_own_streams_shards_and_the_zones_to_the_subnets():
    shards = {"enriched": 2, "bad1": 1}
    search = {
        "enabled": True,
        "size": {"minSize": 1, "maxSize": 3},
        "badRows": {"enabled": True, "size": {"minSize": 1, "maxSize": 2}},
    }
    rule = "a Kinesis consumer never uses more instances than its input stream has shards: raise the shards or lower"
    assert problems({**PROD, "streams": {"shards": shards}, "destinations": {"opensearch": search}}) == [
        f"snowplow:destinations.opensearch.size.maxSize: 3 exceeds snowplow:streams.shards.enriched (2); {rule} maxSize",
        f"snowplow:destinations.opensearch.badRows.size.maxSize: 2 exceeds snowplow:streams.shards.bad1 (1); {rule} "
        "maxSize",
    ]
    at_the_limit = {
        **search,
        "size": {"minSize": 1, "maxSize": 2},
        "badRows": {"enabled": True, "size": {"minSize": 1, "maxSize": 1}},
    }
    zones = {"zoneAwareness": 2, "instanceCount": 2}
    parse(
        {**PROD, "streams": {"shards": shards}, "destinations": {"opensearch": {**at_the_limit, "domain": zones}}},
        "eu-west-1",
        "snowplow",
        "t",
    )
    three = {**at_the_limit, "domain": {"zoneAwareness": 3, "instanceCount": 3}}
    assert problems({**PROD, "streams": {"shards": shards}, "destinations": {"opensearch": three}}) == [
        "snowplow:destinations.opensearch.domain.zoneAwareness: 3 zones need as many private subnets, one per zone, "
        "and the network has 2: lower zoneAwareness or add subnets (got 3)"
    ]
