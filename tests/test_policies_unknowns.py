"""Unknown (preview) values: no rule may crash on them, and none may turn them into a real violation.

A crash inside a policy makes the Analyze RPC fail, which the driver raises as PolicyPackError (and
which would fail a real `pulumi preview`). Reading an unknown through the SDK's proxy is fine: the SDK
reports an advisory "can't run policy ... during preview".
"""

import copy
import json

import pytest

from tests.peer_cases import CASES as PEER_CASES
from tests.policy_helpers import (
    ASG,
    BUCKET,
    BUCKET_LOGGING,
    BUCKET_POLICY,
    IAM_POLICY,
    INSTANCE,
    KEY_ARN,
    LISTENER_RULE,
    PROD_CONFIG,
    PUBLIC_ACCESS_BLOCKED,
    RDS_INSTANCE,
    SG,
    TAGS,
    UNKNOWN_ARRAY,
    UNKNOWN_BOOL,
    UNKNOWN_NUMBER,
    UNKNOWN_OBJECT,
    UNKNOWN_STRING,
    allow,
    assert_survives_unknowns,
    child_of,
    findings,
    good_alb_set,
    good_asg,
    good_bucket_set,
    good_iterator_age_alarm,
    good_launch_template,
    good_rds,
    good_stream,
    pack,  # noqa: F401  (session fixture)
    policy_document,
    resource,
    run,
    tls_only_policy,
)
from tests.test_policies_data_protection import CASES as PROTECTION_CASES
from tests.test_policies_encryption import CASES as ENCRYPTION_CASES
from tests.test_policies_encryption import ELB_WRITES, load_balancer, log_bucket_set
from tests.test_policies_network import CASES as NETWORK_CASES
from tests.test_policies_sizing import CASES as SIZING_CASES

SUBNET = "aws:ec2/subnet:Subnet"

# --- Targeted cases for rules that read nested or JSON values --------------------------------


def test_unknown_policy_document_string(pack):
    policy = resource(IAM_POLICY, "p", {"policy": UNKNOWN_STRING})
    report = assert_survives_unknowns(pack, "iam-policy-forbid-wildcard-actions", [policy])
    assert any("during preview" in v["message"] for v in findings(report, "iam-policy-forbid-wildcard-actions"))


def test_policy_json_with_unknown_inside(pack):
    policy = resource(
        IAM_POLICY, "p", {"policy": policy_document(allow("s3:PutObject", f"arn:aws:s3:::{UNKNOWN_STRING}/*"))}
    )
    assert_survives_unknowns(pack, "iam-policy-forbid-wildcard-resources", [policy])


def test_policy_object_with_unknown_statement(pack):
    policy = resource(IAM_POLICY, "p", {"policy": {"Version": "2012-10-17", "Statement": [UNKNOWN_OBJECT]}})
    assert_survives_unknowns(pack, "iam-policy-forbid-wildcard-actions", [policy])


def test_unknown_bucket_policy_skips_only_that_bucket(pack):
    bucket = good_bucket_set("data")[0]
    unknown_policy = child_of(bucket, BUCKET_POLICY, "data-policy", {"bucket": "x", "policy": UNKNOWN_STRING})
    data = good_bucket_set("data", policy=unknown_policy)
    other = good_bucket_set("other", policy=None)
    found = findings(run(pack, data + other), "s3-bucket-require-tls-only-policy")
    assert [v["urn"] for v in found] == [other[0]["urn"]]


def test_unknown_sse_algorithm_skips_bucket(pack):
    bucket = good_bucket_set("data")[0]
    sse = child_of(
        bucket,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "data-sse",
        {"bucket": "x", "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": UNKNOWN_STRING}}]},
    )
    resources = good_bucket_set("data", sse=sse)
    assert_survives_unknowns(pack, "s3-bucket-require-sse-kms", resources)
    assert_survives_unknowns(pack, "s3-sse-configuration-require-kms", resources)


