"""Encryption at rest (S3, Kinesis, DynamoDB, RDS/Aurora/DocumentDB/Neptune, Redshift, OpenSearch, EBS, SQS,
SNS, logs, secrets, KMS) and in transit (OpenSearch endpoints, load balancer listeners)."""

from snowplow_aws_types import carriers
from snowplow_log_sinks import LogSinks
from snowplow_policy_util import (
    CLASSIC_ELB,
    DYNAMODB_TABLE,
    EBS_DEFAULT_KMS_KEY,
    EBS_ENCRYPTION_BY_DEFAULT,
    KINESIS_STREAM,
    KMS_KEY,
    LAUNCH_TEMPLATE,
    LB_LISTENER_RULES,
    LB_LISTENERS,
    LOG_GROUP,
    OPENSEARCH_DOMAINS,
    REDSHIFT_CLUSTER,
    REDSHIFT_NAMESPACE,
    S3_BUCKETS,
    S3_SSE_TYPES,
    SECRET,
    SNS_TOPIC,
    SQS_QUEUE,
    UNKNOWN,
    account_setting,
    as_list,
    as_number,
    boolean,
    bucket_children,
    get,
    has_value,
    integer,
    is_aws_managed_key,
    is_true,
    key_options,
    key_problem,
    known,
    linked,
    of_type,
    places,
    resource_policy,
    snake,
    stack_policy,
    string_list,
    to_plain,
)

KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")

SSE_S3_OPTION = {
    "sseS3AllowedBuckets": string_list(
        ["*-alb-logs*", "*-access-logs*"],
        "Physical bucket names (globs) of log sinks written from outside this stack, which may use SSE-S3 (AES256) "
        "when their bucket policy or ACL lets an SSE-S3-only log service write (ELB or S3 server access logs). "
        "Buckets that a load balancer or bucket in this stack logs into are recognised without it.",
    )
}

# TLS 1.3-capable policies, and TLS 1.2-only policies restricted to forward-secret AEAD ciphers.
TLS13_LB_POLICIES = [
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
]
MODERN_LB_TLS_POLICIES = [
    *TLS13_LB_POLICIES,
    "ELBSecurityPolicy-FS-1-2-Res-2020-10",
    "ELBSecurityPolicy-FS-1-2-Res-2019-08",
]

INLINE_SSE_PATHS = (
    "serverSideEncryptionConfiguration.rule.applyServerSideEncryptionByDefault",  # aws.s3.Bucket (deprecated)
    "serverSideEncryptionConfigurations[].rules[].applyServerSideEncryptionByDefault",  # aws.s3.BucketV2
)


# --- S3 --------------------------------------------------------------------------------------


def _configuration_rules(config) -> list:
    """(algorithm, key) of each rule of an encryption configuration (raises on unknown values)."""
    found = []
    for rule in as_list(get(config.props, "rules")):
        default = get(rule, "applyServerSideEncryptionByDefault")
        found.append((get(default, "sseAlgorithm"), get(default, "kmsMasterKeyId")))
    return found


def _bucket_encryption(bucket, configs) -> list:
    """(linked, algorithm, key) of every default-encryption rule: linked configurations (True), then inline ones."""
    found = [(True, algorithm, key) for sse in configs for algorithm, key in _configuration_rules(sse)]
    for path in INLINE_SSE_PATHS:
        for _, default in places(bucket.props, path):
            if default is not None:
                found.append((False, get(default, "sseAlgorithm"), get(default, "kmsMasterKeyId")))
    return found


SSE_S3_ONLY_WHERE = (
    "SSE-S3 is accepted only where AWS requires it: buckets that receive Application or Classic Load Balancer logs or "
    "S3 server access logs"
)


