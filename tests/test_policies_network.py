"""Network, host hardening, S3 access and IAM rules."""

import base64
import gzip
import json

import pytest

from tests.policy_helpers import (
    BUCKET,
    BUCKET_POLICY,
    DEV_CONFIG,
    IAM_POLICY,
    INGRESS_RULE,
    INSTANCE,
    LB,
    PAB,
    PARAMETER,
    PROD_CONFIG,
    RDS_CLUSTER_INSTANCE,
    REDSHIFT,
    ROLE,
    ROLE_POLICY,
    SG,
    SG_RULE,
    TAGS,
    WORKGROUP,
    allow,
    assert_passes,
    assert_violates,
    child_of,
    good_alb_set,
    good_bucket_set,
    good_launch_template,
    good_rds,
    pack,  # noqa: F401  (session fixture)
    policy_document,
    resource,
    secret,
    urn,
)

PUBLIC_INGRESS = "ec2-security-group-restrict-public-ingress"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"


def task_definition(**container):
    """A Fargate task definition with one container (wire format: container definitions as JSON text)."""
    base = {
        "name": "dbt",
        "image": "ghcr.io/dbt-labs/dbt-postgres:1.9.0",
        "environment": [{"name": "DBT_HOST", "value": "db.internal"}, {"name": "DBT_USER", "value": "loader"}],
        "secrets": [{"name": "DBT_PASSWORD", "valueFrom": "arn:aws:secretsmanager:eu-west-1:1:secret:db-AbCdEf"}],
    }
    inputs = {"family": "modeling", "containerDefinitions": json.dumps([{**base, **container}]), "tags": TAGS}
    return resource(TASK_DEFINITION, "modeling-task", inputs)


# --- Security group ingress ------------------------------------------------------------------


def app_sg(ingress=None):
    return resource(SG, "enrich-sg", {"description": "enrich", "ingress": ingress or [], "tags": TAGS})


def test_lb_security_group_open_on_80_and_443_passes(pack):
    assert_passes(pack, PUBLIC_INGRESS, good_alb_set())


def test_inline_ssh_from_anywhere_violates(pack):
    sg = app_sg([{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}])
    assert_violates(pack, PUBLIC_INGRESS, [sg], urn=sg["urn"], contains="port 22")


def test_ipv6_anywhere_on_app_sg_violates(pack):
    sg = app_sg([{"protocol": "tcp", "fromPort": 8080, "toPort": 8080, "ipv6CidrBlocks": ["::/0"]}])
    assert_violates(pack, PUBLIC_INGRESS, [sg], contains="::/0")


def test_default_security_group_ingress_is_checked(pack):
    default = resource(
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        "default-sg",
        {"ingress": [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}], "tags": TAGS},
    )
    assert_violates(pack, PUBLIC_INGRESS, [default], urn=default["urn"], contains="all traffic")


def test_private_cidr_ingress_passes(pack):
    sg = app_sg([{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["10.0.0.0/8"]}])
    assert_passes(pack, PUBLIC_INGRESS, [sg])


def test_port_443_on_non_lb_group_violates(pack):
    sg = app_sg([{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}])
    assert_violates(pack, PUBLIC_INGRESS, [sg], contains="only load balancer security groups")


def test_lb_group_with_other_port_violates(pack):
    resources = good_alb_set()
    sg = resources[0]
    extra = child_of(
        sg,
        INGRESS_RULE,
        "collector-lb-admin",
        {"securityGroupId": "x", "ipProtocol": "tcp", "fromPort": 8080, "toPort": 8080, "cidrIpv4": "0.0.0.0/0"},
        prop="securityGroupId",
    )
    assert_violates(pack, PUBLIC_INGRESS, resources + [extra], urn=extra["urn"], contains="8080")


def test_lb_group_port_range_violates(pack):
    resources = good_alb_set()
    resources[0]["inputs"]["ingress"] = [
        {"protocol": "tcp", "fromPort": 80, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}
    ]
    assert_violates(pack, PUBLIC_INGRESS, resources, contains="80-443")


