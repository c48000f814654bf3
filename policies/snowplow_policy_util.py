"""Shared helpers for the Snowplow CrossGuard rules: policy builders, value readers, stack links.

Values come from the engine in camelCase wire format, wrapped by pulumi_policy in proxies that
raise UnknownValueError when an unknown (preview) value is read. Resource rules let that error
propagate (the SDK turns it into an advisory "can't run policy during preview"); stack rules use
`known()` so that one unknown value skips one resource instead of the whole rule.
"""

import base64
import binascii
import fnmatch
import gzip
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ResourceValidationPolicy,
    Severity,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError
from snowplow_aws_types import variants

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY

# Engine sentinels for values that are unknown during preview (pulumi_policy.proxy).
UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
UNKNOWN_SENTINELS = frozenset(
    {
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",  # boolean
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",  # number
        UNKNOWN_STRING,
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",  # array
        "030794c1-ac77-496b-92df-f27374a8bd58",  # asset
        "e48ece36-62e2-4504-bad9-02848725956a",  # archive
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",  # object
    }
)

UNKNOWN = object()
"""Returned by `known()` when a value could not be read because it is unknown during preview."""

# Resource type tokens (pulumi-aws 7). Plural names include the alias types that express the same resource
# (aws.alb.* for aws.lb.*, aws.elasticsearch.* for aws.opensearch.*, the deprecated S3 *V2 types).
S3_BUCKET = "aws:s3/bucket:Bucket"
S3_SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
S3_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_ACCOUNT_PUBLIC_ACCESS_BLOCK = "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock"
S3_BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
S3_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
S3_ACL = "aws:s3/bucketAcl:BucketAcl"
S3_BUCKETS = variants(S3_BUCKET)
S3_SSE_TYPES = variants(S3_SSE)
S3_VERSIONING_TYPES = variants(S3_VERSIONING)
S3_ACL_TYPES = variants(S3_ACL)
KINESIS_STREAM = "aws:kinesis/stream:Stream"
DYNAMODB_TABLE = "aws:dynamodb/table:Table"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
REDSHIFT_CLUSTER = "aws:redshift/cluster:Cluster"
REDSHIFT_NAMESPACE = "aws:redshiftserverless/namespace:Namespace"
REDSHIFT_WORKGROUP = "aws:redshiftserverless/workgroup:Workgroup"
OPENSEARCH_DOMAIN = "aws:opensearch/domain:Domain"
OPENSEARCH_DOMAINS = variants(OPENSEARCH_DOMAIN)
OPENSEARCH_DOMAIN_POLICIES = variants("aws:opensearch/domainPolicy:DomainPolicy")
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
EC2_INSTANCE = "aws:ec2/instance:Instance"
SPOT_INSTANCE_REQUEST = "aws:ec2/spotInstanceRequest:SpotInstanceRequest"
INSTANCE_METADATA_DEFAULTS = "aws:ec2/instanceMetadataDefaults:InstanceMetadataDefaults"
EIP = "aws:ec2/eip:Eip"
EIP_ASSOCIATION = "aws:ec2/eipAssociation:EipAssociation"
SUBNET = "aws:ec2/subnet:Subnet"
EBS_ENCRYPTION_BY_DEFAULT = "aws:ebs/encryptionByDefault:EncryptionByDefault"
EBS_DEFAULT_KMS_KEY = "aws:ebs/defaultKmsKey:DefaultKmsKey"
SQS_QUEUE = "aws:sqs/queue:Queue"
SNS_TOPIC = "aws:sns/topic:Topic"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SECRET = "aws:secretsmanager/secret:Secret"
SSM_PARAMETER = "aws:ssm/parameter:Parameter"
KMS_KEY = "aws:kms/key:Key"
LB = "aws:lb/loadBalancer:LoadBalancer"
LB_LISTENER = "aws:lb/listener:Listener"
LB_LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
CLASSIC_ELB = "aws:elb/loadBalancer:LoadBalancer"
LBS = variants(LB)
LB_LISTENERS = variants(LB_LISTENER)
LB_LISTENER_RULES = variants(LB_LISTENER_RULE)
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
SG_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
IAM_POLICY = "aws:iam/policy:Policy"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_USER_POLICY = "aws:iam/userPolicy:UserPolicy"
IAM_GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
IAM_ROLE = "aws:iam/role:Role"
ASG = "aws:autoscaling/group:Group"


