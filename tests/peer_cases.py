"""Peer policy suites' test cases, re-expressed as pulumi_aws 7 plan entries for the rule areas this pack covers.

Sources (read with the `fetch` tool; no code or text is copied, only what each case configures and expects):
- Pulumi AWSGuard, github.com/pulumi/pulumi-policy-aws @ 4355f3be, `src/tests/*.spec.ts`;
- Pulumi compliance-policies, github.com/pulumi/compliance-policies @ 712a9017, `vendor-aws/tests/aws/**`.

Each `PeerCase` names its source file and test, the resources (wire format, camelCase, pulumi_aws 7 types and
value types), the peer's verdict, our rules for the same setting (`policies`) and our config equivalent to the
peer test's config. `ours` explains a case where this pack deliberately decides otherwise (see
policies/RULES.md, "Where the pack differs from its peers"). `tests/test_policies_peers.py` runs every case
through the analyzer protocol; `python -m tests.peer_cases [--pack DIR]` prints caught/flagged counts for any
pack directory (e.g. an older version of `policies/`).
"""

import argparse
import copy
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.policy_helpers import PACK_DIR, resource

AWSGUARD = "awsguard"
COMPLIANCE = "compliance"


@dataclass(frozen=True)
class PeerCase:
    suite: str
    source: str  # spec file, relative to the suite's test folder
    test: str  # describe / it title, or "#n" for compliance-policies
    resources: tuple
    verdict: str  # the peer's: "violation" or "compliant"
    policies: tuple  # our rules that guard the same setting
    config: dict = field(default_factory=dict)  # our equivalent of the peer test's config, per rule
    ours: str = ""  # why we decide otherwise, when we do

    @property
    def expect_violation(self) -> bool:
        return (self.verdict == "violation") != bool(self.ours)

    @property
    def name(self) -> str:
        stem = re.sub(r"\.spec\.ts$", "", self.source)
        return f"test_{self.suite}_{slug(stem)}__{slug(self.test)}"


def slug(text: str) -> str:
    return re.sub(r"_+", "_", re.sub(r"[^a-z0-9]+", "_", text.lower())).strip("_")


def mutate(base: dict, change: Callable[[dict], None] | None = None) -> dict:
    props = copy.deepcopy(base)
    if change:
        change(props)
    return props


def setter(path: str, value) -> Callable[[dict], None]:
    """A change that sets `path` ("a.b[1].c") to `value`; None removes the key (the peers' `= undefined`)."""

    def change(props: dict) -> None:
        steps = [int(s) if s.isdigit() else s for s in re.findall(r"[^.\[\]]+", path)]
        target = props
        for step in steps[:-1]:
            target = target[step]
        if value is None:
            target.pop(steps[-1], None) if isinstance(target, dict) else None
        else:
            target[steps[-1]] = value

    return change


CASES: list[PeerCase] = []


def case(suite, source, test, type_, props, verdict, policies, config=None, ours="", extra=()):
    CASES.append(
        PeerCase(
            suite,
            source,
            test,
            (resource(type_, "unknown", props), *extra),
            verdict,
            tuple(policies),
            config or {},
            ours,
        )
    )


def each(policies, **settings) -> dict:
    return {p: dict(settings) for p in policies}


# Types (pulumi_aws 7 tokens).
INSTANCE = "aws:ec2/instance:Instance"
LAUNCH_CONFIGURATION = "aws:ec2/launchConfiguration:LaunchConfiguration"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
VOLUME = "aws:ebs/volume:Volume"
REDSHIFT = "aws:redshift/cluster:Cluster"
TABLE = "aws:dynamodb/table:Table"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
ES_DOMAIN = "aws:elasticsearch/domain:Domain"
LB_LISTENER = "aws:lb/listener:Listener"
ALB_LISTENER = "aws:alb/listener:Listener"
ALB = "aws:alb/loadBalancer:LoadBalancer"
CLASSIC_ELB = "aws:elb/loadBalancer:LoadBalancer"
KMS_KEY = "aws:kms/key:Key"
BUCKET = "aws:s3/bucket:Bucket"
SECRET = "aws:secretsmanager/secret:Secret"

# Our rules per area.
EBS_INSTANCE = ("ec2-instance-require-ebs-encryption",)
EBS_TEMPLATE = ("ec2-launch-template-require-ebs-encryption",)
EBS_VOLUME = ("ebs-volume-require-encryption",)
PUBLIC_IP_INSTANCE = ("ec2-instance-forbid-public-ip",)
PUBLIC_IP_TEMPLATE = ("ec2-launch-template-forbid-public-ip",)
REDSHIFT_ENCRYPTION = ("redshift-cluster-require-encryption",)
REDSHIFT_PUBLIC = ("redshift-cluster-forbid-public-access",)
DYNAMODB = ("dynamodb-table-require-sse",)
RDS_BACKUP = ("rds-database-require-backup-retention",)
RDS_MULTI_AZ = ("rds-instance-require-multi-az",)
RDS_PUBLIC = ("rds-database-forbid-public-access",)
RDS_STORAGE = ("rds-database-require-storage-encryption",)
SEARCH_AT_REST = ("opensearch-domain-require-encryption",)
SEARCH_VPC = ("opensearch-domain-require-vpc",)
REDIRECT = ("lb-listener-require-https-redirect",)
TLS = ("lb-listener-require-modern-tls",)
ACCESS_LOGS = ("lb-load-balancer-require-access-logs",)
ROTATION = ("kms-key-require-rotation",)
LOCKOUT = ("kms-key-forbid-lockout-check-bypass",)
INGRESS = ("ec2-security-group-restrict-public-ingress",)
BUCKET_SSE = ("s3-bucket-require-sse-kms",)
BUCKET_ACL = ("s3-bucket-forbid-public-acl",)
SECRET_CMK = ("secretsmanager-secret-require-cmk",)

