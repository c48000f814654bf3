"""Data-protection and tagging rules."""

import pytest

from tests.policy_helpers import (
    ASG,
    BUCKET,
    DEV_CONFIG,
    KEY,
    LISTENER,
    PROD_CONFIG,
    PROVIDER,
    RDS_CLUSTER,
    SG,
    STREAM,
    TAGS,
    VERSIONING,
    assert_passes,
    assert_violates,
    child_of,
    findings,
    good_asg,
    good_bucket_set,
    good_key,
    good_rds,
    good_stream,
    good_table,
    pack,  # noqa: F401  (session fixture)
    resource,
    run,
    urn,
)

CASES = {
    "rds-database-require-deletion-protection": (good_rds(deletionProtection=False), good_rds()),
    "rds-database-require-backup-retention": (good_rds(backupRetentionPeriod=1), good_rds()),
    "rds-database-require-final-snapshot": (good_rds(skipFinalSnapshot=True), good_rds()),
    "rds-instance-require-multi-az": (good_rds(multiAz=False), good_rds()),
    "s3-bucket-forbid-force-destroy": (
        resource(BUCKET, "data", {"bucket": "b", "forceDestroy": True, "tags": TAGS}),
        resource(BUCKET, "data", {"bucket": "b", "forceDestroy": False, "tags": TAGS}),
    ),
    "dynamodb-table-require-pitr": (good_table(pointInTimeRecovery={"enabled": False}), good_table()),
    "kinesis-stream-require-min-retention": (good_stream(retentionPeriod=24), good_stream()),
    "kms-key-require-deletion-window": (good_key(deletionWindowInDays=7), good_key()),
    "stateful-resource-require-protect": (
        resource(STREAM, "raw", {"name": "raw", "tags": TAGS}, protect=False),
        good_stream(),
    ),
}


@pytest.mark.parametrize("policy", sorted(CASES))
def test_rule_flags_violating_resource(pack, policy):
    violating, _ = CASES[policy]
    found = assert_violates(pack, policy, [violating], config=PROD_CONFIG, urn=violating["urn"])
    assert f"'{violating['name']}'" in found[0]["message"]
    assert found[0]["enforcementLevel"] == ("advisory" if policy == "rds-instance-require-multi-az" else "mandatory")


@pytest.mark.parametrize("policy", sorted(CASES))
def test_rule_accepts_compliant_resource(pack, policy):
    _, compliant = CASES[policy]
    assert_passes(pack, policy, [compliant], config=PROD_CONFIG)


@pytest.mark.parametrize(
    "policy",
    ["stateful-resource-require-protect", "rds-database-require-deletion-protection", "s3-bucket-forbid-force-destroy"],
)
def test_teardown_rules_are_disabled_in_dev(pack, policy):
    violating, _ = CASES[policy]
    assert_passes(pack, policy, [violating], config=DEV_CONFIG)


def test_dev_stream_retention_minimum_is_a_day(pack):
    assert_passes(pack, "kinesis-stream-require-min-retention", [good_stream(retentionPeriod=24)], config=DEV_CONFIG)


def test_missing_stream_retention_means_24_hours(pack):
    stream = good_stream()
    del stream["inputs"]["retentionPeriod"]
    assert_violates(pack, "kinesis-stream-require-min-retention", [stream], config=PROD_CONFIG, contains="24 hours")


def test_protect_covers_every_stateful_type(pack):
    resources = [
        resource(BUCKET, "b", {"tags": TAGS}),
        resource(KEY, "k", {"tags": TAGS}),
        resource(RDS_CLUSTER, "c", {"tags": TAGS}),
        resource(SG, "sg", {"tags": TAGS}),
    ]
    found = findings(run(pack, resources, PROD_CONFIG), "stateful-resource-require-protect")
    assert {v["urn"] for v in found} == {r["urn"] for r in resources[:3]}


def test_missing_backup_retention_violates(pack):
    rds = good_rds()
    del rds["inputs"]["backupRetentionPeriod"]
    assert_violates(pack, "rds-database-require-backup-retention", [rds], contains="0 days (the default)")


