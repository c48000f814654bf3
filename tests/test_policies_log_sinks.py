"""Which AES256 (SSE-S3) buckets the two S3 encryption rules accept as log sinks (policies/snowplow_log_sinks.py):
every way a load balancer or bucket can name its log bucket, every spelling of a bucket policy or ACL that lets an
SSE-S3-only log service write, and values decided only at deploy time. Both rules must decide alike."""

import pytest

from tests.policy_helpers import (
    BUCKET,
    BUCKET_LOGGING,
    BUCKET_POLICY,
    LB,
    PROD_CONFIG,
    SSE,
    TAGS,
    UNKNOWN_BOOL,
    UNKNOWN_OBJECT,
    UNKNOWN_STRING,
    child_of,
    pack,  # noqa: F401  (session fixture)
    policy_document,
    real_findings,
    resource,
    run,
    shared_pack,
)

BUCKET_RULE, CONFIG_RULE = "s3-bucket-require-sse-kms", "s3-sse-configuration-require-kms"
CLASSIC_ELB = "aws:elb/loadBalancer:LoadBalancer"
ACL = "aws:s3/bucketAclV2:BucketAclV2"
SSE_S3_ONLY = (
    "SSE-S3 is accepted only where AWS requires it: buckets that receive Application or Classic Load Balancer logs or "
    "S3 server access logs"
)
NO_WRITER = (
    "no Application or Classic Load Balancer in this stack writes its logs there, no bucket logs its server access "
    "there, and its name matches no sseS3AllowedBuckets pattern"
)
NAMED_BUT_CLOSED = (
    "its name matches sseS3AllowedBuckets, but nothing lets an SSE-S3-only log service write to it: no bucket policy "
    "statement allows s3:PutObject to logdelivery.elasticloadbalancing.amazonaws.com, logging.s3.amazonaws.com or a "
    "regional Elastic Load Balancing account, and no ACL gives the LogDelivery group WRITE"
)
ELB_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"


def aes_bucket(physical="snowplow-test-elb", name="logs", **inputs):
    """A bucket and its AES256 default-encryption configuration."""
    bucket = resource(BUCKET, name, {"bucket": physical, "tags": TAGS, **inputs})
    rules = [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]
    return [bucket, child_of(bucket, SSE, f"{name}-sse", {"bucket": "x", "rules": rules})]


def writer(logs, type_=LB, prop="accessLogs", block=None, linked=True, name="collector-lb", **inputs):
    """A load balancer whose `prop` block names the bucket of `logs` (by dependency, or by physical name only)."""
    block = {"bucket": logs[0]["inputs"]["bucket"], "enabled": True} if block is None else block
    links = {"deps": [logs[0]], "prop_deps": {prop: [logs[0]]}} if linked else {}
    return resource(type_, name, {prop: block, "tags": TAGS, **inputs}, **links)


def verdicts(resources, config=PROD_CONFIG) -> dict:
    """{rule: [(urn, the rule's message)]} of both S3 encryption rules."""
    report = run(shared_pack(), resources, config)
    return {
        rule: [(v["urn"], v["message"].splitlines()[-1]) for v in real_findings(report, rule)]
        for rule in (BUCKET_RULE, CONFIG_RULE)
    }


def assert_accepted(resources, config=PROD_CONFIG):
    """Neither rule flags the AES256 bucket and configuration (the first two resources): a log sink (or one left to
    deploy time)."""
    judged = {r["urn"] for r in resources[:2]}
    found = verdicts(resources, config)
    assert {rule: [f for f in found[rule] if f[0] in judged] for rule in found} == {BUCKET_RULE: [], CONFIG_RULE: []}


def assert_rejected(resources, why, config=PROD_CONFIG):
    """Both rules flag the bucket and its configuration, saying `why` it is no log sink."""
    bucket, sse = resources[0], resources[1]
    found = verdicts(resources, config)
    assert found[BUCKET_RULE] == [
        (
            bucket["urn"],
            f"S3 bucket '{bucket['name']}' is not encrypted with SSE-KMS: it is encrypted with ['AES256'] only; "
            f"{SSE_S3_ONLY}, and {why}. Add aws.s3.BucketServerSideEncryptionConfiguration(bucket=<bucket>.id, "
            "rules=[{apply_server_side_encryption_by_default: {sse_algorithm: 'aws:kms', kms_master_key_id: <key "
            "arn>}, bucket_key_enabled: True}]).",
        )
    ]
    assert found[CONFIG_RULE] == [(sse["urn"], configuration_message(sse["name"], why))]


