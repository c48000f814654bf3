"""Least-privilege IAM: no wildcard actions, no wildcard resources for data services, no public trust, no
AWS-managed policies whose grants the pack cannot review."""

import re

from pulumi_policy import Severity
from snowplow_aws_types import carriers
from snowplow_documents import arn_scope_problem, unrestricted_public_statements
from snowplow_policy_util import (
    IAM_GROUP_POLICY,
    IAM_POLICY,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    IAM_USER_POLICY,
    as_list,
    boolean,
    get,
    is_true,
    json_document,
    matches_any,
    places,
    resource_policy,
    snake,
    statements,
    str_list,
    string_list,
)

IDENTITY_POLICY_TYPES = [IAM_POLICY, IAM_ROLE_POLICY, IAM_USER_POLICY, IAM_GROUP_POLICY, IAM_ROLE]

# Services whose actions touch pipeline data or credentials: they must name their resources.
DATA_SERVICES = [
    "s3",
    "kinesis",
    "firehose",
    "dynamodb",
    "kms",
    "secretsmanager",
    "sqs",
    "sns",
    "ssm",
    "logs",
    "rds",
    "rds-db",
    "redshift",
    "redshift-data",
    "redshift-serverless",
    "iam",
    "sts",
]

# Actions of those services that AWS only authorises on Resource "*" (list/describe, agent calls).
WILDCARD_RESOURCE_ALLOWLIST = [
    "s3:ListAllMyBuckets",
    "kinesis:ListStreams",
    "kinesis:DescribeLimits",
    "dynamodb:ListTables",
    "dynamodb:DescribeLimits",
    "kms:ListKeys",
    "kms:ListAliases",
    "secretsmanager:ListSecrets",
    "secretsmanager:GetRandomPassword",
    "sqs:ListQueues",
    "sns:ListTopics",
    "logs:DescribeLogGroups",
    "ssm:DescribeParameters",
    "ssm:UpdateInstanceInformation",
    "ssm:ListInstanceAssociations",
    "ssm:DescribeInstanceProperties",
    "ssm:DescribeDocumentParameters",
    "ssm:ListAssociations",
    "ssm:DescribeAssociation",
    "ssm:GetDocument",
    "ssm:DescribeDocument",
    "ssm:UpdateInstanceAssociationStatus",
    "ssm:UpdateAssociationStatus",
    "ssm:PutInventory",
    "ssm:PutComplianceItems",
    "ssm:PutConfigurePackageResult",
    "ssm:GetManifest",
    "ssm:GetDeployablePatchSnapshotForInstance",
    "sts:GetCallerIdentity",
]


def _documents(args) -> list:
    """(label, raw value, parsed document or None) for the identity policies a resource carries."""
    if args.resource_type == IAM_ROLE:
        found = []
        for index, inline in enumerate(as_list(args.props.get("inlinePolicies"))):
            raw = get(inline, "policy")
            label = f"inline policy '{get(inline, 'name') or index}'"
            found.append((label, raw, json_document(raw, f"inlinePolicies[{index}].policy")))
        return found
    raw = args.props.get("policy")
    return [("policy document", raw, json_document(raw, "policy"))]


def _allow_statements(args, report) -> list:
    """(label, statement) for every Allow statement; unparseable documents are violations."""
    found = []
    for label, raw, document in _documents(args):
        if raw is not None and document is None:
            report(f"IAM {label} of '{args.name}' is not valid JSON, so it cannot be reviewed; fix the document.")
        for statement in statements(document):
            if statement.get("Effect") == "Allow":
                found.append((label, statement))
    return found


def _is_wildcard_action(action: str, partial: bool) -> bool:
    return action == "*" or action.endswith(":*") or (partial and ("*" in action or "?" in action))


def check_wildcard_actions(args, report, cfg):
    for label, statement in _allow_statements(args, report):
        if "NotAction" in statement:
            report(
                f"IAM {label} of '{args.name}' allows NotAction {str_list(statement['NotAction'])}, which grants "
                "every other action; list the allowed actions explicitly."
            )
        broad = [
            a
            for a in str_list(statement.get("Action"))
            if _is_wildcard_action(a, cfg["forbidPartialWildcards"]) and not matches_any(a, cfg["allowedActions"])
        ]
        if broad:
            report(
                f"IAM {label} of '{args.name}' allows wildcard actions {broad}; list the specific actions the "
                "application needs (e.g. kinesis:PutRecords, s3:PutObject)."
            )


def _broad_resources(statement: dict, cfg: dict) -> list:
    """Why each Resource entry of a statement reaches beyond named resources ("*", wildcard ARN segments)."""
    if "NotResource" in statement:
        return [f"NotResource {str_list(statement['NotResource'])} (every other resource)"]
    problems = []
    for entry in str_list(statement.get("Resource")):
        problem = arn_scope_problem(entry)
        if problem and not matches_any(entry, cfg["allowedResources"]):
            problems.append(problem)
    return problems


def check_wildcard_resources(args, report, cfg):
    services = {s.lower() for s in cfg["dataServices"]}
    for label, statement in _allow_statements(args, report):
        broad = _broad_resources(statement, cfg)
        if not broad:
            continue
        offending = [
            action
            for action in str_list(statement.get("Action"))
            if action.split(":", 1)[0].lower() in services and not matches_any(action, cfg["allowedActions"])
        ]
        if offending:
            report(
                f"IAM {label} of '{args.name}' allows data actions {offending} on {', '.join(broad)}; name the "
                "stack's resources in full (stream, table, bucket/prefix, key, log group ARNs); a wildcard may only "
                "follow a literal resource name, as in arn:aws:s3:::<bucket>/<prefix>/*."
            )