def check_bucket_sse(args, report, cfg):
    configs = bucket_children(args.resources, S3_SSE_TYPES)
    sinks = LogSinks(args.resources)
    for bucket in of_type(args.resources, S3_BUCKETS):
        rules = known(lambda b=bucket: _bucket_encryption(b, configs.get(b.urn, [])))
        if rules is UNKNOWN:
            continue
        kms = [(linked, key) for linked, algorithm, key in rules if algorithm in KMS_ALGORITHMS]
        if any(linked for linked, _ in kms):
            continue  # the configuration's own rule (s3-sse-configuration-require-kms) judges its key
        if kms:
            if problem := key_problem(kms[0][1], cfg):
                report(
                    f"S3 bucket '{bucket.name}' encrypts with SSE-KMS through its deprecated inline "
                    f"server_side_encryption_configuration, but {problem}; set kms_master_key_id to the stack's "
                    "customer-managed key ARN (better: move it to aws.s3.BucketServerSideEncryptionConfiguration).",
                    bucket.urn,
                )
            continue
        algorithms = sorted({str(a) for _, a, _ in rules})
        if "AES256" in algorithms:
            sink, why_not = sinks.judge_bucket(bucket, cfg)
            if sink is UNKNOWN or sink:
                continue  # a log sink that AWS can only write with S3-managed keys (or decided at deploy time)
            detail = f"it is encrypted with {algorithms} only; {SSE_S3_ONLY_WHERE}, and {why_not}"
        else:
            detail = (
                f"it is encrypted with {algorithms} only" if algorithms else "no encryption configuration is linked"
            )
        report(
            f"S3 bucket '{bucket.name}' is not encrypted with SSE-KMS: {detail}. Add "
            "aws.s3.BucketServerSideEncryptionConfiguration(bucket=<bucket>.id, rules=[{apply_server_side_encryption_"
            "by_default: {sse_algorithm: 'aws:kms', kms_master_key_id: <key arn>}, bucket_key_enabled: True}]).",
            bucket.urn,
        )


def _sse_s3_verdict(config, owners, sinks, cfg) -> tuple:
    """Whether the configuration's bucket(s) may use SSE-S3: (True | False | UNKNOWN, why not)."""
    buckets = owners.get(config.urn)
    if not buckets:
        return sinks.judge_name(known(lambda: get(config.props, "bucket")), cfg)
    verdicts = [sinks.judge_bucket(b, cfg) for b in buckets]
    if any(v is UNKNOWN for v, _ in verdicts):
        return UNKNOWN, ""
    return next(((v, why) for v, why in verdicts if not v), (True, ""))


def check_sse_configuration(args, report, cfg):
    buckets = {b.urn: b for b in of_type(args.resources, S3_BUCKETS)}
    owners: dict = {}  # configuration urn -> the in-stack bucket(s) it encrypts
    for bucket_urn, children in bucket_children(args.resources, S3_SSE_TYPES).items():
        for child in children:
            owners.setdefault(child.urn, []).append(buckets[bucket_urn])
    sinks = LogSinks(args.resources)
    for config in of_type(args.resources, S3_SSE_TYPES):
        rules = known(lambda c=config: _configuration_rules(c))
        if rules is UNKNOWN:
            continue
        if not rules:
            report(
                f"S3 encryption configuration '{config.name}' has no rules; add one with sse_algorithm 'aws:kms'.",
                config.urn,
            )
        for algorithm, key in rules:
            if algorithm == "AES256":
                sink, why_not = _sse_s3_verdict(config, owners, sinks, cfg)
                if sink is UNKNOWN or sink:
                    continue  # a log sink that AWS can only write with S3-managed keys (or decided at deploy time)
                report(
                    f"S3 encryption configuration '{config.name}' uses sse_algorithm 'AES256' (SSE-S3), but "
                    f"{SSE_S3_ONLY_WHERE}, and {why_not}. Set sse_algorithm='aws:kms' with kms_master_key_id="
                    "<customer-managed key ARN> (if a load balancer or bucket outside this stack logs into it, name "
                    "it in sseS3AllowedBuckets and let that service write through its bucket policy).",
                    config.urn,
                )
            elif algorithm not in KMS_ALGORITHMS:
                report(
                    f"S3 encryption configuration '{config.name}' uses sse_algorithm '{algorithm}'; set "
                    "sse_algorithm='aws:kms' with kms_master_key_id=<customer-managed key ARN>.",
                    config.urn,
                )
            elif problem := key_problem(key, cfg):
                report(
                    f"S3 encryption configuration '{config.name}': {problem}; set kms_master_key_id to the stack's "
                    "customer-managed KMS key ARN.",
                    config.urn,
                )


