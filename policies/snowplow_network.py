"""Network exposure and host hardening: security groups, IMDSv2, public IPs, public databases, S3 access,
load balancer hardening, secrets in user data and SSM."""

import re

from pulumi_policy import Severity
from snowplow_policy_util import (
    ADVISORY,
    DEFAULT_SECURITY_GROUP,
    EC2_INSTANCE,
    LAUNCH_TEMPLATE,
    LB,
    RDS_CLUSTER,
    RDS_CLUSTER_INSTANCE,
    RDS_INSTANCE,
    REDSHIFT_CLUSTER,
    REDSHIFT_WORKGROUP,
    S3_BUCKET,
    S3_BUCKET_POLICY,
    S3_PUBLIC_ACCESS_BLOCK,
    SECURITY_GROUP,
    SG_INGRESS_RULE,
    SG_RULE,
    SSM_PARAMETER,
    UNKNOWN,
    as_list,
    as_number,
    boolean,
    bucket_children,
    decode_user_data,
    get,
    integer_list,
    is_public_cidr,
    is_public_principal,
    is_true,
    json_document,
    known,
    linked,
    of_type,
    resource_policy,
    stack_policy,
    statements,
    str_list,
    string,
    string_list,
)

# --- Security group ingress ------------------------------------------------------------------

GROUP_TYPES = (SECURITY_GROUP, DEFAULT_SECURITY_GROUP)


def _load_balancer_security_groups(resources) -> set:
    """URNs of security groups attached to a load balancer (via its securityGroups input)."""
    urns = set()
    for lb in of_type(resources, LB):
        groups = [d for d in lb.property_dependencies.get("securityGroups", []) if d.resource_type in GROUP_TYPES]
        groups = groups or [d for d in lb.dependencies if d.resource_type in GROUP_TYPES]
        urns.update(g.urn for g in groups)
    return urns


def _inline_rules(sg) -> list:
    """(protocol, fromPort, toPort, cidrs) of the inline `ingress` blocks of a security group."""
    return [
        (
            get(rule, "protocol"),
            get(rule, "fromPort"),
            get(rule, "toPort"),
            as_list(get(rule, "cidrBlocks")) + as_list(get(rule, "ipv6CidrBlocks")),
        )
        for rule in as_list(get(sg.props, "ingress"))
    ]


def _ingress_rule(rule) -> list:
    """The same tuple for a vpc.SecurityGroupIngressRule."""
    props = rule.props
    cidrs = [c for c in (get(props, "cidrIpv4"), get(props, "cidrIpv6")) if c]
    return [(get(props, "ipProtocol"), get(props, "fromPort"), get(props, "toPort"), cidrs)]


def _legacy_rule(rule) -> list:
    """The same tuple for an ec2.SecurityGroupRule of type ingress (none for egress)."""
    props = rule.props
    if get(props, "type") != "ingress":
        return []
    cidrs = as_list(get(props, "cidrBlocks")) + as_list(get(props, "ipv6CidrBlocks"))
    return [(get(props, "protocol"), get(props, "fromPort"), get(props, "toPort"), cidrs)]


def _ingress_entries(resources) -> list:
    """(security group or None, resource to blame, protocol, fromPort, toPort, cidrs) for every ingress rule.

    Rules with unknown values are skipped; they are checked again once the values are known.
    """
    entries = []
    for sg in of_type(resources, *GROUP_TYPES):
        for rule in known(lambda s=sg: _inline_rules(s), []):
            entries.append((sg, sg) + rule)
    for rule in of_type(resources, SG_INGRESS_RULE, SG_RULE):
        read = _ingress_rule if rule.resource_type == SG_INGRESS_RULE else _legacy_rule
        groups = linked(rule, "securityGroupId", GROUP_TYPES)
        for entry in known(lambda r=rule, f=read: f(r), []):
            entries.append((groups[0] if groups else None, rule) + entry)
    return entries


def _only_allowed_tcp_ports(protocol, from_port, to_port, allowed) -> bool:
    if str(protocol).lower() not in ("tcp", "6"):
        return False
    low, high = as_number(from_port), as_number(to_port)
    if low is None or high is None or high < low or high - low > len(allowed):
        return False
    return all(port in allowed for port in range(int(low), int(high) + 1))