def test_all_traffic_rule_on_lb_group_violates(pack):
    resources = good_alb_set()
    sg = resources[0]
    rule = child_of(
        sg,
        INGRESS_RULE,
        "all",
        {"securityGroupId": "x", "ipProtocol": "-1", "cidrIpv4": "0.0.0.0/0"},
        prop="securityGroupId",
    )
    assert_violates(pack, PUBLIC_INGRESS, resources + [rule], contains="all traffic")


def test_legacy_rule_ingress_violates_and_egress_is_ignored(pack):
    sg = app_sg()
    ingress = child_of(
        sg,
        SG_RULE,
        "ssh",
        {
            "type": "ingress",
            "protocol": "tcp",
            "fromPort": 22,
            "toPort": 22,
            "cidrBlocks": ["0.0.0.0/0"],
            "securityGroupId": "x",
        },
        prop="securityGroupId",
    )
    egress = child_of(
        sg,
        SG_RULE,
        "out",
        {
            "type": "egress",
            "protocol": "tcp",
            "fromPort": 443,
            "toPort": 443,
            "cidrBlocks": ["0.0.0.0/0"],
            "securityGroupId": "x",
        },
        prop="securityGroupId",
    )
    found = assert_violates(pack, PUBLIC_INGRESS, [sg, ingress, egress], urn=ingress["urn"])
    assert {v["urn"] for v in found} == {ingress["urn"]}