# ---------------------------------------------------------------------------------------------
# Policy builders
# ---------------------------------------------------------------------------------------------

Check = Callable[[Any, Callable[..., None], dict], None]


def integer(default: int, description: str, minimum: int = 0) -> dict:
    return {"type": "integer", "default": default, "minimum": minimum, "description": description}


def boolean(default: bool, description: str) -> dict:
    return {"type": "boolean", "default": default, "description": description}


def string(default: str, description: str) -> dict:
    return {"type": "string", "default": default, "description": description}


def string_list(default: list, description: str) -> dict:
    return {"type": "array", "items": {"type": "string"}, "default": list(default), "description": description}


def integer_list(default: list, description: str) -> dict:
    return {"type": "array", "items": {"type": "integer"}, "default": list(default), "description": description}


def key_options() -> dict:
    """Config shared by the rules that judge which KMS key encrypts a resource."""
    return {
        "requireCustomerManagedKey": boolean(
            False, "Also reject AWS-managed keys (alias/aws/...) and unset keys: require a customer-managed KMS key."
        ),
        "allowedKmsKeys": string_list(
            [],
            "Key ARNs, ids or aliases (globs, e.g. 'arn:aws:kms:*:123456789012:key/*') that may encrypt the data; "
            "empty accepts any key.",
        ),
    }


def _coerce(schema: dict, value: Any) -> Any:
    """Integers come back from the engine as floats (2.0); give integer settings their int type."""
    if schema.get("type") == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    if schema.get("type") == "array" and isinstance(value, list):
        return [_coerce(schema.get("items", {}), v) for v in value]
    return value


def _config_reader(config: dict | None) -> Callable[[Any], dict]:
    """Merge the schema defaults under the configured values (the CLI normally sends both)."""
    schema = config or {}
    defaults = {k: v["default"] for k, v in schema.items() if "default" in v}

    def read(args: Any) -> dict:
        merged = {**defaults, **dict(args.get_config() or {})}
        return {k: _coerce(schema.get(k, {}), v) for k, v in merged.items()}

    return read


def resource_policy(
    name: str,
    description: str,
    types: Iterable[str] | None,
    check: Check,
    *,
    level: EnforcementLevel = MANDATORY,
    config: dict | None = None,
    severity: Severity = Severity.HIGH,
) -> ResourceValidationPolicy:
    """A ResourceValidationPolicy that runs `check(args, report_violation, cfg)` for `types` (None: all)."""
    wanted = None if types is None else frozenset(types)
    read_config = _config_reader(config)

    def validate(args, report_violation):
        if wanted is None or args.resource_type in wanted:
            check(args, report_violation, read_config(args))

    policy = ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=level,
        config_schema=PolicyConfigSchema(properties=config) if config else None,
        severity=severity,
    )
    policy.resource_types = wanted  # lets snowplow_fast_analyzer skip what `validate` would ignore anyway
    return policy


def stack_policy(
    name: str,
    description: str,
    check: Check,
    *,
    level: EnforcementLevel = MANDATORY,
    config: dict | None = None,
    severity: Severity = Severity.HIGH,
) -> StackValidationPolicy:
    """A StackValidationPolicy that runs `check(args, report_violation, cfg)` once per stack."""
    read_config = _config_reader(config)

    def validate(args, report_violation):
        check(args, report_violation, read_config(args))

    return StackValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=level,
        config_schema=PolicyConfigSchema(properties=config) if config else None,
        severity=severity,
    )