# --- Streams, tables, queues, topics, logs, secrets ---------------------------------------


def check_kinesis_kms(args, report, cfg):
    if args.props.get("encryptionType") != "KMS":
        report(
            f"Kinesis stream '{args.name}' is not encrypted (encryptionType is "
            f"'{args.props.get('encryptionType') or 'NONE'}'); set encryption_type='KMS' and kms_key_id=<key ARN>."
        )
    elif problem := key_problem(args.props.get("kmsKeyId"), cfg, required=True):
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
        if problem := key_problem(key, cfg):
            report(f"SQS queue '{args.name}': {problem}; set kms_master_key_id to a customer-managed key ARN.")
        return
    if cfg["requireCustomerManagedKey"] or not is_true(args.props.get("sqsManagedSseEnabled")):
        report(
            f"SQS queue '{args.name}' is not encrypted; set kms_master_key_id=<key ARN>"
            + ("" if cfg["requireCustomerManagedKey"] else " (or sqs_managed_sse_enabled=True)")
            + "."
        )


def check_sns_kms(args, report, cfg):
    if problem := key_problem(args.props.get("kmsMasterKeyId"), cfg, required=True):
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

DATABASE_STORAGE_TYPES = sorted(carriers("storage_encrypted"))
# Inputs through which a database takes its data (and with it its encryption) from another one.
SOURCE_INPUTS = (
    "replicateSourceDb",
    "replicationSourceIdentifier",
    "globalClusterIdentifier",
    "sourceDbClusterIdentifier",
)
IDENTIFIER_INPUTS = ("identifier", "clusterIdentifier", "globalClusterIdentifier")


def _kind(token: str) -> str:
    """'RDS instance', 'Neptune cluster', ... from a type token."""
    module, name = token.split(":")[1].split("/")
    service = {"rds": "RDS", "docdb": "DocumentDB", "neptune": "Neptune"}.get(module, module)
    return f"{service} {'global cluster' if name == 'globalCluster' else name.lower()}"


def _database_source(database, databases) -> tuple:
    """(input name, in-stack source database or None) for a replica or global-cluster member; (None, None)."""
    for prop in SOURCE_INPUTS:
        value = get(database.props, prop)
        if not has_value(value) or (
            prop == "globalClusterIdentifier" and database.resource_type.endswith("globalCluster:GlobalCluster")
        ):
            continue
        urns = {d.urn for d in databases}
        linked_sources = [d for d in database.property_dependencies.get(prop, []) if d.urn in urns]
        if linked_sources:
            return prop, linked_sources[0]
        for other in databases:
            ids = [known(lambda o=other, k=k: get(o.props, k), None) for k in IDENTIFIER_INPUTS]
            if any(isinstance(i, str) and i and (value == i or str(value).endswith(f":{i}")) for i in ids):
                return prop, other
        return prop, None
    return None, None


def _storage_encrypted(database, databases, seen=()) -> bool:
    """Whether a database's storage ends up encrypted, following replicas to the source they copy."""
    props = database.props
    if is_true(props.get("storageEncrypted")) or props.get("engineMode") == "serverless":
        return True  # Aurora Serverless v1 is always encrypted
    prop, source = _database_source(database, databases)
    if prop is None:
        return False
    if prop != "globalClusterIdentifier" and has_value(props.get("kmsKeyId")):
        return True  # a replica given a key (required across regions) is encrypted with it
    if source is None:
        return True  # the source lives in another stack, which this pack judges there
    return source.urn in seen or _storage_encrypted(source, databases, (*seen, database.urn))


