"""Encryption rules, judged by what a pack user reads: which resources are flagged, and the whole message (what is
wrong and what to set), for every branch of each rule and every spelling or type that can express a setting."""

import pytest

from tests.policy_helpers import (
    BUCKET,
    DEV_CONFIG,
    INSTANCE,
    KEY,
    KEY_ARN,
    LAUNCH_TEMPLATE,
    LISTENER,
    LISTENER_RULE,
    OPENSEARCH,
    PROD_CONFIG,
    QUEUE,
    RDS_CLUSTER,
    RDS_INSTANCE,
    REDSHIFT,
    SECRET,
    SSE,
    TAGS,
    TOPIC,
    UNKNOWN_BOOL,
    UNKNOWN_STRING,
    VOLUME,
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
    real_findings,
    resource,
    run,
)
from tests.test_policies_encryption import athena_workgroup, good_domain, sse_config

BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
SSE_V2 = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
ALB_LISTENER = "aws:alb/listener:Listener"
ALB_LISTENER_RULE = "aws:alb/listenerRule:ListenerRule"
CLASSIC_ELB = "aws:elb/loadBalancer:LoadBalancer"
ES_DOMAIN = "aws:elasticsearch/domain:Domain"
ENCRYPTION_BY_DEFAULT = "aws:ebs/encryptionByDefault:EncryptionByDefault"
DEFAULT_KEY = "aws:ebs/defaultKmsKey:DefaultKmsKey"
GLOBAL_CLUSTER = "aws:rds/globalCluster:GlobalCluster"
ALIAS_KEY = "alias/aws/managed"
AWS_MANAGED = f"it uses the AWS-managed key '{ALIAS_KEY}' instead of a customer-managed key"
NO_KEY = "no KMS key is set, so the AWS-managed key is used"
ALLOWED_ONLY_STACK_KEY = {"allowedKmsKeys": [KEY_ARN]}


def verdicts(pack, policy, resources, config=None) -> dict:
    """{name of each flagged resource: [what the user reads under the rule's description]} of `policy`."""
    found: dict = {}
    for violation in real_findings(run(pack, resources, config), policy):
        name = violation["urn"].rsplit("::", 1)[-1] if violation["urn"] else None
        found.setdefault(name, []).append(violation["message"].splitlines()[-1])
    return found


def configured(policy: str, **settings) -> dict:
    return {policy: settings}


# --- S3 buckets ------------------------------------------------------------------------------

BUCKET_RULE = "s3-bucket-require-sse-kms"
SSE_RULE = "s3-sse-configuration-require-kms"
ADD_SSE = (
    "Add aws.s3.BucketServerSideEncryptionConfiguration(bucket=<bucket>.id, rules=[{apply_server_side_encryption_"
    "by_default: {sse_algorithm: 'aws:kms', kms_master_key_id: <key arn>}, bucket_key_enabled: True}])."
)
NOT_A_SINK = (
    "SSE-S3 is accepted only where AWS requires it: buckets that receive Application or Classic Load Balancer logs "
    "or S3 server access logs, and no Application or Classic Load Balancer in this stack writes its logs there, no "
    "bucket logs its server access there, and its name matches no sseS3AllowedBuckets pattern"
)


def inline_bucket(*defaults, type_=BUCKET, name="b"):
    """A bucket whose deprecated inline configuration (Bucket) or configurations (BucketV2) hold `defaults`."""
    rules = [{"applyServerSideEncryptionByDefault": d} for d in defaults]
    if type_ == BUCKET:
        inline = {"serverSideEncryptionConfiguration": {"rule": rules[0]}}
    else:
        inline = {"serverSideEncryptionConfigurations": [{"rules": rules}]}
    return resource(type_, name, {"bucket": f"snowplow-test-{name}", "tags": TAGS, **inline})


@pytest.mark.parametrize("type_", [BUCKET, BUCKET_V2])
def test_a_bucket_without_any_encryption_is_told_to_add_a_configuration(pack, type_):
    bare = resource(type_, "data", {"bucket": "snowplow-test-data", "tags": TAGS})
    assert verdicts(pack, BUCKET_RULE, [bare]) == {
        "data": [f"S3 bucket 'data' is not encrypted with SSE-KMS: no encryption configuration is linked. {ADD_SSE}"]
    }


@pytest.mark.parametrize("sse_type", [SSE, SSE_V2])
def test_sse_s3_on_a_bucket_that_is_no_log_sink_is_explained_by_both_rules(pack, sse_type):
    bucket = good_bucket_set("data")[0]
    sse = sse_config(bucket, "AES256", key=None)
    sse["type"], sse["urn"] = sse_type, sse["urn"].replace(SSE, sse_type)
    resources = good_bucket_set("data", sse=sse)
    assert verdicts(pack, BUCKET_RULE, resources, PROD_CONFIG) == {
        "data": [
            f"S3 bucket 'data' is not encrypted with SSE-KMS: it is encrypted with ['AES256'] only; {NOT_A_SINK}. "
            f"{ADD_SSE}"
        ]
    }
    assert verdicts(pack, SSE_RULE, resources, PROD_CONFIG) == {
        "data-sse": [
            f"S3 encryption configuration 'data-sse' uses sse_algorithm 'AES256' (SSE-S3), but {NOT_A_SINK}. Set "
            "sse_algorithm='aws:kms' with kms_master_key_id=<customer-managed key ARN> (if a load balancer or bucket "
            "outside this stack logs into it, name it in sseS3AllowedBuckets and let that service write through its "
            "bucket policy)."
        ]
    }


def test_an_algorithm_that_is_not_kms_is_named_by_both_rules(pack):
    bucket = good_bucket_set("data")[0]
    resources = good_bucket_set("data", sse=sse_config(bucket, "aws:fsx", key=None))
    assert verdicts(pack, BUCKET_RULE, resources) == {
        "data": [f"S3 bucket 'data' is not encrypted with SSE-KMS: it is encrypted with ['aws:fsx'] only. {ADD_SSE}"]
    }
    assert verdicts(pack, SSE_RULE, resources) == {
        "data-sse": [
            "S3 encryption configuration 'data-sse' uses sse_algorithm 'aws:fsx'; set sse_algorithm='aws:kms' with "
            "kms_master_key_id=<customer-managed key ARN>."
        ]
    }


@pytest.mark.parametrize("algorithm", ["aws:kms", "aws:kms:dsse"])
def test_kms_and_dual_layer_kms_with_the_stack_key_pass_in_prod(pack, algorithm):
    bucket = good_bucket_set("data")[0]
    resources = good_bucket_set("data", sse=sse_config(bucket, algorithm))
    assert verdicts(pack, BUCKET_RULE, resources, PROD_CONFIG) == {}
    assert verdicts(pack, SSE_RULE, resources, PROD_CONFIG) == {}
    inline = inline_bucket({"sseAlgorithm": algorithm, "kmsMasterKeyId": KEY_ARN}, type_=BUCKET_V2)
    assert verdicts(pack, BUCKET_RULE, [inline], PROD_CONFIG) == {}


@pytest.mark.parametrize(
    "key,config,problem",
    [
        (None, PROD_CONFIG, NO_KEY),
        (ALIAS_KEY, PROD_CONFIG, AWS_MANAGED),
        (
            "arn:aws:kms:eu-west-1:444455556666:key/other",
            {SSE_RULE: ALLOWED_ONLY_STACK_KEY, BUCKET_RULE: ALLOWED_ONLY_STACK_KEY},
            f"its key 'arn:aws:kms:eu-west-1:444455556666:key/other' is not one of allowedKmsKeys ['{KEY_ARN}']",
        ),
    ],
    ids=["no-key", "aws-managed", "not-allowed"],
)
def test_a_configuration_on_an_unsuitable_key_names_the_key(pack, key, config, problem):
    bucket = good_bucket_set("data")[0]
    resources = good_bucket_set("data", sse=sse_config(bucket, key=key))
    assert verdicts(pack, SSE_RULE, resources, config) == {
        "data-sse": [
            f"S3 encryption configuration 'data-sse': {problem}; set kms_master_key_id to the stack's customer-managed "
            "KMS key ARN."
        ]
    }
    assert verdicts(pack, BUCKET_RULE, resources, config) == {}  # the configuration's own rule judges its key
    assert verdicts(pack, SSE_RULE, resources, DEV_CONFIG) == {}


def test_a_configuration_without_rules_is_flagged_on_itself(pack):
    bucket = good_bucket_set("data")[0]
    empty = child_of(bucket, SSE, "data-sse", {"bucket": "x", "rules": []})
    assert verdicts(pack, SSE_RULE, good_bucket_set("data", sse=empty)) == {
        "data-sse": ["S3 encryption configuration 'data-sse' has no rules; add one with sse_algorithm 'aws:kms'."]
    }