def check_public_trust(args, report, cfg):
    raw = args.props.get("assumeRolePolicy")
    document = json_document(raw, "assumeRolePolicy")
    if raw is not None and document is None:
        report(f"IAM role '{args.name}' has an assume-role policy that is not valid JSON; fix the document.")
    if unrestricted_public_statements(document):
        report(
            f"IAM role '{args.name}' can be assumed by any AWS principal (Principal '*' or NotPrincipal without a "
            "condition on aws:PrincipalOrgID, aws:PrincipalAccount, aws:PrincipalArn, aws:SourceArn or "
            "aws:SourceAccount); trust a specific service (e.g. ec2.amazonaws.com) or account instead."
        )


# --- KMS key policies ------------------------------------------------------------------------

KEY_POLICY_TYPES = sorted(carriers("bypass_policy_lockout_safety_check"))  # keys, external/replica keys, KeyPolicy


def check_key_policy_public(args, report, cfg):
    raw = args.props.get("policy")
    document = json_document(raw, "policy")
    if raw is not None and document is None:
        report(f"Key policy of '{args.name}' is not valid JSON, so it cannot be reviewed; fix the document.")
    for statement in unrestricted_public_statements(document):
        report(
            f"Key policy of '{args.name}' allows {str_list(statement.get('Action'))} to everyone (Principal '*' or "
            "NotPrincipal) without a condition that names who (kms:CallerAccount, kms:ViaService, "
            "aws:PrincipalOrgID, aws:PrincipalAccount, aws:SourceArn, ...); name the account or service principals."
        )


def check_key_policy_lockout_check(args, report, cfg):
    if is_true(args.props.get("bypassPolicyLockoutSafetyCheck")):
        report(
            f"'{args.name}' ({args.resource_type}) bypasses the key policy lockout safety check, so a policy that "
            "locks everyone out of the key is accepted; remove bypass_policy_lockout_safety_check."
        )


# --- Attached policies -----------------------------------------------------------------------

ATTACHMENT_CARRIERS = carriers("policy_arn", "policy_arns", "managed_policy_arns")
_AWS_MANAGED = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/")


def check_aws_managed_policies(args, report, cfg):
    for path in ATTACHMENT_CARRIERS[args.resource_type]:
        for where, value in places(args.props, path):
            for arn in str_list(as_list(value)):
                if _AWS_MANAGED.match(arn) and not matches_any(arn, cfg["allowedPolicies"]):
                    report(
                        f"'{args.name}' attaches the AWS-managed policy '{arn}' ({snake(where)}); its grants change "
                        "without review and usually reach every resource of a service. Attach a policy of your "
                        "own with the exact actions and ARNs the workload needs (or list the policy in "
                        "allowedPolicies after reviewing it)."
                    )


POLICIES = [
    resource_policy(
        "iam-policy-forbid-wildcard-actions",
        "IAM identity policies allow no '*' or 'service:*' actions and no NotAction.",
        IDENTITY_POLICY_TYPES,
        check_wildcard_actions,
        config={
            "allowedActions": string_list([], "Wildcard actions accepted anyway (glob patterns)."),
            "forbidPartialWildcards": boolean(False, "Also reject partial wildcards such as 's3:Get*'."),
        },
        severity=Severity.CRITICAL,
    ),
    resource_policy(
        "iam-policy-forbid-wildcard-resources",
        "IAM identity policies name the resources of data-service actions: no Resource '*', NotResource or ARN "
        "with a wildcard in any segment before the resource name.",
        IDENTITY_POLICY_TYPES,
        check_wildcard_resources,
        config={
            "dataServices": string_list(DATA_SERVICES, "Services whose actions must name their resources."),
            "allowedActions": string_list(
                WILDCARD_RESOURCE_ALLOWLIST, "Actions (glob patterns) accepted on Resource '*'."
            ),
            "allowedResources": string_list([], "Resource ARNs (globs) accepted even though they are wildcards."),
        },
        severity=Severity.HIGH,
    ),
    resource_policy(
        "iam-role-forbid-public-trust",
        "IAM roles cannot be assumed by Principal '*' (or NotPrincipal) without a condition that names the org, "
        "account, principal or source.",
        [IAM_ROLE],
        check_public_trust,
        severity=Severity.CRITICAL,
    ),
    resource_policy(
        "kms-key-policy-forbid-public-access",
        "KMS key policies (keys, external and replica keys, KeyPolicy) grant nothing to Principal '*' without a "
        "condition that names the account, org, service or source.",
        KEY_POLICY_TYPES,
        check_key_policy_public,
        severity=Severity.CRITICAL,
    ),
    resource_policy(
        "kms-key-forbid-lockout-check-bypass",
        "KMS keys and key policies keep the policy lockout safety check.",
        KEY_POLICY_TYPES,
        check_key_policy_lockout_check,
        severity=Severity.MEDIUM,
    ),
    resource_policy(
        "iam-identity-forbid-aws-managed-policies",
        "Roles, users, groups and permission sets get no AWS-managed policy (attachments, exclusive attachments, "
        "managed_policy_arns): their grants cannot be reviewed here.",
        sorted(ATTACHMENT_CARRIERS),
        check_aws_managed_policies,
        config={"allowedPolicies": string_list([], "AWS-managed policy ARNs (globs) accepted after review.")},
        severity=Severity.HIGH,
    ),
]
