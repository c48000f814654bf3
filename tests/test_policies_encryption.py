"""Encryption rules: one violating and one compliant case each, driven through the gRPC driver."""

import json

import pytest

from tests.policy_helpers import (
    BUCKET,
    BUCKET_LOGGING,
    BUCKET_POLICY,
    INSTANCE,
    KEY_ARN,
    LB,
    LISTENER,
    NAMESPACE,
    OPENSEARCH,
    PROD_CONFIG,
    QUEUE,
    RDS_CLUSTER,
    REDSHIFT,
    SECRET,
    SSE,
    TAGS,
    TOPIC,
    VOLUME,
    assert_passes,
    assert_violates,
    child_of,
    findings,
    good_alb_set,
    good_bucket_set,
    good_key,
    good_launch_template,
    good_log_group,
    good_rds,
    good_stream,
    good_table,
    pack,  # noqa: F401  (session fixture)
    resource,
    run,
    tls_only_policy,
    urn,
)

CLASSIC_ELB = "aws:elb/loadBalancer:LoadBalancer"
ATHENA_WORKGROUP = "aws:athena/workgroup:Workgroup"


def athena_workgroup(encryption=None, **configuration):
    """An Athena workgroup that enforces its settings and writes results with `encryption` (default SSE_KMS)."""
    encryption = {"encryptionOption": "SSE_KMS", "kmsKeyArn": KEY_ARN} if encryption is None else encryption
    result = {"outputLocation": "s3://results/", "encryptionConfiguration": encryption}
    config = {"enforceWorkgroupConfiguration": True, "resultConfiguration": result, **configuration}
    return resource(ATHENA_WORKGROUP, "analysis", {"name": "analysis", "configuration": config, "tags": TAGS})


def sse_config(bucket, algorithm="aws:kms", key=KEY_ARN, name="data-sse"):
    default = {"sseAlgorithm": algorithm}
    if key:
        default["kmsMasterKeyId"] = key
    return child_of(bucket, SSE, name, {"bucket": "x", "rules": [{"applyServerSideEncryptionByDefault": default}]})


def bucket_with(**overrides):
    return good_bucket_set("data", **overrides)


def aes_bucket():
    bucket = good_bucket_set("data")[0]
    return bucket_with(sse=sse_config(bucket, "AES256", key=None))


# --- S3 stack rule ---------------------------------------------------------------------------


def test_bucket_without_sse_configuration_violates(pack):
    assert_violates(pack, "s3-bucket-require-sse-kms", bucket_with(sse=None), urn=urn(BUCKET, "data"))


def test_bucket_with_aes256_only_violates(pack):
    assert_violates(pack, "s3-bucket-require-sse-kms", aes_bucket(), contains="AES256")


def test_bucket_with_kms_configuration_passes(pack):
    assert_passes(pack, "s3-bucket-require-sse-kms", bucket_with())


def test_bucket_linked_by_name_only_passes(pack):
    """Without dependency data the SSE config is matched through its `bucket` physical name."""
    resources = bucket_with()
    resources[1] = resource(SSE, "data-sse", {**resources[1]["inputs"], "bucket": "snowplow-test-data"})
    assert_passes(pack, "s3-bucket-require-sse-kms", resources)


def test_bucket_sse_for_another_bucket_does_not_count(pack):
    other = good_bucket_set("other")
    data = bucket_with(sse=None)
    assert_violates(pack, "s3-bucket-require-sse-kms", data + other, urn=urn(BUCKET, "data"))


def test_deprecated_inline_kms_encryption_passes(pack):
    inline = {"rule": {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}}
    resources = bucket_with(sse=None)
    resources[0]["inputs"]["serverSideEncryptionConfiguration"] = inline
    assert_passes(pack, "s3-bucket-require-sse-kms", resources)


# --- S3 SSE resource rule --------------------------------------------------------------------


def test_sse_configuration_aes256_violates(pack):
    assert_violates(pack, "s3-sse-configuration-require-kms", aes_bucket(), contains="AES256")