def test_unknown_log_destination_leaves_sse_s3_buckets_alone(pack):
    """A load balancer whose log bucket is decided at deploy time may write to any SSE-S3 bucket of the stack."""
    logs = log_bucket_set("snowplow-test-elb")
    unknown_target = load_balancer(logs, linked=False)
    unknown_target["inputs"]["accessLogs"]["bucket"] = UNKNOWN_STRING
    unknown_name = copy.deepcopy(logs)
    unknown_name[0]["inputs"]["bucket"] = UNKNOWN_STRING
    for resources in ([*logs, unknown_target], [*unknown_name, load_balancer(logs, linked=False)]):
        assert_survives_unknowns(pack, "s3-bucket-require-sse-kms", resources, PROD_CONFIG)
        assert_survives_unknowns(pack, "s3-sse-configuration-require-kms", resources, PROD_CONFIG)


def test_unknown_public_access_flag_skips_bucket(pack):
    resources = good_bucket_set()
    resources[2]["inputs"]["blockPublicPolicy"] = UNKNOWN_BOOL
    assert_survives_unknowns(pack, "s3-bucket-require-public-access-block", resources)


def test_unknown_cidr_and_ports(pack):
    sg = resource(
        SG,
        "sg",
        {
            "ingress": [
                {
                    "protocol": "tcp",
                    "fromPort": UNKNOWN_NUMBER,
                    "toPort": UNKNOWN_NUMBER,
                    "cidrBlocks": [UNKNOWN_STRING],
                }
            ],
            "tags": TAGS,
        },
    )
    unknown_list = resource(SG, "sg2", {"ingress": UNKNOWN_ARRAY, "tags": TAGS})
    assert_survives_unknowns(pack, "ec2-security-group-restrict-public-ingress", [sg, unknown_list])


def test_unknown_kcl_values(pack):
    stream = good_stream("raw", shards=UNKNOWN_NUMBER)
    asg = good_asg("enrich", max_size=5, kcl_app="enrich", stream=stream["inputs"]["name"])
    assert_survives_unknowns(pack, "snowplow-kcl-consumer-limit-to-shards", [stream, asg])
    known_stream = good_stream("raw", shards=1)
    asg = good_asg("enrich", max_size=UNKNOWN_NUMBER, kcl_app="enrich", stream=known_stream["inputs"]["name"])
    assert_survives_unknowns(pack, "snowplow-kcl-consumer-limit-to-shards", [known_stream, asg])
    tags_unknown = resource(ASG, "enrich2", {"minSize": 1, "maxSize": 9, "tags": UNKNOWN_ARRAY})
    assert_survives_unknowns(pack, "snowplow-kcl-consumer-limit-to-shards", [known_stream, tags_unknown])


def test_unknown_tag_value_counts_as_present(pack):
    stream = good_stream(tags={**TAGS, "stack": UNKNOWN_STRING})
    assert not findings(run(pack, [stream]), "aws-resource-require-tags")


def test_unknown_tags_object(pack):
    assert_survives_unknowns(pack, "aws-resource-require-tags", [good_stream(tags=UNKNOWN_OBJECT)])


def test_unknown_user_data(pack):
    assert_survives_unknowns(
        pack, "ec2-user-data-forbid-plaintext-secrets", [good_launch_template(userData=UNKNOWN_STRING)]
    )


def test_unknown_protect_relevant_inputs_do_not_matter(pack):
    bucket = resource(BUCKET, "b", {"bucket": UNKNOWN_STRING, "tags": TAGS}, protect=True)
    assert not findings(run(pack, [bucket], PROD_CONFIG), "stateful-resource-require-protect")


# --- Exhaustive: every leaf of every test resource replaced by an unknown ---------------------

SENTINEL_BY_TYPE = (
    (bool, UNKNOWN_BOOL),
    ((int, float), UNKNOWN_NUMBER),
    (str, UNKNOWN_STRING),
    (list, UNKNOWN_ARRAY),
    (dict, UNKNOWN_OBJECT),
)