CMK = {"requireCustomerManagedKey": True}

ROOT_UNDECLARED = (
    "stricter: an instance that declares no root volume keeps the AMI's snapshot, which is unencrypted for public "
    "AMIs, unless the stack enables EBS encryption by default (AWSGuard flags this case too)"
)

# --- AWSGuard (pulumi/pulumi-policy-aws, src/tests) --------------------------------------------

COMPUTE = "compute.spec.ts"
_instance = {
    "ami": "ami-12345678",
    "instanceType": "t2.micro",
    "rootBlockDevice": {"encrypted": True, "kmsKeyId": "test-key-id"},
    "ebsBlockDevices": [{"deviceName": "/dev/test", "encrypted": True, "kmsKeyId": "test-key-id"}],
}
_kms_id = each(EBS_INSTANCE, allowedKmsKeys=["test-key-id"])
for title, change, verdict in (
    ("Should pass if the instance is configured properly.", None, "compliant"),
    ("Should fail if root block device is undefined", setter("rootBlockDevice", None), "violation"),
    ("Should fail if root block device is unencrypted", setter("rootBlockDevice", {"encrypted": False}), "violation"),
    (
        "Should fail if the root block device is encrypted with an improper key",
        setter("rootBlockDevice.kmsKeyId", "incorrect-key"),
        "violation",
    ),
    (
        "Should fail if any additional ebs block devices are unencrypted",
        setter("ebsBlockDevices[0].encrypted", False),
        "violation",
    ),
    (
        "Should fail if any additional ebs block devices are encrypted with an improper key",
        setter("ebsBlockDevices[0].kmsKeyId", "incorrect-key"),
        "violation",
    ),
):
    case(
        AWSGUARD,
        COMPUTE,
        f"#ec2BlockDeviceEncryption {title}",
        INSTANCE,
        mutate(_instance, change),
        verdict,
        EBS_INSTANCE,
        _kms_id,
    )

DATABASE = "database.spec.ts"
_redshift = {"clusterIdentifier": "test", "nodeType": "dc1.large", "logging": {"enable": True}, "encrypted": "true"}
for title, change, verdict in (
    ("Should pass if cluster's configured properly", None, "compliant"),
    ("Should fail if cluster's if encrypted is undefined", setter("encrypted", None), "violation"),
    ("Should fail if cluster's if encrypted is false", setter("encrypted", "false"), "violation"),
):
    case(
        AWSGUARD,
        DATABASE,
        f"#redshiftClusterConfiguration enabled {title}",
        REDSHIFT,
        mutate(_redshift, change),
        verdict,
        REDSHIFT_ENCRYPTION,
    )

_redshift_public = {"clusterIdentifier": "test", "nodeType": "dc1.large", "publiclyAccessible": False}
case(
    AWSGUARD,
    DATABASE,
    "#redshiftClusterPublicAccess Should pass if cluster is not publicly accessible",
    REDSHIFT,
    _redshift_public,
    "compliant",
    REDSHIFT_PUBLIC,
)
case(
    AWSGUARD,
    DATABASE,
    "#redshiftClusterPublicAccess Should fail if cluster's publiclyAccessible is set to default",
    REDSHIFT,
    mutate(_redshift_public, setter("publiclyAccessible", None)),
    "violation",
    REDSHIFT_PUBLIC,
    ours="v7 default: pulumi_aws 7 defaults publicly_accessible to false (SDK docstring: 'Default is `false`'); "
    "the case was written for providers where the default was true, so the translated resource is private",
)
case(
    AWSGUARD,
    DATABASE,
    "#redshiftClusterPublicAccess Should fail if cluster's publiclyAccessible is set to true",
    REDSHIFT,
    mutate(_redshift_public, setter("publiclyAccessible", True)),
    "violation",
    REDSHIFT_PUBLIC,
)

_table = {"hashKey": "test", "attributes": [{"name": "test", "type": "S"}], "serverSideEncryption": {"enabled": True}}
case(
    AWSGUARD,
    DATABASE,
    "#dynamodbTableEncryptionEnabled Should pass if table is encrypted",
    TABLE,
    _table,
    "compliant",
    DYNAMODB,
)
case(
    AWSGUARD,
    DATABASE,
    "#dynamodbTableEncryptionEnabled Should pass if table is encryption is not specified",
    TABLE,
    mutate(_table, setter("serverSideEncryption", None)),
    "compliant",
    DYNAMODB,
    ours="stricter: without server_side_encryption DynamoDB uses an AWS-owned key that the account can neither "
    "audit nor revoke; we require KMS encryption",
)
case(
    AWSGUARD,
    DATABASE,
    "#dynamodbTableEncryptionEnabled Should fail if table's encryption is set to false",
    TABLE,
    mutate(_table, setter("serverSideEncryption.enabled", False)),
    "violation",
    DYNAMODB,
)