def test_sse_configuration_kms_passes(pack):
    assert_passes(pack, "s3-sse-configuration-require-kms", bucket_with())


def test_sse_configuration_aws_managed_key_violates_in_prod(pack):
    bucket = good_bucket_set("data")[0]
    resources = bucket_with(sse=sse_config(bucket, key="alias/aws/s3"))
    assert_passes(pack, "s3-sse-configuration-require-kms", resources)
    assert_violates(pack, "s3-sse-configuration-require-kms", resources, config=PROD_CONFIG, contains="alias/aws/s3")


# --- Resource rules: (policy, violating resource, compliant resource) -------------------------


def good_domain(**inputs):
    """A search domain encrypted at rest with the stack key and in transit with TLS 1.2."""
    return resource(
        OPENSEARCH,
        "search",
        {
            "encryptAtRest": {"enabled": True, "kmsKeyId": KEY_ARN},
            "nodeToNodeEncryption": {"enabled": True},
            "domainEndpointOptions": {"enforceHttps": True, "tlsSecurityPolicy": "Policy-Min-TLS-1-2-2019-07"},
            "tags": TAGS,
            **inputs,
        },
    )


CASES = {
    "kinesis-stream-require-kms": (
        good_stream(encryptionType="NONE", kmsKeyId=None),
        good_stream(),
    ),
    "dynamodb-table-require-sse": (
        good_table(serverSideEncryption={"enabled": False}),
        good_table(),
    ),
    "rds-database-require-storage-encryption": (
        good_rds(storageEncrypted=False),
        good_rds(),
    ),
    "redshift-cluster-require-encryption": (
        resource(REDSHIFT, "rs", {"nodeType": "ra3.large", "encrypted": "false", "tags": TAGS}),
        resource(REDSHIFT, "rs", {"nodeType": "ra3.large", "encrypted": "true", "kmsKeyId": KEY_ARN, "tags": TAGS}),
    ),
    "redshift-serverless-namespace-require-kms": (
        resource(NAMESPACE, "ns", {"namespaceName": "snowplow", "tags": TAGS}),
        resource(NAMESPACE, "ns", {"namespaceName": "snowplow", "kmsKeyId": KEY_ARN, "tags": TAGS}),
    ),
    "opensearch-domain-require-encryption": (
        resource(OPENSEARCH, "search", {"encryptAtRest": {"enabled": False}, "tags": TAGS}),
        good_domain(),
    ),
    "opensearch-domain-require-tls": (
        resource(OPENSEARCH, "search", {"encryptAtRest": {"enabled": True, "kmsKeyId": KEY_ARN}, "tags": TAGS}),
        good_domain(),
    ),
    "ec2-launch-template-require-ebs-encryption": (
        good_launch_template(blockDeviceMappings=[{"deviceName": "/dev/xvda", "ebs": {"encrypted": "false"}}]),
        good_launch_template(),
    ),
    "ec2-instance-require-ebs-encryption": (
        resource(
            INSTANCE, "box", {"rootBlockDevice": {"encrypted": True}, "ebsBlockDevices": [{"deviceName": "/dev/sdf"}]}
        ),
        resource(
            INSTANCE,
            "box",
            {
                "rootBlockDevice": {"encrypted": True, "kmsKeyId": KEY_ARN},
                "ebsBlockDevices": [{"deviceName": "/dev/sdf", "encrypted": True, "kmsKeyId": KEY_ARN}],
            },
        ),
    ),
    "ebs-volume-require-encryption": (
        resource(VOLUME, "vol", {"size": 10, "tags": TAGS}),
        resource(VOLUME, "vol", {"size": 10, "encrypted": True, "kmsKeyId": KEY_ARN, "tags": TAGS}),
    ),
    "sqs-queue-require-encryption": (
        resource(QUEUE, "rs-loader", {"fifoQueue": True, "sqsManagedSseEnabled": False, "tags": TAGS}),
        resource(QUEUE, "rs-loader", {"fifoQueue": True, "kmsMasterKeyId": KEY_ARN, "tags": TAGS}),
    ),
    "sns-topic-require-kms": (
        resource(TOPIC, "alerts", {"tags": TAGS}),
        resource(TOPIC, "alerts", {"kmsMasterKeyId": KEY_ARN, "tags": TAGS}),
    ),
    "cloudwatch-log-group-require-kms": (
        good_log_group(kmsKeyId=None),
        good_log_group(),
    ),
    "athena-workgroup-require-encrypted-results": (
        athena_workgroup(encryption={"encryptionOption": "SSE_S3"}),
        athena_workgroup(),
    ),
    "secretsmanager-secret-require-cmk": (
        resource(SECRET, "iglu-api-key", {"kmsKeyId": "alias/aws/secretsmanager", "tags": TAGS}),
        resource(SECRET, "iglu-api-key", {"kmsKeyId": KEY_ARN, "tags": TAGS}),
    ),
    "kms-key-require-rotation": (
        good_key(enableKeyRotation=False),
        good_key(),
    ),
    "lb-listener-require-modern-tls": (
        resource(
            LISTENER, "https", {"protocol": "HTTPS", "port": 443, "sslPolicy": "ELBSecurityPolicy-TLS-1-2-2017-01"}
        ),
        good_alb_set()[3],
    ),
    "lb-listener-require-https-redirect": (
        resource(
            LISTENER,
            "http",
            {"protocol": "HTTP", "port": 80, "defaultActions": [{"type": "forward", "targetGroupArn": "arn"}]},
        ),
        good_alb_set()[4],
    ),
}