def check_database_storage_encrypted(args, report, cfg):
    databases = of_type(args.resources, DATABASE_STORAGE_TYPES)
    for database in databases:
        encrypted = known(lambda d=database: _storage_encrypted(d, databases))
        if encrypted is UNKNOWN:
            continue
        kind = _kind(database.resource_type)
        source_input, source = known(lambda d=database: _database_source(d, databases), (UNKNOWN, None))
        if not encrypted:
            because = f" (it copies '{source.name}', which is unencrypted)" if source is not None else ""
            report(
                f"{kind} '{database.name}' does not encrypt its storage{because}; set storage_encrypted=True and "
                "kms_key_id=<the stack's KMS key ARN>.",
                database.urn,
            )
            continue
        key = known(lambda d=database: get(d.props, "kmsKeyId"))
        if key is UNKNOWN or source_input is not None:
            continue  # decided at deploy time, or a replica, whose key follows its source unless given
        if problem := key_problem(key, cfg):
            report(
                f"{kind} '{database.name}' is encrypted, but {problem}; set kms_key_id to the stack's KMS key ARN.",
                database.urn,
            )


def check_redshift_encrypted(args, report, cfg):
    if not is_true(args.props.get("encrypted")):
        report(f"Redshift cluster '{args.name}' is not encrypted; set encrypted='true' and kms_key_id=<key ARN>.")


def check_redshift_namespace_kms(args, report, cfg):
    if not has_value(args.props.get("kmsKeyId")):
        report(
            f"Redshift Serverless namespace '{args.name}' uses an AWS-owned key; set kms_key_id to a "
            "customer-managed KMS key ARN."
        )


def check_opensearch_at_rest(args, report, cfg):
    if not is_true(get(args.props, "encryptAtRest", "enabled")):
        report(
            f"Search domain '{args.name}' does not encrypt its data at rest; set encrypt_at_rest={{'enabled': True, "
            "'kms_key_id': <key ARN>}."
        )
    elif problem := key_problem(get(args.props, "encryptAtRest", "kmsKeyId"), cfg):
        report(f"Search domain '{args.name}' encrypts at rest, but {problem}; set encrypt_at_rest.kms_key_id.")


def check_opensearch_in_transit(args, report, cfg):
    props, problems = args.props, []
    if not is_true(get(props, "nodeToNodeEncryption", "enabled")):
        problems.append("node_to_node_encryption.enabled=True")
    if not is_true(get(props, "domainEndpointOptions", "enforceHttps")):
        problems.append("domain_endpoint_options.enforce_https=True")
    tls = get(props, "domainEndpointOptions", "tlsSecurityPolicy")
    if has_value(tls) and tls not in cfg["allowedTlsPolicies"]:
        problems.append(f"domain_endpoint_options.tls_security_policy in {cfg['allowedTlsPolicies']} (is '{tls}')")
    if problems:
        report(f"Search domain '{args.name}' sends data unencrypted; set {', '.join(problems)}.")


# --- EBS -------------------------------------------------------------------------------------

MAPPING_CARRIERS = carriers("block_device_mappings")  # launch templates, Image Builder recipes
DEVICE_CARRIERS = carriers("root_block_device", "root_block_devices")
EBS_DEVICE_CARRIERS = carriers("ebs_block_devices")
ENCRYPTED_FLAG_CARRIERS = carriers("encrypted")  # volumes, snapshot copies and imports, AMI copies
ROOT_DEVICE_NAMES = ["/dev/xvda", "/dev/sda1"]
ROOT_OPTION = {
    "rootDeviceNames": string_list(
        ROOT_DEVICE_NAMES, "Device names that are an AMI's root volume in a launch template's block_device_mappings."
    )
}


