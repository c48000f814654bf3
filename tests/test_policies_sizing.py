"""Sizing rules, including the Snowplow KCL-consumers-vs-shards stack rule and dev/prod levels."""

import pytest

from tests.policy_helpers import (
    ASG,
    DEV_CONFIG,
    INSTANCE,
    PROD_CONFIG,
    RDS_CLUSTER,
    TAGS,
    asg_tags,
    assert_passes,
    assert_violates,
    findings,
    good_asg,
    good_launch_template,
    good_log_group,
    good_rds,
    good_stream,
    pack,  # noqa: F401  (session fixture)
    resource,
    run,
)

KCL = "snowplow-kcl-consumer-limit-to-shards"

CASES = {
    "ec2-compute-restrict-instance-types": (
        good_launch_template(instanceType="p4d.24xlarge"),
        good_launch_template(instanceType="t3a.small"),
    ),
    "autoscaling-group-limit-size": (
        good_asg(max_size=50),
        good_asg(max_size=2),
    ),
    "kinesis-stream-limit-shard-count": (
        good_stream(shards=64),
        good_stream(shards=2),
    ),
    "kinesis-stream-restrict-on-demand": (
        good_stream(shardCount=None, streamModeDetails={"streamMode": "ON_DEMAND"}),
        good_stream(),
    ),
    "rds-instance-restrict-instance-class": (
        good_rds(instanceClass="db.x2iedn.32xlarge"),
        good_rds(),
    ),
    "rds-instance-limit-storage": (
        good_rds(allocatedStorage=5000),
        good_rds(),
    ),
    "cloudwatch-log-group-bound-retention": (
        good_log_group(retentionInDays=None),
        good_log_group(),
    ),
}


@pytest.mark.parametrize("policy", sorted(CASES))
def test_rule_flags_violating_resource(pack, policy):
    violating, _ = CASES[policy]
    found = assert_violates(pack, policy, [violating], urn=violating["urn"])
    assert f"'{violating['name']}'" in found[0]["message"]


@pytest.mark.parametrize("policy", sorted(CASES))
@pytest.mark.parametrize("config", [DEV_CONFIG, PROD_CONFIG], ids=["dev", "prod"])
def test_rule_accepts_compliant_resource(pack, policy, config):
    _, compliant = CASES[policy]
    assert_passes(pack, policy, [compliant], config=config)


def test_sizing_is_advisory_in_dev_and_mandatory_in_prod(pack):
    stream = good_stream(shards=10)
    dev = findings(run(pack, [stream], DEV_CONFIG), "kinesis-stream-limit-shard-count")
    prod = findings(run(pack, [stream], PROD_CONFIG), "kinesis-stream-limit-shard-count")
    assert [v["enforcementLevel"] for v in dev] == ["advisory"]
    assert prod == []  # 10 shards fit prod's budget of 32
    big = good_stream(shards=40)
    prod = findings(run(pack, [big], PROD_CONFIG), "kinesis-stream-limit-shard-count")
    assert [v["enforcementLevel"] for v in prod] == ["mandatory"]


def test_config_override_changes_threshold_and_level(pack):
    config = {"kinesis-stream-limit-shard-count": {"enforcementLevel": "mandatory", "maxShards": 1}}
    found = assert_violates(pack, "kinesis-stream-limit-shard-count", [good_stream(shards=2)], config=config)
    assert found[0]["enforcementLevel"] == "mandatory" and "<= 1" in found[0]["message"]


def test_all_level_applies_unless_overridden(pack):
    config = {"all": "disabled", "kinesis-stream-require-kms": "mandatory"}
    report = run(pack, [good_stream(shards=99, encryptionType="NONE")], config)
    assert {v["policy"] for v in report["violations"]} == {"kinesis-stream-require-kms"}