# ---------------------------------------------------------------------------------------------
# Reading values (proxies are Mapping/Sequence, never dict/list)
# ---------------------------------------------------------------------------------------------


def is_map(value: Any) -> bool:
    return isinstance(value, Mapping)


def is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def get(value: Any, *path: Any, default: Any = None) -> Any:
    """Walk `path` (keys of nested objects); `default` when a step is missing or not an object."""
    for step in path:
        if not (is_map(value) and step in value):
            return default
        value = value[step]
        if value is None:
            return default
    return value


def as_list(value: Any) -> list:
    """A list for list values, [] for None, [value] for a single value."""
    if value is None:
        return []
    if is_list(value):
        return list(value)
    return [value]


def is_true(value: Any) -> bool:
    """True for True and "true" (some pulumi-aws inputs, e.g. launch template EBS flags, are strings)."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def as_number(value: Any) -> float | None:
    """A float for numbers and numeric strings; None otherwise (never raises on odd input)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value in UNKNOWN_SENTINELS


def raise_unknown(path: Iterable[str]) -> None:
    raise UnknownValueError(UNKNOWN_STRING, [str(p) for p in path])


def to_plain(value: Any, path: tuple = ()) -> Any:
    """Copy proxies into plain dicts/lists; raises UnknownValueError on any unknown inside."""
    if is_unknown(value):
        raise_unknown(path)
    if is_map(value):
        return {str(k): to_plain(value[k], path + (k,)) for k in value}
    if is_list(value):
        return [to_plain(v, path + (i,)) for i, v in enumerate(value)]
    return value


def known(read: Callable[[], Any], default: Any = UNKNOWN) -> Any:
    """Run `read()`; return `default` instead of raising when it touches an unknown value."""
    try:
        return read()
    except UnknownValueError:
        return default


def json_document(value: Any, path: str) -> Any | None:
    """Parse a JSON policy document given as a string or an object.

    Raises UnknownValueError if any part is unknown; returns None when the text is not valid JSON.
    """
    if value is None:
        return None
    if isinstance(value, str):
        if any(sentinel in value for sentinel in UNKNOWN_SENTINELS):
            raise_unknown([path])
        try:
            return json.loads(value)
        except ValueError:
            return None
    return to_plain(value, (path,))


def statements(document: Any) -> list:
    """The Statement entries of a policy document that are objects."""
    if not isinstance(document, dict):
        return []
    return [s for s in as_list(document.get("Statement")) if isinstance(s, dict)]


def str_list(value: Any) -> list:
    """Strings of a str-or-list field of a plain (already parsed) document."""
    return [v for v in as_list(value) if isinstance(v, str)]


def matches_any(value: str, patterns: Iterable[str]) -> bool:
    """Case-insensitive glob match (`*`, `?`) against any of `patterns`."""
    lowered = value.lower()
    return any(fnmatch.fnmatchcase(lowered, p.lower()) for p in patterns)


def is_aws_managed_key(key_id: Any) -> bool:
    """True for AWS-managed key aliases such as alias/aws/kinesis (or their ARNs)."""
    return isinstance(key_id, str) and ("alias/aws/" in key_id)


def key_problem(key_id: Any, cfg: dict, *, required: bool = False) -> str:
    """'' when `key_id` satisfies the rule's key settings (requireCustomerManagedKey, allowedKmsKeys), else why not.

    `required`: the resource is only encrypted when a key is named (e.g. Kinesis, SNS).
    """
    allowed = cfg.get("allowedKmsKeys") or []
    if not has_value(key_id):
        if required:
            return "no KMS key is set"
        if cfg.get("requireCustomerManagedKey") or allowed:
            return "no KMS key is set, so the AWS-managed key is used"
        return ""
    if cfg.get("requireCustomerManagedKey") and is_aws_managed_key(key_id):
        return f"it uses the AWS-managed key '{key_id}' instead of a customer-managed key"
    if allowed and not matches_any(str(key_id), allowed):
        return f"its key '{key_id}' is not one of allowedKmsKeys {allowed}"
    return ""


