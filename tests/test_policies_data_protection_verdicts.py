"""Data-protection rules, judged by what a pack user reads: which resources are flagged and the whole message, for
each branch of each rule and every spelling or type that expresses the setting (prod thresholds: backups 7 days,
streams 168 hours, key deletion windows 30 days)."""

import pytest

from tests.policy_helpers import (
    BUCKET,
    KEY,
    PROD_CONFIG,
    RDS_CLUSTER,
    RDS_INSTANCE,
    SG,
    STREAM,
    TABLE,
    TAGS,
    UNKNOWN_STRING,
    VERSIONING,
    child_of,
    good_bucket_set,
    good_key,
    good_rds,
    good_stream,
    good_table,
    pack,  # noqa: F401  (session fixture)
    resource,
)
from tests.test_policies_encryption_verdicts import verdicts

BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
VERSIONING_V2 = "aws:s3/bucketVersioningV2:BucketVersioningV2"
STATEFUL = [
    BUCKET,
    BUCKET_V2,
    STREAM,
    TABLE,
    "aws:docdb/cluster:Cluster",
    "aws:docdb/globalCluster:GlobalCluster",
    "aws:neptune/cluster:Cluster",
    "aws:neptune/globalCluster:GlobalCluster",
    RDS_CLUSTER,
    "aws:rds/globalCluster:GlobalCluster",
    RDS_INSTANCE,
    KEY,
    "aws:redshift/cluster:Cluster",
    "aws:redshiftserverless/namespace:Namespace",
    "aws:opensearch/domain:Domain",
    "aws:elasticsearch/domain:Domain",
]
PROTECT = "stateful-resource-require-protect"


@pytest.mark.parametrize("type_", STATEFUL)
def test_every_stateful_type_must_be_protected(pack, type_):
    unprotected = resource(type_, "state", {"tags": TAGS})
    assert verdicts(pack, PROTECT, [unprotected], PROD_CONFIG) == {
        "state": [
            "Stateful resource 'state' is not protected; pass opts=pulumi.ResourceOptions(protect=True) so `pulumi "
            "destroy` or a replacement cannot delete its data."
        ]
    }
    assert verdicts(pack, PROTECT, [resource(type_, "state", {"tags": TAGS}, protect=True)], PROD_CONFIG) == {}


def test_the_protected_types_are_configurable(pack):
    group = resource(SG, "sg", {"tags": TAGS})
    stream = resource(STREAM, "raw", {"tags": TAGS})
    assert list(verdicts(pack, PROTECT, [group, stream], PROD_CONFIG)) == ["raw"]
    config = {PROTECT: {"types": [SG]}}
    assert list(verdicts(pack, PROTECT, [group, stream], config)) == ["sg"]


# --- Databases ---------------------------------------------------------------------------------


@pytest.mark.parametrize("type_", [RDS_INSTANCE, RDS_CLUSTER])
@pytest.mark.parametrize("protection", [None, False, "false"])
def test_a_database_without_deletion_protection(pack, type_, protection):
    database = resource(type_, "db", {"deletionProtection": protection, "tags": TAGS})
    assert verdicts(pack, "rds-database-require-deletion-protection", [database], PROD_CONFIG) == {
        "db": ["Database 'db' can be deleted by one API call; set deletion_protection=True."]
    }
    database["inputs"]["deletionProtection"] = "true"
    assert verdicts(pack, "rds-database-require-deletion-protection", [database], PROD_CONFIG) == {}


BACKUPS = "rds-database-require-backup-retention"


@pytest.mark.parametrize("type_,default", [(RDS_INSTANCE, 0), (RDS_CLUSTER, 1)])
def test_unset_backup_retention_is_the_providers_default(pack, type_, default):
    database = resource(type_, "db", {"tags": TAGS})
    assert verdicts(pack, BACKUPS, [database], PROD_CONFIG) == {
        "db": [f"Database 'db' keeps automated backups {default} days (the default); set backup_retention_period >= 7."]
    }
    at_least_one_day = {BACKUPS: {"minDays": 1}}  # dev's setting: an unset cluster keeps 1 day, an instance none
    assert verdicts(pack, BACKUPS, [database], at_least_one_day) == (
        {"db": ["Database 'db' keeps automated backups 0 days (the default); set backup_retention_period >= 1."]}
        if default == 0
        else {}
    )


@pytest.mark.parametrize("days", [6, "6", 6.0])
def test_a_short_backup_retention_is_named(pack, days):
    for type_ in (RDS_INSTANCE, RDS_CLUSTER):
        database = resource(type_, "db", {"backupRetentionPeriod": days, "tags": TAGS})
        assert verdicts(pack, BACKUPS, [database], PROD_CONFIG) == {
            "db": ["Database 'db' keeps automated backups 6 days; set backup_retention_period >= 7."]
        }
        database["inputs"]["backupRetentionPeriod"] = 7
        assert verdicts(pack, BACKUPS, [database], PROD_CONFIG) == {}