@pytest.mark.parametrize(
    ("instance_type", "allowed"),
    [("t3a.micro", True), ("t3a.xlarge", False), ("m7i.large", False), ("t4g.large", True), ("bogus", False)],
)
def test_dev_instance_type_bounds(pack, instance_type, allowed):
    template = good_launch_template(instanceType=instance_type)
    found = findings(run(pack, [template], DEV_CONFIG), "ec2-compute-restrict-instance-types")
    assert (not found) is allowed


def test_prod_allows_larger_families(pack):
    template = good_launch_template(instanceType="c7i.2xlarge")
    assert_passes(pack, "ec2-compute-restrict-instance-types", [template], config=PROD_CONFIG)
    assert_violates(pack, "ec2-compute-restrict-instance-types", [template], config=DEV_CONFIG)


def test_instance_and_asg_override_types_are_checked(pack):
    instance = resource(INSTANCE, "box", {"instanceType": "x2iedn.metal"})
    asg = good_asg(
        mixedInstancesPolicy={
            "launchTemplate": {"overrides": [{"instanceType": "t3a.small"}, {"instanceType": "u-6tb1.112xlarge"}]}
        }
    )
    assert_violates(pack, "ec2-compute-restrict-instance-types", [instance], config=PROD_CONFIG)
    assert_violates(pack, "ec2-compute-restrict-instance-types", [asg], config=PROD_CONFIG, contains="u-6tb1.112xlarge")


def test_asg_inconsistent_bounds(pack):
    assert_violates(pack, "autoscaling-group-limit-size", [good_asg(max_size=1, minSize=3)], contains="min_size 3")
    assert_violates(
        pack, "autoscaling-group-limit-size", [good_asg(max_size=2, desiredCapacity=5)], contains="desired_capacity"
    )


def test_on_demand_allowed_in_prod(pack):
    stream = CASES["kinesis-stream-restrict-on-demand"][0]
    assert_passes(pack, "kinesis-stream-restrict-on-demand", [stream], config=PROD_CONFIG)
    assert_violates(pack, "kinesis-stream-restrict-on-demand", [stream], config=DEV_CONFIG)


def test_rds_storage_type_and_autoscaling_bound(pack):
    assert_violates(pack, "rds-instance-limit-storage", [good_rds(storageType="gp2")], contains="gp2")
    assert_violates(pack, "rds-instance-limit-storage", [good_rds(storageType=None)], contains="gp2")
    assert_violates(
        pack,
        "rds-instance-limit-storage",
        [good_rds(maxAllocatedStorage=200)],
        config=DEV_CONFIG,
        contains="max_allocated_storage",
    )


def test_serverless_cluster_class_is_accepted(pack):
    cluster = resource(RDS_CLUSTER, "aurora", {"dbClusterInstanceClass": "db.serverless", "tags": TAGS})
    assert_passes(pack, "rds-instance-restrict-instance-class", [cluster])


def test_log_retention_bounds(pack):
    assert_violates(
        pack, "cloudwatch-log-group-bound-retention", [good_log_group(retentionInDays=3653)], contains="3653"
    )
    assert_violates(
        pack, "cloudwatch-log-group-bound-retention", [good_log_group(retentionInDays=7)], config=PROD_CONFIG
    )


# --- KCL consumers vs shards -----------------------------------------------------------------


def kcl_setup(shards=2, max_size=2, mode="PROVISIONED", stream_name=None):
    stream = good_stream("raw", shards=shards, streamModeDetails={"streamMode": mode})
    physical = stream_name or stream["inputs"]["name"]
    asg = good_asg("enrich-asg", max_size=max_size, kcl_app="snowplow-test-enrich", stream=physical)
    return stream, asg


def test_kcl_consumers_beyond_shards_violate(pack):
    stream, asg = kcl_setup(shards=1, max_size=3)
    found = assert_violates(pack, KCL, [stream, asg], urn=asg["urn"], contains="1 shards")
    assert found[0]["enforcementLevel"] == "mandatory"


def test_kcl_consumers_within_shards_pass(pack):
    assert_passes(pack, KCL, list(kcl_setup(shards=2, max_size=2)))