def test_unlinked_ingress_rule_is_judged_as_non_lb(pack):
    rule = resource(
        INGRESS_RULE, "orphan", {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"}
    )
    assert_violates(pack, PUBLIC_INGRESS, [rule], urn=rule["urn"], contains="Security group rule 'orphan'")


def test_allowed_public_ports_are_configurable(pack):
    sg = app_sg([{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}])
    lb = resource(
        LB, "lb", {"tags": TAGS, "dropInvalidHeaderFields": True}, deps=[sg], prop_deps={"securityGroups": [sg]}
    )
    config = {PUBLIC_INGRESS: {"allowedPublicPorts": [22, 80, 443]}}
    assert_passes(pack, PUBLIC_INGRESS, [sg, lb], config=config)


# --- Resource rules: (policy, violating, compliant) ------------------------------------------

BUCKET_ARN = "arn:aws:s3:::snowplow-test-data"

CASES = {
    "ec2-launch-template-require-imdsv2": (
        good_launch_template(metadataOptions={"httpTokens": "optional"}),
        good_launch_template(),
    ),
    "ec2-instance-require-imdsv2": (
        resource(INSTANCE, "box", {"instanceType": "t3a.micro"}),
        resource(INSTANCE, "box", {"instanceType": "t3a.micro", "metadataOptions": {"httpTokens": "required"}}),
    ),
    "ec2-launch-template-forbid-public-ip": (
        good_launch_template(networkInterfaces=[{"associatePublicIpAddress": "true"}]),
        good_launch_template(),
    ),
    "ec2-instance-forbid-public-ip": (
        resource(INSTANCE, "box", {"associatePublicIpAddress": True}),
        resource(INSTANCE, "box", {"associatePublicIpAddress": False}),
    ),
    "ec2-user-data-forbid-plaintext-secrets": (
        good_launch_template(
            userData=base64.b64encode(
                b'#!/bin/bash\ncat > /etc/iglu.hocon <<EOF\nsuperApiKey = "5fc7a2b4-1c3e-4b8e-9d2a-8f1e2d3c4b5a"\nEOF\n'
            ).decode()
        ),
        good_launch_template(),
    ),
    "ssm-parameter-require-secure-string": (
        resource(PARAMETER, "db-password", {"name": "/snowplow/test/iglu/db-password", "type": "String", "value": "x"}),
        resource(
            PARAMETER, "db-password", {"name": "/snowplow/test/iglu/db-password", "type": "SecureString", "value": "x"}
        ),
    ),
    "ecs-task-definition-forbid-privileged": (
        task_definition(privileged=True),
        task_definition(privileged=False),
    ),
    "ecs-task-definition-forbid-plaintext-secrets": (
        task_definition(environment=[{"name": "DBT_PASSWORD", "value": "Wr1tten-0ut-Passw0rd"}]),
        task_definition(),
    ),
    "rds-database-forbid-public-access": (
        good_rds(publiclyAccessible=True),
        good_rds(),
    ),
    "redshift-cluster-forbid-public-access": (
        resource(REDSHIFT, "rs", {"publiclyAccessible": True, "encrypted": "true"}),
        resource(REDSHIFT, "rs", {"publiclyAccessible": False, "encrypted": "true"}),
    ),
    "redshift-require-enhanced-vpc-routing": (
        resource(WORKGROUP, "wg", {"publiclyAccessible": False}),
        resource(WORKGROUP, "wg", {"publiclyAccessible": False, "enhancedVpcRouting": True}),
    ),
    "s3-bucket-policy-forbid-public-access": (
        resource(
            BUCKET_POLICY,
            "public",
            {
                "bucket": "b",
                "policy": policy_document(
                    {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"{BUCKET_ARN}/*"}
                ),
            },
        ),
        resource(
            BUCKET_POLICY,
            "elb-logs",
            {
                "bucket": "b",
                "policy": policy_document(
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
                        "Action": "s3:PutObject",
                        "Resource": f"{BUCKET_ARN}/*",
                    }
                ),
            },
        ),
    ),
    "lb-load-balancer-drop-invalid-headers": (
        resource(LB, "lb", {"loadBalancerType": "application"}),
        resource(LB, "lb", {"loadBalancerType": "application", "dropInvalidHeaderFields": True}),
    ),
    "lb-load-balancer-require-access-logs": (
        resource(LB, "lb", {"accessLogs": {"enabled": False, "bucket": "logs"}}),
        resource(LB, "lb", {"accessLogs": {"enabled": True, "bucket": "logs"}}),
    ),
    "iam-policy-forbid-wildcard-actions": (
        resource(
            IAM_POLICY,
            "enrich",
            {"policy": policy_document(allow("kinesis:*", "arn:aws:kinesis:eu-west-1:1:stream/raw"))},
        ),
        resource(
            IAM_POLICY,
            "enrich",
            {
                "policy": policy_document(
                    allow(["kinesis:GetRecords", "kinesis:GetShardIterator"], "arn:aws:kinesis:eu-west-1:1:stream/raw")
                )
            },
        ),
    ),
    "iam-policy-forbid-wildcard-resources": (
        resource(ROLE_POLICY, "loader", {"role": "r", "policy": policy_document(allow(["s3:PutObject"], "*"))}),
        resource(
            ROLE_POLICY,
            "loader",
            {
                "role": "r",
                "policy": policy_document(
                    allow(["s3:PutObject"], "arn:aws:s3:::snowplow-test-data/enriched/*"),
                    allow(["ec2:DescribeTags", "cloudwatch:PutMetricData", "kinesis:ListStreams"], "*"),
                ),
            },
        ),
    ),
    "iam-role-forbid-public-trust": (
        resource(
            ROLE,
            "app",
            {
                "assumeRolePolicy": policy_document(
                    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
                )
            },
        ),
        resource(
            ROLE,
            "app",
            {
                "assumeRolePolicy": policy_document(
                    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
                )
            },
        ),
    ),
}


@pytest.mark.parametrize("policy", sorted(CASES))
def test_rule_flags_violating_resource(pack, policy):
    violating, _ = CASES[policy]
    found = assert_violates(pack, policy, [violating], urn=violating["urn"])
    named = violating["inputs"].get("name") or violating["name"]  # the physical name when it has one
    assert f"'{named}'" in found[0]["message"].splitlines()[-1], found[0]["message"]


@pytest.mark.parametrize("policy", sorted(CASES))
def test_rule_accepts_compliant_resource(pack, policy):
    _, compliant = CASES[policy]
    assert_passes(pack, policy, [compliant], config=PROD_CONFIG)


# --- S3 stack rules --------------------------------------------------------------------------


