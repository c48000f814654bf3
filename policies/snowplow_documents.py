"""Reading IAM-style policy documents by what they grant: who (principals and the conditions that really narrow
them) and what (ARNs, where a wildcard in any segment widens the grant beyond named resources)."""

import re
from typing import Any

from snowplow_policy_util import as_list, statements, str_list

# Condition keys that tie a statement to an organisation, an account, a calling resource, a network path or an
# AWS service, so that Principal "*" no longer means "anyone".
RESTRICTING_KEYS = frozenset(
    {
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:sourceorgid",
        "aws:sourceorgpaths",
        "aws:sourceaccount",
        "aws:sourceowner",
        "aws:sourcearn",
        "aws:sourcevpce",
        "aws:sourcevpc",
        "kms:calleraccount",
        "kms:viaservice",
    }
)
_ARN_KEYS = frozenset({"aws:principalarn", "aws:sourcearn"})
# Operators that admit only the listed values. Negations, IfExists (true when the key is absent), Null and
# ForAllValues (true for an empty set) admit requests the values never name.
_MATCHING_OPERATORS = frozenset({"stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike"})
_WILDCARD = re.compile(r"[*?]")
_SECRET_SUFFIX = re.compile(r"^[^*?]+-\?{6}$")  # Secrets Manager's random suffix, as its docs recommend matching it
_UNTYPED_SERVICES = frozenset({"s3", "sqs", "sns"})  # ARNs whose resource part starts with the name itself


def is_public_principal(principal: Any) -> bool:
    """Principal "*" or {"AWS": "*"} (alone or in a list) in a plain policy statement."""
    if principal == "*":
        return True
    return isinstance(principal, dict) and "*" in str_list(principal.get("AWS"))


def grants_everyone(statement: dict) -> bool:
    """An Allow statement whose principal is anyone: Principal "*" or any NotPrincipal."""
    if statement.get("Effect") != "Allow":
        return False
    return "NotPrincipal" in statement or is_public_principal(statement.get("Principal"))


def _operator(name: str) -> str:
    operator = name.lower()
    if operator.startswith("foranyvalue:"):
        operator = operator.split(":", 1)[1]
    return operator


def _value_restricts(key: str, value: Any) -> bool:
    if not isinstance(value, str) or not value.strip():
        return False
    if key in _ARN_KEYS:
        return arn_scope_problem(value) is None
    if key in ("aws:principalorgpaths", "aws:sourceorgpaths"):
        return bool(re.match(r"^o-[a-z0-9]{10,32}/", value))
    return not _WILDCARD.search(value)


def restricting_condition(statement: dict) -> str | None:
    """The first condition key that narrows the statement to named accounts, orgs, sources or services."""
    condition = statement.get("Condition")
    if not isinstance(condition, dict):
        return None
    for operator, block in condition.items():
        if not isinstance(block, dict) or _operator(str(operator)) not in _MATCHING_OPERATORS:
            continue
        for key, values in block.items():
            key = str(key).lower()
            candidates = as_list(values)
            if key in RESTRICTING_KEYS and candidates and all(_value_restricts(key, v) for v in candidates):
                return key
    return None


def unrestricted_public_statements(document: Any) -> list:
    """Allow statements that grant to anyone without a condition that really narrows who."""
    return [s for s in statements(document) if grants_everyone(s) and restricting_condition(s) is None]


def _resource_name(service: str, rest: str) -> str:
    """The part of an ARN's resource that names the resource (bucket, stream, table, log group, key...)."""
    if service in _UNTYPED_SERVICES:
        return re.split(r"[/:]", rest, maxsplit=1)[0]
    match = re.match(r"^[A-Za-z0-9-]+([/:])(.*)$", rest)
    if not match:
        return rest
    separator, remainder = match.groups()
    return remainder.split(separator, 1)[0]


def arn_scope_problem(resource: str) -> str | None:
    """Why an IAM Resource entry reaches beyond named resources, or None when it names them.

    "*" and a wildcard in the partition, service, region, account or the resource's name all widen it:
    arn:aws:s3:::*/*, arn:aws:kinesis:*:*:stream/*, arn:aws:dynamodb:eu-west-1:123456789012:table/*.
    Wildcards after a literal name (a key prefix, a log stream, a table's indexes) stay within that resource.
    """
    if resource == "*":
        return "Resource '*'"
    if not resource.startswith("arn:"):
        return "a resource that is not an ARN" if _WILDCARD.search(resource) else None
    parts = resource.split(":", 5)
    if len(parts) < 6:
        return f"'{resource}' (not a complete ARN)"
    _, partition, service, region, account, rest = parts
    for label, value in (("partition", partition), ("service", service), ("region", region), ("account", account)):
        if _WILDCARD.search(value):
            return f"'{resource}' (wildcard {label})"
    name = _resource_name(service, rest)
    if service == "secretsmanager" and _SECRET_SUFFIX.match(name):
        return None
    if not name or _WILDCARD.search(name):
        return f"'{resource}' (wildcard resource name)"
    return None