def sentinel_for(value):
    return next(s for t, s in SENTINEL_BY_TYPE if isinstance(value, t))


def leaf_paths(value, path=()):
    """Paths to every value (containers included) below the root."""
    if path:
        yield path
    if isinstance(value, dict):
        for key, child in value.items():
            yield from leaf_paths(child, path + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from leaf_paths(child, path + (index,))


def replace_at(value, path, new):
    value = copy.deepcopy(value)
    target = value
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return value


def variants(inputs):
    """Copies of `inputs` with one value unknown; JSON documents also get unknowns inside."""
    for path in leaf_paths(inputs):
        original = inputs
        for step in path:
            original = original[step]
        if original is None:
            continue
        yield replace_at(inputs, path, sentinel_for(original))
        if isinstance(original, str) and original.startswith("{"):
            document = json.loads(original)
            for inner in leaf_paths(document):
                yield replace_at(inputs, path, json.dumps(replace_at(document, inner, UNKNOWN_STRING)))


def renamed(resources, suffix):
    """The same resource set with fresh URNs, so many variants can share one AnalyzeStack."""
    mapping = {r["urn"]: r["urn"] + suffix for r in resources}
    out = []
    for r in resources:
        r = copy.deepcopy(r)
        r["urn"], r["name"] = mapping[r["urn"]], r["name"] + suffix
        r["dependencies"] = [mapping.get(d, d) for d in r["dependencies"]]
        r["propertyDependencies"] = {k: [mapping.get(d, d) for d in v] for k, v in r["propertyDependencies"].items()}
        out.append(r)
    return out


def single_resources():
    """Every compliant test resource: the rule cases, the peers' compliant cases, the members of the linked sets."""
    singles = [
        compliant
        for cases in (ENCRYPTION_CASES, NETWORK_CASES, SIZING_CASES, PROTECTION_CASES)
        for _, compliant in cases.values()
    ]
    peers = [r for case in PEER_CASES if not case.expect_violation for r in case.resources]
    return singles + peers + [r for resources in linked_sets() for r in resources]


def linked_sets():
    """Compliant stacks whose verdict depends on a second resource (each stack rule's links)."""
    stream = good_stream("raw", shards=1)
    kcl = [
        stream,
        good_asg("enrich", max_size=2, kcl_app="enrich", stream=stream["inputs"]["name"]),
        good_iterator_age_alarm(stream["inputs"]["name"]),  # a read stream needs one (prod: mandatory)
    ]
    template = good_launch_template()
    from_template = child_of(
        template, INSTANCE, "box", {"launchTemplate": {"id": "lt"}, "tags": TAGS}, "launchTemplate"
    )
    subnet = resource(SUBNET, "private-a", {"mapPublicIpOnLaunch": False, "tags": TAGS})
    in_subnet = child_of(subnet, INSTANCE, "box2", {**from_template["inputs"], "subnetId": "subnet-1"}, "subnetId")
    in_subnet["dependencies"].append(template["urn"])
    in_subnet["propertyDependencies"]["launchTemplate"] = [template["urn"]]
    source = good_rds("primary", identifier="snowplow-primary")
    replica = child_of(
        source, RDS_INSTANCE, "replica", {"replicateSourceDb": "snowplow-primary", "tags": TAGS}, "replicateSourceDb"
    )
    alb = good_alb_set()
    rule = child_of(
        alb[3], LISTENER_RULE, "tp2", {"listenerArn": "arn", "actions": [{"type": "forward"}]}, "listenerArn"
    )
    bare_template = good_launch_template("bare-lt", metadataOptions=None, blockDeviceMappings=None)
    account = [
        resource("aws:ebs/encryptionByDefault:EncryptionByDefault", "ebs", {"enabled": True}),
        resource("aws:ebs/defaultKmsKey:DefaultKmsKey", "ebs-key", {"keyArn": KEY_ARN}),
        resource("aws:ec2/instanceMetadataDefaults:InstanceMetadataDefaults", "imds", {"httpTokens": "required"}),
        resource(
            "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock",
            "pab",
            {**PUBLIC_ACCESS_BLOCKED},
        ),
    ]
    alb_logs = log_bucket_set("snowplow-test-elb", name="alb-logs")
    server_logs = log_bucket_set("snowplow-test-s3-logs", name="s3-logs")
    lake = good_bucket_set("lake")
    logging = child_of(
        server_logs[0],
        BUCKET_LOGGING,
        "lake-logging",
        {"bucket": "snowplow-test-lake", "targetBucket": "x"},
        "targetBucket",
    )
    log_sinks = [
        *alb_logs,
        load_balancer(alb_logs, loadBalancerType="application"),
        *server_logs,
        *lake,
        logging,
        *log_bucket_set(
            grants=[ELB_WRITES], name="outside-logs"
        ),  # a sink named in sseS3AllowedBuckets, written from outside the stack
    ]
    return [
        good_bucket_set(),
        alb + [rule],
        kcl,
        [template, from_template, subnet, in_subnet],
        [source, replica],
        [bare_template, *account, *good_bucket_set("covered", pab=None)],
        log_sinks,
    ]


def set_variants(sets):
    for set_index, resources in enumerate(sets):
        for member_index, member in enumerate(resources):
            for variant_index, inputs in enumerate(variants(member["inputs"])):
                changed = copy.deepcopy(resources)
                changed[member_index]["inputs"] = inputs
                yield renamed(changed, f"-{set_index}-{member_index}-{variant_index}")


def test_no_resource_rule_crashes_on_any_unknown(pack):
    """Every policy enabled (prod config); each resource analysed with one value unknown at a time: no crash, and
    no real violation the resource does not already have with every value known (a test resource may lack what
    only the program adds, such as protect)."""
    singles = [renamed([r], f"-{index}")[0] for index, r in enumerate(single_resources())]
    variants_of = {r["urn"]: list(set_variants([[r]])) for r in singles}
    batch = [r for variants in variants_of.values() for (r,) in variants]
    assert len(batch) > 300
    pack.configure(PROD_CONFIG)
    known, _ = pack.analyze_resources(singles)
    violations, _ = pack.analyze_resources(batch)  # raises PolicyPackError if a policy crashed
    assert any("during preview" in v["message"] for v in violations)
    original = {variant["urn"]: urn for urn, variants in variants_of.items() for (variant,) in variants}
    already = {(v["policy"], v["urn"]) for v in known}
    added = [
        f"{v['policy']} on {v['urn']}: {v['message']}"
        for v in violations
        if "during preview" not in v["message"] and (v["policy"], original[v["urn"]]) not in already
    ]
    assert not added, "\n".join(added)


@pytest.mark.parametrize("index", range(len(linked_sets())))
def test_no_stack_rule_crashes_on_any_unknown(pack, index):
    """The stack rules over each compliant linked set with one value unknown at a time (one stack per set, so an
    account-wide setting in one set cannot hide a problem in another)."""
    batch = [r for resources in set_variants([linked_sets()[index]]) for r in resources]
    pack.configure(PROD_CONFIG)
    violations, _ = pack.analyze_stack(batch)  # raises PolicyPackError if a policy crashed
    # the batch holds dozens of renamed copies of one set: a real overrun of the monthly budget, not an unknown
    mandatory = [
        f"{v['policy']}: {v['message'].splitlines()[-1]}"
        for v in violations
        if v["enforcementLevel"] == "mandatory" and v["policy"] != "stack-limit-monthly-cost"
    ]
    assert not mandatory, "unknowns never become violations"


def test_sentinel_in_secret_and_bucket_policy_json(pack):
    bucket = good_bucket_set("data")[0]
    text = tls_only_policy("snowplow-test-data").replace("false", UNKNOWN_STRING)
    policy = child_of(bucket, BUCKET_POLICY, "data-policy", {"bucket": "x", "policy": text})
    assert_survives_unknowns(pack, "s3-bucket-require-tls-only-policy", good_bucket_set("data", policy=policy))