def test_bucket_without_public_access_block_violates(pack):
    assert_violates(pack, "s3-bucket-require-public-access-block", good_bucket_set(pab=None), urn=urn(BUCKET, "data"))


def test_partial_public_access_block_violates(pack):
    resources = good_bucket_set()
    resources[2]["inputs"]["restrictPublicBuckets"] = False
    assert_violates(pack, "s3-bucket-require-public-access-block", resources, contains="restrictPublicBuckets")


def test_full_public_access_block_passes(pack):
    assert_passes(pack, "s3-bucket-require-public-access-block", good_bucket_set())


def test_public_access_block_of_other_bucket_does_not_count(pack):
    data = good_bucket_set("data", pab=None)
    other = good_bucket_set("other")
    found = assert_violates(pack, "s3-bucket-require-public-access-block", data + other)
    assert {v["urn"] for v in found} == {urn(BUCKET, "data")}


def test_bucket_without_tls_policy_violates(pack):
    assert_violates(pack, "s3-bucket-require-tls-only-policy", good_bucket_set(policy=None), urn=urn(BUCKET, "data"))


def test_bucket_policy_without_secure_transport_deny_violates(pack):
    bucket = good_bucket_set()[0]
    policy = child_of(
        bucket,
        BUCKET_POLICY,
        "data-policy",
        {
            "bucket": "x",
            "policy": policy_document(
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": "*",
                    "Condition": {"Bool": {"aws:SecureTransport": "true"}},
                }
            ),
        },
    )
    assert_violates(pack, "s3-bucket-require-tls-only-policy", good_bucket_set(policy=policy))


def test_tls_policy_as_object_and_bool_value_passes(pack):
    bucket = good_bucket_set()[0]
    document = {
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": ["s3:*"],
                "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": False}},
            }
        ]
    }
    policy = child_of(bucket, BUCKET_POLICY, "data-policy", {"bucket": "x", "policy": document})
    assert_passes(pack, "s3-bucket-require-tls-only-policy", good_bucket_set(policy=policy))


def test_tls_policy_passes(pack):
    assert_passes(pack, "s3-bucket-require-tls-only-policy", good_bucket_set())


# --- Edge cases ------------------------------------------------------------------------------


def test_imds_disabled_counts_as_safe(pack):
    template = good_launch_template(metadataOptions={"httpEndpoint": "disabled"})
    assert_passes(pack, "ec2-launch-template-require-imdsv2", [template])


def test_public_ip_can_be_allowed_by_config(pack):
    template = CASES["ec2-launch-template-forbid-public-ip"][0]
    config = {"ec2-launch-template-forbid-public-ip": {"allowPublicIp": True}}
    assert_passes(pack, "ec2-launch-template-forbid-public-ip", [template], config=config)


@pytest.mark.parametrize(
    "script",
    [
        b"-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n",
        b"export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n",
        b'{"password": "hunter2hunter2"}\n',
    ],
)
def test_user_data_credential_patterns(pack, script):
    template = good_launch_template(userData=base64.b64encode(script).decode())
    found = assert_violates(pack, "ec2-user-data-forbid-plaintext-secrets", [template])
    assert script.decode().strip()[-8:] not in found[0]["message"], "the secret is not echoed"


def test_user_data_references_are_fine(pack):
    script = (
        b"#!/bin/bash\nTOKEN=$(curl -X PUT http://169.254.169.254/latest/api/token)\n"
        b"password = ${?IGLU_DB_PASSWORD}\n"
        b"DB_PASSWORD=$(aws secretsmanager get-secret-value --secret-id x)\n"
    )
    template = good_launch_template(userData=base64.b64encode(script).decode())
    assert_passes(pack, "ec2-user-data-forbid-plaintext-secrets", [template])


def test_gzipped_instance_user_data_is_inspected(pack):
    payload = base64.b64encode(gzip.compress(b"api_key: 0123456789abcdef\n")).decode()
    instance = resource(INSTANCE, "box", {"userDataBase64": payload})
    assert_violates(pack, "ec2-user-data-forbid-plaintext-secrets", [instance])