_replica = {
    "instanceClass": "db.m5.large",
    "backupRetentionPeriod": 7,
    "backupWindow": "window",
    "replicateSourceDb": "some-there-db",
}
case(
    AWSGUARD,
    DATABASE,
    "#rdsInstanceBackupEnabled check read replicas Should pass if backup retention explicity matches",
    RDS_INSTANCE,
    _replica,
    "compliant",
    RDS_BACKUP,
)
case(
    AWSGUARD,
    DATABASE,
    "#rdsInstanceBackupEnabled check read replicas Should pass if backup retention implicitly matches",
    RDS_INSTANCE,
    mutate(_replica, setter("backupRetentionPeriod", None)),
    "compliant",
    RDS_BACKUP,
)
case(
    AWSGUARD,
    DATABASE,
    "#rdsInstanceBackupEnabled check read replicas Should fail if theres a backup retention period mismatch",
    RDS_INSTANCE,
    mutate(_replica, setter("backupRetentionPeriod", 10)),
    "violation",
    RDS_BACKUP,
    ours="different: the peer's config demands exactly 7 days, even on replicas; ours demands at least "
    "minDays on sources and leaves replicas (which RDS does not back up by this setting) alone",
)
case(
    AWSGUARD,
    DATABASE,
    "#rdsInstanceBackupEnabled do not check read replicas Should pass if read replica is not backed up",
    RDS_INSTANCE,
    {"instanceClass": "db.m5.large", "backupWindow": "another-window", "replicateSourceDb": "some-there-db"},
    "compliant",
    RDS_BACKUP,
)
_backed_up = {"instanceClass": "db.m5.large", "backupRetentionPeriod": 10, "backupWindow": "random-window"}
case(
    AWSGUARD,
    DATABASE,
    "#rdsInstanceBackupEnabled no required period Should pass is backup retention period is explicitly set",
    RDS_INSTANCE,
    _backed_up,
    "compliant",
    RDS_BACKUP,
)
case(
    AWSGUARD,
    DATABASE,
    "#rdsInstanceBackupEnabled no required period Should pass is backup retention period is implicitly set",
    RDS_INSTANCE,
    mutate(_backed_up, setter("backupRetentionPeriod", None)),
    "compliant",
    RDS_BACKUP,
    each(RDS_BACKUP, minDays=1),
    ours="v7 default: pulumi_aws 7 documents backup_retention_period's default as 0 (no backups) for RDS "
    "instances, so an unset period is judged as 0 days",
)
case(
    AWSGUARD,
    DATABASE,
    "#rdsInstanceBackupEnabled no required period Should fail is backup retention period is set to 0",
    RDS_INSTANCE,
    mutate(_backed_up, setter("backupRetentionPeriod", 0)),
    "violation",
    RDS_BACKUP,
    each(RDS_BACKUP, minDays=1),
)

_multi_az = {"instanceClass": "db.m5.large", "multiAz": True}
case(
    AWSGUARD,
    DATABASE,
    "#rdsInstanceMultiAZEnabled Should pass if instance is not publicly accessible",
    RDS_INSTANCE,
    _multi_az,
    "compliant",
    RDS_MULTI_AZ,
)
case(
    AWSGUARD,
    DATABASE,
    "#rdsInstanceMultiAZEnabled Should fail if multiAz is not specified",
    RDS_INSTANCE,
    mutate(_multi_az, setter("multiAz", None)),
    "violation",
    RDS_MULTI_AZ,
)
case(
    AWSGUARD,
    DATABASE,
    "#rdsInstanceMultiAZEnabled Should fail if instance's multiAz is set to false",
    RDS_INSTANCE,
    mutate(_multi_az, setter("multiAz", False)),
    "violation",
    RDS_MULTI_AZ,
)

_private = {**_backed_up, "publiclyAccessible": False}
case(
    AWSGUARD,
    DATABASE,
    "#rdsInstancePublicAccess Should pass if instance is not publicly accessible",
    RDS_INSTANCE,
    _private,
    "compliant",
    RDS_PUBLIC,
)
case(
    AWSGUARD,
    DATABASE,
    "#rdsInstancePublicAccess Should pass if publicly accessible is not specified",
    RDS_INSTANCE,
    mutate(_private, setter("publiclyAccessible", None)),
    "compliant",
    RDS_PUBLIC,
)
case(
    AWSGUARD,
    DATABASE,
    "#rdsInstancePublicAccess Should fail if instance is publicly accessible",
    RDS_INSTANCE,
    mutate(_private, setter("publiclyAccessible", True)),
    "violation",
    RDS_PUBLIC,
)

_encrypted = {**_backed_up, "storageEncrypted": True, "kmsKeyId": "a-kms-key"}
_a_key = each(RDS_STORAGE, allowedKmsKeys=["a-kms-key"])
for title, change, verdict in (
    ("Should pass if instance is encrypted and key is specified", None, "compliant"),
    ("Should fail if storage encryption is not specified", setter("storageEncrypted", None), "violation"),
    ("Should fail if kms key is not specified", setter("kmsKeyId", None), "violation"),
    ("Should fail if storage encryption is false", setter("storageEncrypted", False), "violation"),
):
    case(
        AWSGUARD,
        DATABASE,
        f"#rdsStorageEncrypted kms key is specified {title}",
        RDS_INSTANCE,
        mutate(_encrypted, change),
        verdict,
        RDS_STORAGE,
        _a_key,
    )