class _AccountEbs:
    """EBS encryption by default (and its key) set in this stack: it encrypts every volume nothing else does."""

    def __init__(self, resources):
        enabled = account_setting(
            resources, EBS_ENCRYPTION_BY_DEFAULT, lambda r: is_true(get(r.props, "enabled", default=True))
        )
        self.unknown = enabled is UNKNOWN
        self.encrypts = enabled is True
        self.key = account_setting(resources, EBS_DEFAULT_KMS_KEY, lambda r: get(r.props, "keyArn"))

    def problem(self, encrypted, key, cfg) -> str:
        """'' when a volume with this `encrypted` flag and `key` ends up encrypted with an acceptable key (or when
        that depends on account settings decided at deploy time)."""
        if not is_true(encrypted):
            if self.unknown:
                return ""
            if not self.encrypts:
                return "unencrypted"
        if not has_value(key) and self.key is UNKNOWN:
            return ""
        return key_problem(key if has_value(key) else self.key, cfg)


def _report_volume(report, resource, where, problem, fix):
    what = "is not encrypted" if problem == "unencrypted" else f"is encrypted, but {problem}"
    report(f"'{resource.name}' ({resource.resource_type}): the volume at {where} {what}; {fix}", resource.urn)


def check_launch_template_ebs(args, report, cfg):
    account = _AccountEbs(args.resources)
    for template in of_type(args.resources, sorted(MAPPING_CARRIERS)):
        for path in MAPPING_CARRIERS[template.resource_type]:
            mappings = known(lambda t=template, p=path: places(t.props, p + "[]"), [])
            for where, mapping in mappings:
                ebs = known(lambda m=mapping: get(m, "ebs"), UNKNOWN)
                if ebs is None or ebs is UNKNOWN:
                    continue
                problem = known(lambda e=ebs: account.problem(get(e, "encrypted"), get(e, "kmsKeyId"), cfg), "")
                if problem:
                    device = known(lambda m=mapping: get(m, "deviceName", default="?"), "?")
                    _report_volume(
                        report,
                        template,
                        f"{snake(where)} ('{device}')",
                        problem,
                        "set ebs.encrypted='true' and ebs.kms_key_id=<the stack's KMS key ARN>.",
                    )
        if template.resource_type != LAUNCH_TEMPLATE:
            continue
        devices = known(lambda t=template: [get(m, "deviceName") for m in as_list(get(t.props, "blockDeviceMappings"))])
        if devices is UNKNOWN or set(devices) & set(cfg["rootDeviceNames"]):
            continue
        problem = account.problem(None, None, cfg)
        undeclared = (
            f"Launch template '{template.name}' does not declare its root volume (no block_device_mappings entry "
            f"for {cfg['rootDeviceNames']})"
        )
        declare = (
            "block_device_mappings=[{device_name: '/dev/xvda', ebs: {encrypted: 'true', kms_key_id: <key ARN>, "
            "volume_type: 'gp3'}}] (the AMI's root device name)"
        )
        if problem == "unencrypted":
            report(
                f"{undeclared}, so it keeps the AMI's unencrypted snapshot; add {declare}, or enable "
                "aws.ebs.EncryptionByDefault with an aws.ebs.DefaultKmsKey.",
                template.urn,
            )
        elif problem:
            report(
                f"{undeclared}; EBS encryption by default encrypts it, but {problem}; add {declare}, or set "
                "aws.ebs.DefaultKmsKey to the stack's key.",
                template.urn,
            )


def _template_root_encrypted(instance, cfg) -> bool:
    """An instance that declares no root volume gets its launch template's root mapping, if that is encrypted."""
    for template in linked(instance, "launchTemplate", [LAUNCH_TEMPLATE]):
        for mapping in as_list(get(template.props, "blockDeviceMappings")):
            if get(mapping, "deviceName") in cfg["rootDeviceNames"] and is_true(get(mapping, "ebs", "encrypted")):
                return True
    return False


def _instance_volume_problems(instance, account, cfg) -> list:
    found = []
    for path in DEVICE_CARRIERS.get(instance.resource_type, []):
        for where, declared in places(instance.props, path):
            devices = as_list(declared)  # one root_block_device, or a spot fleet spec's root_block_devices list
            if not devices and not _template_root_encrypted(instance, cfg):
                if problem := account.problem(None, None, cfg):
                    found.append((where, "undeclared" if problem == "unencrypted" else problem))
            for device in devices:
                if problem := account.problem(get(device, "encrypted"), get(device, "kmsKeyId"), cfg):
                    found.append((where, problem))
    for path in EBS_DEVICE_CARRIERS.get(instance.resource_type, []):
        for where, device in places(instance.props, path + "[]"):
            if problem := account.problem(get(device, "encrypted"), get(device, "kmsKeyId"), cfg):
                found.append((where, problem))
    return found