def test_only_an_instance_replica_needs_no_backups_or_multi_az(pack):
    replica = resource(RDS_INSTANCE, "replica", {"replicateSourceDb": "primary", "tags": TAGS})
    assert verdicts(pack, BACKUPS, [replica], PROD_CONFIG) == {}
    assert verdicts(pack, "rds-instance-require-multi-az", [replica], PROD_CONFIG) == {}
    not_a_replica = resource(RDS_INSTANCE, "db", {"replicateSourceDb": "", "tags": TAGS})
    assert list(verdicts(pack, BACKUPS, [not_a_replica], PROD_CONFIG)) == ["db"]
    assert list(verdicts(pack, "rds-instance-require-multi-az", [not_a_replica], PROD_CONFIG)) == ["db"]
    cluster = resource(RDS_CLUSTER, "c", {"replicateSourceDb": "primary", "tags": TAGS})
    assert list(verdicts(pack, BACKUPS, [cluster], PROD_CONFIG)) == ["c"]


@pytest.mark.parametrize("type_", [RDS_INSTANCE, RDS_CLUSTER])
def test_skipping_the_final_snapshot(pack, type_):
    for skip in (True, "true"):
        database = resource(type_, "db", {"skipFinalSnapshot": skip, "tags": TAGS})
        assert verdicts(pack, "rds-database-require-final-snapshot", [database], PROD_CONFIG) == {
            "db": [
                "Database 'db' skips its final snapshot; set skip_final_snapshot=False and final_snapshot_identifier."
            ]
        }
    kept = resource(type_, "db", {"skipFinalSnapshot": False, "tags": TAGS})
    assert verdicts(pack, "rds-database-require-final-snapshot", [kept], PROD_CONFIG) == {}


MULTI_AZ = "rds-instance-require-multi-az"


def test_an_instance_runs_multi_az(pack):
    for single in (None, False, "false"):
        assert verdicts(pack, MULTI_AZ, [good_rds(multiAz=single)], PROD_CONFIG) == {
            "iglu-db": ["RDS instance 'iglu-db' runs in a single AZ; set multi_az=True."]
        }
    assert verdicts(pack, MULTI_AZ, [good_rds(multiAz="true")], PROD_CONFIG) == {}


def test_a_cluster_that_names_its_zones_names_two(pack):
    for zones in (["eu-west-1a"], ["eu-west-1a", "eu-west-1a"]):
        cluster = resource(RDS_CLUSTER, "c", {"availabilityZones": zones, "tags": TAGS})
        assert verdicts(pack, MULTI_AZ, [cluster], PROD_CONFIG) == {
            "c": ["RDS cluster 'c' is placed in one AZ only; list at least two availability_zones."]
        }
    for zones in (None, [], ["eu-west-1a", "eu-west-1b"]):
        cluster = resource(RDS_CLUSTER, "c", {"availabilityZones": zones, "multiAz": False, "tags": TAGS})
        assert verdicts(pack, MULTI_AZ, [cluster], PROD_CONFIG) == {}


# --- Buckets, tables, streams, keys ------------------------------------------------------------

VERSIONING_RULE = "s3-bucket-require-versioning"
NOT_VERSIONED = (
    "S3 bucket 'data' is not versioned; add aws.s3.BucketVersioning(bucket=<bucket>.id, versioning_configuration="
    "{'status': 'Enabled'}) (with a lifecycle rule expiring old versions)."
)


@pytest.mark.parametrize("type_", [VERSIONING, VERSIONING_V2])
def test_a_linked_versioning_must_be_enabled(pack, type_):
    bucket = good_bucket_set("data")[0]
    for status, flagged in (
        ("Enabled", {}),
        ("Suspended", {"data": [NOT_VERSIONED]}),
        ("Disabled", {"data": [NOT_VERSIONED]}),
    ):
        versioning = child_of(
            bucket, type_, "data-versioning", {"bucket": "x", "versioningConfiguration": {"status": status}}
        )
        assert verdicts(pack, VERSIONING_RULE, good_bucket_set("data", versioning=versioning), PROD_CONFIG) == flagged