def test_cluster_instance_public_access(pack):
    instance = resource(RDS_CLUSTER_INSTANCE, "aurora-1", {"publiclyAccessible": True})
    assert_violates(pack, "rds-database-forbid-public-access", [instance])


def test_public_redshift_workgroup(pack):
    assert_violates(
        pack, "redshift-cluster-forbid-public-access", [resource(WORKGROUP, "wg", {"publiclyAccessible": True})]
    )


def test_redshift_cluster_without_enhanced_vpc_routing(pack):
    cluster = {"publiclyAccessible": False, "encrypted": "true"}
    assert_violates(pack, "redshift-require-enhanced-vpc-routing", [resource(REDSHIFT, "rs", cluster)])
    assert_passes(
        pack,
        "redshift-require-enhanced-vpc-routing",
        [resource(REDSHIFT, "rs", {**cluster, "enhancedVpcRouting": True})],
    )


def test_network_load_balancer_is_not_checked_for_headers(pack):
    assert_passes(pack, "lb-load-balancer-drop-invalid-headers", [resource(LB, "nlb", {"loadBalancerType": "network"})])


def test_bucket_policy_public_with_condition_passes(pack):
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}},
    }
    policy = resource(BUCKET_POLICY, "p", {"bucket": "b", "policy": policy_document(statement)})
    assert_passes(pack, "s3-bucket-policy-forbid-public-access", [policy])


# --- IAM details -----------------------------------------------------------------------------


def iam_policy(*statements, type_=IAM_POLICY):
    return resource(type_, "app-policy", {"policy": policy_document(*statements), "tags": TAGS})


@pytest.mark.parametrize("action", ["*", "s3:*", ["kinesis:PutRecord", "dynamodb:*"]])
def test_wildcard_actions_violate(pack, action):
    assert_violates(pack, "iam-policy-forbid-wildcard-actions", [iam_policy(allow(action, "arn:aws:s3:::b"))])


def test_not_action_violates(pack):
    statement = {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}
    assert_violates(pack, "iam-policy-forbid-wildcard-actions", [iam_policy(statement)], contains="NotAction")


def test_deny_with_wildcard_is_fine(pack):
    statement = {
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    assert_passes(pack, "iam-policy-forbid-wildcard-actions", [iam_policy(statement)])


def test_partial_wildcards_only_when_configured(pack):
    policy = iam_policy(allow("s3:Get*", "arn:aws:s3:::b/*"))
    assert_passes(pack, "iam-policy-forbid-wildcard-actions", [policy])
    config = {"iam-policy-forbid-wildcard-actions": {"forbidPartialWildcards": True}}
    assert_violates(pack, "iam-policy-forbid-wildcard-actions", [policy], config=config, contains="s3:Get*")


def test_allowlisted_wildcard_action(pack):
    policy = iam_policy(allow("ssmmessages:*", "*"))
    config = {"iam-policy-forbid-wildcard-actions": {"allowedActions": ["ssmmessages:*"]}}
    assert_passes(pack, "iam-policy-forbid-wildcard-actions", [policy], config=config)


@pytest.mark.parametrize(
    "action",
    [
        "kinesis:PutRecords",
        "dynamodb:GetItem",
        "kms:Decrypt",
        "logs:PutLogEvents",
        "secretsmanager:GetSecretValue",
        "ssm:GetParameter",
        "iam:PassRole",
        "kinesis:Get*",
    ],
)
def test_data_actions_on_any_resource_violate(pack, action):
    assert_violates(pack, "iam-policy-forbid-wildcard-resources", [iam_policy(allow(action, "*"))], contains=action)


def test_not_resource_counts_as_wildcard(pack):
    statement = {"Effect": "Allow", "Action": "s3:PutObject", "NotResource": "arn:aws:s3:::secret/*"}
    assert_violates(pack, "iam-policy-forbid-wildcard-resources", [iam_policy(statement)])


def test_role_inline_policies_are_checked(pack):
    role = resource(
        ROLE,
        "app",
        {
            "assumeRolePolicy": CASES["iam-role-forbid-public-trust"][1]["inputs"]["assumeRolePolicy"],
            "inlinePolicies": [{"name": "data", "policy": policy_document(allow("s3:*", "*"))}],
            "tags": TAGS,
        },
    )
    assert_violates(pack, "iam-policy-forbid-wildcard-actions", [role], contains="inline policy 'data'")
    assert_violates(pack, "iam-policy-forbid-wildcard-resources", [role])


def test_policy_document_as_object_and_single_statement(pack):
    policy = resource(IAM_POLICY, "obj", {"policy": {"Statement": allow("kms:*", "*")}})
    assert_violates(pack, "iam-policy-forbid-wildcard-actions", [policy])


def test_invalid_json_policy_is_reported(pack):
    policy = resource(IAM_POLICY, "broken", {"policy": "{not json"})
    assert_violates(pack, "iam-policy-forbid-wildcard-actions", [policy], contains="not valid JSON")


def test_public_trust_with_condition_passes(pack):
    trust = policy_document(
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-123"}},
        }
    )
    assert_passes(pack, "iam-role-forbid-public-trust", [resource(ROLE, "app", {"assumeRolePolicy": trust})])


