"""Rule branches the per-rule cases never reach, each asserted by the resource flagged and what its message
tells the user to change."""

import pytest

from tests.policy_helpers import (
    BUCKET_POLICY,
    IAM_POLICY,
    KEY,
    LISTENER,
    PROD_CONFIG,
    QUEUE,
    RDS_CLUSTER,
    ROLE,
    TAGS,
    UNKNOWN_STRING,
    allow,
    assert_passes,
    assert_violates,
    child_of,
    findings,
    good_bucket_set,
    pack,  # noqa: F401  (session fixture)
    policy_document,
    resource,
    run,
    tls_only_policy,
)
from tests.test_policies_encryption import good_domain

SEARCH = "opensearch-domain-require-tls"


def only(found: list) -> str:
    (violation,) = found
    return violation["message"].splitlines()[-1]


def test_search_domain_that_does_not_enforce_https_is_told_exactly_that(pack):
    domain = good_domain(
        domainEndpointOptions={"enforceHttps": False, "tlsSecurityPolicy": "Policy-Min-TLS-1-2-2019-07"}
    )
    message = only(assert_violates(pack, SEARCH, [domain], urn=domain["urn"]))
    assert message == "Search domain 'search' sends data unencrypted; set domain_endpoint_options.enforce_https=True."


def test_tls_listeners_need_a_modern_policy_like_https_ones(pack):
    nlb = resource(LISTENER, "tls", {"protocol": "TLS", "port": 443, "sslPolicy": "ELBSecurityPolicy-2016-08"})
    message = only(assert_violates(pack, "lb-listener-require-modern-tls", [nlb], urn=nlb["urn"]))
    assert message.startswith(
        "TLS listener 'tls' uses TLS policy 'ELBSecurityPolicy-2016-08'; set ssl_policy to one of"
    )
    default = resource(LISTENER, "https", {"protocol": "https", "port": 443})
    message = only(assert_violates(pack, "lb-listener-require-modern-tls", [default], urn=default["urn"]))
    assert "HTTPS listener 'https' uses TLS policy 'ELBSecurityPolicy-2016-08 (the default)'" in message
    assert_passes(
        pack, "lb-listener-require-modern-tls", [resource(LISTENER, "tcp", {"protocol": "TCP", "port": 9000})]
    )


def test_queue_on_the_aws_managed_key_passes_in_dev_and_is_flagged_in_prod(pack):
    queue = resource(QUEUE, "q", {"kmsMasterKeyId": "alias/aws/sqs", "tags": TAGS})
    assert_passes(pack, "sqs-queue-require-encryption", [queue])
    message = only(assert_violates(pack, "sqs-queue-require-encryption", [queue], config=PROD_CONFIG, urn=queue["urn"]))
    assert message == (
        "SQS queue 'q': it uses the AWS-managed key 'alias/aws/sqs' instead of a customer-managed key; "
        "set kms_master_key_id to a customer-managed key ARN."
    )
    plain = resource(QUEUE, "plain", {"tags": TAGS})
    assert only(assert_violates(pack, "sqs-queue-require-encryption", [plain])).endswith(
        "set kms_master_key_id=<key ARN> (or sqs_managed_sse_enabled=True)."
    )
    assert only(assert_violates(pack, "sqs-queue-require-encryption", [plain], config=PROD_CONFIG)).endswith(
        "set kms_master_key_id=<key ARN>."
    )


def test_aurora_serverless_v1_is_encrypted_without_saying_so(pack):
    v1 = resource(RDS_CLUSTER, "v1", {"engine": "aurora-postgresql", "engineMode": "serverless", "tags": TAGS})
    assert_passes(pack, "rds-database-require-storage-encryption", [v1])
    provisioned = resource(
        RDS_CLUSTER, "v2", {"engine": "aurora-postgresql", "engineMode": "provisioned", "tags": TAGS}
    )
    assert_violates(pack, "rds-database-require-storage-encryption", [provisioned], urn=provisioned["urn"])