def check_instance_ebs(args, report, cfg):
    account = _AccountEbs(args.resources)
    types = sorted(set(DEVICE_CARRIERS) | set(EBS_DEVICE_CARRIERS))
    for instance in of_type(args.resources, types):
        for where, problem in known(lambda i=instance: _instance_volume_problems(i, account, cfg), []):
            if problem == "undeclared":
                report(
                    f"'{instance.name}' ({instance.resource_type}) does not declare its root volume ({snake(where)}), "
                    "so it keeps the AMI's unencrypted snapshot; set root_block_device={'encrypted': True, "
                    "'kms_key_id': <key ARN>}, launch it from a launch template that encrypts its root mapping, or "
                    "enable aws.ebs.EncryptionByDefault.",
                    instance.urn,
                )
            else:
                _report_volume(
                    report,
                    instance,
                    snake(where),
                    problem,
                    "set encrypted=True and kms_key_id=<the stack's KMS key ARN>.",
                )


def check_ebs_volume(args, report, cfg):
    account = _AccountEbs(args.resources)
    for volume in of_type(args.resources, sorted(ENCRYPTED_FLAG_CARRIERS)):
        problem = known(lambda v=volume: account.problem(get(v.props, "encrypted"), get(v.props, "kmsKeyId"), cfg), "")
        if problem:
            _report_volume(
                report, volume, "'encrypted'", problem, "set encrypted=True and kms_key_id=<the stack's KMS key ARN>."
            )


# --- Load balancer listeners -----------------------------------------------------------------


def check_listener_tls(args, report, cfg):
    protocol = str(args.props.get("protocol") or "").upper()
    if protocol not in ("HTTPS", "TLS"):
        return
    policy = args.props.get("sslPolicy")
    if policy not in cfg["allowedSslPolicies"]:
        report(
            f"{protocol} listener '{args.name}' uses TLS policy '{policy or 'ELBSecurityPolicy-2016-08 (the default)'}'"
            f"; set ssl_policy to one of {cfg['allowedSslPolicies']}."
        )


def _redirects_to_https(action) -> bool:
    return get(action, "type") == "redirect" and str(get(action, "redirect", "protocol") or "").upper() == "HTTPS"


REDIRECT_FIX = (
    "default_actions=[{type: 'redirect', redirect: {protocol: 'HTTPS', port: '443', status_code: 'HTTP_301'}}]"
)


def _listener_problem(listener, cfg) -> str:
    protocol = str(get(listener.props, "protocol") or "").upper()
    port = as_number(get(listener.props, "port"))
    if port == 80 and protocol not in ("HTTP", ""):
        return (
            f"listens on port 80 with {protocol}, where clients speak plain HTTP; serve {protocol} on 443 and make "
            f"the port-80 listener an HTTP listener with {REDIRECT_FIX}"
        )
    if protocol != "HTTP" or cfg["allowPlainHttp"]:
        return ""
    actions = as_list(get(listener.props, "defaultActions"))
    if len(actions) == 1 and _redirects_to_https(actions[0]):
        return ""
    what = "has no default action" if not actions else f"has {len(actions)} default actions that do not all redirect"
    return f"serves traffic in clear text (HTTP listener that {what}); make its only default action {REDIRECT_FIX}"