def has_value(value: Any) -> bool:
    """Set and not an empty string."""
    return value is not None and value != ""


def decode_user_data(value: Any) -> str:
    """User data as text: base64 (launch templates) and gzip are undone when they apply."""
    if not isinstance(value, str):
        return ""
    raw: bytes = value.encode()
    try:
        decoded = base64.b64decode(value, validate=True)
        if decoded:
            raw = decoded
    except (binascii.Error, ValueError):
        pass
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError):
            pass
    return raw.decode("utf-8", errors="replace")


def places(value: Any, path: str, where: str = "") -> list:
    """(where, value) for every place a wire path such as "launchSpecifications[].rootBlockDevices" names.

    "[]" expands a list (no places when the list is absent); a missing object yields one place whose value
    is None, meaning "not declared".
    """
    head, _, rest = path.partition(".")
    many = head.endswith("[]")
    key = head[:-2] if many else head
    child = get(value, key)
    if many:
        found = []
        for index, item in enumerate(as_list(child)):
            here = f"{where}{key}[{index}]"
            found += places(item, rest, here + ".") if rest else [(here, item)]
        return found
    if child is None or not rest:
        return [(f"{where}{path}", child)]
    return places(child, rest, f"{where}{key}.")


def acl_grants(props: Any) -> Iterator[tuple]:
    """(where, grantee URI, grant) for each grant of a bucket's inline ACL or a BucketAcl's access control policy,
    read one at a time (so a caller that stops early never reads the later grants)."""
    for path in ("grants[]", "accessControlPolicy.grants[]"):
        for where, grant in places(props, path):
            yield where, get(grant, "uri") or get(grant, "grantee", "uri"), grant


def snake(path: str) -> str:
    """A wire path in the Python SDK's spelling: launchSpecifications[0].rootBlockDevices -> launch_specifications[0]
    .root_block_devices."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "_" + m.group(1).lower(), path)


# ---------------------------------------------------------------------------------------------
# Tags
# ---------------------------------------------------------------------------------------------


def tag_map(tags: Any) -> dict:
    """Tags as {key: value} from a map or the ASG list shape [{key, value, propagateAtLaunch}].

    Unknown tag values are kept as UNKNOWN (the key is present; its value is decided at deploy time).
    """
    result: dict = {}
    if is_map(tags):
        for key in tags:
            result[str(key)] = known(lambda k=key: tags[k])
    elif is_list(tags):
        for item in tags:
            if is_map(item) and isinstance(get(item, "key"), str):
                result[item["key"]] = known(lambda i=item: i.get("value"))
    return result


def provider_default_tags(provider: Any) -> dict:
    """The provider's defaultTags.tags (a map, or a JSON string as explicit providers store it)."""
    if provider is None:
        return {}
    value = get(provider.props, "defaultTags")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return tag_map(get(value, "tags"))


# ---------------------------------------------------------------------------------------------
# Stack helpers
# ---------------------------------------------------------------------------------------------


def of_type(resources: Iterable[Any], *types: str | Iterable[str]) -> list:
    """Resources whose type is one of `types` (each a token or a list of tokens)."""
    wanted = {t for group in types for t in ([group] if isinstance(group, str) else group)}
    return [r for r in resources if r.resource_type in wanted]


def linked(resource: Any, prop: str, types: Iterable[str]) -> list:
    """Resources of `types` that `resource` references through input `prop`.

    Uses propertyDependencies[prop]; falls back to plain dependencies when that yields nothing
    and exactly one dependency has a matching type.
    """
    wanted = frozenset(types)
    via_prop = [d for d in resource.property_dependencies.get(prop, []) if d.resource_type in wanted]
    if via_prop:
        return via_prop
    deps = [d for d in resource.dependencies if d.resource_type in wanted]
    return deps if len(deps) == 1 else []