def configuration_message(name, why):
    return (
        f"S3 encryption configuration '{name}' uses sse_algorithm 'AES256' (SSE-S3), but {SSE_S3_ONLY}, and {why}. "
        "Set sse_algorithm='aws:kms' with kms_master_key_id=<customer-managed key ARN> (if a load balancer or bucket "
        "outside this stack logs into it, name it in sseS3AllowedBuckets and let that service write through its "
        "bucket policy)."
    )


# --- Writers in the stack ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda logs: writer(logs),
        lambda logs: writer(logs, linked=False),
        lambda logs: writer(logs, loadBalancerType="application"),
        lambda logs: writer(logs, loadBalancerType=UNKNOWN_STRING),  # maybe application: decided at deploy time
        lambda logs: writer(logs, type_="aws:alb/loadBalancer:LoadBalancer", prop="connectionLogs"),
        lambda logs: writer(logs, prop="healthCheckLogs", linked=False),
        lambda logs: writer(logs, type_=CLASSIC_ELB, block={"bucket": logs[0]["inputs"]["bucket"]}),
        lambda logs: writer(logs, block={"bucket": logs[0]["inputs"]["bucket"], "enabled": "true"}),
        lambda logs: writer(logs, block={"bucket": logs[0]["inputs"]["bucket"], "enabled": UNKNOWN_BOOL}),
        lambda logs: child_of(
            logs[0], BUCKET_LOGGING, "lake-logging", {"bucket": "lake", "targetBucket": "x"}, prop="targetBucket"
        ),
        lambda logs: resource(BUCKET, "lake", {"bucket": "lake", "logging": {"targetBucket": "snowplow-test-elb"}}),
    ],
    ids=[
        "alb-by-dependency",
        "alb-by-name",
        "alb-declared",
        "lb-type-unknown",
        "alb-alias-connection-logs",
        "health-check-logs-by-name",
        "classic-elb-on-by-default",
        "enabled-as-text",
        "enabled-unknown",
        "server-access-logs",
        "inline-server-access-logs-by-name",
    ],
)
def test_a_bucket_an_sse_s3_only_service_writes_to_may_use_sse_s3(pack, make):
    logs = aes_bucket()
    assert_accepted([*logs, make(logs)])


@pytest.mark.parametrize(
    "block",
    [
        {"bucket": "snowplow-test-elb", "enabled": False},
        {"bucket": "snowplow-test-elb", "enabled": "false"},
        {"bucket": "snowplow-test-elb"},  # an aws.lb access_logs block is off unless enabled
    ],
    ids=["disabled", "disabled-as-text", "not-enabled"],
)
def test_a_switched_off_log_block_makes_no_sink(pack, block):
    logs = aes_bucket()
    assert_rejected([*logs, writer(logs, block=block)], NO_WRITER)
    if "enabled" in block:  # a classic ELB's block is on unless switched off
        assert_rejected([*logs, writer(logs, type_=CLASSIC_ELB, block=block)], NO_WRITER)


def test_a_network_load_balancer_is_named_as_a_writer_that_could_use_kms(pack):
    logs = aes_bucket()
    nlb = writer(logs, loadBalancerType="network", name="nlb")
    kms_capable = (
        f"{NO_WRITER}; it receives access logs of network load balancer 'nlb', which AWS also writes to SSE-KMS "
        "buckets (let delivery.logs.amazonaws.com use a customer-managed key)"
    )
    assert_rejected([*logs, nlb], kms_capable)
    assert_rejected([*logs, writer(logs, loadBalancerType="network", name="nlb", linked=False)], kms_capable)
    assert_accepted([*logs, nlb, writer(logs)])  # an ALB writing there too makes it a sink


def test_a_bucket_logging_into_another_is_not_a_sink_itself(pack):
    target = aes_bucket()
    lake = aes_bucket("snowplow-test-lake", name="lake", logging={"targetBucket": "snowplow-test-elb"})
    lake[0]["dependencies"] = [target[0]["urn"]]
    lake[0]["propertyDependencies"] = {"logging": [target[0]["urn"]]}
    found = verdicts([*target, *lake])
    assert [urn for urn, _ in found[BUCKET_RULE]] == [lake[0]["urn"]]
    assert [urn for urn, _ in found[CONFIG_RULE]] == [lake[1]["urn"]]