case(
    AWSGUARD,
    DATABASE,
    "#rdsStorageEncrypted kms key is specified Should pass if storage encryption if read replica has kms key",
    RDS_INSTANCE,
    mutate(_encrypted, lambda p: (p.pop("storageEncrypted"), p.update(replicateSourceDb="some-other-db"))),
    "compliant",
    RDS_STORAGE,
    _a_key,
)
_encrypted_default_key = {**_backed_up, "storageEncrypted": True}
for title, change, verdict in (
    ("Should pass if instance is encrypted", None, "compliant"),
    ("Should fail if storage encryption is not specified", setter("storageEncrypted", None), "violation"),
    ("Should fail if storage encryption is false", setter("storageEncrypted", False), "violation"),
    (
        "Should pass if storage encryption is false AND its a read replica",
        lambda p: p.update(storageEncrypted=False, replicateSourceDb="some-other-db"),
        "compliant",
    ),
):
    case(
        AWSGUARD,
        DATABASE,
        f"#rdsStorageEncrypted kms key is not specified {title}",
        RDS_INSTANCE,
        mutate(_encrypted_default_key, change),
        verdict,
        RDS_STORAGE,
    )

ELASTICSEARCH = "elasticsearch.spec.ts"
case(
    AWSGUARD,
    ELASTICSEARCH,
    "#elasticsearchEncryptedAtRest Should fail if domain's encryptAtRest is undefined",
    ES_DOMAIN,
    {"domainName": "test-name"},
    "violation",
    SEARCH_AT_REST,
)
case(
    AWSGUARD,
    ELASTICSEARCH,
    "#elasticsearchEncryptedAtRest Should fail if domain's encryptAtRest is disabled",
    ES_DOMAIN,
    {"domainName": "test-name", "encryptAtRest": {"enabled": False}},
    "violation",
    SEARCH_AT_REST,
)
case(
    AWSGUARD,
    ELASTICSEARCH,
    "#elasticsearchEncryptedAtRest Should pass if encryptAtRest is enabled",
    ES_DOMAIN,
    {"domainName": "test-name", "encryptAtRest": {"enabled": True}},
    "compliant",
    SEARCH_AT_REST,
)
case(
    AWSGUARD,
    ELASTICSEARCH,
    "#elasticsearchInVpcOnly Should fail if no VPC options are available",
    ES_DOMAIN,
    {},
    "violation",
    SEARCH_VPC,
)
case(
    AWSGUARD,
    ELASTICSEARCH,
    "#elasticsearchInVpcOnly Should pass if VPC options are available",
    ES_DOMAIN,
    {"vpcOptions": {}},
    "compliant",
    SEARCH_VPC,
)

NETWORK = "network.spec.ts"
_lb_arn = "arn:aws:elasticloadbalancing:us-west-2:333333333333:loadbalancer/app/alb-4163fcb/93e140268049384d"
_redirect = {"type": "redirect", "redirect": {"protocol": "HTTPS", "statusCode": "HTTP_301"}}
for title, props, verdict in (
    (
        "Reports no violations for HTTPS listeners",
        {"protocol": "HTTPS", "defaultActions": [], "port": 443},
        "compliant",
    ),
    (
        "Reports no violations for HTTP-to-HTTPS listeners",
        {
            "protocol": "HTTP",
            "defaultActions": [{"type": "redirect", "redirect": {"protocol": "HTTPS", "statusCode": "301"}}],
            "port": 443,
        },
        "compliant",
    ),
    (
        "Reports a violation if there isn't exactly one default action (none)",
        {"protocol": "HTTP", "defaultActions": [], "port": 80},
        "violation",
    ),
    (
        "Reports a violation if there isn't exactly one default action (two)",
        {
            "protocol": "HTTP",
            "port": 80,
            "defaultActions": [
                _redirect,
                {"type": "redirect", "redirect": {"protocol": "HTTPS", "statusCode": "HTTP_302"}},
            ],
        },
        "violation",
    ),
    (
        "Reports a violation if not redirecting to HTTPS",
        {
            "protocol": "HTTP",
            "port": 443,
            "defaultActions": [{"type": "redirect", "redirect": {"protocol": "HTTP", "statusCode": "HTTP_301"}}],
        },
        "violation",
    ),
):
    case(
        AWSGUARD,
        NETWORK,
        f"#albHttpToHttpsRedirection {title}",
        LB_LISTENER,
        {"loadBalancerArn": _lb_arn, **props},
        verdict,
        REDIRECT,
    )

SECURITY = "security.spec.ts"
case(
    AWSGUARD,
    SECURITY,
    "#cmkBackingKeyRotationEnabled Fails if key does not have rotation enabled",
    KMS_KEY,
    {"enableKeyRotation": False},
    "violation",
    ROTATION,
)
case(
    AWSGUARD,
    SECURITY,
    "#cmkBackingKeyRotationEnabled Does not fail if the key is configured to be rotated",
    KMS_KEY,
    {"enableKeyRotation": True},
    "compliant",
    ROTATION,
)

# --- compliance-policies (pulumi/compliance-policies, vendor-aws/tests/aws) ------------------

KEY_ARN = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def cases(source, type_, base, policies, variants, config=None):
    """compliance-policies numbers its cases #1..#n; #1 is always the compliant base resource."""
    for number, (change, verdict, *rest) in enumerate([(None, "compliant"), *variants], start=1):
        ours = rest[0] if rest else ""
        case(COMPLIANCE, source, f"#{number}", type_, mutate(base, change), verdict, policies, config, ours)