def _describe_ports(protocol, from_port, to_port) -> str:
    if str(protocol).lower() in ("-1", "all"):
        return "all traffic"
    low, high = as_number(from_port), as_number(to_port)
    if low is None:
        return f"{protocol} (all ports)"
    if high is None or high == low:
        return f"{protocol} port {low:g}"
    return f"{protocol} ports {low:g}-{high:g}"


def check_public_ingress(args, report, cfg):
    lb_groups = _load_balancer_security_groups(args.resources)
    allowed = set(cfg["allowedPublicPorts"])
    for sg, blame, protocol, from_port, to_port, cidrs in _ingress_entries(args.resources):
        public = [c for c in cidrs if is_public_cidr(c)]
        if not public:
            continue
        on_lb = sg is not None and sg.urn in lb_groups
        if on_lb and _only_allowed_tcp_ports(protocol, from_port, to_port, allowed):
            continue
        where = f"Security group '{sg.name}'" if sg is not None else f"Security group rule '{blame.name}'"
        report(
            f"{where} allows {_describe_ports(protocol, from_port, to_port)} from {', '.join(public)}; only load "
            f"balancer security groups may be open to the internet, on tcp {sorted(allowed)}. Restrict the source "
            "to a trusted CIDR or security group (use SSM Session Manager instead of public SSH).",
            blame.urn,
        )


# --- Instances and launch templates ----------------------------------------------------------


def _imdsv2_problem(metadata_options) -> str:
    if get(metadata_options, "httpEndpoint") == "disabled":
        return ""
    tokens = get(metadata_options, "httpTokens")
    return "" if tokens == "required" else f"metadata_options.http_tokens is '{tokens or 'optional'}'"


def check_launch_template_imdsv2(args, report, cfg):
    if problem := _imdsv2_problem(args.props.get("metadataOptions")):
        report(f"Launch template '{args.name}' allows IMDSv1 ({problem}); set metadata_options.http_tokens='required'.")


def check_instance_imdsv2(args, report, cfg):
    if problem := _imdsv2_problem(args.props.get("metadataOptions")):
        report(f"EC2 instance '{args.name}' allows IMDSv1 ({problem}); set metadata_options.http_tokens='required'.")


def check_launch_template_public_ip(args, report, cfg):
    if cfg["allowPublicIp"]:
        return
    for interface in as_list(args.props.get("networkInterfaces")):
        if is_true(get(interface, "associatePublicIpAddress")):
            report(
                f"Launch template '{args.name}' gives instances a public IP; set network_interfaces[]."
                "associate_public_ip_address='false' and run the instances in private subnets behind the load "
                "balancer / NAT."
            )


def check_instance_public_ip(args, report, cfg):
    if not cfg["allowPublicIp"] and is_true(args.props.get("associatePublicIpAddress")):
        report(
            f"EC2 instance '{args.name}' gets a public IP; set associate_public_ip_address=False and place it in a "
            "private subnet."
        )


SECRET_PATTERNS = [
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    r"\b(AKIA|ASIA)[0-9A-Z]{16}\b",
    r"(?i)aws_secret_access_key\s*[=:]",
    r"(?i)(password|passwd|secret|api_?key|private_?key|token)[\"']?\s*[:=]\s*[\"']?(?![$({<`])[^\s\"',}]{8,}",
]


def check_user_data_secrets(args, report, cfg):
    raw = (
        args.props.get("userData")
        if args.resource_type == LAUNCH_TEMPLATE
        else (args.props.get("userData") or args.props.get("userDataBase64"))
    )
    text = decode_user_data(raw)
    for number, line in enumerate(text.splitlines(), start=1):
        for index, pattern in enumerate(cfg["forbiddenPatterns"]):
            if re.search(pattern, line):
                report(
                    f"User data of '{args.name}' embeds what looks like a credential (line {number}, forbidden pattern "
                    f"#{index + 1}); read it at boot from Secrets Manager / SSM SecureString via the instance role "
                    "instead of baking it into user data."
                )
                return


def check_ssm_secure_string(args, report, cfg):
    name = str(args.props.get("name") or args.name)
    if re.search(cfg["secretNamePattern"], name, re.IGNORECASE) and args.props.get("type") != "SecureString":
        report(
            f"SSM parameter '{name}' looks like a secret but is of type '{args.props.get('type')}'; "
            "use type='SecureString' with key_id=<customer-managed key>."
        )