@pytest.mark.parametrize("policy", sorted(CASES))
def test_rule_flags_violating_resource(pack, policy):
    violating, _ = CASES[policy]
    found = assert_violates(pack, policy, [violating], urn=violating["urn"])
    assert f"'{violating['name']}'" in found[0]["message"], "messages name the resource"


@pytest.mark.parametrize("policy", sorted(CASES))
def test_rule_accepts_compliant_resource(pack, policy):
    _, compliant = CASES[policy]
    assert_passes(pack, policy, [compliant], config=PROD_CONFIG)


# --- Edge cases ------------------------------------------------------------------------------


def test_kinesis_aws_managed_key_ok_in_dev_not_in_prod(pack):
    stream = good_stream(kmsKeyId="alias/aws/kinesis")
    assert_passes(pack, "kinesis-stream-require-kms", [stream])
    assert_violates(pack, "kinesis-stream-require-kms", [stream], config=PROD_CONFIG, contains="customer-managed")


def test_sqs_managed_sse_is_enough_by_default(pack):
    queue = resource(QUEUE, "q", {"sqsManagedSseEnabled": True, "tags": TAGS})
    assert_passes(pack, "sqs-queue-require-encryption", [queue])
    assert_violates(pack, "sqs-queue-require-encryption", [queue], config=PROD_CONFIG)


def test_secret_without_key_uses_aws_managed_key(pack):
    assert_violates(pack, "secretsmanager-secret-require-cmk", [resource(SECRET, "s", {"tags": TAGS})])


def test_asymmetric_key_needs_no_rotation(pack):
    key = good_key(enableKeyRotation=False, customerMasterKeySpec="RSA_2048", keyUsage="SIGN_VERIFY")
    assert_passes(pack, "kms-key-require-rotation", [key])


def test_key_rotation_period_bounded(pack):
    assert_violates(pack, "kms-key-require-rotation", [good_key(rotationPeriodInDays=2560)], contains="2560")


def test_aurora_cluster_storage_encryption(pack):
    cluster = resource(RDS_CLUSTER, "aurora", {"engine": "aurora-postgresql", "tags": TAGS})
    assert_violates(pack, "rds-database-require-storage-encryption", [cluster])
    cluster["inputs"]["storageEncrypted"] = True
    assert_passes(pack, "rds-database-require-storage-encryption", [cluster])


def test_launch_template_without_block_devices_violates(pack):
    template = good_launch_template()
    del template["inputs"]["blockDeviceMappings"]
    assert_violates(pack, "ec2-launch-template-require-ebs-encryption", [template], contains="root volume")


