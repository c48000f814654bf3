"""The same defect spelled differently is the same defect (issue 7): other types for one setting, settings made
by a second resource, equivalent values, omissions, credentials the old heuristics missed, taggable types that
were missing from a fixed list. And the compliant counterpart of each passes."""

import base64
import json

import pytest

from tests.policy_helpers import (
    BUCKET,
    BUCKET_POLICY,
    DEV_CONFIG,
    INGRESS_RULE,
    INSTANCE,
    KEY,
    KEY_ARN,
    LAUNCH_TEMPLATE,
    LISTENER,
    LISTENER_RULE,
    PAB,
    PROD_CONFIG,
    PUBLIC_ACCESS_BLOCKED,
    RDS_INSTANCE,
    ROLE,
    SECRET,
    SG,
    SSE,
    TAGS,
    VERSIONING,
    allow,
    assert_passes,
    assert_violates,
    child_of,
    good_alb_set,
    good_asg,
    good_launch_template,
    good_rds,
    pack,  # noqa: F401  (session fixture)
    policy_document,
    resource,
    run,
    tls_only_policy,
)

BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
SSE_V2 = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
VERSIONING_V2 = "aws:s3/bucketVersioningV2:BucketVersioningV2"
LAUNCH_CONFIGURATION = "aws:ec2/launchConfiguration:LaunchConfiguration"
SPOT_REQUEST = "aws:ec2/spotInstanceRequest:SpotInstanceRequest"
EIP = "aws:ec2/eip:Eip"
EIP_ASSOCIATION = "aws:ec2/eipAssociation:EipAssociation"
ALB_LISTENER = "aws:alb/listener:Listener"
ALB = "aws:alb/loadBalancer:LoadBalancer"
ES_DOMAIN = "aws:elasticsearch/domain:Domain"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"
ENCRYPTION_BY_DEFAULT = "aws:ebs/encryptionByDefault:EncryptionByDefault"
METADATA_DEFAULTS = "aws:ec2/instanceMetadataDefaults:InstanceMetadataDefaults"
KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"

KMS_RULES = {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN}}
BAD_USER_DATA = "#!/bin/bash\nset -e\n"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# --- Other resource types for the same setting -----------------------------------------------


def bucket_v2_set(guarded: bool):
    bucket = resource(BUCKET_V2, "lake", {"bucket": "snowplow-test-lake", "tags": TAGS}, protect=True)
    if not guarded:
        return [bucket]
    return [
        bucket,
        child_of(bucket, SSE_V2, "lake-sse", {"bucket": "x", "rules": [KMS_RULES]}),
        child_of(
            bucket, VERSIONING_V2, "lake-versioning", {"bucket": "x", "versioningConfiguration": {"status": "Enabled"}}
        ),
        child_of(
            bucket,
            PAB,
            "lake-pab",
            {"bucket": "x", **PUBLIC_ACCESS_BLOCKED},
        ),
        child_of(
            bucket, BUCKET_POLICY, "lake-policy", {"bucket": "x", "policy": tls_only_policy("snowplow-test-lake")}
        ),
    ]


BUCKET_RULES = (
    "s3-bucket-require-sse-kms",
    "s3-bucket-require-versioning",
    "s3-bucket-require-public-access-block",
    "s3-bucket-require-tls-only-policy",
)


@pytest.mark.parametrize("policy", BUCKET_RULES)
def test_bare_bucket_v2_is_judged_like_a_bucket(pack, policy):
    assert_violates(pack, policy, bucket_v2_set(guarded=False))


@pytest.mark.parametrize("policy", BUCKET_RULES)
def test_bucket_guarded_by_v2_helpers_passes(pack, policy):
    assert_passes(pack, policy, bucket_v2_set(guarded=True), config=PROD_CONFIG)


def test_bucket_v2_inline_configuration_counts(pack):
    bucket = resource(
        BUCKET_V2,
        "lake",
        {
            "bucket": "snowplow-test-lake",
            "serverSideEncryptionConfigurations": [{"rules": [KMS_RULES]}],
            "versionings": [{"enabled": True}],
            "tags": TAGS,
        },
    )
    assert_passes(pack, "s3-bucket-require-sse-kms", [bucket], config=PROD_CONFIG)
    assert_passes(pack, "s3-bucket-require-versioning", [bucket], config=PROD_CONFIG)
    bucket["inputs"]["versionings"] = [{"enabled": False}]
    bucket["inputs"]["serverSideEncryptionConfigurations"] = [
        {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]}
    ]
    assert_violates(pack, "s3-bucket-require-versioning", [bucket])
    assert_violates(pack, "s3-bucket-require-sse-kms", [bucket], contains="AES256")