def test_replica_needs_no_backups_or_multi_az(pack):
    replica = good_rds(replicateSourceDb="iglu-db", backupRetentionPeriod=0, multiAz=False)
    assert_passes(pack, "rds-database-require-backup-retention", [replica])
    assert_passes(pack, "rds-instance-require-multi-az", [replica])


# --- Versioning (stack rule) -----------------------------------------------------------------


def test_unversioned_bucket_violates(pack):
    assert_violates(pack, "s3-bucket-require-versioning", good_bucket_set(versioning=None), urn=urn(BUCKET, "data"))


def test_suspended_versioning_violates(pack):
    bucket = good_bucket_set()[0]
    suspended = child_of(
        bucket, VERSIONING, "data-versioning", {"bucket": "x", "versioningConfiguration": {"status": "Suspended"}}
    )
    assert_violates(pack, "s3-bucket-require-versioning", good_bucket_set(versioning=suspended))


def test_versioned_bucket_passes(pack):
    assert_passes(pack, "s3-bucket-require-versioning", good_bucket_set())


def test_inline_versioning_passes(pack):
    resources = good_bucket_set(versioning=None)
    resources[0]["inputs"]["versioning"] = {"enabled": True}
    assert_passes(pack, "s3-bucket-require-versioning", resources)


# --- Tagging ---------------------------------------------------------------------------------

TAGS_RULE = "aws-resource-require-tags"


def test_missing_tags_on_taggable_type_violates(pack):
    sg = resource(SG, "app-sg", {"description": "x"})
    (found,) = assert_violates(pack, TAGS_RULE, [sg])
    assert found["message"].splitlines()[-1] == (
        f"'app-sg' ({SG}) lacks required tags ['project', 'stack', 'environment']; add them to `tags` "
        "(the program's tags_for()/stack tags) or to the provider's default_tags."
    )


def test_partial_tags_violate(pack):
    stream = good_stream(tags={"project": "snowplow", "stack": "test", "environment": ""})
    assert_violates(pack, TAGS_RULE, [stream], contains="['environment']")


def test_complete_tags_pass(pack):
    assert_passes(pack, TAGS_RULE, [good_stream(), good_rds(), good_key()])


def test_unknown_type_with_tags_input_is_checked(pack):
    """A type newer than the pack's list of taggable types is still checked once it has a `tags` input."""
    future = resource("aws:future/thing:Thing", "thing", {"tags": {"project": "snowplow"}})
    assert_violates(pack, TAGS_RULE, [future], contains="['stack', 'environment']")
    assert_passes(pack, TAGS_RULE, [resource("aws:future/thing:Thing", "untagged", {"name": "x"})])


def test_untaggable_type_without_tags_is_ignored(pack):
    attachment = resource("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "ssm", {"role": "r", "policyArn": "arn"})
    assert_passes(pack, TAGS_RULE, [attachment])


def test_asg_list_shaped_tags(pack):
    assert_passes(pack, TAGS_RULE, [good_asg()])
    bare = resource(
        ASG,
        "bare",
        {"minSize": 1, "maxSize": 1, "tags": [{"key": "project", "value": "snowplow", "propagateAtLaunch": True}]},
    )
    assert_violates(pack, TAGS_RULE, [bare], contains="['stack', 'environment']")


def test_provider_default_tags_count(pack):
    provider = resource(
        PROVIDER,
        "aws",
        {"region": "eu-west-1", "defaultTags": '{"tags":{"project":"snowplow","stack":"test","environment":"test"}}'},
    )
    listener = resource(LISTENER, "http", {"protocol": "HTTP"}, provider=f"{provider['urn']}::some-id")
    assert_passes(pack, TAGS_RULE, [provider, listener])
    orphan = resource(LISTENER, "http2", {"protocol": "HTTP"})
    assert_violates(pack, TAGS_RULE, [provider, orphan], urn=orphan["urn"])


def test_required_tags_are_configurable(pack):
    config = {TAGS_RULE: {"requiredTags": ["project", "owner"]}}
    assert_violates(pack, TAGS_RULE, [good_stream()], config=config, contains="['owner']")


def test_exempt_types(pack):
    config = {TAGS_RULE: {"exemptTypes": [SG]}}
    assert_passes(pack, TAGS_RULE, [resource(SG, "sg", {})], config=config)
