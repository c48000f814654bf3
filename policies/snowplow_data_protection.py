"""Data protection for stateful resources: Pulumi protect, deletion protection, backups, versioning,
point-in-time recovery, stream retention, key deletion windows."""

from pulumi_policy import Severity
from snowplow_aws_types import carriers
from snowplow_policy_util import (
    ADVISORY,
    DYNAMODB_TABLE,
    KINESIS_STREAM,
    KMS_KEY,
    OPENSEARCH_DOMAINS,
    RDS_CLUSTER,
    RDS_INSTANCE,
    REDSHIFT_CLUSTER,
    REDSHIFT_NAMESPACE,
    S3_BUCKETS,
    S3_VERSIONING_TYPES,
    UNKNOWN,
    as_number,
    bucket_children,
    get,
    has_value,
    integer,
    is_true,
    known,
    of_type,
    places,
    resource_policy,
    stack_policy,
    str_list,
    string_list,
)

STATEFUL_TYPES = [
    *S3_BUCKETS,
    KINESIS_STREAM,
    DYNAMODB_TABLE,
    *carriers("storage_encrypted"),  # RDS, Aurora, DocumentDB and Neptune instances and (global) clusters
    KMS_KEY,
    REDSHIFT_CLUSTER,
    REDSHIFT_NAMESPACE,
    *OPENSEARCH_DOMAINS,
]


def check_protect(args, report, cfg):
    if args.resource_type in cfg["types"] and not args.opts.protect:
        report(
            f"Stateful resource '{args.name}' is not protected; pass opts=pulumi.ResourceOptions(protect=True) so "
            "`pulumi destroy` or a replacement cannot delete its data."
        )


def _is_replica(args) -> bool:
    return args.resource_type == RDS_INSTANCE and has_value(args.props.get("replicateSourceDb"))


def check_deletion_protection(args, report, cfg):
    if not is_true(args.props.get("deletionProtection")):
        report(f"Database '{args.name}' can be deleted by one API call; set deletion_protection=True.")


def check_backup_retention(args, report, cfg):
    if _is_replica(args):
        return
    days = as_number(args.props.get("backupRetentionPeriod"))
    default = days is None
    if default:
        days = 1 if args.resource_type == RDS_CLUSTER else 0  # the provider's defaults
    if days < cfg["minDays"]:
        report(
            f"Database '{args.name}' keeps automated backups {days:g} days{' (the default)' if default else ''}; "
            f"set backup_retention_period >= {cfg['minDays']}."
        )


def check_final_snapshot(args, report, cfg):
    if is_true(args.props.get("skipFinalSnapshot")):
        report(
            f"Database '{args.name}' skips its final snapshot; set skip_final_snapshot=False and "
            "final_snapshot_identifier."
        )


def check_multi_az(args, report, cfg):
    if args.resource_type == RDS_CLUSTER:
        zones = set(str_list(args.props.get("availabilityZones")))
        if len(zones) == 1:
            report(f"RDS cluster '{args.name}' is placed in one AZ only; list at least two availability_zones.")
    elif not _is_replica(args) and not is_true(args.props.get("multiAz")):
        report(f"RDS instance '{args.name}' runs in a single AZ; set multi_az=True.")


def _versioning_enabled(bucket, configs) -> bool:
    inline = [get(bucket.props, "versioning", "enabled")]  # aws.s3.Bucket's deprecated inline block
    inline += [v for _, v in places(bucket.props, "versionings[].enabled")]  # aws.s3.BucketV2's
    if any(is_true(v) for v in inline):
        return True
    return any(get(v.props, "versioningConfiguration", "status") == "Enabled" for v in configs)


def check_bucket_versioning(args, report, cfg):
    versionings = bucket_children(args.resources, S3_VERSIONING_TYPES)
    for bucket in of_type(args.resources, S3_BUCKETS):
        enabled = known(lambda b=bucket: _versioning_enabled(b, versionings.get(b.urn, [])))
        if enabled is UNKNOWN or enabled:
            continue
        report(
            f"S3 bucket '{bucket.name}' is not versioned; add aws.s3.BucketVersioning(bucket=<bucket>.id, "
            "versioning_configuration={'status': 'Enabled'}) (with a lifecycle rule expiring old versions).",
            bucket.urn,
        )


