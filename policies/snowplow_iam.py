"""Least-privilege IAM: no wildcard actions, no wildcard resources for data services, no public trust."""

from pulumi_policy import Severity
from snowplow_policy_util import (
    IAM_GROUP_POLICY,
    IAM_POLICY,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    IAM_USER_POLICY,
    as_list,
    boolean,
    get,
    is_public_principal,
    json_document,
    matches_any,
    resource_policy,
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


def check_wildcard_resources(args, report, cfg):
    services = {s.lower() for s in cfg["dataServices"]}
    for label, statement in _allow_statements(args, report):
        if "*" not in str_list(statement.get("Resource")) and "NotResource" not in statement:
            continue
        offending = [
            action
            for action in str_list(statement.get("Action"))
            if action.split(":", 1)[0].lower() in services and not matches_any(action, cfg["allowedActions"])
        ]
        if offending:
            report(
                f"IAM {label} of '{args.name}' allows data actions {offending} on Resource '*'; scope them to the "
                "stack's ARNs (streams, tables, bucket/prefix, key, log group)."
            )


def check_public_trust(args, report, cfg):
    document = json_document(args.props.get("assumeRolePolicy"), "assumeRolePolicy")
    if args.props.get("assumeRolePolicy") is not None and document is None:
        report(f"IAM role '{args.name}' has an assume-role policy that is not valid JSON; fix the document.")
    for statement in statements(document):
        if statement.get("Effect") != "Allow" or statement.get("Condition"):
            continue
        if is_public_principal(statement.get("Principal")):
            report(
                f"IAM role '{args.name}' can be assumed by any AWS principal (Principal '*'); trust a specific "
                "service (e.g. ec2.amazonaws.com) or account, or add a restricting Condition."
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
        "IAM identity policies do not allow data-service actions on Resource '*'.",
        IDENTITY_POLICY_TYPES,
        check_wildcard_resources,
        config={
            "dataServices": string_list(DATA_SERVICES, "Services whose actions must name their resources."),
            "allowedActions": string_list(
                WILDCARD_RESOURCE_ALLOWLIST, "Actions (glob patterns) accepted on Resource '*'."
            ),
        },
        severity=Severity.HIGH,
    ),
    resource_policy(
        "iam-role-forbid-public-trust",
        "IAM roles cannot be assumed by Principal '*' without a condition.",
        [IAM_ROLE],
        check_public_trust,
        severity=Severity.CRITICAL,
    ),
]