def test_inline_versioning_of_either_bucket_type(pack):
    for type_, inline in (
        (BUCKET, {"versioning": {"enabled": "true"}}),
        (BUCKET_V2, {"versionings": [{"enabled": True}]}),
    ):
        bucket = resource(type_, "data", {"bucket": "snowplow-test-data", **inline, "tags": TAGS})
        assert verdicts(pack, VERSIONING_RULE, [bucket], PROD_CONFIG) == {}
    for type_, inline in (
        (BUCKET, {"versioning": {"enabled": False}}),
        (BUCKET_V2, {"versionings": [{"enabled": "false"}]}),
    ):
        bucket = resource(type_, "data", {"bucket": "snowplow-test-data", **inline, "tags": TAGS})
        assert verdicts(pack, VERSIONING_RULE, [bucket], PROD_CONFIG) == {"data": [NOT_VERSIONED]}


def test_versioning_decided_at_deploy_time_is_not_flagged(pack):
    bucket = good_bucket_set("data")[0]
    later = child_of(
        bucket, VERSIONING, "data-versioning", {"bucket": "x", "versioningConfiguration": {"status": UNKNOWN_STRING}}
    )
    assert verdicts(pack, VERSIONING_RULE, good_bucket_set("data", versioning=later), PROD_CONFIG) == {}


@pytest.mark.parametrize("type_", [BUCKET, BUCKET_V2])
def test_force_destroy_on_a_bucket(pack, type_):
    for force in (True, "true"):
        bucket = resource(type_, "b", {"forceDestroy": force, "tags": TAGS})
        assert verdicts(pack, "s3-bucket-forbid-force-destroy", [bucket], PROD_CONFIG) == {
            "b": ["S3 bucket 'b' has force_destroy=True, so deleting it deletes every object; remove it."]
        }
    kept = resource(type_, "b", {"forceDestroy": "false", "tags": TAGS})
    assert verdicts(pack, "s3-bucket-forbid-force-destroy", [kept], PROD_CONFIG) == {}


@pytest.mark.parametrize("recovery", [None, {"enabled": False}, {"enabled": "false"}])
def test_a_table_without_point_in_time_recovery(pack, recovery):
    assert verdicts(pack, "dynamodb-table-require-pitr", [good_table(pointInTimeRecovery=recovery)], PROD_CONFIG) == {
        "enrich-kcl": [
            "DynamoDB table 'enrich-kcl' has no point-in-time recovery; set point_in_time_recovery={'enabled': True}."
        ]
    }
    enabled = good_table(pointInTimeRecovery={"enabled": "true"})
    assert verdicts(pack, "dynamodb-table-require-pitr", [enabled], PROD_CONFIG) == {}


RETENTION = "kinesis-stream-require-min-retention"


@pytest.mark.parametrize("hours,shown", [(None, "24"), (48, "48"), ("167", "167"), (167.5, "167.5")])
def test_a_short_stream_retention_is_named(pack, hours, shown):
    assert verdicts(pack, RETENTION, [good_stream(retentionPeriod=hours)], PROD_CONFIG) == {
        "raw": [
            f"Kinesis stream 'raw' keeps records {shown} hours; set retention_period >= 168 so a consumer outage can "
            "be replayed."
        ]
    }
    assert verdicts(pack, RETENTION, [good_stream(retentionPeriod=168)], PROD_CONFIG) == {}
    assert verdicts(pack, RETENTION, [good_stream(retentionPeriod=None)], {RETENTION: {"minHours": 24}}) == {}


DELETION_WINDOW = "kms-key-require-deletion-window"


@pytest.mark.parametrize("days,shown", [(7, "7"), ("29", "29")])
def test_a_short_key_deletion_window_is_named(pack, days, shown):
    assert verdicts(pack, DELETION_WINDOW, [good_key(deletionWindowInDays=days)], PROD_CONFIG) == {
        "stack-key": [f"KMS key 'stack-key' can be deleted after {shown} days; set deletion_window_in_days >= 30."]
    }
    assert verdicts(pack, DELETION_WINDOW, [good_key(deletionWindowInDays=30)], PROD_CONFIG) == {}
    assert verdicts(pack, DELETION_WINDOW, [good_key(deletionWindowInDays=None)], PROD_CONFIG) == {}
    assert list(
        verdicts(pack, DELETION_WINDOW, [good_key(deletionWindowInDays=None)], {DELETION_WINDOW: {"minDays": 31}})
    ) == ["stack-key"]


def test_every_bucket_is_judged_after_a_versioned_one(pack):
    versioned = resource(BUCKET, "a-versioned", {"bucket": "snowplow-test-a", "versioning": {"enabled": True}})
    bare = resource(BUCKET, "data", {"bucket": "snowplow-test-data", "tags": TAGS})
    assert verdicts(pack, VERSIONING_RULE, [versioned, bare], PROD_CONFIG) == {"data": [NOT_VERSIONED]}