# --- Values decided at deploy time -------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda logs: writer(logs, block=UNKNOWN_OBJECT, linked=False),
        lambda logs: writer(logs, block={"bucket": UNKNOWN_STRING, "enabled": True}, linked=False),
        lambda logs: resource(BUCKET_LOGGING, "lake-logging", {"bucket": "lake", "targetBucket": UNKNOWN_STRING}),
    ],
    ids=["log-block", "bucket-name", "server-access-log-target"],
)
def test_an_sse_s3_only_writer_whose_bucket_is_unknown_leaves_every_aes256_bucket_to_deploy_time(pack, make):
    logs = aes_bucket("snowplow-test-lake", name="lake")
    assert_accepted([*logs, make(logs)])
    outside = resource(SSE, "ext-sse", {"bucket": "org-lake", "rules": logs[1]["inputs"]["rules"]})
    assert_accepted([outside, make(logs)])


def test_a_network_load_balancer_whose_bucket_is_unknown_changes_nothing(pack):
    logs = aes_bucket("snowplow-test-lake", name="lake")
    nlb = writer(logs, block={"bucket": UNKNOWN_STRING, "enabled": True}, linked=False, loadBalancerType="network")
    assert_rejected([*logs, nlb], NO_WRITER)


def test_an_unknown_bucket_name_or_policy_is_judged_at_deploy_time(pack):
    """A bucket whose name is unknown may be the one a writer names outside the stack, or match a name pattern."""
    logs = aes_bucket(UNKNOWN_STRING)
    elsewhere = writer(aes_bucket("org-alb-logs"), linked=False)
    assert_accepted([*logs, elsewhere])
    granted = aes_bucket(UNKNOWN_STRING, policy=policy_document(put_logs()))
    assert_accepted(granted)
    assert_rejected(logs, NO_WRITER)  # nothing writes anywhere: no name would make it a sink
    unknown_policy = aes_bucket("snowplow-test-alb-logs", policy=UNKNOWN_STRING)
    assert_accepted(unknown_policy)


# --- Sinks written from outside the stack: name and permission -----------------------------------


def put_logs(principal=None, action="s3:PutObject", effect="Allow"):
    return {
        "Effect": effect,
        "Principal": {"Service": ELB_SERVICE} if principal is None else principal,
        "Action": action,
        "Resource": "arn:aws:s3:::snowplow-test-alb-logs/*",
    }


@pytest.mark.parametrize(
    "statement",
    [
        put_logs(),
        put_logs({"Service": ["ec2.amazonaws.com", "LogDelivery.ElasticLoadBalancing.amazonaws.com"]}),
        put_logs({"Service": "logging.s3.amazonaws.com"}, action=["s3:GetObject", "s3:Put*"]),
        put_logs(action="s3:*"),
        put_logs(action="*"),
        put_logs({"AWS": "156460612806"}),  # eu-west-1's Elastic Load Balancing account
        put_logs({"AWS": "arn:aws:iam::127311923021:root"}),  # us-east-1
        put_logs({"AWS": ["arn:aws:iam::111122223333:root", " arn:aws-us-gov:iam::048591011584:root "]}),
        put_logs({"AWS": "arn:aws-cn:iam::638102146993:root"}),  # cn-north-1
    ],
    ids=[
        "elb-service",
        "service-list-any-case",
        "s3-logging-wildcard-action",
        "s3-star",
        "star",
        "elb-account-id",
        "elb-account-root",
        "govcloud-account-in-a-list",
        "china-account",
    ],
)
def test_a_log_named_bucket_that_lets_a_log_service_write_is_a_sink(pack, statement):
    grant = policy_document(put_logs(effect="Deny", action="s3:DeleteObject"), statement)
    logs = aes_bucket("snowplow-test-alb-logs")
    policy = child_of(logs[0], BUCKET_POLICY, "logs-policy", {"bucket": "x", "policy": grant})
    assert_accepted([*logs, policy])
    assert_accepted(aes_bucket("snowplow-test-alb-logs", policy=grant))  # the bucket's own policy


@pytest.mark.parametrize(
    "statement",
    [
        put_logs(effect="Deny"),
        put_logs(action="s3:GetObject"),
        put_logs("*"),
        put_logs({"AWS": "*"}),
        put_logs({"Service": "delivery.logs.amazonaws.com"}),
        put_logs({"AWS": "arn:aws:iam::444455556666:root"}),
        put_logs({"AWS": "arn:aws:iam::156460612806:user/elb"}),
        put_logs({"AWS": "1564606128060"}),
    ],
    ids=[
        "deny",
        "read",
        "anyone",
        "any-account",
        "kms-capable-service",
        "other-account",
        "elb-account-user",
        "13-digits",
    ],
)
def test_a_log_named_bucket_no_sse_s3_only_service_may_write_to_is_no_sink(pack, statement):
    logs = aes_bucket("snowplow-test-alb-logs")
    policy = child_of(logs[0], BUCKET_POLICY, "logs-policy", {"bucket": "x", "policy": policy_document(statement)})
    assert_rejected([*logs, policy], NAMED_BUT_CLOSED)


LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"


@pytest.mark.parametrize(
    "acl",
    [
        {"acl": "log-delivery-write"},
        {
            "accessControlPolicy": {
                "grants": [{"grantee": {"type": "Group", "uri": LOG_DELIVERY}, "permission": "WRITE"}]
            }
        },
        {"accessControlPolicy": {"grants": [{"grantee": {"uri": LOG_DELIVERY}, "permission": "full_control"}]}},
    ],
    ids=["canned", "write-grant", "full-control-grant"],
)
def test_a_log_named_bucket_whose_acl_lets_log_delivery_write_is_a_sink(pack, acl):
    logs = aes_bucket("snowplow-test-alb-logs")
    assert_accepted([*logs, child_of(logs[0], ACL, "logs-acl", {"bucket": "x", **acl})])
    inline = aes_bucket(
        "snowplow-test-alb-logs", grants=[{"type": "Group", "uri": LOG_DELIVERY, "permissions": ["READ_ACP", "WRITE"]}]
    )
    assert_accepted(inline)


@pytest.mark.parametrize(
    "acl",
    [
        {"acl": "private"},
        {"accessControlPolicy": {"grants": [{"grantee": {"uri": LOG_DELIVERY}, "permission": "READ_ACP"}]}},
        {
            "accessControlPolicy": {
                "grants": [
                    {"grantee": {"uri": "http://acs.amazonaws.com/groups/global/AllUsers"}, "permission": "WRITE"}
                ]
            }
        },
    ],
    ids=["private", "read-acp-only", "write-for-someone-else"],
)
def test_an_acl_that_gives_log_delivery_no_write_makes_no_sink(pack, acl):
    logs = aes_bucket("snowplow-test-alb-logs")
    assert_rejected([*logs, child_of(logs[0], ACL, "logs-acl", {"bucket": "x", **acl})], NAMED_BUT_CLOSED)


def test_the_name_patterns_are_configurable(pack):
    logs = aes_bucket("acme-elb-logs", policy=policy_document(put_logs()))
    assert_rejected(logs, NO_WRITER)
    config = {rule: {"sseS3AllowedBuckets": ["ACME-*-logs"]} for rule in (BUCKET_RULE, CONFIG_RULE)}
    assert_accepted(logs, config)


# --- Configurations of buckets outside the stack -------------------------------------------------


def outside_configuration(name="org-lake"):
    rules = [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]
    return resource(SSE, "ext-sse", {"bucket": name, "rules": rules})


def test_a_configuration_of_an_outside_bucket_is_judged_by_its_writers_and_name(pack):
    lake = outside_configuration()
    assert verdicts([lake])[CONFIG_RULE] == [(lake["urn"], configuration_message("ext-sse", NO_WRITER))]
    alb = resource(LB, "alb", {"accessLogs": {"bucket": "org-lake", "enabled": True}, "tags": TAGS})
    assert verdicts([lake, alb])[CONFIG_RULE] == []
    nlb = resource(LB, "nlb", {"loadBalancerType": "network", "accessLogs": {"bucket": "org-lake", "enabled": True}})
    kms_capable = (
        f"{NO_WRITER}; it receives access logs of network load balancer 'nlb', which AWS also writes to SSE-KMS "
        "buckets (let delivery.logs.amazonaws.com use a customer-managed key)"
    )
    assert verdicts([lake, nlb])[CONFIG_RULE] == [(lake["urn"], configuration_message("ext-sse", kms_capable))]
    assert verdicts([outside_configuration("org-alb-logs")])[CONFIG_RULE] == []
    assert verdicts([outside_configuration(UNKNOWN_STRING)])[CONFIG_RULE] == []


def test_server_access_logs_make_only_their_target_a_sink(pack):
    target = aes_bucket()
    other = aes_bucket("snowplow-test-other", name="other")
    lake = resource(BUCKET, "lake", {"bucket": "lake", "logging": {"targetBucket": "snowplow-test-elb"}})
    found = verdicts([*target, *other, lake])
    assert {urn for urn, _ in found[BUCKET_RULE]} == {other[0]["urn"], lake["urn"]}  # lake: no encryption at all
    assert found[CONFIG_RULE] == [(other[1]["urn"], configuration_message("other-sse", NO_WRITER))]