def test_each_rule_of_a_configuration_is_judged(pack):
    bucket = good_bucket_set("data")[0]
    sse = sse_config(bucket, "aws:fsx", key=None)
    sse["inputs"]["rules"].insert(0, {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}})
    found = verdicts(pack, SSE_RULE, good_bucket_set("data", sse=sse), PROD_CONFIG)
    assert found == {
        "data-sse": [
            f"S3 encryption configuration 'data-sse': {NO_KEY}; set kms_master_key_id to the stack's customer-managed "
            "KMS key ARN.",
            "S3 encryption configuration 'data-sse' uses sse_algorithm 'aws:fsx'; set sse_algorithm='aws:kms' with "
            "kms_master_key_id=<customer-managed key ARN>.",
        ]
    }


@pytest.mark.parametrize("type_", [BUCKET, BUCKET_V2])
def test_inline_kms_is_judged_by_its_key(pack, type_):
    bucket = inline_bucket({"sseAlgorithm": "aws:kms", "kmsMasterKeyId": ALIAS_KEY}, type_=type_)
    assert verdicts(pack, BUCKET_RULE, [bucket], DEV_CONFIG) == {}
    assert verdicts(pack, BUCKET_RULE, [bucket], PROD_CONFIG) == {
        "b": [
            "S3 bucket 'b' encrypts with SSE-KMS through its deprecated inline server_side_encryption_configuration, "
            f"but {AWS_MANAGED}; set kms_master_key_id to the stack's customer-managed key ARN (better: move it to "
            "aws.s3.BucketServerSideEncryptionConfiguration)."
        ]
    }


@pytest.mark.parametrize("type_", [BUCKET, BUCKET_V2])
def test_inline_sse_s3_is_held_to_kms_like_a_linked_one(pack, type_):
    bucket = inline_bucket({"sseAlgorithm": "AES256"}, type_=type_)
    assert verdicts(pack, BUCKET_RULE, [bucket]) == {
        "b": [
            f"S3 bucket 'b' is not encrypted with SSE-KMS: it is encrypted with ['AES256'] only; {NOT_A_SINK}. {ADD_SSE}"
        ]
    }


def test_a_linked_kms_configuration_decides_over_an_inline_one(pack):
    """The linked configuration's own rule judges its key; the inline block under it changes nothing."""
    bucket = inline_bucket({"sseAlgorithm": "AES256"}, name="data")
    sse = sse_config(bucket, key=ALIAS_KEY)
    assert verdicts(pack, BUCKET_RULE, [bucket, sse], PROD_CONFIG) == {}
    bucket = inline_bucket({"sseAlgorithm": "aws:kms", "kmsMasterKeyId": ALIAS_KEY}, name="data")
    linked_aes = sse_config(bucket, "AES256", key=None)
    assert list(verdicts(pack, BUCKET_RULE, [bucket, linked_aes], PROD_CONFIG)) == ["data"]
    assert "through its deprecated inline" in verdicts(pack, BUCKET_RULE, [bucket, linked_aes], PROD_CONFIG)["data"][0]


def test_v2_inline_rules_list_every_algorithm_and_kms_among_them_is_judged_by_key(pack):
    bucket = inline_bucket({"sseAlgorithm": "aws:fsx"}, {"sseAlgorithm": "AES256"}, type_=BUCKET_V2)
    (message,) = verdicts(pack, BUCKET_RULE, [bucket])["b"]
    assert message.startswith("S3 bucket 'b' is not encrypted with SSE-KMS: it is encrypted with ['AES256', 'aws:fsx']")
    mixed = inline_bucket(
        {"sseAlgorithm": "AES256"}, {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN}, type_=BUCKET_V2
    )
    assert verdicts(pack, BUCKET_RULE, [mixed], PROD_CONFIG) == {}


def test_an_unknown_configuration_is_left_to_deploy_time(pack):
    bucket = good_bucket_set("data")[0]
    sse = child_of(bucket, SSE, "data-sse", {"bucket": "x", "rules": UNKNOWN_STRING})
    resources = good_bucket_set("data", sse=sse)
    assert verdicts(pack, BUCKET_RULE, resources, PROD_CONFIG) == {}
    assert verdicts(pack, SSE_RULE, resources, PROD_CONFIG) == {}


