"""Buckets where AWS can only write logs with SSE-S3 (AES256), so the SSE-KMS rules must accept it there.

AWS documents SSE-S3 as the only default encryption for Application Load Balancer access, connection and health
check logs, for Classic Load Balancer access logs and for S3 server access logs. Network Load Balancer access logs
and CloudFront standard logs can be written to SSE-KMS buckets with a customer-managed key, so they need no
exception. A bucket is such a log sink when, in this stack:

- a load balancer (aws.lb / aws.alb of type application, or a classic ELB) has an enabled `access_logs`,
  `connection_logs` or `health_check_logs` block naming it (by property dependency or by its physical name), or an
  S3 bucket logs its server access to it (`aws.s3.BucketLogging*` `target_bucket`, or the inline `logging`);
- or its name matches `sseS3AllowedBuckets` (log sinks written from outside the stack) and its own access
  settings let such a log service write: a bucket policy that allows s3:PutObject to
  logdelivery.elasticloadbalancing.amazonaws.com, logging.s3.amazonaws.com or a regional Elastic Load Balancing
  account, or an ACL that gives the S3 LogDelivery group WRITE. A bucket no such service may write to is no sink,
  whatever its name.
"""

import re

from snowplow_aws_types import carriers
from snowplow_policy_util import (
    CLASSIC_ELB,
    S3_ACL_TYPES,
    S3_BUCKET_POLICY,
    S3_BUCKETS,
    UNKNOWN,
    acl_grants,
    as_list,
    bucket_children,
    bucket_policy_documents,
    buckets_by_name,
    get,
    is_true,
    known,
    matches_any,
    of_type,
    places,
    statements,
    str_list,
)

# Service principals of the log deliveries that accept only SSE-S3 buckets.
SSE_S3_LOG_SERVICES = frozenset({"logdelivery.elasticloadbalancing.amazonaws.com", "logging.s3.amazonaws.com"})
# The Elastic Load Balancing account that writes access logs in each Region opened before August 2022 (newer
# Regions use the service principal), as the ELB user guide lists them for the bucket policy.
ELB_LOG_ACCOUNTS = frozenset(
    {
        "127311923021",  # us-east-1
        "033677994240",  # us-east-2
        "027434742980",  # us-west-1
        "797873946194",  # us-west-2
        "098369216593",  # af-south-1
        "754344448648",  # ap-east-1
        "589379963580",  # ap-southeast-3
        "718504428378",  # ap-south-1
        "383597477331",  # ap-northeast-3
        "600734575887",  # ap-northeast-2
        "114774131450",  # ap-southeast-1
        "783225319266",  # ap-southeast-2
        "582318560864",  # ap-northeast-1
        "985666609251",  # ca-central-1
        "054676820928",  # eu-central-1
        "156460612806",  # eu-west-1
        "652711504416",  # eu-west-2
        "635631232127",  # eu-south-1
        "009996457667",  # eu-west-3
        "897822967062",  # eu-north-1
        "076674570225",  # me-south-1
        "507241528517",  # sa-east-1
        "048591011584",  # us-gov-west-1
        "190560391635",  # us-gov-east-1
        "638102146993",  # cn-north-1
        "037604701340",  # cn-northwest-1
    }
)
LOG_DELIVERY_GROUP = "http://acs.amazonaws.com/groups/s3/LogDelivery"
_ACCOUNT_PRINCIPAL = re.compile(r"^(?:arn:aws[a-z-]*:iam::)?(\d{12})(?::root)?$")

# ({type: paths to the block}, what its logs are called): load balancer log blocks, each with `bucket` and `enabled`.
LOAD_BALANCER_LOGS = (
    (carriers("access_logs"), "access logs"),
    (carriers("connection_logs"), "connection logs"),
    (carriers("health_check_logs"), "health check logs"),
)
SERVER_ACCESS_LOG_TARGETS = carriers("target_bucket")  # aws.s3.BucketLogging*, inline Bucket/BucketV2 logging


def _top(path: str) -> str:
    """The input a wire path starts with ("loggings[].targetBucket" -> "loggings")."""
    return path.split(".", 1)[0].removesuffix("[]")


def _load_balancer(writer) -> tuple:
    """(kind shown in messages, whether its logs need SSE-S3): application, network... load balancers."""
    if writer.resource_type == CLASSIC_ELB:
        return "classic load balancer", True
    kind = known(lambda: get(writer.props, "loadBalancerType"))
    if kind is UNKNOWN:
        return "load balancer", True  # maybe an application load balancer: decided at deploy time
    kind = kind or "application"
    return f"{kind} load balancer", kind == "application"


def _destinations(resources) -> list:
    """(writer, who writes, path to the target bucket name, SSE-S3 only) for every enabled log destination."""
    found = []
    for block_paths, what in LOAD_BALANCER_LOGS:
        for writer in of_type(resources, block_paths):
            kind, sse_s3_only = _load_balancer(writer)
            for path in block_paths[writer.resource_type]:
                block = known(lambda w=writer, p=path: get(w.props, p))
                default = writer.resource_type == CLASSIC_ELB  # a classic ELB's access_logs block is on by default
                enabled = (
                    UNKNOWN if block is UNKNOWN else known(lambda b=block, d=default: get(b, "enabled", default=d))
                )
                if block is None or (enabled is not UNKNOWN and not is_true(enabled)):
                    continue  # no logs (an unknown block or switch may log: decided at deploy time)
                found.append((writer, f"{what} of {kind} '{writer.name}'", f"{path}.bucket", sse_s3_only))
    for writer in of_type(resources, SERVER_ACCESS_LOG_TARGETS):
        for path in SERVER_ACCESS_LOG_TARGETS[writer.resource_type]:
            found.append((writer, f"S3 server access logs ('{writer.name}')", path, True))
    return found