def test_a_trust_policy_that_is_not_json_cannot_be_reviewed(pack):
    role = resource(ROLE, "broken", {"assumeRolePolicy": '{"Statement": [', "tags": TAGS})
    message = only(assert_violates(pack, "iam-role-forbid-public-trust", [role], urn=role["urn"]))
    assert message == "IAM role 'broken' has an assume-role policy that is not valid JSON; fix the document."
    policy = resource(IAM_POLICY, "broken-policy", {"policy": "Statement: none", "tags": TAGS})
    found = assert_violates(pack, "iam-policy-forbid-wildcard-actions", [policy], urn=policy["urn"])
    assert (
        only(found)
        == "IAM policy document of 'broken-policy' is not valid JSON, so it cannot be reviewed; fix the document."
    )


def test_partial_wildcards_are_flagged_only_when_configured_and_only_the_wildcards(pack):
    actions = ["s3:GetObject", "s3:Get*", "kinesis:Describe?tream"]
    policy = resource(IAM_POLICY, "p", {"policy": policy_document(allow(actions, "arn:aws:s3:::b/*")), "tags": TAGS})
    assert_passes(pack, "iam-policy-forbid-wildcard-actions", [policy])
    config = {"iam-policy-forbid-wildcard-actions": {"forbidPartialWildcards": True}}
    found = assert_violates(pack, "iam-policy-forbid-wildcard-actions", [policy], config=config, urn=policy["urn"])
    assert "allows wildcard actions ['s3:Get*', 'kinesis:Describe?tream'];" in only(found)
    allowed = {"iam-policy-forbid-wildcard-actions": {"forbidPartialWildcards": True, "allowedActions": ["S3:get*"]}}
    found = assert_violates(pack, "iam-policy-forbid-wildcard-actions", [policy], config=allowed)
    assert "allows wildcard actions ['kinesis:Describe?tream'];" in only(found)


@pytest.mark.parametrize("action", ["kinesis:ListStreams", "cloudwatch:PutMetricData"])
def test_the_allowlist_accepts_its_actions_on_any_resource_but_not_data_actions_beside_them(pack, action):
    accepted = resource(IAM_POLICY, "ok", {"policy": policy_document(allow([action], "*")), "tags": TAGS})
    assert_passes(pack, "iam-policy-forbid-wildcard-resources", [accepted])
    mixed = resource(
        IAM_POLICY, "mixed", {"policy": policy_document(allow([action, "kinesis:PutRecords"], "*")), "tags": TAGS}
    )
    found = assert_violates(pack, "iam-policy-forbid-wildcard-resources", [mixed], urn=mixed["urn"])
    assert "allows data actions ['kinesis:PutRecords'] on Resource '*';" in only(found)


@pytest.mark.parametrize(
    "condition",
    [
        {"Bool": {"aws:SecureTransport": "true"}},  # denies the secure requests instead
        {"Bool": {"aws:SecureTransport": ["true"]}},
        {"StringEquals": {"aws:SecureTransport": "false"}},  # not the Bool operator
        {"Bool": {"aws:MultiFactorAuthPresent": "false"}},  # another key
    ],
)
def test_only_a_deny_on_securetransport_false_makes_a_bucket_tls_only(pack, condition):
    arn = "arn:aws:s3:::snowplow-test-data"
    statement = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [arn, f"{arn}/*"]}
    bucket = good_bucket_set("data")[0]
    denial = {"bucket": "snowplow-test-data", "policy": policy_document({**statement, "Condition": condition})}
    resources = good_bucket_set("data", policy=child_of(bucket, BUCKET_POLICY, "data-policy", denial))
    found = assert_violates(pack, "s3-bucket-require-tls-only-policy", resources, urn=bucket["urn"])
    assert only(found).startswith("S3 bucket 'data' accepts plain HTTP requests: no linked BucketPolicy denies them.")
    tls_only = {**denial, "policy": tls_only_policy("snowplow-test-data")}
    assert_passes(
        pack,
        "s3-bucket-require-tls-only-policy",
        good_bucket_set("data", policy=child_of(bucket, BUCKET_POLICY, "data-policy", tls_only)),
    )