def test_launch_configuration_settings_are_guarded(pack):
    config = resource(
        LAUNCH_CONFIGURATION,
        "legacy-lc",
        {
            "imageId": "ami-1",
            "instanceType": "x1e.32xlarge",
            "associatePublicIpAddress": True,
            "metadataOptions": {"httpTokens": "optional"},
            "userData": "#!/bin/bash\nexport DB_PASSWORD='s3cr3t-Passw0rd'\n",
        },
    )
    report = run(pack, [config], PROD_CONFIG)
    policies = {v["policy"] for v in report["violations"] if v["urn"] == config["urn"]}
    assert {
        "ec2-instance-require-ebs-encryption",
        "ec2-launch-template-require-imdsv2",
        "ec2-launch-template-forbid-public-ip",
        "ec2-user-data-forbid-plaintext-secrets",
        "ec2-compute-restrict-instance-types",
    } <= policies


def test_spot_instance_request_settings_are_guarded(pack):
    request = resource(
        SPOT_REQUEST,
        "spot",
        {"instanceType": "t3a.small", "associatePublicIpAddress": True, "rootBlockDevice": {"encrypted": False}},
    )
    report = run(pack, [request], PROD_CONFIG)
    policies = {v["policy"] for v in report["violations"] if v["urn"] == request["urn"]}
    assert {
        "ec2-instance-require-ebs-encryption",
        "ec2-instance-require-imdsv2",
        "ec2-instance-forbid-public-ip",
    } <= policies


def test_alb_alias_types_get_the_load_balancer_rules(pack):
    lb = resource(ALB, "alb", {"loadBalancerType": "application", "tags": TAGS})
    listener = child_of(
        lb,
        ALB_LISTENER,
        "alb-http",
        {
            "protocol": "HTTP",
            "port": 80,
            "defaultActions": [{"type": "forward", "targetGroupArn": "arn"}],
            "tags": TAGS,
        },
        prop="loadBalancerArn",
    )
    tls = child_of(
        lb, ALB_LISTENER, "alb-https", {"protocol": "HTTPS", "port": 443, "tags": TAGS}, prop="loadBalancerArn"
    )
    report = run(pack, [lb, listener, tls], PROD_CONFIG)
    found = {(v["policy"], v["urn"]) for v in report["violations"]}
    assert ("lb-load-balancer-drop-invalid-headers", lb["urn"]) in found
    assert ("lb-load-balancer-require-access-logs", lb["urn"]) in found
    assert ("lb-listener-require-https-redirect", listener["urn"]) in found
    assert ("lb-listener-require-modern-tls", tls["urn"]) in found


def test_legacy_elasticsearch_domain_gets_the_opensearch_rules(pack):
    domain = resource(ES_DOMAIN, "search", {"domainName": "search", "tags": TAGS})
    report = run(pack, [domain], PROD_CONFIG)
    assert {"opensearch-domain-require-encryption", "opensearch-domain-require-tls"} <= {
        v["policy"] for v in report["violations"]
    }


# --- Settings made by a second resource ------------------------------------------------------


def test_instance_launched_from_a_compliant_template_passes(pack):
    template = good_launch_template()
    instance = child_of(
        template, INSTANCE, "box", {"launchTemplate": {"id": "lt-1"}, "tags": TAGS}, prop="launchTemplate"
    )
    for policy in ("ec2-instance-require-ebs-encryption", "ec2-instance-require-imdsv2"):
        assert_passes(pack, policy, [template, instance], config=PROD_CONFIG)
    bare = resource(INSTANCE, "box", {"tags": TAGS})
    for policy in ("ec2-instance-require-ebs-encryption", "ec2-instance-require-imdsv2"):
        assert_violates(pack, policy, [bare], urn=bare["urn"])