def _grants_log_delivery(document) -> bool:
    """A bucket policy statement that lets an SSE-S3-only log service put objects."""
    for statement in statements(document):
        if statement.get("Effect") != "Allow" or not matches_any("s3:PutObject", str_list(statement.get("Action"))):
            continue
        principal = statement.get("Principal")
        if not isinstance(principal, dict):
            continue
        if SSE_S3_LOG_SERVICES & {s.lower() for s in str_list(principal.get("Service"))}:
            return True
        for identity in str_list(principal.get("AWS")):
            match = _ACCOUNT_PRINCIPAL.match(identity.strip())
            if match and match.group(1) in ELB_LOG_ACCOUNTS:
                return True
    return False


def _acl_admits_log_delivery(props) -> bool:
    if get(props, "acl") == "log-delivery-write":
        return True
    for _, uri, grant in acl_grants(props):
        granted = {str(p).upper() for p in [*as_list(get(grant, "permissions")), *as_list(get(grant, "permission"))]}
        if uri == LOG_DELIVERY_GROUP and granted & {"WRITE", "FULL_CONTROL"}:
            return True
    return False


class LogSinks:
    """Which buckets (in the stack, or named by an SSE configuration) AWS fills with SSE-S3-only logs."""

    def __init__(self, resources):
        by_name = {name: bucket.urn for name, bucket in buckets_by_name(resources).items()}
        self.writers: dict = {}  # bucket urn, or name of a bucket outside the stack -> who writes SSE-S3-only logs
        self.kms_capable_writers: dict = {}  # the same for logs AWS can also write with SSE-KMS (NLB)
        self.unresolved = False  # an SSE-S3-only writer whose bucket is decided at deploy time
        self.outside_names = False  # a writer names a bucket no in-stack bucket is known to be
        for writer, who, name_path, sse_s3_only in _destinations(resources):
            urns = {
                d.urn for d in writer.property_dependencies.get(_top(name_path), []) if d.resource_type in S3_BUCKETS
            }
            urns.discard(writer.urn)  # a bucket's inline `logging` depends on its target, never on itself
            targets = set(urns)
            if not targets:
                names = known(lambda w=writer, p=name_path: [v for _, v in places(w.props, p) if v is not None])
                if names is UNKNOWN or not all(isinstance(n, str) for n in names):
                    self.unresolved = self.unresolved or sse_s3_only
                    continue
                targets = {by_name.get(n, n) for n in names}
                self.outside_names = self.outside_names or any(n not in by_name for n in names)
            for target in targets:
                (self.writers if sse_s3_only else self.kms_capable_writers).setdefault(target, who)
        self._policies = bucket_children(resources, [S3_BUCKET_POLICY])
        self._acls = bucket_children(resources, S3_ACL_TYPES)

    def _admits_log_writer(self, bucket) -> bool:
        """Its bucket policy or ACL lets an SSE-S3-only log service write (raises on unknown values)."""
        documents = bucket_policy_documents(bucket, self._policies.get(bucket.urn, []))
        if any(_grants_log_delivery(d) for d in documents):
            return True
        return any(_acl_admits_log_delivery(a.props) for a in [bucket, *self._acls.get(bucket.urn, [])])

    def _not_a_sink(self, key) -> str:
        why = (
            "no Application or Classic Load Balancer in this stack writes its logs there, no bucket logs its "
            "server access there, and its name matches no sseS3AllowedBuckets pattern"
        )
        if key in self.kms_capable_writers:
            why += (
                f"; it receives {self.kms_capable_writers[key]}, which AWS also writes to SSE-KMS buckets (let "
                "delivery.logs.amazonaws.com use a customer-managed key)"
            )
        return why

    def judge_bucket(self, bucket, cfg) -> tuple:
        """(True, '') where AWS needs SSE-S3, (False, why not), or (UNKNOWN, '') while that depends on unknowns."""
        if bucket.urn in self.writers:
            return True, ""
        if self.unresolved:
            return UNKNOWN, ""
        name = known(lambda: get(bucket.props, "bucket"))
        admits = known(lambda: self._admits_log_writer(bucket))
        if admits is UNKNOWN or (name is UNKNOWN and (admits or self.outside_names)):
            return UNKNOWN, ""
        named = isinstance(name, str) and matches_any(name, cfg["sseS3AllowedBuckets"])
        if named and admits:
            return True, ""
        if named:
            return False, (
                "its name matches sseS3AllowedBuckets, but nothing lets an SSE-S3-only log service write to it: no "
                "bucket policy statement allows s3:PutObject to logdelivery.elasticloadbalancing.amazonaws.com, "
                "logging.s3.amazonaws.com or a regional Elastic Load Balancing account, and no ACL gives the "
                "LogDelivery group WRITE"
            )
        return False, self._not_a_sink(bucket.urn)

    def judge_name(self, name, cfg) -> tuple:
        """The same for a bucket outside the stack, known only by name (its policy is not visible here)."""
        if name in self.writers:
            return True, ""
        if self.unresolved or not isinstance(name, str):
            return UNKNOWN, ""
        if matches_any(name, cfg["sseS3AllowedBuckets"]):
            return True, ""
        return False, self._not_a_sink(name)