def test_secret_wrapped_policy_is_read(pack):
    policy = resource(IAM_POLICY, "wrapped", {"policy": secret(policy_document(allow("*", "*")))})
    assert_violates(pack, "iam-policy-forbid-wildcard-actions", [policy])


def test_security_rules_are_mandatory_in_dev(pack):
    sg = app_sg([{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}])
    found = assert_violates(pack, PUBLIC_INGRESS, [sg], config=DEV_CONFIG)
    assert {v["enforcementLevel"] for v in found} == {"mandatory"}


def test_public_access_block_linked_by_bucket_name(pack):
    """A public access block without dependency data but naming the bucket's physical name still counts."""
    bucket, _, pab, *rest = good_bucket_set()
    loose = resource(PAB, "data-pab", {**pab["inputs"], "bucket": "snowplow-test-data"})
    assert_passes(pack, "s3-bucket-require-public-access-block", [bucket, loose, *rest])


# --- ECS task definitions ----------------------------------------------------------------------


def test_task_definition_adding_sys_admin_violates(pack):
    task = task_definition(linuxParameters={"capabilities": {"add": ["NET_BIND_SERVICE", "SYS_ADMIN"]}})
    assert_violates(pack, "ecs-task-definition-forbid-privileged", [task], contains="SYS_ADMIN")
    assert_passes(
        pack,
        "ecs-task-definition-forbid-privileged",
        [task_definition(linuxParameters={"capabilities": {"add": ["NET_BIND_SERVICE"]}})],
    )


def test_task_definition_credentials_in_commands_and_token_formats_violate(pack):
    policy = "ecs-task-definition-forbid-plaintext-secrets"
    in_command = task_definition(command=["sh", "-c", "psql postgresql://loader:S3cretValue99@db/snowplow"])
    assert_violates(pack, policy, [in_command], contains="password in a URL")
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    known_format = task_definition(environment=[{"name": "GIT_URL_SUFFIX", "value": token}])
    assert_violates(pack, policy, [known_format], contains="GIT_URL_SUFFIX")


def test_task_definition_references_and_plain_settings_pass(pack):
    """What the modeling task does: names and hosts in `environment`, the password through `secrets`, and
    variables referenced by name in its script."""
    task = task_definition(
        environment=[
            {"name": "DBT_PASSWORD_SECRET", "value": "arn:aws:secretsmanager:eu-west-1:1:secret:db-AbCdEf"},
            {"name": "API_TOKEN", "value": "${API_TOKEN}"},
            {"name": "DBT_SCHEMA", "value": "derived"},
        ],
        entryPoint=["/bin/sh", "-c"],
        command=['set -eu\ndbt build --target "$DBT_TARGET"'],
    )
    assert_passes(pack, "ecs-task-definition-forbid-plaintext-secrets", [task])