def test_elastic_ip_on_an_instance_is_a_public_ip(pack):
    instance = resource(INSTANCE, "box", {"tags": TAGS})
    eip = child_of(instance, EIP, "box-ip", {"domain": "vpc", "instance": "i-1", "tags": TAGS}, prop="instance")
    association = resource(EIP_ASSOCIATION, "box-assoc", {"allocationId": "eipalloc-1", "instanceId": "i-1"})
    found = assert_violates(pack, "ec2-instance-forbid-public-ip", [instance, eip, association])
    assert {v["urn"] for v in found} == {eip["urn"], association["urn"]}
    nat_ip = resource(EIP, "nat-ip", {"domain": "vpc", "tags": TAGS})
    assert_passes(pack, "ec2-instance-forbid-public-ip", [nat_ip])


def test_instance_in_a_subnet_that_maps_public_ips(pack):
    subnet = resource("aws:ec2/subnet:Subnet", "public-a", {"mapPublicIpOnLaunch": True, "tags": TAGS})
    instance = child_of(subnet, INSTANCE, "box", {"subnetId": "subnet-1", "tags": TAGS}, prop="subnetId")
    assert_violates(pack, "ec2-instance-forbid-public-ip", [subnet, instance], contains="maps public IPs")
    instance["inputs"]["associatePublicIpAddress"] = False
    assert_passes(pack, "ec2-instance-forbid-public-ip", [subnet, instance])


def test_listener_rule_forwarding_on_the_redirecting_http_listener(pack):
    alb = good_alb_set()
    https, http = alb[3], alb[4]
    forward = [{"type": "forward", "targetGroupArn": "arn"}]
    on_http = child_of(http, LISTENER_RULE, "tp2-http", {"listenerArn": "x", "actions": forward}, prop="listenerArn")
    assert_violates(pack, "lb-listener-require-https-redirect", [*alb, on_http], urn=on_http["urn"])
    on_https = child_of(https, LISTENER_RULE, "tp2-https", {"listenerArn": "x", "actions": forward}, prop="listenerArn")
    assert_passes(pack, "lb-listener-require-https-redirect", [*alb, on_https], config=PROD_CONFIG)