def buckets_by_name(resources: list) -> dict:
    """{physical name: bucket} for the stack's buckets whose name is known."""
    by_name = {}
    for bucket in of_type(resources, S3_BUCKETS):
        name = known(lambda b=bucket: get(b.props, "bucket"), None)
        if isinstance(name, str) and name:
            by_name[name] = bucket
    return by_name


def bucket_children(resources: list, child_types: Iterable[str]) -> dict:
    """{bucket urn: [resources of child_types]} linked by `bucket` (dependency or the bucket's physical name)."""
    by_name = buckets_by_name(resources)
    children: dict = {}
    for child in of_type(resources, child_types):
        # the input's own dependency first: it names the bucket even where two buckets share a name
        targets = [d for d in child.property_dependencies.get("bucket", []) if d.resource_type in S3_BUCKETS]
        if not targets:
            name = known(lambda c=child: get(c.props, "bucket"), None)
            if isinstance(name, str) and name in by_name:
                targets = [by_name[name]]
        if not targets:
            targets = linked(child, "bucket", S3_BUCKETS)
        for bucket in targets:
            children.setdefault(bucket.urn, []).append(child)
    return children


def bucket_policy_documents(bucket: Any, policies: Iterable[Any]) -> list:
    """The parsed documents of a bucket's linked BucketPolicy resources (`policies`), then of its inline `policy`;
    raises UnknownValueError when any of them is unknown."""
    documents = [json_document(get(p.props, "policy"), "policy") for p in policies]
    documents.append(json_document(get(bucket.props, "policy"), "policy"))
    return documents


def account_setting(resources: list, type_: str, read: Callable[[Any], Any]) -> Any:
    """`read(resource)` for the first resource of an account-wide type (EBS encryption by default, instance
    metadata defaults, the account public access block) in the stack: None when there is none, UNKNOWN when
    its value is decided at deploy time (callers then leave alone what depends on it)."""
    for resource in of_type(resources, type_):
        value = known(lambda r=resource: read(r))
        if value is not None:
            return value
    return None


# ---------------------------------------------------------------------------------------------
# Instance types
# ---------------------------------------------------------------------------------------------

_SIZES = ["nano", "micro", "small", "medium", "large", "xlarge"]


def size_rank(size: str) -> int | None:
    """Order of an instance size (nano < ... < xlarge < 2xlarge < ... < metal); None if unrecognised."""
    size = size.lower()
    if size in _SIZES:
        return _SIZES.index(size)
    match = re.fullmatch(r"(\d+)xlarge", size)
    if match:
        return len(_SIZES) - 2 + int(match.group(1))
    if size.startswith("metal"):
        return 10_000
    return None


def split_instance_type(value: str) -> tuple:
    """("t3a", "micro") for "t3a.micro" and for RDS "db.t3a.micro"; ("", "") when malformed."""
    parts = value.strip().lower().split(".")
    if parts and parts[0] == "db":
        parts = parts[1:]
    if len(parts) != 2 or not all(parts):
        return "", ""
    return parts[0], parts[1]


def instance_type_problem(value: str, families: list, max_size: str) -> str | None:
    """Why `value` is outside the allowed families / maximum size, or None if it is allowed."""
    family, size = split_instance_type(value)
    if not family:
        return f"'{value}' is not a recognised instance type"
    if family not in [f.lower() for f in families]:
        return f"family '{family}' is not in the allowed families {sorted(families)}"
    rank, limit = size_rank(size), size_rank(max_size)
    if rank is None:
        return f"size '{size}' is not a recognised instance size"
    if limit is not None and rank > limit:
        return f"size '{size}' is larger than the maximum '{max_size}'"
    return None