# --- Databases -------------------------------------------------------------------------------


def check_rds_not_public(args, report, cfg):
    if is_true(args.props.get("publiclyAccessible")):
        report(f"Database '{args.name}' is publicly accessible; set publicly_accessible=False and use private subnets.")


def check_redshift_not_public(args, report, cfg):
    if is_true(args.props.get("publiclyAccessible")):
        report(f"Redshift '{args.name}' is publicly accessible; set publicly_accessible=False.")


# --- S3 access -------------------------------------------------------------------------------

PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _missing_public_access_flags(block) -> list:
    return [flag for flag in PUBLIC_ACCESS_FLAGS if not is_true(get(block.props, flag))]


def check_public_access_block(args, report, cfg):
    blocks = bucket_children(args.resources, S3_PUBLIC_ACCESS_BLOCK)
    for bucket in of_type(args.resources, S3_BUCKET):
        missing = [known(lambda b=b: _missing_public_access_flags(b)) for b in blocks.get(bucket.urn, [])]
        if any(m is UNKNOWN or not m for m in missing):
            continue
        detail = f"its BucketPublicAccessBlock leaves {sorted(set(missing[0]))} unset" if missing else "it has none"
        report(
            f"S3 bucket '{bucket.name}' is not fully protected from public access: {detail}. Add "
            "aws.s3.BucketPublicAccessBlock(bucket=<bucket>.id, block_public_acls=True, block_public_policy=True, "
            "ignore_public_acls=True, restrict_public_buckets=True).",
            bucket.urn,
        )


def _denies_insecure_transport(document) -> bool:
    for statement in statements(document):
        if statement.get("Effect") != "Deny":
            continue
        actions = [a.lower() for a in str_list(statement.get("Action"))]
        if not {"*", "s3:*"} & set(actions):
            continue
        for operator, block in (statement.get("Condition") or {}).items():
            if operator.lower() != "bool" or not isinstance(block, dict):
                continue
            for key, value in block.items():
                if key.lower() == "aws:securetransport" and any(str(v).lower() == "false" for v in as_list(value)):
                    return True
    return False


def check_tls_only_policy(args, report, cfg):
    policies = bucket_children(args.resources, S3_BUCKET_POLICY)
    for bucket in of_type(args.resources, S3_BUCKET):
        documents = [
            known(lambda p=p: json_document(get(p.props, "policy"), "policy")) for p in policies.get(bucket.urn, [])
        ]
        documents.append(known(lambda b=bucket: json_document(get(b.props, "policy"), "policy")))
        if any(d is UNKNOWN or _denies_insecure_transport(d) for d in documents):
            continue
        report(
            f"S3 bucket '{bucket.name}' accepts plain HTTP requests: no linked BucketPolicy denies them. Add a "
            "BucketPolicy statement {Effect: Deny, Principal: '*', Action: 's3:*', Resource: [<bucket arn>, "
            "<bucket arn>/*], Condition: {Bool: {'aws:SecureTransport': 'false'}}}.",
            bucket.urn,
        )


def check_bucket_policy_public(args, report, cfg):
    document = json_document(args.props.get("policy"), "policy")
    for statement in statements(document):
        if statement.get("Effect") == "Allow" and is_public_principal(statement.get("Principal")):
            if not statement.get("Condition"):
                report(
                    f"Bucket policy '{args.name}' allows {str_list(statement.get('Action'))} to everyone "
                    "(Principal '*') without a condition; name the principals or add a restricting Condition."
                )


# --- Load balancers --------------------------------------------------------------------------


def _is_application_lb(props) -> bool:
    return (props.get("loadBalancerType") or "application") == "application"


def check_drop_invalid_headers(args, report, cfg):
    if _is_application_lb(args.props) and not is_true(args.props.get("dropInvalidHeaderFields")):
        report(
            f"Application load balancer '{args.name}' forwards malformed HTTP headers; set "
            "drop_invalid_header_fields=True."
        )