@pytest.mark.parametrize(
    "type_,prop,policy",
    [
        (ROLE, "assumeRolePolicy", "iam-role-forbid-public-trust"),
        (KEY, "policy", "kms-key-policy-forbid-public-access"),
        (IAM_POLICY, "policy", "iam-policy-forbid-wildcard-actions"),
    ],
)
def test_an_unknown_policy_document_is_named_in_the_preview_advisory(pack, type_, prop, policy):
    document = '{"Statement": "' + UNKNOWN_STRING + '"}'
    subject = resource(type_, "later", {prop: document, "tags": TAGS})
    (advisory,) = findings(run(pack, [subject]), policy)
    assert advisory["enforcementLevel"] == "advisory"
    assert advisory["message"].endswith(f"string value at .{prop} can't be known during preview")


PUBLIC = {"Effect": "Allow", "Principal": "*", "Action": ["kms:Decrypt", "kms:Encrypt"], "Resource": "*"}


def test_public_trust_and_key_policies_say_what_to_name_instead(pack):
    role = resource(ROLE, "open", {"assumeRolePolicy": policy_document({**PUBLIC, "Action": "sts:AssumeRole"})})
    assert only(assert_violates(pack, "iam-role-forbid-public-trust", [role])) == (
        "IAM role 'open' can be assumed by any AWS principal (Principal '*' or NotPrincipal without a condition on "
        "aws:PrincipalOrgID, aws:PrincipalAccount, aws:PrincipalArn, aws:SourceArn or aws:SourceAccount); trust a "
        "specific service (e.g. ec2.amazonaws.com) or account instead."
    )
    key = resource(KEY, "key", {"policy": policy_document(PUBLIC), "enableKeyRotation": True, "tags": TAGS})
    assert only(assert_violates(pack, "kms-key-policy-forbid-public-access", [key])) == (
        "Key policy of 'key' allows ['kms:Decrypt', 'kms:Encrypt'] to everyone (Principal '*' or NotPrincipal) "
        "without a condition that names who (kms:CallerAccount, kms:ViaService, aws:PrincipalOrgID, "
        "aws:PrincipalAccount, aws:SourceArn, ...); name the account or service principals."
    )
    broken = resource(KEY, "broken", {"policy": "{", "enableKeyRotation": True, "tags": TAGS})
    assert only(assert_violates(pack, "kms-key-policy-forbid-public-access", [broken])) == (
        "Key policy of 'broken' is not valid JSON, so it cannot be reviewed; fix the document."
    )


def test_bypassing_the_key_lockout_check_is_explained(pack):
    key = resource(KEY, "key", {"bypassPolicyLockoutSafetyCheck": True, "enableKeyRotation": True, "tags": TAGS})
    found = assert_violates(pack, "kms-key-forbid-lockout-check-bypass", [key])
    assert only(found) == (
        f"'key' ({KEY}) bypasses the key policy lockout safety check, so a policy that locks everyone out of the "
        "key is accepted; remove bypass_policy_lockout_safety_check."
    )