def test_kcl_group_sums_all_asgs_of_an_app(pack):
    stream, blue = kcl_setup(shards=2, max_size=2)
    green = good_asg("enrich-asg-green", max_size=1, kcl_app="snowplow-test-enrich", stream=stream["inputs"]["name"])
    found = assert_violates(pack, KCL, [stream, blue, green])
    assert {v["urn"] for v in found} == {blue["urn"], green["urn"]}


def test_kcl_on_demand_stream_is_skipped(pack):
    assert_passes(pack, KCL, list(kcl_setup(shards=None, max_size=10, mode="ON_DEMAND")))


def test_kcl_stream_outside_stack_is_skipped(pack):
    stream, asg = kcl_setup(shards=1, max_size=5, stream_name="snowplow-other-raw")
    assert_passes(pack, KCL, [stream, asg])


def test_kcl_untagged_asg_is_ignored(pack):
    stream = good_stream("raw", shards=1)
    collector = resource(ASG, "collector-asg", {"minSize": 1, "maxSize": 4, "tags": asg_tags()})
    assert_passes(pack, KCL, [stream, collector])


def test_kcl_accepts_map_shaped_tags(pack):
    stream, asg = kcl_setup(shards=1, max_size=2)
    asg["inputs"]["tags"] = {**TAGS, "snowplow:kcl-app": "enrich", "snowplow:input-stream": stream["inputs"]["name"]}
    assert_violates(pack, KCL, [stream, asg])


# --- Capacity for the configured peak, and the monthly budget -------------------------------------

COVER = "kinesis-stream-cover-peak"
BUDGET = "stack-limit-monthly-cost"


def peak_stream(shards, records, size, **inputs):
    tags = {
        **TAGS,
        "snowplow:peak-events-per-second": "1000",
        "snowplow:peak-records-per-second": str(records),
        "snowplow:peak-bytes-per-second": str(size),
    }
    return good_stream("enriched", shards=shards, tags=tags, **inputs)


def test_shards_below_the_tagged_peak_violate(pack):
    # 3 MB/s = 2.86 MiB/s needs 3 shards; 2 records/s-wise would do
    stream = peak_stream(2, 1_000, 3_000_000)
    found = assert_violates(pack, COVER, [stream], config=PROD_CONFIG, contains="needs 3")
    assert found[0]["enforcementLevel"] == "mandatory"
    assert_violates(pack, COVER, [peak_stream(1, 1_500, 1_000)], contains="1,500 records/s")


def test_shards_covering_the_tagged_peak_pass(pack):
    assert_passes(pack, COVER, [peak_stream(3, 1_000, 3_000_000)], config=PROD_CONFIG)
    assert_passes(pack, COVER, [good_stream(shards=1)])  # untagged: the pack does not know the peak
    on_demand = peak_stream(None, 9_000, 9e6, streamModeDetails={"streamMode": "ON_DEMAND"})
    assert_passes(pack, COVER, [on_demand])


def test_monthly_budget(pack):
    # 10 shards at 24 h retention and 1,000 records/s of 3 KB: 10 x 0.015 x 730 + 2,628 M PUT units x 0.014 = $146.29
    stream = peak_stream(10, 1_000, 3_000_000, retentionPeriod=24)
    over = {BUDGET: {"enforcementLevel": "mandatory", "monthlyBudgetUsd": 100, "region": "us-east-1"}}
    found = assert_violates(pack, BUDGET, [stream], config=over, urn="", contains="$146.29 a month")  # the stack
    assert found[0]["enforcementLevel"] == "mandatory"
    assert_passes(pack, BUDGET, [stream], config={BUDGET: {"monthlyBudgetUsd": 150, "region": "us-east-1"}})
    per_event = {BUDGET: {"monthlyBudgetUsd": 1_000, "maxUsdPerMillionEvents": 0.05}}
    assert_violates(pack, BUDGET, [stream], config=per_event, urn="", contains="per million events")