def test_a_configuration_shared_by_two_buckets_needs_both_to_be_sinks(pack):
    """One configuration linked to a log sink and to a data bucket is still SSE-S3 on the data bucket."""
    sink = resource(BUCKET, "logs", {"bucket": "snowplow-test-logs", "tags": TAGS})
    data = resource(BUCKET, "data", {"bucket": "snowplow-test-data", "tags": TAGS})
    lb = resource(
        "aws:lb/loadBalancer:LoadBalancer",
        "alb",
        {"loadBalancerType": "application", "accessLogs": {"bucket": "snowplow-test-logs", "enabled": True}},
    )
    shared = resource(
        SSE,
        "shared-sse",
        {"bucket": "x", "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]},
        deps=[sink, data],
        prop_deps={"bucket": [sink, data]},
    )
    (message,) = verdicts(pack, SSE_RULE, [sink, data, lb, shared])["shared-sse"]
    assert message.startswith("S3 encryption configuration 'shared-sse' uses sse_algorithm 'AES256' (SSE-S3), but")
    only_sink = resource(SSE, "shared-sse", {**shared["inputs"]}, deps=[sink], prop_deps={"bucket": [sink]})
    assert verdicts(pack, SSE_RULE, [sink, data, lb, only_sink]) == {}


def test_a_log_sink_decided_at_deploy_time_is_not_flagged(pack):
    """A load balancer whose log bucket is known only at deploy time may write there: neither rule reports an SSE-S3
    bucket or configuration, in the stack or outside it, until then."""
    bucket = good_bucket_set("logs")[0]
    resources = good_bucket_set("logs", sse=sse_config(bucket, "AES256", key=None, name="logs-sse"))
    lb = resource(
        "aws:lb/loadBalancer:LoadBalancer",
        "alb",
        {"loadBalancerType": "application", "accessLogs": {"bucket": UNKNOWN_STRING, "enabled": True}},
    )
    outside = resource(
        SSE,
        "outside-sse",
        {"bucket": "org-lake", "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]},
    )
    assert verdicts(pack, BUCKET_RULE, [*resources, outside, lb]) == {}
    assert verdicts(pack, SSE_RULE, [*resources, outside, lb]) == {}
    assert sorted(verdicts(pack, SSE_RULE, [*resources, outside])) == ["logs-sse", "outside-sse"]
    assert list(verdicts(pack, BUCKET_RULE, [*resources, outside])) == ["logs"]


# --- Streams, tables, queues, topics, logs, secrets -------------------------------------------


@pytest.mark.parametrize("encryption_type", ["NONE", None, ""])
def test_an_unencrypted_stream_is_told_to_use_kms(pack, encryption_type):
    stream = good_stream(encryptionType=encryption_type, kmsKeyId=None)
    assert verdicts(pack, "kinesis-stream-require-kms", [stream]) == {
        "raw": [
            "Kinesis stream 'raw' is not encrypted (encryptionType is 'NONE'); set encryption_type='KMS' and "
            "kms_key_id=<key ARN>."
        ]
    }


def test_a_kms_stream_without_a_key_or_on_the_aws_key_in_prod_is_told_to_name_one(pack):
    policy = "kinesis-stream-require-kms"
    assert verdicts(pack, policy, [good_stream(kmsKeyId=None)]) == {
        "raw": ["Kinesis stream 'raw' uses KMS but no KMS key is set; set kms_key_id to a customer-managed key ARN."]
    }
    assert verdicts(pack, policy, [good_stream(kmsKeyId=ALIAS_KEY)], PROD_CONFIG) == {
        "raw": [f"Kinesis stream 'raw' uses KMS but {AWS_MANAGED}; set kms_key_id to a customer-managed key ARN."]
    }
    assert verdicts(pack, policy, [good_stream(kmsKeyId=ALIAS_KEY)], DEV_CONFIG) == {}


@pytest.mark.parametrize("encryption", [None, {"enabled": False}, {"enabled": "false"}, {"kmsKeyArn": KEY_ARN}])
def test_a_table_without_server_side_encryption_is_told_how_to_enable_it(pack, encryption):
    assert verdicts(pack, "dynamodb-table-require-sse", [good_table(serverSideEncryption=encryption)]) == {
        "enrich-kcl": [
            "DynamoDB table 'enrich-kcl' does not enable KMS server-side encryption; set "
            "server_side_encryption={'enabled': True, 'kms_key_arn': <key ARN>}."
        ]
    }
    assert verdicts(pack, "dynamodb-table-require-sse", [good_table(serverSideEncryption={"enabled": "true"})]) == {}


def test_queues_on_a_key_sqs_managed_sse_or_nothing(pack):
    policy = "sqs-queue-require-encryption"
    keyed = resource(QUEUE, "q", {"kmsMasterKeyId": KEY_ARN, "sqsManagedSseEnabled": False, "tags": TAGS})
    assert verdicts(pack, policy, [keyed], PROD_CONFIG) == {}
    managed = resource(QUEUE, "q", {"sqsManagedSseEnabled": "true", "tags": TAGS})
    assert verdicts(pack, policy, [managed], DEV_CONFIG) == {}
    assert verdicts(pack, policy, [managed], PROD_CONFIG) == {
        "q": ["SQS queue 'q' is not encrypted; set kms_master_key_id=<key ARN>."]
    }
    empty_key = resource(QUEUE, "q", {"kmsMasterKeyId": "", "sqsManagedSseEnabled": False, "tags": TAGS})
    assert verdicts(pack, policy, [empty_key], DEV_CONFIG) == {
        "q": ["SQS queue 'q' is not encrypted; set kms_master_key_id=<key ARN> (or sqs_managed_sse_enabled=True)."]
    }
    other_key = resource(QUEUE, "q", {"kmsMasterKeyId": "alias/other", "tags": TAGS})
    assert verdicts(pack, policy, [other_key], configured(policy, **ALLOWED_ONLY_STACK_KEY)) == {
        "q": [
            f"SQS queue 'q': its key 'alias/other' is not one of allowedKmsKeys ['{KEY_ARN}']; set kms_master_key_id "
            "to a customer-managed key ARN."
        ]
    }


def test_topics_need_a_key_and_a_customer_managed_one_in_prod(pack):
    policy = "sns-topic-require-kms"
    assert verdicts(pack, policy, [resource(TOPIC, "alerts", {"kmsMasterKeyId": "", "tags": TAGS})]) == {
        "alerts": ["SNS topic 'alerts' is not encrypted with a suitable key: no KMS key is set; set kms_master_key_id."]
    }
    on_aws_key = resource(TOPIC, "alerts", {"kmsMasterKeyId": ALIAS_KEY, "tags": TAGS})
    assert verdicts(pack, policy, [on_aws_key], DEV_CONFIG) == {}
    assert verdicts(pack, policy, [on_aws_key], PROD_CONFIG) == {
        "alerts": [f"SNS topic 'alerts' is not encrypted with a suitable key: {AWS_MANAGED}; set kms_master_key_id."]
    }


@pytest.mark.parametrize("key", [None, ""])
def test_a_log_group_without_a_key_is_told_to_set_one(pack, key):
    assert verdicts(pack, "cloudwatch-log-group-require-kms", [good_log_group(kmsKeyId=key)]) == {
        "enrich-logs": [
            "CloudWatch log group 'enrich-logs' has no kms_key_id; set kms_key_id to the stack's KMS key ARN (its key "
            "policy must allow logs.<region>.amazonaws.com)."
        ]
    }
    assert verdicts(pack, "cloudwatch-log-group-require-kms", [good_log_group()]) == {}


@pytest.mark.parametrize(
    "key,shown",
    [
        (None, "alias/aws/secretsmanager"),
        ("", "alias/aws/secretsmanager"),
        ("alias/aws/secretsmanager", "alias/aws/secretsmanager"),
        (
            "arn:aws:kms:eu-west-1:111122223333:alias/aws/secretsmanager",
            "arn:aws:kms:eu-west-1:111122223333:alias/aws/secretsmanager",
        ),
    ],
)
def test_a_secret_on_the_aws_managed_key_is_named_with_that_key(pack, key, shown):
    secret = resource(SECRET, "api-key", {"kmsKeyId": key, "tags": TAGS})
    assert verdicts(pack, "secretsmanager-secret-require-cmk", [secret]) == {
        "api-key": [
            f"Secrets Manager secret 'api-key' uses the AWS-managed key '{shown}'; set kms_key_id to a customer-managed "
            "KMS key."
        ]
    }
    keyed = resource(SECRET, "api-key", {"kmsKeyId": "alias/snowplow", "tags": TAGS})
    assert verdicts(pack, "secretsmanager-secret-require-cmk", [keyed]) == {}


# --- KMS key rotation -------------------------------------------------------------------------

ROTATION = "kms-key-require-rotation"


@pytest.mark.parametrize("rotation", [False, "false", None])
def test_a_symmetric_key_that_does_not_rotate_is_told_to(pack, rotation):
    for spelled in ({}, {"keyUsage": "ENCRYPT_DECRYPT", "customerMasterKeySpec": "SYMMETRIC_DEFAULT"}):
        key = good_key(enableKeyRotation=rotation, **spelled)
        assert verdicts(pack, ROTATION, [key]) == {
            "stack-key": ["KMS key 'stack-key' does not rotate; set enable_key_rotation=True."]
        }


@pytest.mark.parametrize(
    "kind",
    [
        {"keyUsage": "SIGN_VERIFY"},
        {"customerMasterKeySpec": "HMAC_256"},
        {"customerMasterKeySpec": "RSA_2048", "keyUsage": "ENCRYPT_DECRYPT"},
        {"customKeyStoreId": "cks-1234567890abcdef0"},
    ],
    ids=["signing", "hmac", "asymmetric", "custom-key-store"],
)
def test_keys_aws_cannot_rotate_are_left_alone(pack, kind):
    assert verdicts(pack, ROTATION, [good_key(enableKeyRotation=False, **kind)]) == {}


@pytest.mark.parametrize("period", [366, "366", 366.0])
def test_a_rotation_period_over_the_limit_is_named_with_the_limit(pack, period):
    assert verdicts(pack, ROTATION, [good_key(enableKeyRotation="true", rotationPeriodInDays=period)]) == {
        "stack-key": ["KMS key 'stack-key' rotates every 366 days; set rotation_period_in_days <= 365."]
    }
    assert verdicts(pack, ROTATION, [good_key(rotationPeriodInDays=365)]) == {}
    tighter = configured(ROTATION, maxRotationPeriodDays=180)
    assert verdicts(pack, ROTATION, [good_key(rotationPeriodInDays=181)], tighter) == {
        "stack-key": ["KMS key 'stack-key' rotates every 181 days; set rotation_period_in_days <= 180."]
    }
    assert verdicts(pack, ROTATION, [good_key(rotationPeriodInDays=180)], tighter) == {}


# --- Databases ---------------------------------------------------------------------------------

DATABASE = "rds-database-require-storage-encryption"
UNENCRYPTED_FIX = "set storage_encrypted=True and kms_key_id=<the stack's KMS key ARN>."


@pytest.mark.parametrize(
    "type_,kind",
    [
        (RDS_INSTANCE, "RDS instance"),
        (RDS_CLUSTER, "RDS cluster"),
        (GLOBAL_CLUSTER, "RDS global cluster"),
        ("aws:docdb/cluster:Cluster", "DocumentDB cluster"),
        ("aws:docdb/globalCluster:GlobalCluster", "DocumentDB global cluster"),
        ("aws:neptune/cluster:Cluster", "Neptune cluster"),
        ("aws:neptune/globalCluster:GlobalCluster", "Neptune global cluster"),
    ],
)
def test_every_database_type_is_named_by_its_kind(pack, type_, kind):
    plain = resource(type_, "db", {"storageEncrypted": False, "tags": TAGS})
    assert verdicts(pack, DATABASE, [plain]) == {"db": [f"{kind} 'db' does not encrypt its storage; {UNENCRYPTED_FIX}"]}
    on_aws_key = resource(type_, "db", {"storageEncrypted": "true", "kmsKeyId": ALIAS_KEY, "tags": TAGS})
    assert verdicts(pack, DATABASE, [on_aws_key], DEV_CONFIG) == {}
    assert verdicts(pack, DATABASE, [on_aws_key], PROD_CONFIG) == {
        "db": [f"{kind} 'db' is encrypted, but {AWS_MANAGED}; set kms_key_id to the stack's KMS key ARN."]
    }


def test_an_encrypted_database_without_a_key_uses_the_aws_key_which_prod_rejects(pack):
    assert verdicts(pack, DATABASE, [good_rds(kmsKeyId=None)], PROD_CONFIG) == {
        "iglu-db": [f"RDS instance 'iglu-db' is encrypted, but {NO_KEY}; set kms_key_id to the stack's KMS key ARN."]
    }


@pytest.mark.parametrize(
    "prop,source_type,identifier,reference",
    [
        ("replicateSourceDb", RDS_INSTANCE, "identifier", "snowplow-primary"),
        ("replicateSourceDb", RDS_INSTANCE, "identifier", "arn:aws:rds:eu-west-1:111122223333:db:snowplow-primary"),
        ("replicationSourceIdentifier", RDS_CLUSTER, "clusterIdentifier", "snowplow-primary"),
        (
            "replicationSourceIdentifier",
            RDS_CLUSTER,
            "clusterIdentifier",
            "arn:aws:rds:eu-west-1:111122223333:cluster:snowplow-primary",
        ),
        ("sourceDbClusterIdentifier", RDS_CLUSTER, "clusterIdentifier", "snowplow-primary"),
        ("globalClusterIdentifier", GLOBAL_CLUSTER, "globalClusterIdentifier", "snowplow-primary"),
    ],
)
def test_a_replica_is_judged_by_the_source_it_names(pack, prop, source_type, identifier, reference):
    source = resource(source_type, "primary", {identifier: "snowplow-primary", "tags": TAGS})
    replica = resource(RDS_CLUSTER, "replica", {prop: reference, "tags": TAGS})
    found = verdicts(pack, DATABASE, [source, replica])
    assert sorted(found) == ["primary", "replica"]
    assert found["replica"] == [
        f"RDS cluster 'replica' does not encrypt its storage (it copies 'primary', which is unencrypted); "
        f"{UNENCRYPTED_FIX}"
    ]
    source["inputs"]["storageEncrypted"] = True
    source["inputs"]["kmsKeyId"] = KEY_ARN
    assert verdicts(pack, DATABASE, [source, replica], PROD_CONFIG) == {}


def test_a_replica_linked_by_dependency_copies_that_source(pack):
    source = resource(RDS_CLUSTER, "primary", {"clusterIdentifier": "not-the-name-given", "tags": TAGS})
    replica = resource(
        RDS_CLUSTER,
        "replica",
        {"replicationSourceIdentifier": "arn:aws:rds:eu-west-1:111122223333:cluster:snowplow-primary", "tags": TAGS},
        deps=[source],
        prop_deps={"replicationSourceIdentifier": [source]},
    )
    found = verdicts(pack, DATABASE, [source, replica])
    assert found["replica"] == [
        f"RDS cluster 'replica' does not encrypt its storage (it copies 'primary', which is unencrypted); "
        f"{UNENCRYPTED_FIX}"
    ]


def test_a_replica_given_its_own_key_is_encrypted_whatever_its_source(pack):
    source = resource(RDS_INSTANCE, "primary", {"identifier": "snowplow-primary", "tags": TAGS})
    replica = resource(RDS_INSTANCE, "replica", {"replicateSourceDb": "snowplow-primary", "kmsKeyId": ALIAS_KEY})
    assert list(verdicts(pack, DATABASE, [source, replica], PROD_CONFIG)) == ["primary"]


def test_a_global_cluster_member_is_encrypted_by_its_global_cluster_not_by_its_key(pack):
    """A member's kms_key_id does not encrypt a global cluster that is not encrypted."""
    global_cluster = resource(GLOBAL_CLUSTER, "global", {"globalClusterIdentifier": "snowplow-global", "tags": TAGS})
    member = resource(RDS_CLUSTER, "member", {"globalClusterIdentifier": "snowplow-global", "kmsKeyId": KEY_ARN})
    assert verdicts(pack, DATABASE, [global_cluster, member]) == {
        "global": [f"RDS global cluster 'global' does not encrypt its storage; {UNENCRYPTED_FIX}"],
        "member": [
            f"RDS cluster 'member' does not encrypt its storage (it copies 'global', which is unencrypted); "
            f"{UNENCRYPTED_FIX}"
        ],
    }
    global_cluster["inputs"].update(storageEncrypted=True)
    assert verdicts(pack, DATABASE, [global_cluster, member], DEV_CONFIG) == {}
    del member["inputs"]["kmsKeyId"]
    assert verdicts(pack, DATABASE, [global_cluster, member], DEV_CONFIG) == {}


def test_a_replica_of_a_source_in_another_stack_or_of_a_replica_chain_is_judged_at_the_end(pack):
    elsewhere = resource(RDS_INSTANCE, "replica", {"replicateSourceDb": "snowplow-other-stack", "tags": TAGS})
    assert verdicts(pack, DATABASE, [elsewhere], PROD_CONFIG) == {}
    first = resource(RDS_INSTANCE, "first", {"identifier": "first", "storageEncrypted": True, "kmsKeyId": KEY_ARN})
    second = resource(RDS_INSTANCE, "second", {"identifier": "second", "replicateSourceDb": "first"})
    third = resource(RDS_INSTANCE, "third", {"identifier": "third", "replicateSourceDb": "second"})
    assert verdicts(pack, DATABASE, [first, second, third], PROD_CONFIG) == {}
    first["inputs"].update(storageEncrypted=False, kmsKeyId=None)
    found = verdicts(pack, DATABASE, [first, second, third], PROD_CONFIG)
    assert found["third"] == [
        f"RDS instance 'third' does not encrypt its storage (it copies 'second', which is unencrypted); "
        f"{UNENCRYPTED_FIX}"
    ]
    assert sorted(found) == ["first", "second", "third"]


def test_replicas_that_name_each_other_end_the_search(pack):
    """Two databases naming each other as source cannot both be replicas; the rule must answer, not loop."""
    a = resource(RDS_INSTANCE, "a", {"identifier": "a", "replicateSourceDb": "b", "tags": TAGS})
    b = resource(RDS_INSTANCE, "b", {"identifier": "b", "replicateSourceDb": "a", "tags": TAGS})
    assert verdicts(pack, DATABASE, [a, b]) == {}


def test_a_database_key_decided_at_deploy_time_is_not_judged(pack):
    database = good_rds(kmsKeyId=UNKNOWN_STRING)
    assert verdicts(pack, DATABASE, [database], PROD_CONFIG) == {}
    unknown_flag = good_rds(storageEncrypted=UNKNOWN_BOOL, kmsKeyId=None)
    assert verdicts(pack, DATABASE, [unknown_flag], PROD_CONFIG) == {}


# --- Redshift and search domains ---------------------------------------------------------------


@pytest.mark.parametrize("encrypted", [None, False, "false"])
def test_an_unencrypted_redshift_cluster_is_told_how_to_encrypt(pack, encrypted):
    cluster = resource(REDSHIFT, "rs", {"nodeType": "ra3.large", "encrypted": encrypted, "tags": TAGS})
    assert verdicts(pack, "redshift-cluster-require-encryption", [cluster]) == {
        "rs": ["Redshift cluster 'rs' is not encrypted; set encrypted='true' and kms_key_id=<key ARN>."]
    }
    cluster["inputs"]["encrypted"] = True
    assert verdicts(pack, "redshift-cluster-require-encryption", [cluster]) == {}


@pytest.mark.parametrize("key", [None, ""])
def test_a_serverless_namespace_on_the_aws_owned_key_is_told_to_name_one(pack, key):
    namespace = resource("aws:redshiftserverless/namespace:Namespace", "ns", {"kmsKeyId": key, "tags": TAGS})
    assert verdicts(pack, "redshift-serverless-namespace-require-kms", [namespace]) == {
        "ns": [
            "Redshift Serverless namespace 'ns' uses an AWS-owned key; set kms_key_id to a customer-managed KMS key ARN."
        ]
    }


@pytest.mark.parametrize("type_", [OPENSEARCH, ES_DOMAIN])
def test_a_search_domain_at_rest(pack, type_):
    policy = "opensearch-domain-require-encryption"
    for at_rest in (None, {"enabled": False}, {"enabled": "false", "kmsKeyId": KEY_ARN}):
        domain = good_domain(encryptAtRest=at_rest)
        domain["type"] = type_
        assert verdicts(pack, policy, [domain]) == {
            "search": [
                "Search domain 'search' does not encrypt its data at rest; set encrypt_at_rest={'enabled': True, "
                "'kms_key_id': <key ARN>}."
            ]
        }
    on_aws_key = good_domain(encryptAtRest={"enabled": "true", "kmsKeyId": ALIAS_KEY})
    on_aws_key["type"] = type_
    assert verdicts(pack, policy, [on_aws_key], DEV_CONFIG) == {}
    assert verdicts(pack, policy, [on_aws_key], PROD_CONFIG) == {
        "search": [f"Search domain 'search' encrypts at rest, but {AWS_MANAGED}; set encrypt_at_rest.kms_key_id."]
    }


TLS_POLICIES = "['Policy-Min-TLS-1-2-2019-07', 'Policy-Min-TLS-1-2-PFS-2023-10']"


@pytest.mark.parametrize(
    "inputs,missing",
    [
        (
            {"nodeToNodeEncryption": None, "domainEndpointOptions": None},
            "node_to_node_encryption.enabled=True, domain_endpoint_options.enforce_https=True",
        ),
        ({"nodeToNodeEncryption": {"enabled": "false"}}, "node_to_node_encryption.enabled=True"),
        (
            {"domainEndpointOptions": {"enforceHttps": "true", "tlsSecurityPolicy": "Policy-Min-TLS-1-0-2019-07"}},
            f"domain_endpoint_options.tls_security_policy in {TLS_POLICIES} (is 'Policy-Min-TLS-1-0-2019-07')",
        ),
    ],
)
def test_a_search_domain_in_transit_is_told_every_missing_setting(pack, inputs, missing):
    for type_ in (OPENSEARCH, ES_DOMAIN):
        domain = good_domain(**inputs)
        domain["type"] = type_
        assert verdicts(pack, "opensearch-domain-require-tls", [domain]) == {
            "search": [f"Search domain 'search' sends data unencrypted; set {missing}."]
        }


def test_a_search_domain_on_https_with_the_pfs_policy_passes(pack):
    options = {"enforceHttps": "true", "tlsSecurityPolicy": "Policy-Min-TLS-1-2-PFS-2023-10"}
    domain = good_domain(domainEndpointOptions=options, nodeToNodeEncryption={"enabled": "true"})
    assert verdicts(pack, "opensearch-domain-require-tls", [domain]) == {}


# --- EBS -----------------------------------------------------------------------------------------

TEMPLATE_RULE = "ec2-launch-template-require-ebs-encryption"
INSTANCE_RULE = "ec2-instance-require-ebs-encryption"
VOLUME_RULE = "ebs-volume-require-encryption"
TEMPLATE_FIX = "set ebs.encrypted='true' and ebs.kms_key_id=<the stack's KMS key ARN>."
VOLUME_FIX = "set encrypted=True and kms_key_id=<the stack's KMS key ARN>."
UNDECLARED_TEMPLATE = (
    "Launch template 'enrich-lt' does not declare its root volume (no block_device_mappings entry for "
    "['/dev/xvda', '/dev/sda1'])"
)
DECLARE_ROOT = (
    "add block_device_mappings=[{device_name: '/dev/xvda', ebs: {encrypted: 'true', kms_key_id: <key ARN>, "
    "volume_type: 'gp3'}}] (the AMI's root device name)"
)


def by_default(enabled=True, key=None):
    """EBS encryption by default for the account (and its default key), as the stack declares them."""
    found = [resource(ENCRYPTION_BY_DEFAULT, "ebs-default", {} if enabled is None else {"enabled": enabled})]
    if key is not None:
        found.append(resource(DEFAULT_KEY, "ebs-key", {"keyArn": key}))
    return found


def mapping(device="/dev/xvda", **ebs):
    return {"deviceName": device, "ebs": ebs}


@pytest.mark.parametrize("encrypted", [None, False, "false"])
def test_an_unencrypted_template_mapping_names_its_device(pack, encrypted):
    template = good_launch_template(blockDeviceMappings=[mapping(encrypted=encrypted)])
    assert verdicts(pack, TEMPLATE_RULE, [template]) == {
        "enrich-lt": [
            f"'enrich-lt' ({LAUNCH_TEMPLATE}): the volume at block_device_mappings[0] ('/dev/xvda') is not "
            f"encrypted; {TEMPLATE_FIX}"
        ]
    }


def test_every_mapping_of_a_template_and_recipe_is_judged(pack):
    data = mapping("/dev/sdf", encrypted="true", kmsKeyId=ALIAS_KEY)
    template = good_launch_template(blockDeviceMappings=[mapping(encrypted="true", kmsKeyId=KEY_ARN), data])
    assert verdicts(pack, TEMPLATE_RULE, [template], DEV_CONFIG) == {}
    assert verdicts(pack, TEMPLATE_RULE, [template], PROD_CONFIG) == {
        "enrich-lt": [
            f"'enrich-lt' ({LAUNCH_TEMPLATE}): the volume at block_device_mappings[1] ('/dev/sdf') is encrypted, but "
            f"{AWS_MANAGED}; {TEMPLATE_FIX}"
        ]
    }
    container = resource(
        "aws:imagebuilder/containerRecipe:ContainerRecipe",
        "recipe",
        {"instanceConfiguration": {"blockDeviceMappings": [{"ebs": {"encrypted": False}}]}, "tags": TAGS},
    )
    assert verdicts(pack, TEMPLATE_RULE, [container]) == {
        "recipe": [
            "'recipe' (aws:imagebuilder/containerRecipe:ContainerRecipe): the volume at "
            f"instance_configuration.block_device_mappings[0] ('?') is not encrypted; {TEMPLATE_FIX}"
        ]
    }
    image = resource(
        "aws:imagebuilder/imageRecipe:ImageRecipe",
        "image",
        {"blockDeviceMappings": [{"deviceName": "/dev/sdb", "noDevice": "true"}, mapping("/dev/sdc")], "tags": TAGS},
    )
    assert verdicts(pack, TEMPLATE_RULE, [image]) == {
        "image": [
            "'image' (aws:imagebuilder/imageRecipe:ImageRecipe): the volume at block_device_mappings[1] ('/dev/sdc') "
            f"is not encrypted; {TEMPLATE_FIX}"
        ]
    }


def test_a_template_that_leaves_its_root_to_the_ami(pack):
    for undeclared in (None, [mapping("/dev/sdf", encrypted="true", kmsKeyId=KEY_ARN)]):
        template = good_launch_template(blockDeviceMappings=undeclared)
        assert verdicts(pack, TEMPLATE_RULE, [template]) == {
            "enrich-lt": [
                f"{UNDECLARED_TEMPLATE}, so it keeps the AMI's unencrypted snapshot; {DECLARE_ROOT}, or enable "
                "aws.ebs.EncryptionByDefault with an aws.ebs.DefaultKmsKey."
            ]
        }
        assert verdicts(pack, TEMPLATE_RULE, [template, *by_default()], DEV_CONFIG) == {}
        assert verdicts(pack, TEMPLATE_RULE, [template, *by_default()], PROD_CONFIG) == {
            "enrich-lt": [
                f"{UNDECLARED_TEMPLATE}; EBS encryption by default encrypts it, but {NO_KEY}; {DECLARE_ROOT}, or set "
                "aws.ebs.DefaultKmsKey to the stack's key."
            ]
        }
        assert verdicts(pack, TEMPLATE_RULE, [template, *by_default(key=KEY_ARN)], PROD_CONFIG) == {}


def test_the_root_device_names_are_configurable(pack):
    template = good_launch_template(blockDeviceMappings=[mapping("/dev/nvme0n1", encrypted="true", kmsKeyId=KEY_ARN)])
    (message,) = verdicts(pack, TEMPLATE_RULE, [template])["enrich-lt"]
    assert message.startswith(f"{UNDECLARED_TEMPLATE}, so it keeps")
    config = configured(TEMPLATE_RULE, rootDeviceNames=["/dev/nvme0n1"])
    assert verdicts(pack, TEMPLATE_RULE, [template], config) == {}


@pytest.mark.parametrize("enabled", [True, "true", None])
def test_encryption_by_default_covers_an_unencrypted_mapping_with_its_key(pack, enabled):
    template = good_launch_template(blockDeviceMappings=[mapping(encrypted="false")])
    assert verdicts(pack, TEMPLATE_RULE, [template, *by_default(enabled, key=KEY_ARN)], PROD_CONFIG) == {}
    on_aws_key = by_default(enabled, key=ALIAS_KEY)
    assert verdicts(pack, TEMPLATE_RULE, [template, *on_aws_key], PROD_CONFIG) == {
        "enrich-lt": [
            f"'enrich-lt' ({LAUNCH_TEMPLATE}): the volume at block_device_mappings[0] ('/dev/xvda') is encrypted, but "
            f"{AWS_MANAGED}; {TEMPLATE_FIX}"
        ]
    }


def test_encryption_by_default_switched_off_or_unknown(pack):
    template = good_launch_template(blockDeviceMappings=[mapping(encrypted="false")])
    (message,) = verdicts(pack, TEMPLATE_RULE, [template, *by_default(False, key=KEY_ARN)])["enrich-lt"]
    assert message.endswith(f"is not encrypted; {TEMPLATE_FIX}")
    assert verdicts(pack, TEMPLATE_RULE, [template, *by_default(UNKNOWN_BOOL)], PROD_CONFIG) == {}
    keyless = good_launch_template(blockDeviceMappings=[mapping(encrypted="true")])
    unknown_key = [*by_default(), resource(DEFAULT_KEY, "ebs-key", {"keyArn": UNKNOWN_STRING})]
    assert verdicts(pack, TEMPLATE_RULE, [keyless, *unknown_key], PROD_CONFIG) == {}


INSTANCE_UNDECLARED = (
    "does not declare its root volume ({where}), so it keeps the AMI's unencrypted snapshot; set "
    "root_block_device={{'encrypted': True, 'kms_key_id': <key ARN>}}, launch it from a launch template that "
    "encrypts its root mapping, or enable aws.ebs.EncryptionByDefault."
)


@pytest.mark.parametrize(
    "type_",
    [INSTANCE, "aws:ec2/launchConfiguration:LaunchConfiguration", "aws:ec2/spotInstanceRequest:SpotInstanceRequest"],
)
def test_an_instance_is_judged_by_its_root_and_data_volumes(pack, type_):
    bare = resource(type_, "box", {"tags": TAGS})
    assert verdicts(pack, INSTANCE_RULE, [bare]) == {
        "box": [f"'box' ({type_}) " + INSTANCE_UNDECLARED.format(where="root_block_device")]
    }
    assert verdicts(pack, INSTANCE_RULE, [bare, *by_default(key=KEY_ARN)], PROD_CONFIG) == {}
    assert verdicts(pack, INSTANCE_RULE, [bare, *by_default()], PROD_CONFIG) == {
        "box": [f"'box' ({type_}): the volume at root_block_device is encrypted, but {NO_KEY}; {VOLUME_FIX}"]
    }
    volumes = {
        "rootBlockDevice": {"encrypted": "false"},
        "ebsBlockDevices": [{"encrypted": True, "kmsKeyId": KEY_ARN}, {"encrypted": True, "kmsKeyId": ALIAS_KEY}],
    }
    box = resource(type_, "box", {**volumes, "tags": TAGS})
    assert verdicts(pack, INSTANCE_RULE, [box], PROD_CONFIG) == {
        "box": [
            f"'box' ({type_}): the volume at root_block_device is not encrypted; {VOLUME_FIX}",
            f"'box' ({type_}): the volume at ebs_block_devices[1] is encrypted, but {AWS_MANAGED}; {VOLUME_FIX}",
        ]
    }


def test_a_spot_fleet_names_the_launch_specification(pack):
    fleet_type = "aws:ec2/spotFleetRequest:SpotFleetRequest"
    specs = [
        {"rootBlockDevices": [{"encrypted": True, "kmsKeyId": KEY_ARN}], "ebsBlockDevices": [{"encrypted": False}]},
        {"rootBlockDevices": [{"encrypted": False}]},
        {},
    ]
    fleet = resource(fleet_type, "fleet", {"launchSpecifications": specs, "tags": TAGS})
    assert verdicts(pack, INSTANCE_RULE, [fleet]) == {
        "fleet": [
            f"'fleet' ({fleet_type}): the volume at launch_specifications[1].root_block_devices is not encrypted; "
            f"{VOLUME_FIX}",
            f"'fleet' ({fleet_type}) "
            + INSTANCE_UNDECLARED.format(where="launch_specifications[2].root_block_devices"),
            f"'fleet' ({fleet_type}): the volume at launch_specifications[0].ebs_block_devices[0] is not encrypted; "
            f"{VOLUME_FIX}",
        ]
    }


def test_an_instance_takes_its_root_from_an_encrypting_launch_template(pack):
    for device in ("/dev/xvda", "/dev/sda1"):
        template = good_launch_template(blockDeviceMappings=[mapping(device, encrypted="true", kmsKeyId=KEY_ARN)])
        instance = child_of(template, INSTANCE, "box", {"launchTemplate": {"id": "x"}}, prop="launchTemplate")
        assert verdicts(pack, INSTANCE_RULE, [template, instance], PROD_CONFIG) == {}
    for mappings in ([mapping(encrypted="false")], [mapping("/dev/sdf", encrypted="true", kmsKeyId=KEY_ARN)]):
        template = good_launch_template(blockDeviceMappings=mappings)
        instance = child_of(template, INSTANCE, "box", {"launchTemplate": {"id": "x"}}, prop="launchTemplate")
        assert verdicts(pack, INSTANCE_RULE, [template, instance]) == {
            "box": [f"'box' ({INSTANCE}) " + INSTANCE_UNDECLARED.format(where="root_block_device")]
        }


@pytest.mark.parametrize(
    "type_",
    [VOLUME, "aws:ebs/snapshotCopy:SnapshotCopy", "aws:ebs/snapshotImport:SnapshotImport", "aws:ec2/amiCopy:AmiCopy"],
)
def test_volumes_snapshots_and_images_are_encrypted_with_a_suitable_key(pack, type_):
    plain = resource(type_, "vol", {"encrypted": "false", "tags": TAGS})
    assert verdicts(pack, VOLUME_RULE, [plain]) == {
        "vol": [f"'vol' ({type_}): the volume at 'encrypted' is not encrypted; {VOLUME_FIX}"]
    }
    assert verdicts(pack, VOLUME_RULE, [plain, *by_default(key=KEY_ARN)], PROD_CONFIG) == {}
    on_aws_key = resource(type_, "vol", {"encrypted": True, "kmsKeyId": ALIAS_KEY, "tags": TAGS})
    assert verdicts(pack, VOLUME_RULE, [on_aws_key], DEV_CONFIG) == {}
    assert verdicts(pack, VOLUME_RULE, [on_aws_key], PROD_CONFIG) == {
        "vol": [f"'vol' ({type_}): the volume at 'encrypted' is encrypted, but {AWS_MANAGED}; {VOLUME_FIX}"]
    }


# --- Load balancer listeners -------------------------------------------------------------------

TLS_RULE = "lb-listener-require-modern-tls"
REDIRECT_RULE = "lb-listener-require-https-redirect"
REDIRECT_FIX = (
    "default_actions=[{type: 'redirect', redirect: {protocol: 'HTTPS', port: '443', status_code: 'HTTP_301'}}]"
)
MODERN = (
    "['ELBSecurityPolicy-TLS13-1-2-2021-06', 'ELBSecurityPolicy-TLS13-1-2-Res-2021-06', "
    "'ELBSecurityPolicy-TLS13-1-3-2021-06', 'ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04', "
    "'ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04', 'ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04', "
    "'ELBSecurityPolicy-FS-1-2-Res-2020-10', 'ELBSecurityPolicy-FS-1-2-Res-2019-08']"
)


@pytest.mark.parametrize("type_", [LISTENER, ALB_LISTENER])
def test_a_tls_listener_is_told_the_accepted_policies(pack, type_):
    for protocol in ("HTTPS", "tls"):
        listener = resource(type_, "l", {"protocol": protocol, "port": 443, "sslPolicy": "ELBSecurityPolicy-2016-08"})
        assert verdicts(pack, TLS_RULE, [listener]) == {
            "l": [
                f"{protocol.upper()} listener 'l' uses TLS policy 'ELBSecurityPolicy-2016-08'; set ssl_policy to one "
                f"of {MODERN}."
            ]
        }
        listener["inputs"]["sslPolicy"] = "ELBSecurityPolicy-FS-1-2-Res-2019-08"
        assert verdicts(pack, TLS_RULE, [listener]) == {}
    for protocol in ("HTTP", "TCP", None):
        plain = resource(type_, "l", {"protocol": protocol, "port": 80, "sslPolicy": "ELBSecurityPolicy-2016-08"})
        assert verdicts(pack, TLS_RULE, [plain]) == {}


@pytest.mark.parametrize("type_", [LISTENER, ALB_LISTENER])
@pytest.mark.parametrize("port", [80, "80", 80.0])
def test_port_80_speaks_http_whatever_else_the_listener_says(pack, type_, port):
    for protocol in ("HTTPS", "tcp"):
        listener = resource(type_, "l", {"protocol": protocol, "port": port})
        shown = protocol.upper()
        assert verdicts(pack, REDIRECT_RULE, [listener]) == {
            "l": [
                f"Listener 'l' listens on port 80 with {shown}, where clients speak plain HTTP; serve {shown} on 443 and "
                f"make the port-80 listener an HTTP listener with {REDIRECT_FIX}."
            ]
        }
    assert verdicts(pack, REDIRECT_RULE, [resource(type_, "l", {"protocol": "HTTPS", "port": 443})]) == {}
    allowed = configured(REDIRECT_RULE, allowPlainHttp=True)
    (message,) = verdicts(pack, REDIRECT_RULE, [resource(type_, "l", {"protocol": "HTTPS", "port": port})], allowed)[
        "l"
    ]
    assert message.startswith("Listener 'l' listens on port 80 with HTTPS")


def clear_text(what):
    return {
        "l": [
            f"Listener 'l' serves traffic in clear text (HTTP listener that {what}); make its only default action "
            f"{REDIRECT_FIX}."
        ]
    }


@pytest.mark.parametrize("type_", [LISTENER, ALB_LISTENER])
def test_an_http_listener_must_only_redirect_to_https(pack, type_):
    def judged(actions, protocol="HTTP", port=8080, config=None):
        inputs = {"protocol": protocol, "port": port}
        if actions is not None:
            inputs["defaultActions"] = actions
        return verdicts(pack, REDIRECT_RULE, [resource(type_, "l", inputs)], config)

    to_https = {"type": "redirect", "redirect": {"protocol": "https", "port": "443"}}
    forward = {"type": "forward", "targetGroupArn": "arn"}
    assert judged([to_https]) == {}
    assert judged([to_https], protocol="http", port=80) == {}
    assert judged(None) == clear_text("has no default action")
    assert judged([]) == clear_text("has no default action")
    assert judged([{"type": "redirect", "redirect": {"protocol": "HTTP"}}]) == clear_text(
        "has 1 default actions that do not all redirect"
    )
    assert judged([{"type": "fixed-response", "redirect": {"protocol": "HTTPS"}}]) == clear_text(
        "has 1 default actions that do not all redirect"
    )
    assert judged([{"type": "redirect"}]) == clear_text("has 1 default actions that do not all redirect")
    assert judged([to_https, forward]) == clear_text("has 2 default actions that do not all redirect")
    assert judged([forward], config=configured(REDIRECT_RULE, allowPlainHttp=True)) == {}


def listener_rule(listener, actions, type_=LISTENER_RULE):
    return child_of(listener, type_, "rule", {"listenerArn": "x", "actions": actions}, prop="listenerArn")


@pytest.mark.parametrize("rule_type", [LISTENER_RULE, ALB_LISTENER_RULE])
def test_a_rule_on_the_http_listener_must_only_redirect(pack, rule_type):
    alb = good_alb_set()
    http, https = alb[4], alb[3]
    redirect = {"type": "redirect", "redirect": {"protocol": "HTTPS"}}
    forward = {"type": "forward", "targetGroupArn": "arn"}
    flagged = {
        "rule": [
            "Listener rule 'rule' serves requests of the HTTP listener 'collector-http' in clear text; attach it to "
            "the HTTPS listener, or make its only action a redirect to HTTPS."
        ]
    }
    assert verdicts(pack, REDIRECT_RULE, [*alb, listener_rule(http, [redirect], rule_type)]) == {}
    assert verdicts(pack, REDIRECT_RULE, [*alb, listener_rule(http, [redirect, redirect], rule_type)]) == {}
    for actions in ([], [forward], [redirect, forward]):
        assert verdicts(pack, REDIRECT_RULE, [*alb, listener_rule(http, actions, rule_type)]) == flagged
    http["inputs"]["protocol"] = "http"
    assert verdicts(pack, REDIRECT_RULE, [*alb, listener_rule(http, [forward], rule_type)]) == flagged
    assert verdicts(pack, REDIRECT_RULE, [*alb, listener_rule(https, [forward], rule_type)]) == {}
    allowed = configured(REDIRECT_RULE, allowPlainHttp=True)
    assert verdicts(pack, REDIRECT_RULE, [*alb, listener_rule(http, [forward], rule_type)], allowed) == {}
    assert verdicts(pack, REDIRECT_RULE, [*alb, listener_rule(http, UNKNOWN_STRING, rule_type)]) == {}


def test_a_classic_load_balancer_names_each_plain_http_listener(pack):
    listeners = [{"lbProtocol": "https", "lbPort": 443}, {"lbProtocol": "HTTP", "lbPort": 80}, {"lbProtocol": "tcp"}]
    elb = resource(CLASSIC_ELB, "elb", {"listeners": listeners, "tags": TAGS})
    assert verdicts(pack, REDIRECT_RULE, [elb]) == {
        "elb": [
            "Classic load balancer 'elb' serves listeners[1] over plain HTTP and cannot redirect; set "
            "lb_protocol='https' with an ssl_certificate_id, or move to an Application Load Balancer "
            "(aws.lb.LoadBalancer) with an HTTP-to-HTTPS redirect."
        ]
    }
    assert verdicts(pack, REDIRECT_RULE, [elb], configured(REDIRECT_RULE, allowPlainHttp=True)) == {}


# --- Athena ------------------------------------------------------------------------------------

ATHENA = "athena-workgroup-require-encrypted-results"
WRITE_FIX = (
    " (configuration.result_configuration.encryption_configuration); set encryption_configuration="
    "{'encryption_option': 'SSE_KMS', 'kms_key_arn': <key ARN>} and keep enforce_workgroup_configuration=True."
)


def test_a_workgroup_that_clients_may_override_is_told_to_enforce(pack):
    for enforced in (True, None):
        assert verdicts(pack, ATHENA, [athena_workgroup(enforceWorkgroupConfiguration=enforced)]) == {}
    overridable = athena_workgroup(enforceWorkgroupConfiguration=False, resultConfiguration=None)
    assert verdicts(pack, ATHENA, [overridable]) == {
        "analysis": [
            "Athena workgroup 'analysis' lets clients override its settings (configuration.enforce_workgroup_"
            "configuration=False), so a query can write unencrypted results anywhere; set it to True.",
            f"Athena workgroup 'analysis' writes query results unencrypted{WRITE_FIX}",
        ]
    }


@pytest.mark.parametrize("option", ["SSE_S3", ""])
def test_results_written_without_kms_name_the_option(pack, option):
    shown = "with SSE_S3" if option else "unencrypted"
    assert verdicts(pack, ATHENA, [athena_workgroup(encryption={"encryptionOption": option})]) == {
        "analysis": [f"Athena workgroup 'analysis' writes query results {shown}{WRITE_FIX}"]
    }


@pytest.mark.parametrize("option", ["SSE_KMS", "CSE_KMS"])
def test_kms_results_name_their_key_problem(pack, option):
    keyless = athena_workgroup(encryption={"encryptionOption": option})
    assert verdicts(pack, ATHENA, [keyless]) == {
        "analysis": [f"Athena workgroup 'analysis' encrypts query results with {option} but no KMS key is set."]
    }
    on_aws_key = athena_workgroup(encryption={"encryptionOption": option, "kmsKeyArn": ALIAS_KEY})
    assert verdicts(pack, ATHENA, [on_aws_key], DEV_CONFIG) == {}
    assert verdicts(pack, ATHENA, [on_aws_key], PROD_CONFIG) == {
        "analysis": [f"Athena workgroup 'analysis' encrypts query results with {option} but {AWS_MANAGED}."]
    }


def test_managed_results_need_a_suitable_key_and_replace_the_result_configuration(pack):
    fix = "; set managed_query_results_configuration.encryption_configuration.kms_key."
    managed = athena_workgroup(
        encryption={"encryptionOption": "SSE_S3"}, managedQueryResultsConfiguration={"enabled": "true"}
    )
    assert verdicts(pack, ATHENA, [managed]) == {
        "analysis": [f"Athena workgroup 'analysis' keeps results in Athena-managed storage but no KMS key is set{fix}"]
    }
    managed["inputs"]["configuration"]["managedQueryResultsConfiguration"]["encryptionConfiguration"] = {
        "kmsKey": ALIAS_KEY
    }
    assert verdicts(pack, ATHENA, [managed], DEV_CONFIG) == {}
    assert verdicts(pack, ATHENA, [managed], PROD_CONFIG) == {
        "analysis": [f"Athena workgroup 'analysis' keeps results in Athena-managed storage but {AWS_MANAGED}{fix}"]
    }
    off = athena_workgroup(
        encryption={"encryptionOption": "SSE_S3"}, managedQueryResultsConfiguration={"enabled": False}
    )
    assert verdicts(pack, ATHENA, [off]) == {
        "analysis": [f"Athena workgroup 'analysis' writes query results with SSE_S3{WRITE_FIX}"]
    }


# --- Values decided at deploy time -------------------------------------------------------------


def test_ebs_settings_decided_at_deploy_time_raise_no_violation(pack):
    """What depends on an unknown value is left to deploy time; what is known beside it is still judged."""
    unknown_mappings = good_launch_template(blockDeviceMappings=UNKNOWN_STRING)
    unknown_ebs = good_launch_template(blockDeviceMappings=[{"deviceName": "/dev/xvda", "ebs": UNKNOWN_STRING}])
    unknown_flag = good_launch_template(blockDeviceMappings=[mapping(encrypted=UNKNOWN_STRING, kmsKeyId=KEY_ARN)])
    for template in (unknown_mappings, unknown_ebs, unknown_flag):
        assert verdicts(pack, TEMPLATE_RULE, [template], PROD_CONFIG) == {}
    unknown_name = good_launch_template(
        blockDeviceMappings=[{"deviceName": UNKNOWN_STRING, "ebs": {"encrypted": False}}]
    )
    assert verdicts(pack, TEMPLATE_RULE, [unknown_name]) == {
        "enrich-lt": [
            f"'enrich-lt' ({LAUNCH_TEMPLATE}): the volume at block_device_mappings[0] ('?') is not encrypted; "
            f"{TEMPLATE_FIX}"
        ]
    }
    instance = resource(INSTANCE, "box", {"rootBlockDevice": UNKNOWN_STRING, "tags": TAGS})
    assert verdicts(pack, INSTANCE_RULE, [instance], PROD_CONFIG) == {}
    volume = resource(VOLUME, "vol", {"encrypted": UNKNOWN_BOOL, "tags": TAGS})
    assert verdicts(pack, VOLUME_RULE, [volume], PROD_CONFIG) == {}


def test_listener_settings_decided_at_deploy_time_raise_no_violation(pack):
    listener = resource(LISTENER, "l", {"protocol": UNKNOWN_STRING, "port": 80})
    assert verdicts(pack, REDIRECT_RULE, [listener]) == {}
    alb = good_alb_set()
    alb[4]["inputs"]["protocol"] = UNKNOWN_STRING
    forward = {"type": "forward", "targetGroupArn": "arn"}
    assert verdicts(pack, REDIRECT_RULE, [*alb, listener_rule(alb[4], [forward])]) == {}
    elb = resource(CLASSIC_ELB, "elb", {"listeners": UNKNOWN_STRING, "tags": TAGS})
    assert verdicts(pack, REDIRECT_RULE, [elb]) == {}
    listeners = [{"lbProtocol": UNKNOWN_STRING}, {"lbProtocol": "http"}]
    elb = resource(CLASSIC_ELB, "elb", {"listeners": listeners, "tags": TAGS})
    assert [m[:52] for m in verdicts(pack, REDIRECT_RULE, [elb])["elb"]] == [
        "Classic load balancer 'elb' serves listeners[1] over"
    ]


def test_an_encrypted_database_whose_source_is_decided_at_deploy_time_keeps_the_sources_key(pack):
    """A replica's key follows its source unless given, so a source known only at deploy time leaves it alone."""
    replica = good_rds(replicateSourceDb=UNKNOWN_STRING, kmsKeyId=ALIAS_KEY)
    assert verdicts(pack, DATABASE, [replica], PROD_CONFIG) == {}
    assert list(verdicts(pack, DATABASE, [good_rds(kmsKeyId=ALIAS_KEY)], PROD_CONFIG)) == ["iglu-db"]


def test_a_global_cluster_made_from_an_encrypted_cluster_is_encrypted(pack):
    """A global cluster created with source_db_cluster_identifier takes the source cluster's storage encryption."""
    source = resource(
        RDS_CLUSTER, "primary", {"clusterIdentifier": "snowplow-primary", "storageEncrypted": True, "kmsKeyId": KEY_ARN}
    )
    global_cluster = resource(
        GLOBAL_CLUSTER,
        "global",
        {"globalClusterIdentifier": "snowplow-global", "sourceDbClusterIdentifier": "snowplow-primary", "tags": TAGS},
    )
    assert verdicts(pack, DATABASE, [source, global_cluster], PROD_CONFIG) == {}
    source["inputs"].update(storageEncrypted=False, kmsKeyId=None)
    assert verdicts(pack, DATABASE, [source, global_cluster]) == {
        "primary": [f"RDS cluster 'primary' does not encrypt its storage; {UNENCRYPTED_FIX}"],
        "global": [
            f"RDS global cluster 'global' does not encrypt its storage (it copies 'primary', which is unencrypted); "
            f"{UNENCRYPTED_FIX}"
        ],
    }


def test_only_the_database_a_replica_names_is_its_source(pack):
    other = resource(RDS_INSTANCE, "other", {"identifier": "snowplow-other", "tags": TAGS})
    unnamed = resource(RDS_INSTANCE, "unnamed", {"tags": TAGS})
    replica = resource(RDS_INSTANCE, "replica", {"replicateSourceDb": "snowplow-primary", "tags": TAGS})
    found = verdicts(pack, DATABASE, [other, unnamed, replica])
    assert sorted(found) == ["other", "unnamed"]


def test_a_given_key_is_judged_even_when_the_accounts_default_key_is_decided_at_deploy_time(pack):
    unknown_default_key = [*by_default(), resource(DEFAULT_KEY, "ebs-key", {"keyArn": UNKNOWN_STRING})]
    template = good_launch_template(blockDeviceMappings=[mapping(encrypted="true", kmsKeyId=ALIAS_KEY)])
    assert verdicts(pack, TEMPLATE_RULE, [template, *unknown_default_key], PROD_CONFIG) == {
        "enrich-lt": [
            f"'enrich-lt' ({LAUNCH_TEMPLATE}): the volume at block_device_mappings[0] ('/dev/xvda') is encrypted, but "
            f"{AWS_MANAGED}; {TEMPLATE_FIX}"
        ]
    }


def test_the_launch_template_an_instance_names_is_the_one_that_counts(pack):
    """An instance that also depends on another launch template takes its root from the one in launch_template."""
    encrypting = good_launch_template(blockDeviceMappings=[mapping(encrypted="true", kmsKeyId=KEY_ARN)])
    other = good_launch_template(
        "other-lt", blockDeviceMappings=[mapping("/dev/sdf", encrypted="true", kmsKeyId=KEY_ARN)]
    )
    instance = resource(
        INSTANCE,
        "box",
        {"launchTemplate": {"id": "x"}},
        deps=[encrypting, other],
        prop_deps={"launchTemplate": [encrypting]},
    )
    assert verdicts(pack, INSTANCE_RULE, [encrypting, other, instance], PROD_CONFIG) == {}
    named_other = resource(
        INSTANCE,
        "box",
        {"launchTemplate": {"id": "x"}},
        deps=[encrypting, other],
        prop_deps={"launchTemplate": [other]},
    )
    assert list(verdicts(pack, INSTANCE_RULE, [encrypting, other, named_other], PROD_CONFIG)) == ["box"]


def test_an_unknown_workgroup_setting_is_named_by_its_place_in_the_preview_advisory(pack):
    workgroup = athena_workgroup(enforceWorkgroupConfiguration=UNKNOWN_BOOL)
    (advisory,) = [v for v in run(pack, [workgroup])["violations"] if v["policy"] == ATHENA]
    assert advisory["enforcementLevel"] == "advisory"
    assert advisory["message"].endswith(
        "value at .configuration.enforceWorkgroupConfiguration can't be known during preview"
    )


def test_a_stream_names_the_encryption_type_it_was_given(pack):
    """The stream's own (invalid) spelling is shown, so the user sees why 'kms' is not KMS."""
    assert verdicts(pack, "kinesis-stream-require-kms", [good_stream(encryptionType="kms")]) == {
        "raw": [
            "Kinesis stream 'raw' is not encrypted (encryptionType is 'kms'); set encryption_type='KMS' and "
            "kms_key_id=<key ARN>."
        ]
    }


def test_every_bucket_is_judged_after_one_that_is_skipped(pack):
    """A bucket left alone (decided at deploy time, linked to KMS, or a log sink) does not end the review."""
    unknown = resource(BUCKET, "a-unknown", {"bucket": "snowplow-test-a"})
    unknown_sse = child_of(unknown, SSE, "a-unknown-sse", {"bucket": "x", "rules": UNKNOWN_STRING})
    linked = resource(BUCKET, "b-linked", {"bucket": "snowplow-test-b"})
    linked_sse = sse_config(linked, name="b-linked-sse")
    sink = resource(BUCKET, "c-sink", {"bucket": "snowplow-test-c"})
    sink_sse = sse_config(sink, "AES256", key=None, name="c-sink-sse")
    lb = resource(
        "aws:lb/loadBalancer:LoadBalancer",
        "alb",
        {"loadBalancerType": "application", "accessLogs": {"bucket": "snowplow-test-c", "enabled": True}},
    )
    bare = resource(BUCKET, "z-bare", {"bucket": "snowplow-test-z"})
    resources = [unknown, unknown_sse, linked, linked_sse, sink, sink_sse, lb, bare]
    assert list(verdicts(pack, BUCKET_RULE, resources)) == ["z-bare"]
    inline_kms = inline_bucket({"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN}, name="y-inline")
    for skipped in ([unknown, unknown_sse], [linked, linked_sse], [sink, sink_sse, lb], [inline_kms]):
        assert list(verdicts(pack, BUCKET_RULE, [*skipped, bare])) == ["z-bare"]


def test_every_database_and_configuration_is_judged_after_one_that_is_skipped(pack):
    decided_later = resource(RDS_INSTANCE, "a-later", {"storageEncrypted": UNKNOWN_BOOL, "tags": TAGS})
    replica = resource(RDS_INSTANCE, "b-replica", {"replicateSourceDb": "elsewhere", "storageEncrypted": True})
    on_aws_key = good_rds("z-db", kmsKeyId=ALIAS_KEY)
    for skipped in (decided_later, replica):
        assert list(verdicts(pack, DATABASE, [skipped, on_aws_key], PROD_CONFIG)) == ["z-db"]
    bucket = good_bucket_set("data")[0]
    later = child_of(bucket, SSE, "a-later-sse", {"bucket": "x", "rules": UNKNOWN_STRING})
    plain = sse_config(bucket, "aws:fsx", key=None, name="z-sse")
    assert list(verdicts(pack, SSE_RULE, [bucket, later, plain])) == ["z-sse"]
    sink = resource(BUCKET, "logs", {"bucket": "snowplow-test-logs"})
    lb = resource(
        "aws:lb/loadBalancer:LoadBalancer",
        "alb",
        {"loadBalancerType": "application", "accessLogs": {"bucket": "snowplow-test-logs", "enabled": True}},
    )
    sink_sse = sse_config(sink, "AES256", key=None, name="logs-sse")
    sink_sse["inputs"]["rules"].append({"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:fsx"}})
    (message,) = verdicts(pack, SSE_RULE, [sink, lb, sink_sse])["logs-sse"]
    assert message.startswith("S3 encryption configuration 'logs-sse' uses sse_algorithm 'aws:fsx'")
