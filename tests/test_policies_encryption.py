"""Encryption rules: one violating and one compliant case each, driven through the gRPC driver."""

import pytest

from tests.policy_helpers import (
    BUCKET,
    INSTANCE,
    KEY_ARN,
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
    urn,
)


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
        resource(
            OPENSEARCH,
            "search",
            {
                "encryptAtRest": {"enabled": True, "kmsKeyId": KEY_ARN},
                "nodeToNodeEncryption": {"enabled": True},
                "domainEndpointOptions": {"enforceHttps": True, "tlsSecurityPolicy": "Policy-Min-TLS-1-2-2019-07"},
                "tags": TAGS,
            },
        ),
    ),
    "opensearch-domain-require-tls": (
        resource(OPENSEARCH, "search", {"encryptAtRest": {"enabled": True, "kmsKeyId": KEY_ARN}, "tags": TAGS}),
        resource(
            OPENSEARCH,
            "search",
            {
                "encryptAtRest": {"enabled": True, "kmsKeyId": KEY_ARN},
                "nodeToNodeEncryption": {"enabled": True},
                "domainEndpointOptions": {"enforceHttps": True, "tlsSecurityPolicy": "Policy-Min-TLS-1-2-2019-07"},
                "tags": TAGS,
            },
        ),
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
    domain = CASES["opensearch-domain-require-encryption"][1]
    domain = resource(
        OPENSEARCH,
        "search",
        {
            **domain["inputs"],
            "domainEndpointOptions": {"enforceHttps": True, "tlsSecurityPolicy": "Policy-Min-TLS-1-0-2019-07"},
        },
    )
    assert_violates(pack, "opensearch-domain-require-tls", [domain], contains="Policy-Min-TLS-1-0-2019-07")


# --- SSE-S3 log sinks ------------------------------------------------------------------------


def log_bucket_set(physical="snowplow-test-alb-logs-111122223333"):
    resources = good_bucket_set("collector-access-logs")
    resources[0]["inputs"]["bucket"] = physical
    resources[1] = sse_config(resources[0], "AES256", key=None, name="collector-access-logs-sse")
    resources[1]["inputs"]["bucket"] = physical
    return resources


def test_load_balancer_log_bucket_may_use_sse_s3(pack):
    logs = log_bucket_set("snowplow-test-elb")  # name outside the globs: recognised through the LB link
    lb = resource(
        "aws:lb/loadBalancer:LoadBalancer",
        "collector-alb",
        {"accessLogs": {"bucket": "snowplow-test-elb", "enabled": True}, "tags": TAGS},
        deps=[logs[0]],
        prop_deps={"accessLogs": [logs[0]]},
    )
    assert_passes(pack, "s3-bucket-require-sse-kms", [*logs, lb])
    assert_violates(pack, "s3-bucket-require-sse-kms", logs, urn=logs[0]["urn"])


def test_log_bucket_names_may_use_sse_s3(pack):
    assert_passes(pack, "s3-bucket-require-sse-kms", log_bucket_set())
    assert_passes(pack, "s3-sse-configuration-require-kms", log_bucket_set(), config=PROD_CONFIG)
    assert_violates(pack, "s3-sse-configuration-require-kms", log_bucket_set("snowplow-test-lake"), contains="AES256")


def test_sse_s3_exemption_is_configurable(pack):
    config = {
        name: {"sseS3AllowedBuckets": []} for name in ("s3-bucket-require-sse-kms", "s3-sse-configuration-require-kms")
    }
    report = run(pack, log_bucket_set(), config)
    assert {v["policy"] for v in report["violations"]} >= {
        "s3-bucket-require-sse-kms",
        "s3-sse-configuration-require-kms",
    }