def check_access_logs(args, report, cfg):
    if _is_application_lb(args.props) and not is_true(get(args.props, "accessLogs", "enabled")):
        report(
            f"Application load balancer '{args.name}' has no access logs; set access_logs={{'enabled': True, "
            "'bucket': <log bucket>}."
        )


POLICIES = [
    stack_policy(
        "ec2-security-group-restrict-public-ingress",
        "No security group ingress from 0.0.0.0/0 or ::/0, except tcp 80/443 on load balancer security groups.",
        check_public_ingress,
        config={
            "allowedPublicPorts": integer_list(
                [80, 443], "TCP ports a load balancer security group may open to the internet."
            )
        },
        severity=Severity.CRITICAL,
    ),
    resource_policy(
        "ec2-launch-template-require-imdsv2",
        "Launch templates require IMDSv2 session tokens.",
        [LAUNCH_TEMPLATE],
        check_launch_template_imdsv2,
    ),
    resource_policy(
        "ec2-instance-require-imdsv2",
        "EC2 instances require IMDSv2 session tokens.",
        [EC2_INSTANCE],
        check_instance_imdsv2,
    ),
    resource_policy(
        "ec2-launch-template-forbid-public-ip",
        "Launch templates do not give application instances a public IP.",
        [LAUNCH_TEMPLATE],
        check_launch_template_public_ip,
        config={"allowPublicIp": boolean(False, "Accept public IPs (only for throw-away stacks without NAT).")},
    ),
    resource_policy(
        "ec2-instance-forbid-public-ip",
        "EC2 instances do not get a public IP.",
        [EC2_INSTANCE],
        check_instance_public_ip,
        config={"allowPublicIp": boolean(False, "Accept public IPs (only for throw-away stacks without NAT).")},
    ),
    resource_policy(
        "ec2-user-data-forbid-plaintext-secrets",
        "Launch template and instance user data carry no credentials in clear text (heuristic patterns).",
        [LAUNCH_TEMPLATE, EC2_INSTANCE],
        check_user_data_secrets,
        config={"forbiddenPatterns": string_list(SECRET_PATTERNS, "Regular expressions that flag a credential.")},
    ),
    resource_policy(
        "ssm-parameter-require-secure-string",
        "SSM parameters whose name looks secret are SecureStrings.",
        [SSM_PARAMETER],
        check_ssm_secure_string,
        config={
            "secretNamePattern": string(
                r"password|passwd|secret|token|api[-_]?key|private[-_]?key|credential",
                "Regular expression (case-insensitive) for parameter names that hold secrets.",
            )
        },
    ),
    resource_policy(
        "rds-database-forbid-public-access",
        "RDS instances and clusters are not publicly accessible.",
        [RDS_INSTANCE, RDS_CLUSTER, RDS_CLUSTER_INSTANCE],
        check_rds_not_public,
        severity=Severity.CRITICAL,
    ),
    resource_policy(
        "redshift-cluster-forbid-public-access",
        "Redshift clusters and serverless workgroups are not publicly accessible.",
        [REDSHIFT_CLUSTER, REDSHIFT_WORKGROUP],
        check_redshift_not_public,
        severity=Severity.CRITICAL,
    ),
    stack_policy(
        "s3-bucket-require-public-access-block",
        "Every S3 bucket has a BucketPublicAccessBlock with all four settings true.",
        check_public_access_block,
        severity=Severity.CRITICAL,
    ),
    stack_policy(
        "s3-bucket-require-tls-only-policy",
        "Every S3 bucket has a bucket policy denying requests without aws:SecureTransport.",
        check_tls_only_policy,
    ),
    resource_policy(
        "s3-bucket-policy-forbid-public-access",
        "Bucket policies grant nothing to Principal '*' without a condition.",
        [S3_BUCKET_POLICY],
        check_bucket_policy_public,
        severity=Severity.CRITICAL,
    ),
    resource_policy(
        "lb-load-balancer-drop-invalid-headers",
        "Application load balancers drop invalid HTTP header fields.",
        [LB],
        check_drop_invalid_headers,
        severity=Severity.MEDIUM,
    ),
    resource_policy(
        "lb-load-balancer-require-access-logs",
        "Application load balancers write access logs.",
        [LB],
        check_access_logs,
        level=ADVISORY,
        severity=Severity.LOW,
    ),
]