def check_https_redirect(args, report, cfg):
    for listener in of_type(args.resources, LB_LISTENERS):
        if problem := known(lambda r=listener: _listener_problem(r, cfg), ""):
            report(f"Listener '{listener.name}' {problem}.", listener.urn)
    if cfg["allowPlainHttp"]:
        return
    for rule in of_type(args.resources, LB_LISTENER_RULES):
        for listener in linked(rule, "listenerArn", LB_LISTENERS):
            if known(lambda r=listener: str(get(r.props, "protocol") or "").upper(), "") != "HTTP":
                continue
            actions = known(lambda r=rule: as_list(get(r.props, "actions")), UNKNOWN)
            if actions is not UNKNOWN and not (actions and all(_redirects_to_https(a) for a in actions)):
                report(
                    f"Listener rule '{rule.name}' serves requests of the HTTP listener '{listener.name}' in clear "
                    "text; "
                    "attach it to the HTTPS listener, or make its only action a redirect to HTTPS.",
                    rule.urn,
                )
    for elb in of_type(args.resources, CLASSIC_ELB):
        for index, item in enumerate(known(lambda e=elb: as_list(get(e.props, "listeners")), [])):
            if known(lambda i=item: str(get(i, "lbProtocol") or "").lower(), "") == "http":
                report(
                    f"Classic load balancer '{elb.name}' serves listeners[{index}] over plain HTTP and cannot "
                    "redirect; "
                    "set lb_protocol='https' with an ssl_certificate_id, or move to an Application Load Balancer "
                    "(aws.lb.LoadBalancer) with an HTTP-to-HTTPS redirect.",
                    elb.urn,
                )


RESULT_CONFIGURATION_CARRIERS = carriers("result_configuration")
ATHENA_KMS_OPTIONS = ("SSE_KMS", "CSE_KMS")


def check_athena_results(args, report, cfg):
    """The workgroup's settings override the client's, and its results are encrypted with a KMS key."""
    configuration = to_plain(args.props.get("configuration"), ("configuration",)) or {}
    if configuration.get("enforceWorkgroupConfiguration") is False:
        report(
            f"Athena workgroup '{args.name}' lets clients override its settings "
            "(configuration.enforce_workgroup_configuration=False), so a query can write unencrypted results "
            "anywhere; set it to True."
        )
    managed = configuration.get("managedQueryResultsConfiguration") or {}
    if is_true(managed.get("enabled")):
        if problem := key_problem(get(managed, "encryptionConfiguration", "kmsKey"), cfg, required=True):
            report(
                f"Athena workgroup '{args.name}' keeps results in Athena-managed storage but {problem}; set "
                "managed_query_results_configuration.encryption_configuration.kms_key."
            )
        return
    encryption = get(configuration, "resultConfiguration", "encryptionConfiguration")
    option = get(encryption, "encryptionOption")
    if option not in ATHENA_KMS_OPTIONS:
        report(
            f"Athena workgroup '{args.name}' writes query results "
            + (f"with {option}" if has_value(option) else "unencrypted")
            + " (configuration.result_configuration.encryption_configuration); set "
            "encryption_configuration={'encryption_option': 'SSE_KMS', 'kms_key_arn': <key ARN>} and keep "
            "enforce_workgroup_configuration=True."
        )
    elif problem := key_problem(get(encryption, "kmsKeyArn"), cfg, required=True):
        report(f"Athena workgroup '{args.name}' encrypts query results with {option} but {problem}.")


KEY_OPTIONS = key_options()

