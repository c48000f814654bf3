"""Encryption at rest (S3, Kinesis, DynamoDB, RDS, Redshift, OpenSearch, EBS, SQS, SNS, logs, secrets, KMS)
and in transit (OpenSearch endpoints, load balancer listeners)."""

from snowplow_policy_util import (
    DYNAMODB_TABLE,
    EBS_VOLUME,
    EC2_INSTANCE,
    KINESIS_STREAM,
    KMS_KEY,
    LAUNCH_TEMPLATE,
    LB,
    LB_LISTENER,
    LOG_GROUP,
    OPENSEARCH_DOMAIN,
    RDS_CLUSTER,
    RDS_INSTANCE,
    REDSHIFT_CLUSTER,
    REDSHIFT_NAMESPACE,
    S3_BUCKET,
    S3_SSE,
    SECRET,
    SNS_TOPIC,
    SQS_QUEUE,
    UNKNOWN,
    as_list,
    as_number,
    boolean,
    bucket_children,
    get,
    has_value,
    integer,
    is_aws_managed_key,
    is_true,
    known,
    matches_any,
    of_type,
    resource_policy,
    stack_policy,
    string_list,
)

KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")

CMK_OPTION = {
    "requireCustomerManagedKey": boolean(
        False, "Also reject AWS-managed keys (alias/aws/...): require a customer-managed KMS key."
    )
}

SSE_S3_OPTION = {
    "sseS3AllowedBuckets": string_list(
        ["*-alb-logs*", "*-access-logs*"],
        "Physical bucket names (globs) that may use SSE-S3 (AES256): log sinks such as ELB access logs, which AWS "
        "only writes with S3-managed keys. Buckets receiving a load balancer's logs are recognised automatically.",
    )
}

MODERN_LB_TLS_POLICIES = [
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
]


def _cmk_problem(key_id, cfg) -> str:
    """'' when `key_id` satisfies the key requirement, else what is wrong with it."""
    if not has_value(key_id):
        return "no KMS key is set"
    if cfg["requireCustomerManagedKey"] and is_aws_managed_key(key_id):
        return f"it uses the AWS-managed key '{key_id}' instead of a customer-managed key"
    return ""


# --- S3 --------------------------------------------------------------------------------------