TYPO_POLICY = (
    "stricter: the peer's base listener names 'ELBSELBSecurityPolicy-TLS13-1-3-2021-06', a policy that does not "
    "exist (ELB rejects it); we accept only named, listed policies"
)
for module, listener_type, base_policy in (
    ("alb", ALB_LISTENER, "ELBSELBSecurityPolicy-TLS13-1-3-2021-06"),
    ("lb", LB_LISTENER, "ELBSecurityPolicy-TLS13-1-3-2021-06"),
):
    listener = {
        "loadBalancerArn": "arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/my-load-balancer/"
        "50dc6c495c0c9188",
        "port": 443,
        "protocol": "HTTPS",
        "sslPolicy": base_policy,
        "defaultActions": [
            {
                "type": "forward",
                "targetGroupArn": "arn:aws:elasticloadbalancing:us-west-2:"
                "123456789012:targetgroup/my-targets/73e2d6bc24d8a067",
            }
        ],
    }
    base_ours = TYPO_POLICY if module == "alb" else ""
    tls_cases = [
        (setter("sslPolicy", "ELBSecurityPolicy-TLS13-1-2-2021-06"), "compliant"),
        (setter("sslPolicy", "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04"), "compliant"),
        (setter("sslPolicy", "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04"), "compliant"),
        (setter("sslPolicy", "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04"), "compliant"),
        (setter("sslPolicy", "ELBSecurityPolicy-FS-1-2-Res-2020-10"), "compliant"),
        (setter("sslPolicy", "ELBSecurityPolicy-FS-1-2-Res-2019-08"), "compliant"),
        (setter("sslPolicy", None), "violation"),
        (setter("sslPolicy", "ELBSecurityPolicy-TLS-1-2-2017-01"), "violation"),
        (setter("sslPolicy", "ELBSecurityPolicy-FS-1-1-2019-08"), "violation"),
        (setter("sslPolicy", "ELBSecurityPolicy-FS-1-1-2019-08"), "violation"),
    ]
    source = f"{module}/Listener/configureSecureTls.spec.ts"
    case(COMPLIANCE, source, "#1", listener_type, listener, "compliant", TLS, ours=base_ours)
    for number, (change, verdict) in enumerate(tls_cases, start=2):
        case(COMPLIANCE, source, f"#{number}", listener_type, mutate(listener, change), verdict, TLS)
    cases(
        f"{module}/Listener/disallowUnencryptedTraffic.spec.ts",
        listener_type,
        listener,
        REDIRECT,
        [(setter("port", 80), "violation"), (setter("protocol", "HTTP"), "violation")],
    )

_alb = {"accessLogs": {"bucket": "example-bucket", "prefix": "bucket-prefix", "enabled": True}, "internal": False}
for module in ("alb", "lb"):  # both resource.ts files build an aws.alb.LoadBalancer
    cases(
        f"{module}/LoadBalancer/configureAccessLogging.spec.ts",
        ALB,
        _alb,
        ACCESS_LOGS,
        [(setter("accessLogs.enabled", False), "violation"), (setter("accessLogs.bucket", None), "violation")],
    )
    cases(
        f"{module}/LoadBalancer/enableAccessLogging.spec.ts",
        ALB,
        _alb,
        ACCESS_LOGS,
        [(setter("accessLogs", None), "violation")],
    )

_volume = {"encrypted": True, "kmsKeyId": KEY_ARN, "availabilityZone": "us-west-2a", "size": 16}
cases(
    "ebs/Volume/configureCustomerManagedKey.spec.ts",
    VOLUME,
    _volume,
    EBS_VOLUME,
    [(setter("kmsKeyId", None), "violation")],
    each(EBS_VOLUME, **CMK),
)
cases(
    "ebs/Volume/disallowUnencryptedVolume.spec.ts",
    VOLUME,
    _volume,
    EBS_VOLUME,
    [(setter("encrypted", False), "violation")],
)

_ec2 = {
    "ami": "ami-12345678",
    "instanceType": "t2-micro",
    "rootBlockDevice": {"deviceName": "/dev/sda1", "encrypted": True, "kmsKeyId": KEY_ARN},
    "ebsBlockDevices": [
        {"deviceName": "/dev/sdb", "encrypted": True, "kmsKeyId": KEY_ARN},
        {"deviceName": "/dev/sdc", "encrypted": True, "kmsKeyId": KEY_ARN},
    ],
    "associatePublicIpAddress": False,
}
cases(
    "ec2/Instance/disallowPublicIp.spec.ts",
    INSTANCE,
    _ec2,
    PUBLIC_IP_INSTANCE,
    [(setter("associatePublicIpAddress", True), "violation")],
)
cases(
    "ec2/Instance/disallowUnencryptedBlockDevice.spec.ts",
    INSTANCE,
    _ec2,
    EBS_INSTANCE,
    [(setter("ebsBlockDevices[1].encrypted", False), "violation"), (setter("ebsBlockDevices", None), "compliant")],
)
cases(
    "ec2/Instance/disallowUnencryptedRootBlockDevice.spec.ts",
    INSTANCE,
    _ec2,
    EBS_INSTANCE,
    [
        (setter("rootBlockDevice.encrypted", False), "violation"),
        (setter("rootBlockDevice", None), "compliant", ROOT_UNDECLARED),
    ],
)

