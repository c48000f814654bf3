"""Helpers for the policy-pack tests: plan-entry builders, compliant baseline resources, and one
shared policy pack process per test session (driven over gRPC by offline.policy)."""

import base64
import json
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from offline.policy import PolicyPackProcess  # noqa: E402

STACK, PROJECT = "test", "snowplow"
PACK_DIR = ROOT / "policies"
DEV_CONFIG = PACK_DIR / "config.dev.json"
PROD_CONFIG = PACK_DIR / "config.prod.json"

# Engine sentinels for values unknown during preview.
UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
UNKNOWN_NUMBER = "3eeb2bf0-c639-47a8-9e75-3b44932eb421"
UNKNOWN_BOOL = "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7"
UNKNOWN_ARRAY = "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2"
UNKNOWN_OBJECT = "dd056dcd-154b-4c76-9bd3-c8f88648b5ff"


def secret(value):
    """A value wrapped the way the engine marks secrets."""
    return {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": value}


TAGS = {"project": PROJECT, "stack": STACK, "environment": "test"}
# All four settings of an S3 public access block (bucket or account), on.
PUBLIC_ACCESS_BLOCKED = dict.fromkeys(
    ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True
)
KEY_ARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

# Types ---------------------------------------------------------------------------------------
BUCKET = "aws:s3/bucket:Bucket"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
BUCKET_LOGGING = "aws:s3/bucketLogging:BucketLogging"
STREAM = "aws:kinesis/stream:Stream"
TABLE = "aws:dynamodb/table:Table"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
REDSHIFT = "aws:redshift/cluster:Cluster"
NAMESPACE = "aws:redshiftserverless/namespace:Namespace"
WORKGROUP = "aws:redshiftserverless/workgroup:Workgroup"
OPENSEARCH = "aws:opensearch/domain:Domain"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
INSTANCE = "aws:ec2/instance:Instance"
VOLUME = "aws:ebs/volume:Volume"
QUEUE = "aws:sqs/queue:Queue"
TOPIC = "aws:sns/topic:Topic"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SECRET = "aws:secretsmanager/secret:Secret"
PARAMETER = "aws:ssm/parameter:Parameter"
KEY = "aws:kms/key:Key"
LB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
IAM_POLICY = "aws:iam/policy:Policy"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE = "aws:iam/role:Role"
ASG = "aws:autoscaling/group:Group"
PROVIDER = "pulumi:providers:aws"


# Plan entries --------------------------------------------------------------------------------


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::{PROJECT}::{type_}::{name}"


def resource(
    type_, name, inputs=None, *, protect=False, deps=(), prop_deps=None, parent=None, custom=True, provider=None
):
    """A plan entry as offline.engine records it (inputs in camelCase wire format)."""
    entry = {
        "urn": urn(type_, name),
        "type": type_,
        "name": name,
        "custom": custom,
        "parent": parent,
        "inputs": inputs or {},
        "protect": protect,
        "retainOnDelete": False,
        "dependencies": [d["urn"] if isinstance(d, dict) else d for d in deps],
        "propertyDependencies": {
            k: [d["urn"] if isinstance(d, dict) else d for d in v] for k, v in (prop_deps or {}).items()
        },
    }
    if provider is not None:
        entry["provider"] = provider
    return entry


def child_of(target: dict, type_: str, name: str, inputs: dict, prop: str = "bucket", **kwargs) -> dict:
    """A resource that references `target` through input `prop` (propertyDependencies + dependencies)."""
    return resource(type_, name, inputs, deps=[target], prop_deps={prop: [target]}, **kwargs)


def tls_only_policy(bucket_name: str) -> str:
    arn = f"arn:aws:s3:::{bucket_name}"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [arn, f"{arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


def good_bucket_set(name: str = "data", **overrides) -> list:
    """A bucket with SSE-KMS, a full public access block, a TLS-only policy and versioning."""
    physical = f"snowplow-{STACK}-{name}"
    bucket = resource(BUCKET, name, {"bucket": physical, "tags": TAGS}, protect=True)
    parts = {
        "sse": child_of(
            bucket,
            SSE,
            f"{name}-sse",
            {
                "bucket": UNKNOWN_STRING,
                "rules": [
                    {
                        "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN},
                        "bucketKeyEnabled": True,
                    }
                ],
            },
        ),
        "pab": child_of(
            bucket,
            PAB,
            f"{name}-pab",
            {"bucket": UNKNOWN_STRING, **PUBLIC_ACCESS_BLOCKED},
        ),
        "policy": child_of(
            bucket, BUCKET_POLICY, f"{name}-policy", {"bucket": UNKNOWN_STRING, "policy": tls_only_policy(physical)}
        ),
        "versioning": child_of(
            bucket,
            VERSIONING,
            f"{name}-versioning",
            {"bucket": UNKNOWN_STRING, "versioningConfiguration": {"status": "Enabled"}},
        ),
    }
    for key, value in overrides.items():
        if value is None:
            parts.pop(key)
        else:
            parts[key] = value
    return [bucket, *parts.values()]


def good_stream(name="raw", shards=1, **inputs):
    return resource(
        STREAM,
        name,
        {
            "name": f"snowplow-{STACK}-{name}",
            "shardCount": shards,
            "streamModeDetails": {"streamMode": "PROVISIONED"},
            "retentionPeriod": 168,
            "encryptionType": "KMS",
            "kmsKeyId": KEY_ARN,
            "tags": TAGS,
            **inputs,
        },
        protect=True,
    )


def good_iterator_age_alarm(
    stream_name: str, name: str = "raw-iterator-age", threshold=0.25 * 168 * 3_600_000, **inputs
):
    """An alarm on a stream's iterator age at a quarter of good_stream's 168h retention, notifying a topic."""
    return resource(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        name,
        {
            "namespace": "AWS/Kinesis",
            "metricName": "GetRecords.IteratorAgeMilliseconds",
            "dimensions": {"StreamName": stream_name},
            "statistic": "Maximum",
            "period": 300,
            "evaluationPeriods": 3,
            "comparisonOperator": "GreaterThanThreshold",
            "threshold": threshold,
            "alarmActions": [f"arn:aws:sns:eu-west-1:111122223333:snowplow-{STACK}-alarms"],
            "tags": TAGS,
            **inputs,
        },
    )


def good_launch_template(name="enrich-lt", **inputs):
    user_data = base64.b64encode(b"#!/bin/bash\ndocker run snowplow/snowplow-enrich-kinesis:6.2.1\n").decode()
    return resource(
        LAUNCH_TEMPLATE,
        name,
        {
            "instanceType": "t3a.small",
            "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 2},
            "blockDeviceMappings": [
                {"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "kmsKeyId": KEY_ARN, "volumeType": "gp3"}}
            ],
            "networkInterfaces": [{"associatePublicIpAddress": "false", "deviceIndex": 0}],
            "userData": user_data,
            "tags": TAGS,
            **inputs,
        },
    )


def asg_tags(extra=None):
    tags = {**TAGS, **(extra or {})}
    return [{"key": k, "value": v, "propagateAtLaunch": True} for k, v in tags.items()]


def good_asg(name="enrich-asg", max_size=1, kcl_app=None, stream=None, **inputs):
    extra = {}
    if kcl_app:
        extra = {"snowplow:kcl-app": kcl_app, "snowplow:input-stream": stream}
    return resource(ASG, name, {"minSize": 1, "maxSize": max_size, "tags": asg_tags(extra), **inputs})


def good_rds(name="iglu-db", **inputs):
    return resource(
        RDS_INSTANCE,
        name,
        {
            "engine": "postgres",
            "engineVersion": "16.4",
            "instanceClass": "db.t4g.micro",
            "allocatedStorage": 20,
            "maxAllocatedStorage": 100,
            "storageType": "gp3",
            "storageEncrypted": True,
            "kmsKeyId": KEY_ARN,
            "publiclyAccessible": False,
            "deletionProtection": True,
            "backupRetentionPeriod": 7,
            "skipFinalSnapshot": False,
            "finalSnapshotIdentifier": "iglu-final",
            "multiAz": True,
            "tags": TAGS,
            **inputs,
        },
        protect=True,
    )


def good_table(name="enrich-kcl", **inputs):
    return resource(
        TABLE,
        name,
        {
            "name": f"snowplow-{STACK}-{name}",
            "hashKey": "leaseKey",
            "serverSideEncryption": {"enabled": True, "kmsKeyArn": KEY_ARN},
            "pointInTimeRecovery": {"enabled": True},
            "tags": TAGS,
            **inputs,
        },
        protect=True,
    )


def good_key(name="stack-key", **inputs):
    return resource(
        KEY, name, {"enableKeyRotation": True, "deletionWindowInDays": 30, "tags": TAGS, **inputs}, protect=True
    )


def good_log_group(name="enrich-logs", **inputs):
    return resource(
        LOG_GROUP,
        name,
        {"name": f"/aws/ec2/{name}", "retentionInDays": 30, "kmsKeyId": KEY_ARN, "tags": TAGS, **inputs},
    )


def good_alb_set(name="collector"):
    """An ALB with its security group (80/443 open to the internet) and HTTP->HTTPS + HTTPS listeners."""
    sg = resource(
        SG,
        f"{name}-lb-sg",
        {
            "description": "collector load balancer",
            "ingress": [
                {
                    "protocol": "tcp",
                    "fromPort": 443,
                    "toPort": 443,
                    "cidrBlocks": ["0.0.0.0/0"],
                    "ipv6CidrBlocks": ["::/0"],
                }
            ],
            "tags": TAGS,
        },
    )
    http_rule = child_of(
        sg,
        INGRESS_RULE,
        f"{name}-lb-http",
        {
            "securityGroupId": UNKNOWN_STRING,
            "ipProtocol": "tcp",
            "fromPort": 80,
            "toPort": 80,
            "cidrIpv4": "0.0.0.0/0",
            "tags": TAGS,
        },
        prop="securityGroupId",
    )
    lb = resource(
        LB,
        f"{name}-lb",
        {
            "loadBalancerType": "application",
            "internal": False,
            "securityGroups": [UNKNOWN_STRING],
            "dropInvalidHeaderFields": True,
            "accessLogs": {"enabled": True, "bucket": "snowplow-test-logs"},
            "tags": TAGS,
        },
        deps=[sg],
        prop_deps={"securityGroups": [sg]},
    )
    https = child_of(
        lb,
        LISTENER,
        f"{name}-https",
        {
            "loadBalancerArn": UNKNOWN_STRING,
            "port": 443,
            "protocol": "HTTPS",
            "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
            "certificateArn": "arn:aws:acm:eu-west-1:111122223333:certificate/abc",
            "defaultActions": [{"type": "forward", "targetGroupArn": UNKNOWN_STRING}],
            "tags": TAGS,
        },
        prop="loadBalancerArn",
    )
    http = child_of(
        lb,
        LISTENER,
        f"{name}-http",
        {
            "loadBalancerArn": UNKNOWN_STRING,
            "port": 80,
            "protocol": "HTTP",
            "defaultActions": [
                {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}
            ],
            "tags": TAGS,
        },
        prop="loadBalancerArn",
    )
    return [sg, http_rule, lb, https, http]


def policy_document(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions, resources):
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


# The shared pack -----------------------------------------------------------------------------

_shared: list = []


def shared_pack() -> PolicyPackProcess:
    """One pack process for the whole test session (started on first use)."""
    if not _shared:
        _shared.append(PolicyPackProcess(PACK_DIR, stack=STACK, project=PROJECT).start())
    return _shared[0]


@pytest.fixture(scope="session")
def pack():
    yield shared_pack()
    while _shared:
        _shared.pop().close()


# Assertions ----------------------------------------------------------------------------------


def run(pack, resources, config=None) -> dict:
    return pack.run(resources, config)


def findings(report: dict, policy: str) -> list:
    return [v for v in report["violations"] if v["policy"] == policy]


def real_findings(report: dict, policy: str) -> list:
    """Violations of `policy`, without the SDK's "can't run policy during preview" advisories."""
    return [v for v in findings(report, policy) if "during preview" not in v["message"]]


def assert_violates(pack, policy, resources, config=None, urn=None, contains=None):
    """The rule reports a real violation on `urn` (by default the only resource given, when there is one)
    whose message contains `contains`; returns the rule's findings."""
    report = run(pack, resources, config)
    found = real_findings(report, policy)
    assert found, f"expected a {policy} violation, got {[v['policy'] for v in report['violations']]}"
    if urn is None and len(resources) == 1:
        urn = resources[0]["urn"]
    if urn is not None:
        assert urn in {v["urn"] for v in found}, found
    if contains is not None:
        assert any(contains in v["message"] for v in found), found
    return found


def assert_passes(pack, policy, resources, config=None):
    report = run(pack, resources, config)
    assert not findings(report, policy), findings(report, policy)
    return report


def assert_survives_unknowns(pack, policy, resources, config=None):
    """The rule neither crashes nor raises a real violation; at most the SDK's preview advisory."""
    report = run(pack, resources, config)  # a crash would raise PolicyPackError
    assert not real_findings(report, policy), real_findings(report, policy)
    for v in findings(report, policy):
        assert v["enforcementLevel"] == "advisory"
    return report