def _sse_rule_algorithms(sse) -> list:
    return [
        get(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm") for rule in as_list(get(sse.props, "rules"))
    ]


def _bucket_algorithms(bucket, configs) -> list:
    """Algorithms of the bucket's linked SSE configurations plus its deprecated inline configuration."""
    algorithms = [a for sse in configs for a in _sse_rule_algorithms(sse)]
    inline = get(
        bucket.props, "serverSideEncryptionConfiguration", "rule", "applyServerSideEncryptionByDefault", "sseAlgorithm"
    )
    return algorithms + ([inline] if inline else [])


def _load_balancer_log_buckets(resources) -> set:
    """URNs of buckets that receive load balancer access/connection logs (ELB writes those with SSE-S3 only)."""
    buckets = of_type(resources, S3_BUCKET)
    by_name = {known(lambda b=b: get(b.props, "bucket"), None): b.urn for b in buckets}
    urns = set()
    for lb in of_type(resources, LB):
        for prop in ("accessLogs", "connectionLogs"):
            urns.update(d.urn for d in lb.property_dependencies.get(prop, []) if d.resource_type == S3_BUCKET)
            name = known(lambda p=prop, r=lb: get(r.props, p, "bucket"), None)
            if isinstance(name, str) and name in by_name:
                urns.add(by_name[name])
    return urns


def _sse_s3_allowed(bucket_name, cfg) -> bool:
    return isinstance(bucket_name, str) and matches_any(bucket_name, cfg["sseS3AllowedBuckets"])


def check_bucket_sse(args, report, cfg):
    configs = bucket_children(args.resources, S3_SSE)
    log_buckets = _load_balancer_log_buckets(args.resources)
    for bucket in of_type(args.resources, S3_BUCKET):
        algorithms = known(lambda b=bucket: _bucket_algorithms(b, configs.get(b.urn, [])))
        if algorithms is UNKNOWN or any(a in KMS_ALGORITHMS for a in algorithms):
            continue
        name = known(lambda b=bucket: get(b.props, "bucket"), None)
        if "AES256" in algorithms and (bucket.urn in log_buckets or _sse_s3_allowed(name, cfg)):
            continue  # a log sink that AWS can only write with S3-managed keys
        used = sorted({str(a) for a in algorithms})
        detail = f"it is encrypted with {used} only" if used else "no encryption configuration is linked to it"
        report(
            f"S3 bucket '{bucket.name}' is not encrypted with SSE-KMS: {detail}. Add "
            "aws.s3.BucketServerSideEncryptionConfiguration(bucket=<bucket>.id, rules=[{apply_server_side_encryption_"
            "by_default: {sse_algorithm: 'aws:kms', kms_master_key_id: <key arn>}, bucket_key_enabled: True}]).",
            bucket.urn,
        )


def check_sse_configuration(args, report, cfg):
    rules = as_list(args.props.get("rules"))
    if not rules:
        report(f"S3 encryption configuration '{args.name}' has no rules; add one with sse_algorithm 'aws:kms'.")
    for rule in rules:
        default = get(rule, "applyServerSideEncryptionByDefault")
        algorithm = get(default, "sseAlgorithm")
        if algorithm == "AES256" and _sse_s3_allowed(args.props.get("bucket"), cfg):
            continue  # a log sink that AWS can only write with S3-managed keys
        if algorithm not in KMS_ALGORITHMS:
            report(
                f"S3 encryption configuration '{args.name}' uses sse_algorithm '{algorithm}'; "
                "set sse_algorithm='aws:kms' with kms_master_key_id=<customer-managed key ARN> (log buckets that "
                "only accept SSE-S3 belong in sseS3AllowedBuckets)."
            )
        elif cfg["requireCustomerManagedKey"] and (problem := _cmk_problem(get(default, "kmsMasterKeyId"), cfg)):
            report(
                f"S3 encryption configuration '{args.name}': {problem}; set kms_master_key_id to the stack's "
                "customer-managed KMS key ARN."
            )


# --- Streams, tables, queues, topics, logs, secrets ---------------------------------------


def check_kinesis_kms(args, report, cfg):
    if args.props.get("encryptionType") != "KMS":
        report(
            f"Kinesis stream '{args.name}' is not encrypted (encryptionType is "
            f"'{args.props.get('encryptionType') or 'NONE'}'); set encryption_type='KMS' and kms_key_id=<key ARN>."
        )
    elif problem := _cmk_problem(args.props.get("kmsKeyId"), cfg):
        report(f"Kinesis stream '{args.name}' uses KMS but {problem}; set kms_key_id to a customer-managed key ARN.")


def check_dynamodb_sse(args, report, cfg):
    if not is_true(get(args.props, "serverSideEncryption", "enabled")):
        report(
            f"DynamoDB table '{args.name}' does not enable KMS server-side encryption; set "
            "server_side_encryption={'enabled': True, 'kms_key_arn': <key ARN>}."
        )


def check_sqs_encryption(args, report, cfg):
    key = args.props.get("kmsMasterKeyId")
    if has_value(key):
        if problem := _cmk_problem(key, cfg):
            report(f"SQS queue '{args.name}': {problem}; set kms_master_key_id to a customer-managed key ARN.")
        return
    if cfg["requireCustomerManagedKey"] or not is_true(args.props.get("sqsManagedSseEnabled")):
        report(
            f"SQS queue '{args.name}' is not encrypted; set kms_master_key_id=<key ARN>"
            + ("" if cfg["requireCustomerManagedKey"] else " (or sqs_managed_sse_enabled=True)")
            + "."
        )


def check_sns_kms(args, report, cfg):
    if problem := _cmk_problem(args.props.get("kmsMasterKeyId"), cfg):
        report(f"SNS topic '{args.name}' is not encrypted with a suitable key: {problem}; set kms_master_key_id.")


def check_log_group_kms(args, report, cfg):
    if cfg["requireKms"] and not has_value(args.props.get("kmsKeyId")):
        report(
            f"CloudWatch log group '{args.name}' has no kms_key_id; set kms_key_id to the stack's KMS key ARN "
            "(its key policy must allow logs.<region>.amazonaws.com)."
        )


def check_secret_cmk(args, report, cfg):
    key = args.props.get("kmsKeyId")
    if not has_value(key) or is_aws_managed_key(key):
        report(
            f"Secrets Manager secret '{args.name}' uses the AWS-managed key "
            f"'{key or 'alias/aws/secretsmanager'}'; set kms_key_id to a customer-managed KMS key."
        )


def check_kms_rotation(args, report, cfg):
    usage = args.props.get("keyUsage") or "ENCRYPT_DECRYPT"
    spec = args.props.get("customerMasterKeySpec") or "SYMMETRIC_DEFAULT"
    if usage != "ENCRYPT_DECRYPT" or spec != "SYMMETRIC_DEFAULT" or has_value(args.props.get("customKeyStoreId")):
        return  # AWS rotates only symmetric keys held in KMS itself
    if not is_true(args.props.get("enableKeyRotation")):
        report(f"KMS key '{args.name}' does not rotate; set enable_key_rotation=True.")
        return
    period = as_number(args.props.get("rotationPeriodInDays"))
    if period is not None and period > cfg["maxRotationPeriodDays"]:
        report(
            f"KMS key '{args.name}' rotates every {period:g} days; set rotation_period_in_days <= "
            f"{cfg['maxRotationPeriodDays']}."
        )


# --- Databases and search --------------------------------------------------------------------


def check_rds_storage_encrypted(args, report, cfg):
    props = args.props
    if is_true(props.get("storageEncrypted")):
        return
    if (
        args.resource_type == RDS_INSTANCE
        and has_value(props.get("replicateSourceDb"))
        and has_value(props.get("kmsKeyId"))
    ):
        return  # an encrypted replica: encryption follows kms_key_id
    if args.resource_type == RDS_CLUSTER and props.get("engineMode") == "serverless":
        return  # Aurora Serverless v1 is always encrypted
    kind = "RDS instance" if args.resource_type == RDS_INSTANCE else "RDS cluster"
    report(f"{kind} '{args.name}' does not encrypt its storage; set storage_encrypted=True and kms_key_id=<key ARN>.")


def check_redshift_encrypted(args, report, cfg):
    if not is_true(args.props.get("encrypted")):
        report(f"Redshift cluster '{args.name}' is not encrypted; set encrypted='true' and kms_key_id=<key ARN>.")


def check_redshift_namespace_kms(args, report, cfg):
    if not has_value(args.props.get("kmsKeyId")):
        report(
            f"Redshift Serverless namespace '{args.name}' uses an AWS-owned key; set kms_key_id to a "
            "customer-managed KMS key ARN."
        )


def check_opensearch_encryption(args, report, cfg):
    props, problems = args.props, []
    if not is_true(get(props, "encryptAtRest", "enabled")):
        problems.append("encrypt_at_rest.enabled=True")
    if not is_true(get(props, "nodeToNodeEncryption", "enabled")):
        problems.append("node_to_node_encryption.enabled=True")
    if not is_true(get(props, "domainEndpointOptions", "enforceHttps")):
        problems.append("domain_endpoint_options.enforce_https=True")
    tls = get(props, "domainEndpointOptions", "tlsSecurityPolicy")
    if has_value(tls) and tls not in cfg["allowedTlsPolicies"]:
        problems.append(f"domain_endpoint_options.tls_security_policy in {cfg['allowedTlsPolicies']} (is '{tls}')")
    if problems:
        report(f"OpenSearch domain '{args.name}' is not fully encrypted; set {', '.join(problems)}.")


# --- EBS -------------------------------------------------------------------------------------


def check_launch_template_ebs(args, report, cfg):
    mappings = as_list(args.props.get("blockDeviceMappings"))
    if not mappings:
        report(
            f"Launch template '{args.name}' does not declare its root volume, so its encryption depends on the AMI; "
            "add block_device_mappings=[{device_name: '/dev/xvda', ebs: {encrypted: 'true', volume_type: 'gp3'}}]."
        )
    for mapping in mappings:
        ebs = get(mapping, "ebs")
        if ebs is not None and not is_true(get(ebs, "encrypted")):
            report(
                f"Launch template '{args.name}' maps an unencrypted EBS volume at "
                f"'{get(mapping, 'deviceName')}'; set ebs.encrypted='true' (and kms_key_id for a CMK)."
            )


def check_instance_ebs(args, report, cfg):
    if not is_true(get(args.props, "rootBlockDevice", "encrypted")):
        report(f"EC2 instance '{args.name}' has an unencrypted root volume; set root_block_device.encrypted=True.")
    for device in as_list(args.props.get("ebsBlockDevices")):
        if not is_true(get(device, "encrypted")):
            report(
                f"EC2 instance '{args.name}' has unencrypted EBS volume '{get(device, 'deviceName')}'; "
                "set ebs_block_devices[].encrypted=True."
            )


def check_ebs_volume(args, report, cfg):
    if not is_true(args.props.get("encrypted")):
        report(f"EBS volume '{args.name}' is not encrypted; set encrypted=True (and kms_key_id for a CMK).")


# --- Load balancer listeners -----------------------------------------------------------------


def check_listener_tls(args, report, cfg):
    protocol = str(args.props.get("protocol") or "").upper()
    if protocol not in ("HTTPS", "TLS"):
        return
    policy = args.props.get("sslPolicy")
    if policy not in cfg["allowedSslPolicies"]:
        report(
            f"{protocol} listener '{args.name}' uses TLS policy '{policy or 'the AWS default'}'; set ssl_policy to "
            f"one of {cfg['allowedSslPolicies']}."
        )


def check_listener_http_redirect(args, report, cfg):
    if str(args.props.get("protocol") or "").upper() != "HTTP" or cfg["allowPlainHttp"]:
        return
    actions = as_list(args.props.get("defaultActions"))
    redirect_to_https = (
        len(actions) == 1
        and get(actions[0], "type") == "redirect"
        and str(get(actions[0], "redirect", "protocol") or "").upper() == "HTTPS"
    )
    if not redirect_to_https:
        report(
            f"HTTP listener '{args.name}' serves traffic in clear text; make its only default action a redirect: "
            "default_actions=[{type: 'redirect', redirect: {protocol: 'HTTPS', port: '443', "
            "status_code: 'HTTP_301'}}]."
        )


POLICIES = [
    stack_policy(
        "s3-bucket-require-sse-kms",
        "Every S3 bucket has a BucketServerSideEncryptionConfiguration using SSE-KMS (SSE-S3 only for log sinks).",
        check_bucket_sse,
        config=SSE_S3_OPTION,
    ),
    resource_policy(
        "s3-sse-configuration-require-kms",
        "S3 server-side encryption configurations use aws:kms (optionally with a customer-managed key).",
        [S3_SSE],
        check_sse_configuration,
        config={**CMK_OPTION, **SSE_S3_OPTION},
    ),
    resource_policy(
        "kinesis-stream-require-kms",
        "Kinesis streams are encrypted with KMS.",
        [KINESIS_STREAM],
        check_kinesis_kms,
        config=CMK_OPTION,
    ),
    resource_policy(
        "dynamodb-table-require-sse",
        "DynamoDB tables enable KMS server-side encryption.",
        [DYNAMODB_TABLE],
        check_dynamodb_sse,
    ),
    resource_policy(
        "rds-database-require-storage-encryption",
        "RDS instances and Aurora clusters encrypt their storage.",
        [RDS_INSTANCE, RDS_CLUSTER],
        check_rds_storage_encrypted,
    ),
    resource_policy(
        "redshift-cluster-require-encryption",
        "Redshift clusters are encrypted at rest.",
        [REDSHIFT_CLUSTER],
        check_redshift_encrypted,
    ),
    resource_policy(
        "redshift-serverless-namespace-require-kms",
        "Redshift Serverless namespaces use a customer-managed KMS key.",
        [REDSHIFT_NAMESPACE],
        check_redshift_namespace_kms,
    ),
    resource_policy(
        "opensearch-domain-require-encryption",
        "OpenSearch domains encrypt at rest and node-to-node, and enforce HTTPS with a TLS 1.2+ policy.",
        [OPENSEARCH_DOMAIN],
        check_opensearch_encryption,
        config={
            "allowedTlsPolicies": string_list(
                ["Policy-Min-TLS-1-2-2019-07", "Policy-Min-TLS-1-2-PFS-2023-10"],
                "Accepted domain_endpoint_options.tls_security_policy values.",
            )
        },
    ),
    resource_policy(
        "ec2-launch-template-require-ebs-encryption",
        "Launch templates declare their EBS volumes encrypted.",
        [LAUNCH_TEMPLATE],
        check_launch_template_ebs,
    ),
    resource_policy(
        "ec2-instance-require-ebs-encryption",
        "EC2 instances encrypt their root and EBS volumes.",
        [EC2_INSTANCE],
        check_instance_ebs,
    ),
    resource_policy(
        "ebs-volume-require-encryption",
        "Standalone EBS volumes are encrypted.",
        [EBS_VOLUME],
        check_ebs_volume,
    ),
    resource_policy(
        "sqs-queue-require-encryption",
        "SQS queues are encrypted with KMS or SQS-managed SSE.",
        [SQS_QUEUE],
        check_sqs_encryption,
        config=CMK_OPTION,
    ),
    resource_policy(
        "sns-topic-require-kms",
        "SNS topics are encrypted with KMS.",
        [SNS_TOPIC],
        check_sns_kms,
        config=CMK_OPTION,
    ),
    resource_policy(
        "cloudwatch-log-group-require-kms",
        "CloudWatch log groups are encrypted with a KMS key.",
        [LOG_GROUP],
        check_log_group_kms,
        config={"requireKms": boolean(True, "Require kms_key_id on every log group (false turns the rule off).")},
    ),
    resource_policy(
        "secretsmanager-secret-require-cmk",
        "Secrets Manager secrets use a customer-managed KMS key, not alias/aws/secretsmanager.",
        [SECRET],
        check_secret_cmk,
    ),
    resource_policy(
        "kms-key-require-rotation",
        "Symmetric KMS keys rotate automatically.",
        [KMS_KEY],
        check_kms_rotation,
        config={"maxRotationPeriodDays": integer(365, "Longest accepted rotation_period_in_days.", minimum=90)},
    ),
    resource_policy(
        "lb-listener-require-modern-tls",
        "HTTPS/TLS load balancer listeners use an approved TLS 1.2+/1.3 security policy.",
        [LB_LISTENER],
        check_listener_tls,
        config={"allowedSslPolicies": string_list(MODERN_LB_TLS_POLICIES, "Accepted ssl_policy values.")},
    ),
    resource_policy(
        "lb-listener-require-https-redirect",
        "HTTP load balancer listeners only redirect to HTTPS.",
        [LB_LISTENER],
        check_listener_http_redirect,
        config={"allowPlainHttp": boolean(False, "Accept HTTP listeners that forward (no certificate available).")},
    ),
]