_lc = {
    "imageId": "ami-12345678",
    "instanceType": "t2-micro",
    "associatePublicIpAddress": False,
    "rootBlockDevice": {"volumeType": "gp3", "volumeSize": 16, "encrypted": True},
    "ebsBlockDevices": [
        {"deviceName": "/dev/sdb", "volumeType": "gp3", "volumeSize": 16, "encrypted": True},
        {"deviceName": "/dev/sdc", "volumeType": "standard", "volumeSize": 16, "encrypted": True},
    ],
}
cases(
    "ec2/LaunchConfiguration/disallowPublicIp.spec.ts",
    LAUNCH_CONFIGURATION,
    _lc,
    PUBLIC_IP_TEMPLATE,
    [(setter("associatePublicIpAddress", True), "violation")],
)
cases(
    "ec2/LaunchConfiguration/disallowUnencryptedBlockDevice.spec.ts",
    LAUNCH_CONFIGURATION,
    _lc,
    EBS_INSTANCE,
    [(setter("ebsBlockDevices[1].encrypted", False), "violation"), (setter("ebsBlockDevices", None), "compliant")],
)
cases(
    "ec2/LaunchConfiguration/disallowUnencryptedRootBlockDevice.spec.ts",
    LAUNCH_CONFIGURATION,
    _lc,
    EBS_INSTANCE,
    [
        (setter("rootBlockDevice.encrypted", False), "violation"),
        (setter("rootBlockDevice", None), "compliant", ROOT_UNDECLARED),
    ],
)

_lt = {
    "imageId": "ami-12345678",
    "instanceType": "t2-micro",
    "blockDeviceMappings": [
        {"deviceName": "/dev/sda1", "ebs": {"encrypted": "true", "kmsKeyId": KEY_ARN, "volumeSize": 20}}
    ],
    "networkInterfaces": [{"associatePublicIpAddress": "false"}],
    "vpcSecurityGroupIds": ["sg-12345678"],
}
_no_op = setter("ebsBlockDevices", None)  # the peer clears a property launch templates do not have
cases(
    "ec2/LaunchTemplate/configureCustomerManagedKey.spec.ts",
    LAUNCH_TEMPLATE,
    _lt,
    EBS_TEMPLATE,
    [(setter("blockDeviceMappings[0].ebs.kmsKeyId", None), "violation"), (_no_op, "compliant")],
    each(EBS_TEMPLATE, **CMK),
)
cases(
    "ec2/LaunchTemplate/disallowPublicIp.spec.ts",
    LAUNCH_TEMPLATE,
    _lt,
    PUBLIC_IP_TEMPLATE,
    [(setter("networkInterfaces[0].associatePublicIpAddress", "true"), "violation")],
)
cases(
    "ec2/LaunchTemplate/disallowUnencryptedBlockDevice.spec.ts",
    LAUNCH_TEMPLATE,
    _lt,
    EBS_TEMPLATE,
    [(setter("blockDeviceMappings[0].ebs.encrypted", "false"), "violation"), (_no_op, "compliant")],
)

_sg = {
    "description": "This is a description for aws.ec2.SecurityGroup.",
    "vpcId": "vpc-12345678",
    "ingress": [{"description": "Ingress rule #1", "fromPort": 443, "toPort": 443, "protocol": "TCP"}],
    "egress": [
        {
            "fromPort": 0,
            "toPort": 0,
            "protocol": "-1",
            "cidrBlocks": ["10.0.0.0/8"],
            "ipv6CidrBlocks": ["fd29:be60:c157:350f::/64"],
            "description": "Egress rule #1",
        }
    ],
}
NO_SOURCE = (
    "different: we judge who can connect, not the port; this rule names no source at all, so it admits no one "
    "(and tcp/80 from the internet is allowed on load balancer groups, for the HTTP-to-HTTPS redirect)"
)
cases(
    "ec2/SecurityGroup/disallowInboundHttpTraffic.spec.ts",
    SECURITY_GROUP,
    _sg,
    INGRESS,
    [
        (lambda p: p["ingress"][0].update(fromPort=80, toPort=80), "violation", NO_SOURCE),
        (lambda p: p["ingress"][0].update(fromPort=79, toPort=81), "violation", NO_SOURCE),
    ],
)
cases(
    "ec2/SecurityGroup/disallowPublicInternetIngress.spec.ts",
    SECURITY_GROUP,
    _sg,
    INGRESS,
    [
        (setter("ingress[0].cidrBlocks", ["10.0.0.0/8", "0.0.0.0/0"]), "violation"),
        (setter("ingress[0].ipv6CidrBlocks", ["fd29:be60:c157:350f::/64", "::/0"]), "violation"),
    ],
)

_key = {
    "bypassPolicyLockoutSafetyCheck": False,
    "description": "This is a description for this KMS key.",
    "enableKeyRotation": True,
}
cases(
    "kms/Key/disallowBypassPolicyLockoutSafetyCheck.spec.ts",
    KMS_KEY,
    _key,
    LOCKOUT,
    [(setter("bypassPolicyLockoutSafetyCheck", True), "violation")],
)
cases("kms/Key/enableKeyRotation.spec.ts", KMS_KEY, _key, ROTATION, [(setter("enableKeyRotation", None), "violation")])