def test_log_group_kms_can_be_switched_off(pack):
    config = {"cloudwatch-log-group-require-kms": {"requireKms": False}}
    assert_passes(pack, "cloudwatch-log-group-require-kms", [good_log_group(kmsKeyId=None)], config=config)


def test_http_listener_may_forward_when_allowed(pack):
    listener = CASES["lb-listener-require-https-redirect"][0]
    config = {"lb-listener-require-https-redirect": {"allowPlainHttp": True}}
    assert_passes(pack, "lb-listener-require-https-redirect", [listener], config=config)


def test_https_listener_without_policy_violates(pack):
    listener = resource(LISTENER, "https", {"protocol": "HTTPS", "port": 443})
    assert_violates(
        pack, "lb-listener-require-modern-tls", [listener], contains="ELBSecurityPolicy-2016-08 (the default)"
    )


def test_redirect_with_extra_action_violates(pack):
    listener = good_alb_set()[4]
    listener["inputs"]["defaultActions"].append({"type": "forward", "targetGroupArn": "arn"})
    assert_violates(pack, "lb-listener-require-https-redirect", [listener])


def test_opensearch_old_tls_policy_violates(pack):
    domain = good_domain(
        domainEndpointOptions={"enforceHttps": True, "tlsSecurityPolicy": "Policy-Min-TLS-1-0-2019-07"}
    )
    assert_violates(pack, "opensearch-domain-require-tls", [domain], contains="Policy-Min-TLS-1-0-2019-07")


# --- SSE-S3 log sinks ------------------------------------------------------------------------
# AWS writes ALB access/connection/health check logs, classic ELB access logs and S3 server access logs only to
# SSE-S3 buckets; NLB access logs also to SSE-KMS ones. Both S3 rules decide the same way (policies/RULES.md).

SSE_RULES = ("s3-bucket-require-sse-kms", "s3-sse-configuration-require-kms")
ELB_WRITES = {
    "Effect": "Allow",
    "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
    "Action": "s3:PutObject",
    "Resource": "arn:aws:s3:::{name}/collector/AWSLogs/111122223333/*",
}


def log_bucket_set(physical="snowplow-test-alb-logs-111122223333", grants=(), name="collector-access-logs"):
    """A bucket encrypted with AES256 (public access block, versioning, a TLS-only policy plus `grants`)."""
    bucket, _, pab, _, versioning = good_bucket_set(name)
    bucket["inputs"]["bucket"] = physical
    policy = json.loads(tls_only_policy(physical))
    policy["Statement"] += [json.loads(json.dumps(g).replace("{name}", physical)) for g in grants]
    sse = sse_config(bucket, "AES256", key=None, name=f"{name}-sse")
    sse["inputs"]["bucket"] = physical
    bucket_policy = child_of(
        bucket, BUCKET_POLICY, f"{name}-policy", {"bucket": physical, "policy": json.dumps(policy)}
    )
    return [bucket, pab, versioning, sse, bucket_policy]


def load_balancer(logs, type_=LB, prop="accessLogs", linked=True, **inputs):
    """A load balancer whose `prop` log block names the bucket of `logs` (by dependency, or by name only)."""
    block = {"bucket": logs[0]["inputs"]["bucket"], "enabled": True}
    links = {"deps": [logs[0]], "prop_deps": {prop: [logs[0]]}} if linked else {}
    return resource(type_, "collector-alb", {prop: block, "tags": TAGS, **inputs}, **links)


def assert_sse_s3_accepted(pack, resources):
    """Neither rule flags the log bucket (the first resource) or its encryption configuration."""
    judged = {resources[0]["urn"], next(r for r in resources if r["type"] == SSE)["urn"]}
    report = run(pack, resources, PROD_CONFIG)
    for policy in SSE_RULES:
        assert not [v for v in findings(report, policy) if v["urn"] in judged], findings(report, policy)


