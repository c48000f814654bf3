"""Sizing rules, including the Snowplow KCL-consumers-vs-shards stack rule and dev/prod levels."""

import pytest

from tests.policy_helpers import (
    ASG,
    DEV_CONFIG,
    INSTANCE,
    KEY_ARN,
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


# --- What each sizing message tells the user (the field, the value, the bound, the way out) ------------------

FLEET = "aws:ec2/fleet:Fleet"


def messages(pack, policy, resources, config=None) -> list:
    """The rule's messages, each without the policy description the engine prints above it."""
    return sorted(v["message"].split("\n", 1)[-1] for v in findings(run(pack, resources, config), policy))


def test_an_instance_type_message_names_the_field_the_reason_and_what_is_allowed(pack):
    rule = "ec2-compute-restrict-instance-types"
    dev_families = "['t3', 't3a', 't4g']"
    assert messages(pack, rule, [good_launch_template(instanceType="t3a.xlarge")], DEV_CONFIG) == [
        "'enrich-lt' uses instance_type 't3a.xlarge': size 'xlarge' is larger than the maximum 'large'. Pick a type "
        f"from {dev_families} no larger than 'large', or change this policy's config for the stack."
    ]
    assert messages(pack, rule, [good_launch_template(instanceType="m7i.large")], DEV_CONFIG) == [
        f"'enrich-lt' uses instance_type 'm7i.large': family 'm7i' is not in the allowed families {dev_families}. "
        f"Pick a type from {dev_families} no larger than 'large', or change this policy's config for the stack."
    ]
    asg = good_asg(
        mixedInstancesPolicy={
            "launchTemplate": {"overrides": [{"instanceType": "t3a.small"}, {"instanceType": "t3a.2xlarge"}]}
        }
    )
    (message,) = messages(pack, rule, [asg], DEV_CONFIG)
    assert message.startswith(
        "'enrich-asg' uses mixed_instances_policy.launch_template.overrides[1].instance_type 't3a.2xlarge'"
    )
    # the largest allowed size itself passes
    assert messages(pack, rule, [good_launch_template(instanceType="t3a.large")], DEV_CONFIG) == []


def test_attribute_based_selection_must_name_allowed_types(pack):
    rule = "ec2-compute-restrict-instance-types"
    advice = "set allowed_instance_types to types from ['t3', 't3a', 't4g'] no larger than 'large'."
    anything = good_launch_template(instanceType=None, instanceRequirements={"vcpuCount": {"min": 2}})
    assert messages(pack, rule, [anything], DEV_CONFIG) == [
        "'enrich-lt' selects instances by attributes (instance_requirements) and it sets no allowed_instance_types, "
        f"so EC2 may pick any family and size matching the attributes; {advice}"
    ]
    listed = good_launch_template(
        instanceType=None,
        instanceRequirements={"allowedInstanceTypes": ["t3a.small", "t3a.*", "t4g.?large", "m7i.large", "t3.xlarge"]},
    )
    assert messages(pack, rule, [listed], DEV_CONFIG) == sorted(
        f"'enrich-lt' selects instances by attributes (instance_requirements) and {problem}; {advice}"
        for problem in (
            "'t3a.*' is a wildcard; name each allowed type",
            "'t4g.?large' is a wildcard; name each allowed type",
            "'m7i.large': family 'm7i' is not in the allowed families ['t3', 't3a', 't4g']",
            "'t3.xlarge': size 'xlarge' is larger than the maximum 'large'",
        )
    )
    fleet = resource(
        FLEET,
        "fleet",
        {
            "launchTemplateConfigs": [
                {
                    "overrides": [
                        {"instanceRequirements": {"allowedInstanceTypes": ["t3a.small"]}},
                        {"instanceRequirements": {"allowedInstanceTypes": ["t3a.4xlarge"]}},
                    ]
                }
            ]
        },
    )
    (message,) = messages(pack, rule, [fleet], DEV_CONFIG)
    assert message.startswith(
        "'fleet' selects instances by attributes (launch_template_configs[0].overrides[1].instance_requirements) and "
        "'t3a.4xlarge': size '4xlarge' is larger than the maximum 'large'"
    )


def test_asg_bound_messages_give_the_numbers_and_the_fix(pack):
    rule = "autoscaling-group-limit-size"
    assert messages(pack, rule, [good_asg(max_size=5)], DEV_CONFIG) == [
        "Auto Scaling group 'enrich-asg' may grow to 5 instances; set max_size <= 4."
    ]
    assert messages(pack, rule, [good_asg(max_size=4, minSize=4, desiredCapacity=4)], DEV_CONFIG) == []
    assert messages(pack, rule, [good_asg(max_size=2, minSize=3)], DEV_CONFIG) == [
        "Auto Scaling group 'enrich-asg' has min_size 3 above max_size 2; fix the bounds."
    ]
    outside = "Auto Scaling group 'enrich-asg' has desired_capacity {} outside [min_size, max_size]."
    assert messages(pack, rule, [good_asg(max_size=3, minSize=2, desiredCapacity=1)], DEV_CONFIG) == [outside.format(1)]
    assert messages(pack, rule, [good_asg(max_size=3, minSize=2, desiredCapacity=4)], DEV_CONFIG) == [outside.format(4)]
    for desired in (2, 3):
        assert messages(pack, rule, [good_asg(max_size=3, minSize=2, desiredCapacity=desired)], DEV_CONFIG) == []
    # one bound unknown: the other still judges the desired capacity
    assert messages(pack, rule, [good_asg(max_size=None, minSize=2, desiredCapacity=1)], DEV_CONFIG) == [
        outside.format(1)
    ]
    assert messages(pack, rule, [good_asg(max_size=3, minSize=None, desiredCapacity=4)], DEV_CONFIG) == [
        outside.format(4)
    ]


def test_shard_budget_message_and_bound(pack):
    rule = "kinesis-stream-limit-shard-count"
    assert messages(pack, rule, [good_stream(shards=5)], DEV_CONFIG) == [
        "Kinesis stream 'raw' has 5 shards; set shard_count <= 4."
    ]
    assert messages(pack, rule, [good_stream(shards=4)], DEV_CONFIG) == []
    # streams without an explicit mode are provisioned; lower-case modes are read as such
    assert messages(pack, rule, [good_stream(shards=5, streamModeDetails=None)], DEV_CONFIG) != []
    assert messages(pack, rule, [good_stream(shards=5, streamModeDetails={"streamMode": "provisioned"})], DEV_CONFIG)
    on_demand = good_stream(shards=50, streamModeDetails={"streamMode": "ON_DEMAND"})
    assert messages(pack, rule, [on_demand], DEV_CONFIG) == []


def test_on_demand_message_says_how_to_switch(pack):
    rule = "kinesis-stream-restrict-on-demand"
    stream = good_stream(shardCount=None, streamModeDetails={"streamMode": "on_demand"})
    assert messages(pack, rule, [stream], DEV_CONFIG) == [
        "Kinesis stream 'raw' is ON_DEMAND, whose base cost is far above a few provisioned shards; use "
        "stream_mode_details={'stream_mode': 'PROVISIONED'} with shard_count, or allow on-demand in config."
    ]


def test_database_class_message_and_which_field_is_read(pack):
    rule = "rds-instance-restrict-instance-class"
    assert messages(pack, rule, [good_rds(instanceClass="db.t4g.large")], DEV_CONFIG) == [
        "Database 'iglu-db' uses class 'db.t4g.large': size 'large' is larger than the maximum 'medium'. Use "
        "db.<family>.<size> with a family from ['t3', 't4g'] no larger than 'medium'."
    ]
    assert messages(pack, rule, [good_rds(instanceClass="db.t4g.medium")], DEV_CONFIG) == []
    # a Multi-AZ DB cluster's class is dbClusterInstanceClass; an Aurora cluster instance's is instanceClass
    cluster = resource(
        RDS_CLUSTER, "aurora", {"dbClusterInstanceClass": "db.r6g.large", "instanceClass": "db.t3.micro"}
    )
    (message,) = messages(pack, rule, [cluster], DEV_CONFIG)
    assert message.startswith("Database 'aurora' uses class 'db.r6g.large': family 'r6g'")
    member = resource("aws:rds/clusterInstance:ClusterInstance", "aurora-1", {"instanceClass": "db.r6g.large"})
    (message,) = messages(pack, rule, [member], DEV_CONFIG)
    assert message.startswith("Database 'aurora-1' uses class 'db.r6g.large'")
    custom = {rule: {"allowedFamilies": ["t4g"], "maxSize": "medium", "allowedClasses": ["db.r6g.large"]}}
    assert messages(pack, rule, [cluster], custom) == []


def test_storage_messages_name_the_setting_and_the_limit(pack):
    rule = "rds-instance-limit-storage"
    assert messages(pack, rule, [good_rds(allocatedStorage=120, maxAllocatedStorage=100)], DEV_CONFIG) == [
        "RDS instance 'iglu-db' sets allocated_storage=120 GiB; keep it <= 100 GiB."
    ]
    assert messages(pack, rule, [good_rds(allocatedStorage=100, maxAllocatedStorage=101)], DEV_CONFIG) == [
        "RDS instance 'iglu-db' sets max_allocated_storage=101 GiB; keep it <= 100 GiB."
    ]
    assert messages(pack, rule, [good_rds(allocatedStorage=100, maxAllocatedStorage=100)], DEV_CONFIG) == []
    assert messages(pack, rule, [good_rds(storageType="gp2")], DEV_CONFIG) == [
        "RDS instance 'iglu-db' uses storage type 'gp2'; set storage_type to one of ['gp3', 'io1', 'io2'] (gp3 is "
        "cheaper and faster than gp2)."
    ]
    # without a storage type AWS picks io1 when IOPS are set (allowed), gp2 otherwise (not)
    assert messages(pack, rule, [good_rds(storageType=None, iops=3000)], DEV_CONFIG) == []
    (message,) = messages(pack, rule, [good_rds(storageType=None)], DEV_CONFIG)
    assert "uses storage type 'gp2'" in message


def test_log_retention_messages_and_bounds(pack):
    rule = "cloudwatch-log-group-bound-retention"
    assert messages(pack, rule, [good_log_group(retentionInDays=0)], PROD_CONFIG) == [
        "CloudWatch log group 'enrich-logs' never expires its logs; set retention_in_days between 30 and 731."
    ]
    for days in (29, 732):
        assert messages(pack, rule, [good_log_group(retentionInDays=days)], PROD_CONFIG) == [
            f"CloudWatch log group 'enrich-logs' keeps logs {days} days; set retention_in_days between 30 and 731."
        ]
    for days in (30, 731):
        assert messages(pack, rule, [good_log_group(retentionInDays=days)], PROD_CONFIG) == []


def test_kcl_message_counts_the_groups_and_the_shards(pack):
    stream, blue = kcl_setup(shards=2, max_size=2)
    green = good_asg("enrich-asg-green", max_size=1, kcl_app="snowplow-test-enrich", stream=stream["inputs"]["name"])
    found = findings(run(pack, [stream, blue, green]), KCL)
    raw = stream["inputs"]["name"]
    assert sorted((v["urn"], v["message"].split("\n", 1)[-1]) for v in found) == sorted(
        (
            group["urn"],
            f"KCL app 'snowplow-test-enrich' can scale to 3 instances (Auto Scaling group '{group['name']}' and 1 "
            f"more) but its input stream '{raw}' has 2 shards, so the extra workers would sit idle; set max_size <= 2 "
            "or add shards.",
        )
        for group in (blue, green)
    )
    stream, single = kcl_setup(shards=1, max_size=2)
    (violation,) = findings(run(pack, [stream, single]), KCL)
    assert "(Auto Scaling group 'enrich-asg') but" in violation["message"]


def test_kcl_groups_of_other_apps_or_streams_are_judged_apart(pack):
    stream, enrich = kcl_setup(shards=2, max_size=2)
    raw = stream["inputs"]["name"]
    loader = good_asg("loader-asg", max_size=2, kcl_app="snowplow-test-loader", stream=raw)
    enriched = good_stream("enriched", shards=1)
    other = good_asg("other-asg", max_size=1, kcl_app="snowplow-test-enrich", stream=enriched["inputs"]["name"])
    assert findings(run(pack, [stream, enrich, loader, enriched, other]), KCL) == []


def test_kcl_group_with_an_unknown_size_is_left_to_deploy_time(pack):
    from tests.policy_helpers import UNKNOWN_NUMBER

    stream, known_group = kcl_setup(shards=1, max_size=2)
    unknown = good_asg("enrich-asg-2", max_size=UNKNOWN_NUMBER, kcl_app="snowplow-test-enrich", stream="x")
    unknown["inputs"]["tags"] = known_group["inputs"]["tags"]
    assert findings(run(pack, [stream, known_group, unknown]), KCL) == []


def test_cover_peak_message_gives_the_load_and_the_shards_needed(pack):
    assert messages(pack, COVER, [peak_stream(2, 2_500, 1_500_000)]) == [
        "Kinesis stream 'enriched' has 2 shard(s) but its configured peak is 2,500 records/s and 1.43 MiB/s, which "
        "needs 3 (1,000 records/s and 1 MiB/s per shard); raise shard_count (snowplow:streams.shards) or lower "
        "snowplow:traffic."
    ]
    # exactly 1,000 records/s and 1 MiB/s per shard fit
    assert messages(pack, COVER, [peak_stream(2, 2_000, 2 * 1_048_576)]) == []
    assert messages(pack, COVER, [peak_stream(2, 2_001, 1_000)]) != []
    assert messages(pack, COVER, [peak_stream(2, 1_000, 2 * 1_048_576 + 1)]) != []
    # a stream always needs one shard, even with no traffic
    assert messages(pack, COVER, [peak_stream(0, 0, 0)]) != []
    # a peak without the byte figure is not judged
    partial = peak_stream(1, 9_000, 1)
    del partial["inputs"]["tags"]["snowplow:peak-bytes-per-second"]
    assert messages(pack, COVER, [partial]) == []


def test_budget_message_names_the_total_region_largest_components_and_budget(pack):
    stream = peak_stream(10, 1_000, 3_000_000, retentionPeriod=24)
    key = resource("aws:kms/key:Key", "stack-key", {"tags": TAGS})
    alarm = resource("aws:cloudwatch/metricAlarm:MetricAlarm", "lag", {"tags": TAGS})
    board = resource("aws:cloudwatch/dashboard:Dashboard", "board", {"tags": TAGS})
    config = {BUDGET: {"monthlyBudgetUsd": 100, "region": "us-east-1"}}
    assert messages(pack, BUDGET, [stream, key, alarm, board], config) == [
        "The stack is estimated at $150.39 a month in us-east-1 (largest: enriched $146, board $3, stack-key $1), "
        "over the budget of $100; shrink instance types, counts, shards or NAT gateways, or raise monthlyBudgetUsd in "
        "this policy's config."
    ]
    # without a configured region, the region the resources' ARNs name prices them (eu-west-1 has its own NAT price)
    nat = resource("aws:ec2/natGateway:NatGateway", "nat", {"subnetId": "subnet-1", "tags": TAGS})
    (message,) = messages(pack, BUDGET, [nat, stream], {BUDGET: {"monthlyBudgetUsd": 1}})
    assert " a month in eu-west-1 (largest: " in message


def test_cost_per_million_events_message_and_limit(pack):
    stream = peak_stream(10, 1_000, 3_000_000, retentionPeriod=24)  # $146.29 at 1,000 events/s: $0.056 a million
    per_event = {BUDGET: {"monthlyBudgetUsd": 1_000, "maxUsdPerMillionEvents": 0.05, "region": "us-east-1"}}
    assert messages(pack, BUDGET, [stream], per_event) == [
        "The stack is estimated at $0.056 per million events at its configured peak of 1,000 events/s, over the "
        "limit of $0.05; raise maxUsdPerMillionEvents or reduce the cost per event."
    ]
    within = {BUDGET: {"monthlyBudgetUsd": 1_000, "maxUsdPerMillionEvents": 0.06, "region": "us-east-1"}}
    assert messages(pack, BUDGET, [stream], within) == []
    # no peak tagged: no cost per event to judge
    untagged = good_stream("enriched", shards=10)
    assert messages(pack, BUDGET, [untagged], per_event) == []


def test_every_override_of_a_mixed_instances_policy_is_checked(pack):
    rule = "ec2-compute-restrict-instance-types"
    asg = good_asg(
        mixedInstancesPolicy={
            "launchTemplate": {
                "overrides": [{"instanceType": "t3a.small"}, {"instanceRequirements": {"vcpuCount": {"min": 1}}}]
            }
        }
    )
    (message,) = messages(pack, rule, [asg], DEV_CONFIG)
    assert message.startswith(
        "'enrich-asg' selects instances by attributes "
        "(mixed_instances_policy.launch_template.overrides[1].instance_requirements) and it sets no"
    )


def test_kcl_rule_needs_both_tags_and_judges_every_app(pack):
    stream, _ = kcl_setup(shards=1)
    raw = stream["inputs"]["name"]
    # a reader tagged with its input stream but no KCL app (not a KCL consumer) is not held to the shards
    plain_reader = good_asg("reader-asg", max_size=3)
    plain_reader["inputs"]["tags"] = asg_tags({"snowplow:input-stream": raw})
    assert findings(run(pack, [stream, plain_reader]), KCL) == []
    # an app reading a stream of another stack does not stop the next app from being judged
    outside = good_asg("a-asg", max_size=9, kcl_app="a-app", stream="snowplow-other-raw")
    over = good_asg("b-asg", max_size=2, kcl_app="b-app", stream=raw)
    assert [v["urn"] for v in findings(run(pack, [stream, outside, over]), KCL)] == [over["urn"]]


def test_kcl_and_shard_rules_skip_on_demand_streams_even_with_a_shard_count(pack):
    stream, asg = kcl_setup(shards=1, max_size=4, mode="ON_DEMAND")
    assert findings(run(pack, [stream, asg]), KCL) == []
    on_demand = peak_stream(1, 9_000, 9e6, streamModeDetails={"streamMode": "ON_DEMAND"})
    assert messages(pack, COVER, [on_demand]) == []
    # one shard covers a small peak
    assert messages(pack, COVER, [peak_stream(1, 500, 1_000)]) == []


def test_budget_groups_resources_under_their_parent_and_prices_the_region_of_the_arns(pack):
    stream = peak_stream(10, 1_000, 3_000_000, retentionPeriod=24)
    key = resource("aws:kms/key:Key", "stream-key", {"tags": TAGS}, parent=stream["urn"])
    config = {BUDGET: {"monthlyBudgetUsd": 100, "region": "us-east-1"}}
    (message,) = messages(pack, BUDGET, [stream, key], config)
    assert "$147.29 a month in us-east-1 (largest: enriched $147), over" in message
    # eu-west-1 (named by the key ARN of the alias) has its own NAT price: 0.048 x 730 h
    nat = resource("aws:ec2/natGateway:NatGateway", "nat", {"subnetId": "subnet-1", "tags": TAGS})
    alias = resource("aws:kms/alias:Alias", "alias", {"targetKeyId": KEY_ARN})
    assert messages(pack, BUDGET, [nat, alias], {BUDGET: {"monthlyBudgetUsd": 1}}) == [
        "The stack is estimated at $35.04 a month in eu-west-1 (largest: nat $35), over the budget of $1; shrink "
        "instance types, counts, shards or NAT gateways, or raise monthlyBudgetUsd in this policy's config."
    ]


def test_a_budget_or_cost_per_event_exactly_met_passes(pack):
    stream = peak_stream(10, 1_000, 3_000_000, retentionPeriod=24)  # $146.29, $0.0557 per million events
    exact = {BUDGET: {"monthlyBudgetUsd": 146.29, "maxUsdPerMillionEvents": 0.0557, "region": "us-east-1"}}
    assert messages(pack, BUDGET, [stream], exact) == []