_cluster = {
    "availabilityZones": ["us-west-2a", "us-west-2b"],
    "backupRetentionPeriod": 5,
    "storageEncrypted": True,
    "kmsKeyId": KEY_ARN,
    "engine": "mysql",
}
cases(
    "rds/Cluster/configureBackupRetention.spec.ts",
    RDS_CLUSTER,
    _cluster,
    RDS_BACKUP,
    [(setter("backupRetentionPeriod", 2), "violation")],
    each(RDS_BACKUP, minDays=3),
)
cases(
    "rds/Cluster/configureCustomerManagedKey.spec.ts",
    RDS_CLUSTER,
    _cluster,
    RDS_STORAGE,
    [(setter("kmsKeyId", ""), "violation")],
    each(RDS_STORAGE, **CMK),
)
cases(
    "rds/Cluster/disallowSingleAvailabilityZone.spec.ts",
    RDS_CLUSTER,
    _cluster,
    RDS_MULTI_AZ,
    [(setter("availabilityZones", ["us-west-2a"]), "violation")],
)
cases(
    "rds/Cluster/disallowUnencryptedStorage.spec.ts",
    RDS_CLUSTER,
    _cluster,
    RDS_STORAGE,
    [(setter("storageEncrypted", False), "violation")],
)
cases(
    "rds/Cluster/enableBackupRetention.spec.ts",
    RDS_CLUSTER,
    _cluster,
    RDS_BACKUP,
    [
        (
            setter("backupRetentionPeriod", None),
            "violation",
            "different: an RDS/Aurora cluster always keeps automated backups (pulumi_aws 7 default: 1 day), so an "
            "unset "
            "period is enabled backups; raise minDays to demand more",
        )
    ],
    each(RDS_BACKUP, minDays=1),
)

_cluster_instance = {
    "clusterIdentifier": "mydbcluster",
    "instanceClass": "db.m1.large",
    "performanceInsightsEnabled": True,
    "performanceInsightsKmsKeyId": KEY_ARN,
    "publiclyAccessible": False,
    "engine": "aurora",
}
cases(
    "rds/ClusterInstance/disallowPublicAccess.spec.ts",
    RDS_CLUSTER_INSTANCE,
    _cluster_instance,
    RDS_PUBLIC,
    [(setter("publiclyAccessible", True), "violation")],
)

_rds = {
    "instanceClass": "db.m1.large",
    "backupRetentionPeriod": 5,
    "vpcSecurityGroupIds": ["sg-12345678"],
    "performanceInsightsEnabled": True,
    "performanceInsightsKmsKeyId": KEY_ARN,
    "publiclyAccessible": False,
    "storageEncrypted": True,
    "kmsKeyId": KEY_ARN,
}
cases(
    "rds/Instance/configureBackupRetention.spec.ts",
    RDS_INSTANCE,
    _rds,
    RDS_BACKUP,
    [(setter("backupRetentionPeriod", 2), "violation")],
    each(RDS_BACKUP, minDays=3),
)
cases(
    "rds/Instance/configureCustomerManagedKey.spec.ts",
    RDS_INSTANCE,
    _rds,
    RDS_STORAGE,
    [(setter("kmsKeyId", ""), "violation")],
    each(RDS_STORAGE, **CMK),
)
cases(
    "rds/Instance/disallowPublicAccess.spec.ts",
    RDS_INSTANCE,
    _rds,
    RDS_PUBLIC,
    [(setter("publiclyAccessible", True), "violation")],
)
cases(
    "rds/Instance/disallowUnencryptedStorage.spec.ts",
    RDS_INSTANCE,
    _rds,
    RDS_STORAGE,
    [(setter("storageEncrypted", False), "violation")],
)
cases(
    "rds/Instance/enableBackupRetention.spec.ts",
    RDS_INSTANCE,
    _rds,
    RDS_BACKUP,
    [(setter("backupRetentionPeriod", None), "violation")],
    each(RDS_BACKUP, minDays=1),
)

_bucket = {
    "acl": "private",
    "replicationConfiguration": {
        "role": "arn:aws:iam::123456789012:role/aws-iam-role-12345678",
        "rules": [{"destination": {"bucket": "example-bucket"}, "status": "Enabled"}],
    },
    "serverSideEncryptionConfiguration": {
        "rule": {
            "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN},
            "bucketKeyEnabled": True,
        }
    },
}
_sse_default = "serverSideEncryptionConfiguration.rule.applyServerSideEncryptionByDefault"
cases(
    "s3/Bucket/configureServerSideEncryptionCustomerManagedKey.spec.ts",
    BUCKET,
    _bucket,
    BUCKET_SSE,
    [(setter(f"{_sse_default}.kmsMasterKeyId", ""), "violation")],
    each(BUCKET_SSE, **CMK),
)
cases(
    "s3/Bucket/configureServerSideEncryptionKms.spec.ts",
    BUCKET,
    _bucket,
    BUCKET_SSE,
    [(setter(f"{_sse_default}.sseAlgorithm", "AES256"), "violation")],
)
cases(
    "s3/Bucket/disallowPublicRead.spec.ts",
    BUCKET,
    _bucket,
    BUCKET_ACL,
    [(setter("acl", "public-read"), "violation"), (setter("acl", "authenticated-read"), "violation")],
)
cases(
    "s3/Bucket/enableServerSideEncryption.spec.ts",
    BUCKET,
    _bucket,
    BUCKET_SSE,
    [(setter("serverSideEncryptionConfiguration", None), "violation")],
)