POLICIES = [
    stack_policy(
        "s3-bucket-require-sse-kms",
        "Every S3 bucket (Bucket, BucketV2) is encrypted with SSE-KMS by a linked encryption configuration or its "
        "inline one; SSE-S3 only for buckets that receive ALB/classic ELB or S3 server access logs.",
        check_bucket_sse,
        config={**SSE_S3_OPTION, **KEY_OPTIONS},
    ),
    stack_policy(
        "s3-sse-configuration-require-kms",
        "S3 server-side encryption configurations (and their V2 type) use aws:kms (optionally with a "
        "customer-managed key); AES256 only for buckets that receive ALB/classic ELB or S3 server access logs.",
        check_sse_configuration,
        config={**KEY_OPTIONS, **SSE_S3_OPTION},
    ),
    resource_policy(
        "kinesis-stream-require-kms",
        "Kinesis streams are encrypted with KMS.",
        [KINESIS_STREAM],
        check_kinesis_kms,
        config=KEY_OPTIONS,
    ),
    resource_policy(
        "dynamodb-table-require-sse",
        "DynamoDB tables enable KMS server-side encryption.",
        [DYNAMODB_TABLE],
        check_dynamodb_sse,
    ),
    stack_policy(
        "rds-database-require-storage-encryption",
        "RDS, Aurora, DocumentDB and Neptune instances and clusters encrypt their storage; a replica is judged by "
        "its key or by the source it copies.",
        check_database_storage_encrypted,
        config=KEY_OPTIONS,
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
        "OpenSearch and Elasticsearch domains encrypt their data at rest.",
        OPENSEARCH_DOMAINS,
        check_opensearch_at_rest,
        config=KEY_OPTIONS,
    ),
    resource_policy(
        "opensearch-domain-require-tls",
        "OpenSearch and Elasticsearch domains encrypt node-to-node traffic and enforce HTTPS with a TLS 1.2+ policy.",
        OPENSEARCH_DOMAINS,
        check_opensearch_in_transit,
        config={
            "allowedTlsPolicies": string_list(
                ["Policy-Min-TLS-1-2-2019-07", "Policy-Min-TLS-1-2-PFS-2023-10"],
                "Accepted domain_endpoint_options.tls_security_policy values.",
            )
        },
    ),
    stack_policy(
        "ec2-launch-template-require-ebs-encryption",
        "Launch templates (and Image Builder recipes) encrypt every EBS mapping, and launch templates declare the "
        "root volume, unless the stack enables EBS encryption by default.",
        check_launch_template_ebs,
        config={**KEY_OPTIONS, **ROOT_OPTION},
    ),
    stack_policy(
        "ec2-instance-require-ebs-encryption",
        "Instances, spot requests, spot fleets and launch configurations encrypt their root and EBS volumes "
        "(declared, inherited from an encrypting launch template, or by EBS encryption by default).",
        check_instance_ebs,
        config={**KEY_OPTIONS, **ROOT_OPTION},
    ),
    stack_policy(
        "ebs-volume-require-encryption",
        "EBS volumes, snapshot copies and imports, and AMI copies are encrypted.",
        check_ebs_volume,
        config=KEY_OPTIONS,
    ),
    resource_policy(
        "sqs-queue-require-encryption",
        "SQS queues are encrypted with KMS or SQS-managed SSE.",
        [SQS_QUEUE],
        check_sqs_encryption,
        config=KEY_OPTIONS,
    ),
    resource_policy(
        "sns-topic-require-kms",
        "SNS topics are encrypted with KMS.",
        [SNS_TOPIC],
        check_sns_kms,
        config=KEY_OPTIONS,
    ),
    resource_policy(
        "cloudwatch-log-group-require-kms",
        "CloudWatch log groups are encrypted with a KMS key.",
        [LOG_GROUP],
        check_log_group_kms,
        config={"requireKms": boolean(True, "Require kms_key_id on every log group (false turns the rule off).")},
    ),
    resource_policy(
        "athena-workgroup-require-encrypted-results",
        "Athena workgroups enforce their configuration and encrypt query results with a KMS key (SSE_KMS or "
        "CSE_KMS, or a key for Athena-managed results).",
        sorted(RESULT_CONFIGURATION_CARRIERS),
        check_athena_results,
        config=KEY_OPTIONS,
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
        "HTTPS/TLS load balancer listeners (aws.lb and aws.alb) use an approved TLS security policy.",
        LB_LISTENERS,
        check_listener_tls,
        config={"allowedSslPolicies": string_list(MODERN_LB_TLS_POLICIES, "Accepted ssl_policy values.")},
    ),
    stack_policy(
        "lb-listener-require-https-redirect",
        "HTTP listeners (aws.lb and aws.alb) and the listener rules on them only redirect to HTTPS, port 80 speaks "
        "HTTP, and classic load balancers have no HTTP listener.",
        check_https_redirect,
        config={"allowPlainHttp": boolean(False, "Accept HTTP listeners that forward (no certificate available).")},
    ),
]