def test_wildcard_messages_name_the_document_and_what_to_list_instead(pack):
    inline = {"name": "app-inline", "policy": policy_document(allow(["s3:*"], "arn:aws:s3:::b/*"))}
    role = resource(ROLE, "role", {"assumeRolePolicy": policy_document(), "inlinePolicies": [inline], "tags": TAGS})
    assert only(assert_violates(pack, "iam-policy-forbid-wildcard-actions", [role])) == (
        "IAM inline policy 'app-inline' of 'role' allows wildcard actions ['s3:*']; list the specific actions the "
        "application needs (e.g. kinesis:PutRecords, s3:PutObject)."
    )
    not_resource = {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::b"}
    policy = resource(IAM_POLICY, "app-policy", {"policy": policy_document(not_resource), "tags": TAGS})
    assert only(assert_violates(pack, "iam-policy-forbid-wildcard-resources", [policy])).startswith(
        "IAM policy document of 'app-policy' allows data actions ['s3:GetObject'] on NotResource ['arn:aws:s3:::b'] "
        "(every other resource); name the stack's resources in full"
    )


def test_an_unknown_inline_policy_is_named_by_its_place_in_the_role(pack):
    inline = {"name": "later", "policy": '{"Statement": "' + UNKNOWN_STRING + '"}'}
    role = resource(ROLE, "role", {"assumeRolePolicy": policy_document(), "inlinePolicies": [inline], "tags": TAGS})
    (advisory,) = findings(run(pack, [role]), "iam-policy-forbid-wildcard-actions")
    assert advisory["message"].endswith("string value at .inlinePolicies[0].policy can't be known during preview")


def test_an_aws_managed_policy_attachment_is_explained(pack):
    arn = "arn:aws:iam::aws:policy/AmazonS3FullAccess"
    attachment = resource("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "s3", {"role": "r", "policyArn": arn})
    assert only(assert_violates(pack, "iam-identity-forbid-aws-managed-policies", [attachment])) == (
        f"'s3' attaches the AWS-managed policy '{arn}' (policy_arn); its grants change without review and usually "
        "reach every resource of a service. Attach a policy of your own with the exact actions and ARNs the "
        "workload needs (or list the policy in allowedPolicies after reviewing it)."
    )


@pytest.mark.parametrize(
    "resource_,why",
    [
        ("*", "Resource '*'"),
        ("arn:*:s3:::lake/*", "'arn:*:s3:::lake/*' (wildcard partition)"),
        ("arn:aws:s?:::lake/*", "'arn:aws:s?:::lake/*' (wildcard service)"),
        ("arn:aws:s3:*:123456789012:lake", "'arn:aws:s3:*:123456789012:lake' (wildcard region)"),
        ("arn:aws:s3:eu-west-1:*:lake", "'arn:aws:s3:eu-west-1:*:lake' (wildcard account)"),
        ("arn:aws:s3:eu-west-1:123456789012", "'arn:aws:s3:eu-west-1:123456789012' (not a complete ARN)"),
        ("arn:aws:s3:::*/enriched/*", "'arn:aws:s3:::*/enriched/*' (wildcard resource name)"),
        ("lake/*", "a resource that is not an ARN"),
    ],
)
def test_each_kind_of_wildcard_resource_is_named(pack, resource_, why):
    policy = resource(IAM_POLICY, "p", {"policy": policy_document(allow(["s3:GetObject"], resource_)), "tags": TAGS})
    message = only(assert_violates(pack, "iam-policy-forbid-wildcard-resources", [policy]))
    assert f"allows data actions ['s3:GetObject'] on {why}; name the stack's resources in full" in message


@pytest.mark.parametrize("resource_", ["arn:aws:s3:::lake/*", "arn:aws:s3:::lake", "lake"])
def test_a_wildcard_after_a_literal_bucket_name_stays_within_it(pack, resource_):
    policy = resource(IAM_POLICY, "p", {"policy": policy_document(allow(["s3:GetObject"], resource_)), "tags": TAGS})
    assert_passes(pack, "iam-policy-forbid-wildcard-resources", [policy])


def test_not_action_and_every_broad_statement_are_reported_in_full(pack):
    not_action = {"Effect": "Allow", "NotAction": ["iam:*"], "Resource": "arn:aws:s3:::lake/*"}
    policy = resource(IAM_POLICY, "p", {"policy": policy_document(not_action), "tags": TAGS})
    assert only(assert_violates(pack, "iam-policy-forbid-wildcard-actions", [policy])) == (
        "IAM policy document of 'p' allows NotAction ['iam:*'], which grants every other action; list the allowed "
        "actions explicitly."
    )
    named = allow(["s3:GetObject"], "arn:aws:s3:::lake/*")
    broad = allow(["kinesis:PutRecords"], ["*", "arn:aws:kinesis:eu-west-1:123456789012:stream/*"])
    policy = resource(IAM_POLICY, "p", {"policy": policy_document(named, broad), "tags": TAGS})
    assert only(assert_violates(pack, "iam-policy-forbid-wildcard-resources", [policy])) == (
        "IAM policy document of 'p' allows data actions ['kinesis:PutRecords'] on Resource '*', "
        "'arn:aws:kinesis:eu-west-1:123456789012:stream/*' (wildcard resource name); name the stack's resources in "
        "full (stream, table, bucket/prefix, key, log group ARNs); a wildcard may only follow a literal resource "
        "name, as in arn:aws:s3:::<bucket>/<prefix>/*."
    )