_secret = {
    "description": "This is a description for this Secrets Manager secret.",
    "kmsKeyId": "key/1234abcd-12ab-34cd-56ef-1234567890ab",
}
cases(
    "secretsmanager/Secret/configureCustomerManagedKey.spec.ts",
    SECRET,
    _secret,
    SECRET_CMK,
    [(setter("kmsKeyId", None), "violation")],
)

_elb = {
    "availabilityZones": ["us-west-2a", "us-west-2b"],
    "accessLogs": {"bucket": "example-bucket", "bucketPrefix": "bucket-prefix", "interval": 60},
    "listeners": [
        {
            "instancePort": 8000,
            "instanceProtocol": "http",
            "lbPort": 443,
            "lbProtocol": "https",
            "sslCertificateId": "arn:aws:iam::123456789012:server-certificate/certName",
        }
    ],
    "healthCheck": {
        "healthyThreshold": 2,
        "unhealthyThreshold": 2,
        "timeout": 3,
        "target": "HTTP:8000/",
        "interval": 30,
    },
}
cases(
    "elb/LoadBalancer/configureAccessLogging.spec.ts",
    CLASSIC_ELB,
    _elb,
    ACCESS_LOGS,
    [
        (setter("accessLogs", None), "violation"),
        (setter("accessLogs.enabled", False), "violation"),
        (setter("accessLogs.enabled", None), "compliant"),
    ],
)
cases(
    "elb/LoadBalancer/disallowUnencryptedTraffic.spec.ts",
    CLASSIC_ELB,
    _elb,
    REDIRECT,
    [(setter("listeners[0].lbProtocol", "http"), "violation")],
)

# Cases of the same files and suites in areas this pack has no rule for (or that need live AWS calls).
EXCLUDED = {
    AWSGUARD: {
        "database.spec.ts #redshiftClusterConfiguration node types and logging (3 cases)": "Redshift node types and "
        "audit logging: no rule",
        "database.spec.ts #redshiftClusterConfiguration encryption and logging must be disabled (4 cases)": "the "
        "peer's config can demand an unencrypted cluster; no config of ours does",
        "database.spec.ts #redshiftClusterMaintenanceSettings (7 cases)": "maintenance windows: no rule",
        "database.spec.ts #rdsInstanceBackupEnabled backup window (2 cases)": "backup windows: no rule",
        "security.spec.ts #iamAccessKeysRotated, #iamMfaEnabledForConsoleAccess (5 cases)": "need live IAM API "
        "calls; the pack judges the plan only",
        "awsGuard.spec.ts": "tests the peer's pack constructor, no resources",
    },
    COMPLIANCE: {
        "every spec: name, registration, metadata, enforcementLevel, description, code": "the peer's own packaging",
        "every spec: policy-config-include/-exclude": "the peer's resource-name filter, which this pack has not",
        "ec2/SecurityGroup missingDescription, missingEgressRuleDescription, missingIngressRuleDescription; "
        "kms/Key missingDescription; secretsmanager/Secret missingDescription": "descriptions: no rule",
        "rds/ClusterInstance and rds/Instance PerformanceInsights specs": "Performance Insights: no rule",
        "s3/Bucket replication and bucket-key specs": "replication and S3 bucket keys: no rule",
        "elb/LoadBalancer configureMultiAvailabilityZone, enableHealthCheck": "classic ELB zones and health checks: "
        "no rule",
        "apigateway, apigatewayv2, appflow, athena, cloudfront, ecr, efs, eks, lambda": "services the pack has no "
        "rules for",
    },
}


def run_cases(pack_dir: Path, cases_: list[PeerCase]) -> list[tuple[PeerCase, bool]]:
    """(case, whether one of its rules reported a real violation) for each case, against the pack in `pack_dir`."""
    from offline.policy import PolicyPackProcess

    results = []
    with PolicyPackProcess(pack_dir).start() as process:
        names = {p.name for p in process.info.policies}
        for peer in cases_:
            config = {p: c for p, c in peer.config.items() if p in names}
            report = process.run(list(peer.resources), config)
            hit = any(
                v["policy"] in peer.policies and "during preview" not in v["message"] for v in report["violations"]
            )
            results.append((peer, hit))
    return results


def summary(results) -> str:
    lines = []
    for suite in (AWSGUARD, COMPLIANCE):
        rows = [(c, hit) for c, hit in results if c.suite == suite]
        bad = [(c, hit) for c, hit in rows if c.verdict == "violation"]
        good = [(c, hit) for c, hit in rows if c.verdict == "compliant"]
        lines.append(
            f"{suite}: {sum(h for _, h in bad)} of {len(bad)} non-compliant caught, "
            f"{sum(h for _, h in good)} of {len(good)} compliant flagged"
        )
        lines += [
            f"    {'caught' if h else 'missed'} {c.name}" + (f"  [ours: {c.ours[:60]}...]" if c.ours else "")
            for c, h in bad
            if not h or c.ours
        ]
        lines += [f"    flagged {c.name}" + (f"  [ours: {c.ours[:60]}...]" if c.ours else "") for c, h in good if h]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Run the translated peer cases against a policy pack directory.")
    parser.add_argument("--pack", type=Path, default=PACK_DIR)
    args = parser.parse_args(argv)
    print(summary(run_cases(args.pack, CASES)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