@pytest.mark.parametrize(
    "attachment",
    [
        resource(ATTACHMENT, "admin", {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        resource(POLICY_ATTACHMENT, "s3", {"roles": ["r"], "policyArn": "arn:aws:iam::aws:policy/AmazonS3FullAccess"}),
        resource(
            ROLE,
            "role",
            {"assumeRolePolicy": "{}", "managedPolicyArns": ["arn:aws:iam::aws:policy/PowerUserAccess"], "tags": TAGS},
        ),
        resource(
            "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
            "exclusive",
            {"roleName": "r", "policyArns": ["arn:aws-us-gov:iam::aws:policy/ReadOnlyAccess"]},
        ),
    ],
    ids=["RolePolicyAttachment", "PolicyAttachment", "Role.managedPolicyArns", "RolePolicyAttachmentsExclusive"],
)
def test_aws_managed_policies_attached_any_way(pack, attachment):
    assert_violates(pack, "iam-identity-forbid-aws-managed-policies", [attachment], contains="AWS-managed policy")


def test_own_policies_and_reviewed_managed_policies_pass(pack):
    own = resource(ATTACHMENT, "own", {"role": "r", "policyArn": "arn:aws:iam::123456789012:policy/snowplow-enrich"})
    assert_passes(pack, "iam-identity-forbid-aws-managed-policies", [own])
    managed = resource(
        ATTACHMENT, "ssm", {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"}
    )
    config = {"iam-identity-forbid-aws-managed-policies": {"allowedPolicies": ["*/AmazonSSMManagedInstanceCore"]}}
    assert_passes(pack, "iam-identity-forbid-aws-managed-policies", [managed], config=config)


def test_account_wide_settings_cover_undeclared_ones(pack):
    template = good_launch_template(metadataOptions=None, blockDeviceMappings=None)
    assert_violates(pack, "ec2-launch-template-require-imdsv2", [template])
    assert_violates(pack, "ec2-launch-template-require-ebs-encryption", [template], contains="root volume")
    defaults = resource(METADATA_DEFAULTS, "imds", {"httpTokens": "required"})
    ebs = resource(ENCRYPTION_BY_DEFAULT, "ebs", {"enabled": True})
    key = resource("aws:ebs/defaultKmsKey:DefaultKmsKey", "ebs-key", {"keyArn": KEY_ARN})
    for policy in ("ec2-launch-template-require-imdsv2", "ec2-launch-template-require-ebs-encryption"):
        assert_passes(pack, policy, [template, defaults, ebs, key], config=PROD_CONFIG)
    # without the default key, EBS encryption by default uses aws/ebs, which prod rejects
    assert_violates(pack, "ec2-launch-template-require-ebs-encryption", [template, ebs], config=PROD_CONFIG)


def test_account_public_access_block_covers_every_bucket(pack):
    bucket = resource(BUCKET, "b", {"bucket": "snowplow-test-b", "tags": TAGS})
    account = resource(
        "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock",
        "account",
        {**PUBLIC_ACCESS_BLOCKED},
    )
    assert_violates(pack, "s3-bucket-require-public-access-block", [bucket])
    assert_passes(pack, "s3-bucket-require-public-access-block", [bucket, account])


# --- Equivalent values -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "cidrs",
    [["0.0.0.0/1", "128.0.0.0/1"], ["::/1", "8000::/1"], ["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/1"], ["1.0.0.0/8"]],
    ids=["ipv4-halves", "ipv6-halves", "ipv4-quarters", "a-public-slash-8"],
)
def test_world_ingress_in_any_spelling(pack, cidrs):
    ipv6 = ":" in cidrs[0]
    sg = resource(
        SG,
        "app-sg",
        {
            "ingress": [
                {"protocol": "tcp", "fromPort": 22, "toPort": 22, ("ipv6CidrBlocks" if ipv6 else "cidrBlocks"): cidrs}
            ],
            "tags": TAGS,
        },
    )
    assert_violates(pack, "ec2-security-group-restrict-public-ingress", [sg], contains="port 22")


def test_world_ingress_split_over_two_rules(pack):
    sg = resource(SG, "app-sg", {"tags": TAGS})
    rules = [
        child_of(
            sg,
            INGRESS_RULE,
            f"half-{i}",
            {"securityGroupId": "x", "ipProtocol": proto, "fromPort": 22, "toPort": 22, "cidrIpv4": cidr, "tags": TAGS},
            prop="securityGroupId",
        )
        for i, (proto, cidr) in enumerate((("tcp", "0.0.0.0/1"), ("-1", "128.0.0.0/1")))
    ]
    assert_violates(pack, "ec2-security-group-restrict-public-ingress", [sg, *rules], contains="0.0.0.0/1, 128.0.0.0/1")


def test_narrow_and_private_sources_pass(pack):
    sg = resource(
        SG,
        "app-sg",
        {
            "ingress": [
                {
                    "protocol": "tcp",
                    "fromPort": 22,
                    "toPort": 22,
                    "cidrBlocks": ["198.51.100.0/24", "10.0.0.0/8", "100.64.0.0/10", "8.8.0.0/16"],
                    "ipv6CidrBlocks": ["2a00:1450:4001::/48", "fd00::/8"],
                }
            ],
            "tags": TAGS,
        },
    )
    assert_passes(pack, "ec2-security-group-restrict-public-ingress", [sg])
    config = {"ec2-security-group-restrict-public-ingress": {"broadestPublicPrefixIpv4": 24}}
    assert_violates(pack, "ec2-security-group-restrict-public-ingress", [sg], config=config)


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:s3:::*/*",
        "arn:aws:s3:::snowplow-*",
        "arn:aws:kinesis:*:*:stream/*",
        "arn:aws:kinesis:eu-west-1:123456789012:stream/*",
        "arn:aws:dynamodb:eu-west-1:*:table/enrich",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:*",
        "arn:aws:logs:eu-west-1:123456789012:*",
        "arn:*:kms:eu-west-1:123456789012:key/abc",
    ],
)
def test_wildcard_arn_segments_are_wildcards(pack, arn):
    action = {
        "s3": "s3:GetObject",
        "kinesis": "kinesis:PutRecords",
        "dynamodb": "dynamodb:GetItem",
        "secretsmanager": "secretsmanager:GetSecretValue",
        "logs": "logs:PutLogEvents",
        "kms": "kms:Decrypt",
    }
    service = arn.split(":")[2]
    role_policy = resource(
        "aws:iam/rolePolicy:RolePolicy", "p", {"role": "r", "policy": policy_document(allow(action[service], arn))}
    )
    assert_violates(pack, "iam-policy-forbid-wildcard-resources", [role_policy], contains="wildcard")


def test_wildcards_after_a_literal_name_pass(pack):
    resources = [
        "arn:aws:s3:::snowplow-prod-config/config/enrich/*",
        "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/ec2/snowplow-prod-enrich:log-stream:*",
        "arn:aws:dynamodb:eu-west-1:123456789012:table/snowplow-prod-enrich/index/*",
        "arn:aws:kinesis:eu-west-1:123456789012:stream/snowplow-prod-raw",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:snowplow/pii-salt-??????",
        "arn:aws:ssm:eu-west-1:123456789012:parameter/snowplow/prod/*",
    ]
    actions = [
        "s3:GetObject",
        "logs:PutLogEvents",
        "dynamodb:Query",
        "kinesis:PutRecords",
        "secretsmanager:GetSecretValue",
        "ssm:GetParameter",
    ]
    role_policy = resource(
        "aws:iam/rolePolicy:RolePolicy", "p", {"role": "r", "policy": policy_document(allow(actions, resources))}
    )
    assert_passes(pack, "iam-policy-forbid-wildcard-resources", [role_policy])


UNRESTRICTING_CONDITIONS = [
    {"Bool": {"aws:SecureTransport": "true"}},
    {"StringLike": {"aws:PrincipalArn": "*"}},
    {"StringLike": {"aws:PrincipalOrgID": "o-*"}},
    {"StringEqualsIfExists": {"aws:SourceAccount": "123456789012"}},
    {"StringNotEquals": {"aws:PrincipalAccount": "111122223333"}},
    {"ForAllValues:StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
    {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}},
    {"StringEquals": {"aws:SourceAccount": " "}},
    {"StringEquals": {"aws:SourceOrgPaths": "r-ab12/ou-ab12-11111111/"}},  # a path that names no organisation
]


@pytest.mark.parametrize("condition", UNRESTRICTING_CONDITIONS, ids=lambda c: next(iter(c)))
def test_public_principal_with_a_condition_that_restricts_nothing(pack, condition):
    statement = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole", "Condition": condition}
    role = resource(ROLE, "open", {"assumeRolePolicy": policy_document(statement), "tags": TAGS})
    assert_violates(pack, "iam-role-forbid-public-trust", [role])
    key_statement = {**statement, "Action": "kms:Decrypt", "Resource": "*"}
    key = resource(KEY, "key", {"policy": policy_document(key_statement), "enableKeyRotation": True, "tags": TAGS})
    assert_violates(pack, "kms-key-policy-forbid-public-access", [key])
    key_policy = resource(KEY_POLICY, "key-policy", {"keyId": "k", "policy": policy_document(key_statement)})
    assert_violates(pack, "kms-key-policy-forbid-public-access", [key_policy])
    bucket_statement = {**statement, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
    policy = resource(BUCKET_POLICY, "bp", {"bucket": "b", "policy": policy_document(bucket_statement)})
    assert_violates(pack, "s3-bucket-policy-forbid-public-access", [policy])


RESTRICTING_CONDITIONS = [
    {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
    {"StringEquals": {"aws:PrincipalAccount": ["123456789012", "111122223333"]}},
    {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::snowplow-prod-lake"}},
    {"StringEquals": {"kms:CallerAccount": "123456789012", "kms:ViaService": "s3.eu-west-1.amazonaws.com"}},
    {"StringEquals": {"aws:SourceVpce": "vpce-0a1b2c3d4e5f67890"}},
    {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"}},
    {"StringLike": {"aws:SourceOrgPaths": "o-a1b2c3d4e5/r-ab12/"}},
    # a block that restricts nothing does not hide the one after it that does
    {
        "StringNotEquals": {"aws:PrincipalAccount": "111122223333"},
        "StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"},
    },
]


@pytest.mark.parametrize("condition", RESTRICTING_CONDITIONS, ids=lambda c: next(iter(next(iter(c.values())))))
def test_public_principal_with_a_restricting_condition_passes(pack, condition):
    statement = {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*", "Condition": condition}
    key = resource(KEY, "key", {"policy": policy_document(statement), "enableKeyRotation": True, "tags": TAGS})
    assert_passes(pack, "kms-key-policy-forbid-public-access", [key])
    role = resource(
        ROLE, "r", {"assumeRolePolicy": policy_document({**statement, "Action": "sts:AssumeRole"}), "tags": TAGS}
    )
    assert_passes(pack, "iam-role-forbid-public-trust", [role])


def test_not_principal_allow_is_public(pack):
    statement = {
        "Effect": "Allow",
        "NotPrincipal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*",
    }
    policy = resource(BUCKET_POLICY, "bp", {"bucket": "b", "policy": policy_document(statement)})
    assert_violates(pack, "s3-bucket-policy-forbid-public-access", [policy])


def test_public_grants_in_bucket_acls(pack):
    everyone = "http://acs.amazonaws.com/groups/global/AllUsers"
    acl = resource(
        "aws:s3/bucketAclV2:BucketAclV2",
        "acl",
        {
            "bucket": "b",
            "accessControlPolicy": {
                "owner": {"id": "owner"},
                "grants": [{"grantee": {"type": "Group", "uri": everyone}, "permission": "READ"}],
            },
        },
    )
    assert_violates(pack, "s3-bucket-forbid-public-acl", [acl], contains="AllUsers")
    bucket = resource(
        BUCKET, "b", {"grants": [{"type": "Group", "uri": everyone, "permissions": ["READ"]}], "tags": TAGS}
    )
    assert_violates(pack, "s3-bucket-forbid-public-acl", [bucket], contains="grants[0]")
    assert_passes(pack, "s3-bucket-forbid-public-acl", [resource(BUCKET, "b", {"acl": "log-delivery-write"})])


def test_key_policy_lockout_check_bypass(pack):
    key = resource(KEY, "key", {"bypassPolicyLockoutSafetyCheck": True, "enableKeyRotation": True, "tags": TAGS})
    assert_violates(pack, "kms-key-forbid-lockout-check-bypass", [key])


# --- Omissions -------------------------------------------------------------------------------


def test_template_mapping_only_a_data_volume_leaves_the_root_undeclared(pack):
    data_only = [{"deviceName": "/dev/sdf", "ebs": {"encrypted": "true", "kmsKeyId": KEY_ARN}}]
    template = good_launch_template(blockDeviceMappings=data_only)
    assert_violates(pack, "ec2-launch-template-require-ebs-encryption", [template], contains="root volume")
    ubuntu_root = [{"deviceName": "/dev/sda1", "ebs": {"encrypted": "true", "kmsKeyId": KEY_ARN}}, *data_only]
    assert_passes(
        pack, "ec2-launch-template-require-ebs-encryption", [good_launch_template(blockDeviceMappings=ubuntu_root)]
    )


def test_attribute_based_instance_selection_is_sized(pack):
    open_ended = {"vcpuCount": {"min": 2}, "memoryMib": {"min": 4096}}
    policy = {
        "launchTemplate": {
            "launchTemplateSpecification": {"launchTemplateId": "lt-1"},
            "overrides": [{"instanceRequirements": open_ended}],
        }
    }
    asg = good_asg("enrich", mixedInstancesPolicy=policy)
    assert_violates(pack, "ec2-compute-restrict-instance-types", [asg], contains="allowed_instance_types")
    open_ended["allowedInstanceTypes"] = ["c6i.*"]
    assert_violates(pack, "ec2-compute-restrict-instance-types", [asg], contains="wildcard")
    open_ended["allowedInstanceTypes"] = ["c6i.large", "c7i.xlarge"]
    assert_passes(pack, "ec2-compute-restrict-instance-types", [asg])
    open_ended["allowedInstanceTypes"] = ["c6i.large", "p5.48xlarge"]
    assert_violates(pack, "ec2-compute-restrict-instance-types", [asg], contains="p5.48xlarge")


# --- Credentials in user data ----------------------------------------------------------------

CREDENTIALS = {
    "docker-login-password": "docker login --username acme --password Hunter2Hunter2 registry.example.com",
    "docker-login-p": "docker login -u acme -p 'Hunter2Hunter2' registry.example.com",
    "url-password": "curl -sf https://enrich:Sup3rS3cret@api.acme.example/v1/ping",
    "redis-url-without-user": "REDIS=redis://:Pa55word99@cache.internal:6379/0",
    "postgres-url": "export DATABASE_URL=postgres://loader:Pa55word99@db.internal:5432/snowplow",
    "github-token": "git clone https://x-access-token@github.com/acme/repo # ghp_"
    + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    "slack-token": "SLACK=xoxb-" + "123456789012-abcdefghijkl",
    "aws-key": "AWS_ACCESS_KEY_ID=AKIA" + "ABCDEFGHIJKLMNOP",
    "env-password": "--env 'DB_PASSWORD=correct-Horse-9'",
    "json-api-key": '{"apiKey": "k3y-Value-42"}',
    "mysql": "mysql -u root -pR00tPassw0rd -e 'select 1'",
    "private-key": "-----BEGIN OPENSSH PRIVATE KEY-----",
}
NOT_CREDENTIALS = {
    "resolver": 'token = re.compile(r"\\{\\{resolve:secretsmanager:([^}]+)\\}\\}")',
    "placeholder": '"password": "{{resolve:secretsmanager:arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-Ab}}"',
    "shell-variable": 'docker login --username acme --password "$REGISTRY_PASSWORD" registry.example.com',
    "stdin": "aws ecr get-login-password | docker login --username AWS --password-stdin 123456789012.dkr.ecr",
    "imds-token": 'IMDS_TOKEN=$(curl -sf -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-'
    'token-ttl-seconds: 300")',
    "imds-header": 'curl -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" http://169.254.169.254/latest/meta-data/',
    "secret-arn": "SECRET=arn:aws:secretsmanager:eu-west-1:123456789012:secret:snowplow/pii-salt-AbCdEf",
    "variable": "password = get_password(arn)",
    "attribute": "token = args.token",
    "mkdir": "mkdir -p /opt/snowplow/config",
    "ipv6-url": "curl -sf http://[fd00::1]:8080/health",
    "jdbc-url": "url: jdbc:postgresql://db.internal:5432/snowplow",
    "url-no-password": "aws s3 cp s3://snowplow-prod-config/config/enrich/ /opt/snowplow/config/",
}


@pytest.mark.parametrize("line", CREDENTIALS.values(), ids=CREDENTIALS.keys())
def test_credentials_in_user_data_are_found(pack, line):
    template = good_launch_template(userData=b64(f"#!/bin/bash\n{line}\n"))
    found = assert_violates(pack, "ec2-user-data-forbid-plaintext-secrets", [template], contains="line 2")
    assert all(secret not in v["message"] for v in found for secret in ("Hunter2", "Sup3r", "Pa55", "R00t"))


@pytest.mark.parametrize("line", NOT_CREDENTIALS.values(), ids=NOT_CREDENTIALS.keys())
def test_references_and_code_are_not_credentials(pack, line):
    template = good_launch_template(userData=b64(f"#!/bin/bash\n{line}\n"))
    assert_passes(pack, "ec2-user-data-forbid-plaintext-secrets", [template])


def test_user_data_of_every_carrier_type_is_read(pack):
    secret_line = "export API_TOKEN=Zx9-Qw8-Er7-Ty6"
    carriers = [
        resource(INSTANCE, "i", {"userData": f"#!/bin/bash\n{secret_line}\n", "tags": TAGS}),
        resource(INSTANCE, "i64", {"userDataBase64": b64(secret_line), "tags": TAGS}),
        resource(SPOT_REQUEST, "spot", {"userData": secret_line, "tags": TAGS}),
        resource(
            "aws:ec2/spotFleetRequest:SpotFleetRequest",
            "fleet",
            {"launchSpecifications": [{"userData": secret_line}], "tags": TAGS},
        ),
        resource("aws:lightsail/instance:Instance", "ls", {"userData": secret_line, "tags": TAGS}),
        resource(
            "aws:imagebuilder/imageRecipe:ImageRecipe", "recipe", {"userDataBase64": b64(secret_line), "tags": TAGS}
        ),
    ]
    found = assert_violates(pack, "ec2-user-data-forbid-plaintext-secrets", carriers)
    assert {v["urn"] for v in found} == {c["urn"] for c in carriers}


# --- Taggable types from the SDK -------------------------------------------------------------


@pytest.mark.parametrize(
    "type_",
    [
        "aws:lambda/function:Function",
        "aws:ecr/repository:Repository",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    ],
)
def test_types_missing_from_the_old_fixed_list_need_tags(pack, type_):
    assert_violates(pack, "aws-resource-require-tags", [resource(type_, "x", {})])
    assert_passes(pack, "aws-resource-require-tags", [resource(type_, "x", {"tags": TAGS})])


# --- Inline and replicated encryption --------------------------------------------------------


def test_inline_bucket_encryption_must_use_a_customer_key_in_prod(pack):
    bucket = resource(
        BUCKET,
        "b",
        {
            "bucket": "snowplow-test-b",
            "tags": TAGS,
            "serverSideEncryptionConfiguration": {
                "rule": {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}
            },
        },
    )
    assert_passes(pack, "s3-bucket-require-sse-kms", [bucket], config=DEV_CONFIG)
    assert_violates(pack, "s3-bucket-require-sse-kms", [bucket], config=PROD_CONFIG, contains="inline")
    bucket["inputs"]["serverSideEncryptionConfiguration"]["rule"]["applyServerSideEncryptionByDefault"][
        "kmsMasterKeyId"
    ] = KEY_ARN
    assert_passes(pack, "s3-bucket-require-sse-kms", [bucket], config=PROD_CONFIG)


def test_replica_is_judged_by_its_source(pack):
    source = good_rds("primary", identifier="snowplow-primary")
    replica = resource(
        RDS_INSTANCE,
        "replica",
        {"replicateSourceDb": "snowplow-primary", "instanceClass": "db.t4g.micro", "tags": TAGS},
    )
    assert_passes(pack, "rds-database-require-storage-encryption", [source, replica], config=PROD_CONFIG)
    plain = good_rds("primary", identifier="snowplow-primary", storageEncrypted=False, kmsKeyId=None)
    found = assert_violates(pack, "rds-database-require-storage-encryption", [plain, replica])
    assert replica["urn"] in {v["urn"] for v in found} and any("copies 'primary'" in v["message"] for v in found)
    assert_passes(pack, "rds-database-require-storage-encryption", [replica])  # source in another stack


# --- What issues 8 and 10 build passes ---------------------------------------------------------


def test_least_privilege_session_manager_policy_passes(pack):
    statements = [
        allow(
            [
                "ssm:UpdateInstanceInformation",
                "ssmmessages:CreateControlChannel",
                "ssmmessages:CreateDataChannel",
                "ssmmessages:OpenControlChannel",
                "ssmmessages:OpenDataChannel",
                "ec2messages:AcknowledgeMessage",
                "ec2messages:DeleteMessage",
                "ec2messages:FailMessage",
                "ec2messages:GetEndpoint",
                "ec2messages:GetMessages",
                "ec2messages:SendReply",
            ],
            "*",
        ),
        allow(
            "autoscaling:SetInstanceHealth",
            "arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:*:autoScalingGroupName/snowplow-prod-enrich",
        ),
    ]
    role_policy = resource(
        "aws:iam/rolePolicy:RolePolicy", "session", {"role": "r", "policy": policy_document(*statements)}
    )
    for policy in ("iam-policy-forbid-wildcard-actions", "iam-policy-forbid-wildcard-resources"):
        assert_passes(pack, policy, [role_policy], config=PROD_CONFIG)


def test_gateway_endpoint_policy_with_principal_star_is_not_a_bucket_policy(pack):
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": ["s3:GetObject", "s3:PutObject"],
        "Resource": ["arn:aws:s3:::snowplow-prod-lake/*"],
    }
    endpoint = resource(
        ENDPOINT,
        "s3",
        {
            "vpcId": "vpc-1",
            "serviceName": "com.amazonaws.eu-west-1.s3",
            "vpcEndpointType": "Gateway",
            "policy": json.dumps({"Statement": [statement]}),
            "tags": TAGS,
        },
    )
    report = run(pack, [endpoint], PROD_CONFIG)
    assert report["violations"] == []


def test_private_encrypted_database_with_managed_password_passes(pack):
    database = good_rds(
        "iglu",
        manageMasterUserPassword=True,
        dbSubnetGroupName="snowplow-prod-db",
        performanceInsightsEnabled=True,
        performanceInsightsKmsKeyId=KEY_ARN,
    )
    secret = resource(SECRET, "iglu-super-key", {"kmsKeyId": KEY_ARN, "tags": TAGS})
    report = run(pack, [database, secret], PROD_CONFIG)
    assert [v for v in report["violations"] if v["enforcementLevel"] == "mandatory"] == []