def assert_sse_s3_rejected(pack, resources, contains=None, config=PROD_CONFIG):
    bucket, sse = resources[0], next(r for r in resources if r["type"] == SSE)
    assert_violates(pack, "s3-bucket-require-sse-kms", resources, config, urn=bucket["urn"], contains=contains)
    assert_violates(pack, "s3-sse-configuration-require-kms", resources, config, urn=sse["urn"], contains=contains)


def test_alb_log_bucket_named_freely_passes_both_rules(pack):
    logs = log_bucket_set("snowplow-test-elb")  # outside the name globs, no log-delivery grant
    assert_sse_s3_accepted(pack, [*logs, load_balancer(logs, loadBalancerType="application")])
    assert_sse_s3_accepted(pack, [*logs, load_balancer(logs, linked=False)])  # by the bucket's physical name
    assert_sse_s3_accepted(pack, [*logs, load_balancer(logs, type_="aws:alb/loadBalancer:LoadBalancer")])
    assert_sse_s3_rejected(pack, logs, contains="no Application or Classic Load Balancer in this stack")


@pytest.mark.parametrize("prop", ["connectionLogs", "healthCheckLogs"])
def test_alb_connection_and_health_check_log_buckets_pass(pack, prop):
    logs = log_bucket_set("snowplow-test-elb")
    assert_sse_s3_accepted(pack, [*logs, load_balancer(logs, prop=prop)])


def test_classic_elb_log_bucket_passes(pack):
    logs = log_bucket_set("snowplow-test-elb")
    elb = resource(
        CLASSIC_ELB,
        "legacy-elb",
        {"accessLogs": {"bucket": "snowplow-test-elb"}, "tags": TAGS},  # enabled by default
    )
    assert_sse_s3_accepted(pack, [*logs, elb])


def test_disabled_log_block_makes_no_sink(pack):
    logs = log_bucket_set("snowplow-test-elb")
    alb = load_balancer(logs)
    alb["inputs"]["accessLogs"]["enabled"] = False
    assert_sse_s3_rejected(pack, [*logs, alb])
    del alb["inputs"]["accessLogs"]["enabled"]  # aws.lb access_logs default to off even with a bucket
    assert_sse_s3_rejected(pack, [*logs, alb])


def test_network_load_balancer_log_bucket_needs_kms(pack):
    """NLB access logs can be written to SSE-KMS buckets with a customer-managed key, so SSE-S3 is no exception."""
    logs = log_bucket_set("snowplow-test-nlb-logs")
    nlb = load_balancer(logs, loadBalancerType="network")
    assert_sse_s3_rejected(pack, [*logs, nlb], contains="access logs of network load balancer 'collector-alb'")


@pytest.mark.parametrize(
    "writer",
    [
        lambda target: child_of(
            target,
            BUCKET_LOGGING,
            "lake-logging",
            {"bucket": "snowplow-test-lake", "targetBucket": "x", "targetPrefix": "lake/"},
            prop="targetBucket",
        ),
        lambda target: resource(
            "aws:s3/bucketLoggingV2:BucketLoggingV2",
            "lake-logging",
            {"bucket": "snowplow-test-lake", "targetBucket": target["inputs"]["bucket"]},
        ),
        lambda target: resource(
            BUCKET, "lake", {"bucket": "snowplow-test-lake", "logging": {"targetBucket": target["inputs"]["bucket"]}}
        ),
        lambda target: resource(
            "aws:s3/bucketV2:BucketV2",
            "lake",
            {"bucket": "snowplow-test-lake", "loggings": [{"targetBucket": target["inputs"]["bucket"]}]},
        ),
    ],
    ids=["BucketLogging", "BucketLoggingV2", "Bucket.logging", "BucketV2.loggings"],
)
def test_server_access_log_target_passes(pack, writer):
    logs = log_bucket_set("snowplow-test-s3-logs")
    assert_sse_s3_accepted(pack, [*logs, writer(logs[0])])


def test_log_name_without_log_delivery_grant_is_no_sink(pack):
    """A bucket named like a log sink that no log service may write to is held to SSE-KMS."""
    assert_sse_s3_rejected(pack, log_bucket_set(), contains="its name matches sseS3AllowedBuckets, but nothing lets")