def check_force_destroy(args, report, cfg):
    if is_true(args.props.get("forceDestroy")):
        report(f"S3 bucket '{args.name}' has force_destroy=True, so deleting it deletes every object; remove it.")


def check_pitr(args, report, cfg):
    if not is_true(get(args.props, "pointInTimeRecovery", "enabled")):
        report(
            f"DynamoDB table '{args.name}' has no point-in-time recovery; set point_in_time_recovery={{'enabled': True}}."
        )


def check_stream_retention(args, report, cfg):
    hours = as_number(args.props.get("retentionPeriod")) or 24
    if hours < cfg["minHours"]:
        report(
            f"Kinesis stream '{args.name}' keeps records {hours:g} hours; set retention_period >= {cfg['minHours']} "
            "so a consumer outage can be replayed."
        )


def check_key_deletion_window(args, report, cfg):
    days = as_number(args.props.get("deletionWindowInDays")) or 30
    if days < cfg["minDays"]:
        report(
            f"KMS key '{args.name}' can be deleted after {days:g} days; set deletion_window_in_days >= {cfg['minDays']}."
        )


POLICIES = [
    resource_policy(
        "stateful-resource-require-protect",
        "Stateful resources (buckets, streams, tables, databases, keys) are created with protect=True.",
        None,
        check_protect,
        level=ADVISORY,
        config={"types": string_list(STATEFUL_TYPES, "Resource types that must be protected.")},
        severity=Severity.HIGH,
    ),
    resource_policy(
        "rds-database-require-deletion-protection",
        "RDS instances and clusters enable deletion protection.",
        [RDS_INSTANCE, RDS_CLUSTER],
        check_deletion_protection,
        level=ADVISORY,
    ),
    resource_policy(
        "rds-database-require-backup-retention",
        "RDS instances and clusters keep automated backups for a minimum number of days.",
        [RDS_INSTANCE, RDS_CLUSTER],
        check_backup_retention,
        level=ADVISORY,
        config={"minDays": integer(7, "Shortest allowed backup_retention_period.", minimum=1)},
    ),
    resource_policy(
        "rds-database-require-final-snapshot",
        "RDS instances and clusters take a final snapshot when deleted.",
        [RDS_INSTANCE, RDS_CLUSTER],
        check_final_snapshot,
        level=ADVISORY,
    ),
    resource_policy(
        "rds-instance-require-multi-az",
        "RDS instances run Multi-AZ; RDS clusters that name their availability zones name two or more.",
        [RDS_INSTANCE, RDS_CLUSTER],
        check_multi_az,
        level=ADVISORY,
        severity=Severity.MEDIUM,
    ),
    stack_policy(
        "s3-bucket-require-versioning",
        "Every S3 bucket has BucketVersioning with status Enabled.",
        check_bucket_versioning,
        level=ADVISORY,
        severity=Severity.MEDIUM,
    ),
    resource_policy(
        "s3-bucket-forbid-force-destroy",
        "S3 buckets do not set force_destroy.",
        S3_BUCKETS,
        check_force_destroy,
        level=ADVISORY,
    ),
    resource_policy(
        "dynamodb-table-require-pitr",
        "DynamoDB tables enable point-in-time recovery.",
        [DYNAMODB_TABLE],
        check_pitr,
        level=ADVISORY,
        severity=Severity.MEDIUM,
    ),
    resource_policy(
        "kinesis-stream-require-min-retention",
        "Kinesis streams retain records for a minimum number of hours.",
        [KINESIS_STREAM],
        check_stream_retention,
        level=ADVISORY,
        config={"minHours": integer(24, "Shortest allowed retention_period in hours.", minimum=24)},
        severity=Severity.MEDIUM,
    ),
    resource_policy(
        "kms-key-require-deletion-window",
        "KMS keys keep a deletion waiting period of a minimum number of days.",
        [KMS_KEY],
        check_key_deletion_window,
        level=ADVISORY,
        config={"minDays": integer(7, "Shortest allowed deletion_window_in_days.", minimum=7)},
        severity=Severity.MEDIUM,
    ),
]