@pytest.mark.parametrize(
    "grant",
    [
        ELB_WRITES,
        {**ELB_WRITES, "Principal": {"AWS": "arn:aws:iam::156460612806:root"}},  # eu-west-1's ELB account
        {**ELB_WRITES, "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": ["s3:Put*"]},
    ],
    ids=["elb-service", "elb-account", "s3-logging"],
)
def test_log_name_with_log_delivery_grant_passes(pack, grant):
    """Sinks written from outside the stack: the name says so and the bucket policy lets the service write."""
    assert_sse_s3_accepted(pack, log_bucket_set(grants=[grant]))


def test_log_name_with_a_kms_capable_or_foreign_writer_is_no_sink(pack):
    nlb_delivery = {**ELB_WRITES, "Principal": {"Service": "delivery.logs.amazonaws.com"}}
    other_account = {**ELB_WRITES, "Principal": {"AWS": "arn:aws:iam::444455556666:root"}}
    read_only = {**ELB_WRITES, "Action": "s3:GetObject"}
    assert_sse_s3_rejected(pack, log_bucket_set(grants=[nlb_delivery, other_account, read_only]))


def test_log_name_with_log_delivery_acl_passes(pack):
    logs = log_bucket_set()
    acl = child_of(logs[0], "aws:s3/bucketAclV2:BucketAclV2", "logs-acl", {"bucket": "x", "acl": "log-delivery-write"})
    assert_sse_s3_accepted(pack, [*logs, acl])


def test_sse_s3_name_exemption_is_configurable(pack):
    config = {name: {"sseS3AllowedBuckets": []} for name in SSE_RULES}
    granted = log_bucket_set(grants=[ELB_WRITES])
    assert_sse_s3_rejected(pack, granted, config=config)
    linked = log_bucket_set("snowplow-test-elb")
    report = run(pack, [*linked, load_balancer(linked)], config)
    assert not {v["policy"] for v in report["violations"]} & set(SSE_RULES)


def test_configuration_for_a_bucket_outside_the_stack_is_judged_by_name(pack):
    outside = sse_config(good_bucket_set("x")[0], "AES256", key=None, name="shared-logs-sse")
    outside = resource(SSE, "shared-logs-sse", {**outside["inputs"], "bucket": "org-alb-logs-eu"})
    assert_passes(pack, "s3-sse-configuration-require-kms", [outside], config=PROD_CONFIG)
    outside["inputs"]["bucket"] = "org-lake-eu"
    assert_violates(pack, "s3-sse-configuration-require-kms", [outside], urn=outside["urn"], contains="AES256")


def test_athena_workgroup_must_enforce_and_name_a_key(pack):
    policy = "athena-workgroup-require-encrypted-results"
    overridable = athena_workgroup(enforceWorkgroupConfiguration=False)
    assert_violates(pack, policy, [overridable], contains="enforce_workgroup_configuration=False")
    keyless = athena_workgroup(encryption={"encryptionOption": "SSE_KMS"})
    assert_violates(pack, policy, [keyless], contains="no KMS key")
    no_results = resource(ATHENA_WORKGROUP, "bare", {"name": "bare", "tags": TAGS})
    assert_violates(pack, policy, [no_results], contains="unencrypted")
    aws_key = athena_workgroup(encryption={"encryptionOption": "SSE_KMS", "kmsKeyArn": "alias/aws/s3"})
    assert_passes(pack, policy, [aws_key])
    assert_violates(pack, policy, [aws_key], config=PROD_CONFIG, contains="customer-managed")


def test_athena_managed_results_need_a_key(pack):
    policy = "athena-workgroup-require-encrypted-results"
    managed = {"enabled": True}
    assert_violates(pack, policy, [athena_workgroup(managedQueryResultsConfiguration=managed)], contains="managed")
    managed["encryptionConfiguration"] = {"kmsKey": KEY_ARN}
    assert_passes(pack, policy, [athena_workgroup(managedQueryResultsConfiguration=managed)])
