"""The cost estimator resource by resource: which figure each resource gets, on which component it lands, what the
plan's cost document says about it (detail, unpriced, usage-only, fallback prices), and the region and traffic it
reads from the plan. Prices are read from policies/prices.json (us-east-1) unless a test gives its own table."""

import pytest

from policies.snowplow_cost import (
    Estimate,
    Item,
    PriceBook,
    Traffic,
    estimate,
    instance_count,
    load_prices,
    plain,
    region_of,
    tag_map,
)

STACK = "urn:pulumi:t::snowplow::pulumi:pulumi:Stack::snowplow-t"
US = load_prices()["regions"]["us-east-1"]
HOURS = 730
MONTH_S = 730 * 3600


def res(type_, name, props=None, parent=STACK, custom=True):
    return {
        "urn": f"urn:pulumi:t::snowplow::{type_}::{name}",
        "type": type_,
        "name": name,
        "parent": parent,
        "custom": custom,
        "props": props or {},
    }


def component(name):
    return res("snowplow:pipeline:Thing", name, custom=False)


def stack():
    return {**res("pulumi:pulumi:Stack", "snowplow-t", custom=False), "urn": STACK, "parent": None}


def stream(name, records=0, size=0, events=None, **props):
    tags = {"snowplow:peak-records-per-second": str(records), "snowplow:peak-bytes-per-second": str(size)}
    if events is not None:
        tags["snowplow:peak-events-per-second"] = str(events)
    return res(
        "aws:kinesis/stream:Stream",
        name,
        {"name": f"t-{name}", "shardCount": 1, "retentionPeriod": 24, "tags": tags, **props},
    )


def kcl_group(name, app, stream_name, parent=STACK, **props):
    tags = [{"key": "snowplow:kcl-app", "value": app}, {"key": "snowplow:input-stream", "value": stream_name}]
    return res("aws:autoscaling/group:Group", name, {"minSize": 1, "tags": tags, **props}, parent)


def items(cost: Estimate) -> dict:
    """{resource name: (component, monthly USD rounded to the cent, detail)}"""
    return {i.name: (i.component, round(i.monthly_usd, 2), i.detail) for i in cost.items}


def priced(resources, region="us-east-1", table=None) -> dict:
    return items(estimate(resources, region, table))


# --- Instances ------------------------------------------------------------------------------------------------


def test_an_asg_is_priced_from_its_sibling_template_at_desired_then_min_capacity():
    app = component("app")
    template = res(
        "aws:ec2/launchTemplate:LaunchTemplate",
        "app-lt",
        {"instanceType": "t3a.medium", "blockDeviceMappings": [{"ebs": {"volumeSize": 30}}, {"ebs": {}}, "odd"]},
        app["urn"],
    )
    each = US["ec2Hour"]["t3a.medium"] * HOURS + (30 + 8) * US["ebsGp3GbMonth"]
    for props, count in (({"desiredCapacity": 3, "minSize": 2}, 3), ({"minSize": 2}, 2), ({}, 1)):
        group = res("aws:autoscaling/group:Group", "app-asg", props, app["urn"])
        assert priced([stack(), app, template, group]) == {
            "app-asg": ("app", round(count * each, 2), f"{count} x t3a.medium + 38 GB gp3 each")
        }


def test_an_asg_outside_a_component_finds_its_template_by_name_tag():
    # as the pack sees them: components are not among its resources, so nothing has a parent
    def pair(name, instance_type, count):
        template = res(
            "aws:ec2/launchTemplate:LaunchTemplate",
            f"{name}-lt",
            {"instanceType": instance_type, "tags": {"Name": f"t-{name}"}},
            parent=None,
        )
        group = res(
            "aws:autoscaling/group:Group",
            f"{name}-asg",
            {"desiredCapacity": count, "tags": [{"key": "Name", "value": f"t-{name}", "propagateAtLaunch": True}]},
            parent=None,
        )
        return [template, group]

    plan = pair("enrich", "t3a.small", 2) + pair("collector", "c6i.large", 1)
    assert priced(plan) == {
        "enrich-asg": ("enrich-asg", round(2 * US["ec2Hour"]["t3a.small"] * HOURS, 2), "2 x t3a.small + 0 GB gp3 each"),
        "collector-asg": (
            "collector-asg",
            round(US["ec2Hour"]["c6i.large"] * HOURS, 2),
            "1 x c6i.large + 0 GB gp3 each",
        ),
    }


def test_an_asg_without_a_priced_template_is_listed_as_unpriced_not_zero():
    group = res("aws:autoscaling/group:Group", "lonely-asg", {"minSize": 1})
    cost = estimate([group], "us-east-1")
    assert cost.items == []
    assert cost.unpriced == ["aws:autoscaling/group:Group (ec2Hour not in the price table)"]
    template = res("aws:ec2/launchTemplate:LaunchTemplate", "lt", {"instanceType": "x9.huge", "tags": {"Name": "n"}})
    group["props"]["tags"] = {"Name": "n"}
    cost = estimate([template, group], "us-east-1")
    assert cost.unpriced == ["aws:autoscaling/group:Group (ec2Hour:x9.huge not in the price table)"]


def test_target_tracking_policies_pay_for_the_two_alarms_aws_creates():
    tracking = res("aws:autoscaling/policy:Policy", "cpu", {"policyType": "TargetTrackingScaling"})
    step = res("aws:autoscaling/policy:Policy", "step", {"policyType": "StepScaling"})
    cost = estimate([tracking, step], "us-east-1")
    assert items(cost) == {"cpu": ("cpu", round(2 * US["alarmMonth"], 2), "2 alarms AWS creates")}
    assert cost.unpriced == []


def test_instance_count_adds_desired_else_min_else_one_per_group():
    groups = [
        res("aws:autoscaling/group:Group", "a", {"desiredCapacity": 3, "minSize": 1}),
        res("aws:autoscaling/group:Group", "b", {"minSize": 2}),
        res("aws:autoscaling/group:Group", "c", {}),
        res("aws:ec2/instance:Instance", "d", {"minSize": 7}),
    ]
    assert instance_count(groups) == 6


# --- Network ---------------------------------------------------------------------------------------------------


def nat_plan(nats=1, endpoints=(), log_groups=0):
    plan = [
        stream("raw", records=100, size=100_000),
        kcl_group("enrich-asg", "t-enrich", "t-raw", desiredCapacity=2),
        kcl_group("loader-asg", "t-loader", "t-raw", minSize=3),
    ]
    plan += [res("aws:ec2/natGateway:NatGateway", f"nat-{i}") for i in range(nats)]
    plan += [
        res(
            "aws:ec2/vpcEndpoint:VpcEndpoint",
            service,
            {"vpcEndpointType": "Interface", "serviceName": f"com.amazonaws.us-east-1.{service}"},
        )
        for service in endpoints
    ]
    plan += [res("aws:cloudwatch/logGroup:LogGroup", f"logs-{i}") for i in range(log_groups)]
    return plan


def test_nat_processing_is_the_kinesis_traffic_the_logs_and_a_baseline_per_instance_shared_by_the_gateways():
    kinesis_gb = 100_000 * (1 + 2) * MONTH_S / 1e9  # written once, read by two KCL apps: 788.4 GB
    baseline_gb = (2 + 3) * 2.0
    for nats in (1, 2):
        gb = (kinesis_gb + 3 * 1.0 + baseline_gb) / nats
        cost = priced(nat_plan(nats, log_groups=3))
        assert cost["nat-0"] == (
            "nat-0",
            round(US["natHour"] * HOURS + gb * US["natGb"], 2),
            f"730 h + {gb:,.0f} GB processed",
        )


def test_interface_endpoints_take_their_traffic_off_the_nat_and_charge_for_it_themselves():
    kinesis_gb = 100_000 * 3 * MONTH_S / 1e9
    cost = priced(nat_plan(1, endpoints=("kinesis-streams", "logs", "monitoring"), log_groups=2))
    assert cost["nat-0"][1] == round(US["natHour"] * HOURS + 10 * US["natGb"], 2)
    endpoint_hours = US["endpointAzHour"] * HOURS
    assert cost["kinesis-streams"] == (
        "kinesis-streams",
        round(endpoint_hours + kinesis_gb * US["endpointGb"], 2),
        "1 AZ x 730 h + 788 GB",
    )
    assert cost["logs"] == ("logs", round(endpoint_hours + 2 * US["endpointGb"], 2), "1 AZ x 730 h + 2 GB")
    assert cost["monitoring"] == ("monitoring", round(endpoint_hours, 2), "1 AZ x 730 h + 0 GB")
    # only the kinesis endpoint: the logs still go through the NAT
    cost = priced(nat_plan(1, endpoints=("kinesis-streams",), log_groups=2))
    assert cost["nat-0"][1] == round(US["natHour"] * HOURS + 12 * US["natGb"], 2)
    cost = priced(nat_plan(1, endpoints=("logs",), log_groups=2))
    assert cost["nat-0"][1] == round(US["natHour"] * HOURS + (kinesis_gb + 10) * US["natGb"], 2)


def test_endpoint_hours_are_per_subnet_and_gateway_endpoints_are_free():
    interface = res(
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "ssm",
        {"vpcEndpointType": "Interface", "serviceName": "com.amazonaws.us-east-1.ssm", "subnetIds": ["a", "b", "c"]},
    )
    gateway = res(
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "s3",
        {"vpcEndpointType": "Gateway", "serviceName": "com.amazonaws.us-east-1.s3"},
    )
    cost = estimate([interface, gateway], "us-east-1")
    assert items(cost) == {"ssm": ("ssm", round(3 * US["endpointAzHour"] * HOURS, 2), "3 AZ x 730 h + 0 GB")}
    assert cost.unpriced == []
    # a gateway endpoint does not take the Kinesis traffic off the NAT either
    plan = nat_plan(1) + [
        res(
            "aws:ec2/vpcEndpoint:VpcEndpoint",
            "kinesis-gw",
            {"vpcEndpointType": "Gateway", "serviceName": "com.amazonaws.us-east-1.kinesis-streams"},
        )
    ]
    assert priced(plan)["nat-0"] == priced(nat_plan(1))["nat-0"]


def test_an_elastic_ip_pays_for_its_public_address():
    assert priced([res("aws:ec2/eip:Eip", "nat-ip")]) == {
        "nat-ip": ("nat-ip", round(US["publicIpv4Hour"] * HOURS, 2), "public IPv4 address")
    }


def test_the_collector_load_balancer_pays_lcus_for_the_raw_traffic_and_public_addresses_per_subnet():
    raw = stream("raw", records=500, size=2_000_000)
    lcu = 2_000_000 * 3600 / 1e9  # 7.2 GB an hour
    collector = component("collector")
    lb = res("aws:lb/loadBalancer:LoadBalancer", "lb", {"subnets": ["a", "b", "c"]}, collector["urn"])
    usd = (US["albHour"] + lcu * US["lcuHour"] + 3 * US["publicIpv4Hour"]) * HOURS
    assert priced([stack(), collector, raw, lb])["lb"] == (
        "collector",
        round(usd, 2),
        "730 h + 7.20 LCU + 3 public IPv4",
    )
    # outside a component it is known by its name or Name tag; subnet mappings count like subnets
    for props in ({"name": "t-collector"}, {"tags": {"Name": "t-collector-lb"}}):
        mapped = res("aws:lb/loadBalancer:LoadBalancer", "lb", {**props, "subnetMappings": [{}, {}, {}]})
        assert priced([raw, mapped])["lb"][1] == round(usd, 2)
    # an internal load balancer of another app: hours only, no LCU for the collector's traffic, no public address
    iglu = res("aws:lb/loadBalancer:LoadBalancer", "iglu-lb", {"name": "t-iglu", "internal": True})
    assert priced([raw, iglu])["iglu-lb"] == (
        "iglu-lb",
        round(US["albHour"] * HOURS, 2),
        "730 h + 0.00 LCU + 0 public IPv4",
    )
    public = res("aws:lb/loadBalancer:LoadBalancer", "iglu-lb", {"name": "t-iglu"})
    assert priced([raw, public])["iglu-lb"][1] == round((US["albHour"] + 2 * US["publicIpv4Hour"]) * HOURS, 2)


def test_the_collector_traffic_is_the_largest_raw_stream():
    plan = [
        stream("raw", size=1_000_000),
        stream("blue-raw", size=3_000_000),
        stream("enriched", size=9_000_000),
    ]
    assert Traffic.of(plan).collector_gb_per_hour() == pytest.approx(3_000_000 * 3600 / 1e9)
    assert Traffic.of([stream("enriched", size=9_000_000)]).collector_gb_per_hour() == 0.0


# --- Streams ---------------------------------------------------------------------------------------------------


def test_a_provisioned_stream_pays_shard_hours_extended_retention_and_put_units():
    # 200 records/s of 60 KB: 3 PUT units each (25 KB units, rounded up)
    kept = stream("enriched", records=200, size=200 * 60_000, shardCount=4, retentionPeriod=48)
    put_millions = 200 * 3 * MONTH_S / 1e6
    shard_hour = US["kinesisShardHour"] + US["kinesisExtendedRetentionShardHour"]
    usd = 4 * shard_hour * HOURS + put_millions * US["kinesisPutUnitsMillion"]
    assert priced([kept]) == {"enriched": ("enriched", round(usd, 2), f"4 shards + {put_millions:,.0f} M PUT units")}
    # a day's retention is included; small records are one PUT unit; no traffic, no PUT units
    day = stream("raw", records=100, size=100 * 500, shardCount=2, retentionPeriod=24)
    usd = 2 * US["kinesisShardHour"] * HOURS + 100 * MONTH_S / 1e6 * US["kinesisPutUnitsMillion"]
    assert priced([day])["raw"][1:] == (round(usd, 2), "2 shards + 263 M PUT units")
    idle = stream("bad", shardCount=None, retentionPeriod=None)
    assert priced([idle])["bad"] == ("bad", round(US["kinesisShardHour"] * HOURS, 2), "1 shards + 0 M PUT units")


def test_an_on_demand_stream_pays_its_hours_data_in_and_out_per_reader_and_retention_beyond_a_day():
    on_demand = {"streamModeDetails": {"streamMode": "ON_DEMAND"}, "shardCount": None}
    enriched = stream("enriched", records=1_000, size=5_000_000, retentionPeriod=72, **on_demand)
    plan = [
        enriched,
        kcl_group("loader-asg", "t-loader", "t-enriched"),
        kcl_group("loader-asg-2", "t-loader", "t-enriched"),  # the same app twice reads once
        kcl_group("search-asg", "t-search", "t-enriched"),
    ]
    gb_in = 5_000_000 * MONTH_S / 1e9  # 5 KB records: billed as they are
    gb_out = 5_000_000 * 2 * MONTH_S / 1e9
    kept = 5_000_000 * 48 * 3600 / 1e9
    usd = (
        US["kinesisOnDemandStreamHour"] * HOURS
        + gb_in * US["kinesisOnDemandGbIn"]
        + gb_out * US["kinesisOnDemandGbOut"]
        + kept * US["kinesisOnDemandRetentionGbMonth"]
    )
    assert priced(plan)["enriched"] == (
        "enriched",
        round(usd, 2),
        f"on-demand: 730 h + {gb_in:,.0f} GB in + {gb_out:,.0f} GB out + {kept:,.0f} GB kept",
    )
    # without a retention period the stream keeps the included day only
    day = stream("raw", records=10, size=10_000, retentionPeriod=None, **on_demand)
    assert priced([day])["raw"][2].endswith(" GB out + 0 GB kept")
    idle = stream("bad", retentionPeriod=None, **on_demand)
    assert priced([idle])["bad"] == (
        "bad",
        round(US["kinesisOnDemandStreamHour"] * HOURS, 2),
        "on-demand: 730 h + 0 GB in + 0 GB out + 0 GB kept",
    )


def test_traffic_reads_the_peak_and_each_streams_load_and_readers_from_the_tags():
    plan = [
        stream("raw", records=10, size=1_000, events=10),
        stream("enriched", records=30, size=9_000, events=40),
        res("aws:kinesis/stream:Stream", "bad", {"tags": {"snowplow:peak-records-per-second": "x"}}),
        kcl_group("enrich-asg", "t-enrich", "t-raw"),
        kcl_group("loader-asg", "t-loader", "t-enriched"),
        kcl_group("search-asg", "t-search", "t-enriched"),
        res("aws:autoscaling/group:Group", "collector-asg", {"tags": [{"key": "Name", "value": "collector"}]}),
    ]
    traffic = Traffic.of(plan)
    assert traffic.peak_events == 40
    assert traffic.streams == {"t-raw": (10, 1_000), "t-enriched": (30, 9_000), "bad": (0.0, 0.0)}
    assert traffic.readers == {"t-raw": 1, "t-enriched": 2}
    assert traffic.kinesis_gb_per_month() == pytest.approx((1_000 * 2 + 9_000 * 3) * MONTH_S / 1e9)
    # a stream no KCL app is tagged to read is assumed read once
    assert Traffic.of([stream("raw", size=1_000)]).kinesis_gb_per_month() == pytest.approx(2 * 1_000 * MONTH_S / 1e9)


# --- Per-unit services -----------------------------------------------------------------------------------------


def test_lease_tables_on_demand_and_provisioned():
    on_demand = res("aws:dynamodb/table:Table", "lease", {"billingMode": "PAY_PER_REQUEST"})
    units = MONTH_S / 1e6
    usd = units * (US["dynamodbWriteUnitsMillion"] + US["dynamodbReadUnitsMillion"])
    assert priced([on_demand]) == {"lease": ("lease", round(usd, 2), "on-demand: 2.6 M reads and writes")}
    provisioned = res(
        "aws:dynamodb/table:Table", "lease", {"billingMode": "PROVISIONED", "readCapacity": 5, "writeCapacity": 7}
    )
    usd = (5 * US["dynamodbRcuHour"] + 7 * US["dynamodbWcuHour"]) * HOURS
    assert priced([provisioned]) == {"lease": ("lease", round(usd, 2), "5 RCU + 7 WCU")}
    bare = res("aws:dynamodb/table:Table", "lease", {"billingMode": "PROVISIONED"})
    usd = (US["dynamodbRcuHour"] + US["dynamodbWcuHour"]) * HOURS
    assert priced([bare]) == {"lease": ("lease", round(usd, 2), "1 RCU + 1 WCU")}


def test_monthly_flat_prices():
    plan = [
        res("aws:kms/key:Key", "key"),
        res("aws:cloudwatch/logGroup:LogGroup", "logs"),
        res("aws:cloudwatch/metricAlarm:MetricAlarm", "lag"),
        res("aws:cloudwatch/dashboard:Dashboard", "board"),
        res("aws:secretsmanager/secret:Secret", "password"),
    ]
    assert priced(plan) == {
        "key": ("key", US["kmsKeyMonth"], "customer-managed key"),
        "logs": ("logs", round(US["logsIngestGb"] + US["logsStorageGbMonth"], 2), "1 GB ingested and kept"),
        "lag": ("lag", US["alarmMonth"], "standard alarm"),
        "board": ("board", US["dashboardMonth"], "dashboard"),
        "password": ("password", US["secretMonth"], "secret"),
    }


def test_rds_pays_per_copy_for_hours_and_storage():
    multi = res(
        "aws:rds/instance:Instance", "db", {"instanceClass": "db.t4g.small", "allocatedStorage": 50, "multiAz": True}
    )
    each = US["rdsHour"]["db.t4g.small"] * HOURS + 50 * US["rdsStorageGbMonth"]
    assert priced([multi]) == {"db": ("db", round(2 * each, 2), "2 x db.t4g.small + 50 GB")}
    single = res("aws:rds/instance:Instance", "db", {"instanceClass": "db.t4g.micro"})
    each = US["rdsHour"]["db.t4g.micro"] * HOURS + 20 * US["rdsStorageGbMonth"]
    assert priced([single]) == {"db": ("db", round(each, 2), "1 x db.t4g.micro + 20 GB")}


def test_the_lake_grows_by_the_gzipped_enriched_bytes_and_other_buckets_are_usage_only():
    plan = [
        stream("enriched", size=1_000_000),
        stream("blue-enriched", size=500_000),
        stream("raw", size=7_000_000),
        res("aws:s3/bucket:Bucket", "lake"),
        res("aws:s3/bucketV2:BucketV2", "lake-v2"),
        res("aws:s3/bucket:Bucket", "logs"),
    ]
    cost = estimate(plan, "us-east-1")
    gb = 1_500_000 * 0.15 * MONTH_S / 1e9
    lake = round(gb * US["s3GbMonth"], 2)
    detail = f"grows {gb:,.0f} GB a month (priced for the month added)"
    assert items(cost)["lake"] == ("lake", lake, detail)
    assert items(cost)["lake-v2"] == ("lake-v2", lake, detail)
    assert "logs" not in items(cost)
    assert cost.usage_only == ["aws:s3/bucket:Bucket"]


def test_redshift_serverless_pays_rpu_hours_when_active():
    tagged = res(
        "aws:redshiftserverless/workgroup:Workgroup",
        "rs",
        {"baseCapacity": 16, "tags": {"snowplow:active-hours-per-month": "20"}},
    )
    assert priced([tagged]) == {"rs": ("rs", round(16 * 20 * US["redshiftRpuHour"], 2), "16 RPU x 20 active h")}
    default = res("aws:redshiftserverless/workgroup:Workgroup", "rs", {})
    assert priced([default]) == {"rs": ("rs", round(128 * 60 * US["redshiftRpuHour"], 2), "128 RPU x 60 active h")}


def test_opensearch_pays_per_node_for_hours_and_disk():
    domain = res(
        "aws:opensearch/domain:Domain",
        "search",
        {
            "clusterConfig": {"instanceType": "r6g.large.search", "instanceCount": 3},
            "ebsOptions": {"ebsEnabled": True, "volumeSize": 100},
        },
    )
    usd = 3 * (US["opensearchHour"]["r6g.large.search"] * HOURS + 100 * US["opensearchGp3GbMonth"])
    assert priced([domain]) == {"search": ("search", round(usd, 2), "3 x r6g.large.search + 100 GB each")}
    small = res("aws:opensearch/domain:Domain", "search", {"clusterConfig": {"instanceType": "t3.small.search"}})
    usd = US["opensearchHour"]["t3.small.search"] * HOURS + 10 * US["opensearchGp3GbMonth"]
    assert priced([small]) == {"search": ("search", round(usd, 2), "1 x t3.small.search + 10 GB each")}
    small["props"]["ebsOptions"] = {"ebsEnabled": False, "volumeSize": 100}
    usd = US["opensearchHour"]["t3.small.search"] * HOURS
    assert priced([small]) == {"search": ("search", round(usd, 2), "1 x t3.small.search + 0 GB each")}


# --- Scheduled tasks -------------------------------------------------------------------------------------------


def job(schedule_expression, task_props=None, schedule_props=None):
    parent = component("models")
    task = res("aws:ecs/taskDefinition:TaskDefinition", "dbt", task_props or {}, parent["urn"])
    schedule = res(
        "aws:scheduler/schedule:Schedule",
        "when",
        {"scheduleExpression": schedule_expression, **(schedule_props or {})},
        parent["urn"],
    )
    return [stack(), parent, task, schedule]


def fargate(runs, minutes=10.0, vcpu=0.25, gb=0.5, arm=False):
    keys = ("fargateArmVcpuHour", "fargateArmGbHour") if arm else ("fargateVcpuHour", "fargateGbHour")
    return runs * minutes / 60 * (vcpu * US[keys[0]] + gb * US[keys[1]])


@pytest.mark.parametrize(
    ("expression", "runs"),
    [
        ("rate(1 minute)", 730 * 60),
        ("rate(30 minutes)", 730 * 2),
        ("rate(1 hour)", 730),
        ("rate(6 hours)", 730 / 6),
        ("rate(1 day)", 730 / 24),
        ("rate(2 days)", 730 / 48),
        ("cron(0 2 * * ? *)", 730 / 24),
        ("cron(0 1,13 * * ? *)", 2 * 730 / 24),
        ("cron(0 */6 * * ? *)", 4 * 730 / 24),
        ("cron(0 * * * ? *)", 730),
        ("cron(0 ? * * ? *)", 730),
        ("cron(0/15 * * * ? *)", 4 * 730),
        ("cron(*/20 3 * * ? *)", 3 * 730 / 24),
        ("cron(* 3 * * ? *)", 60 * 730 / 24),
        ("at(2026-12-01T00:00:00)", 730 / 24),
        ("", 730 / 24),
    ],
)
def test_a_schedule_runs_its_task_as_often_as_its_expression_says(expression, runs):
    (item,) = estimate(job(expression, {"cpu": "4096", "memory": "8192"}), "us-east-1").items
    assert item.component == "models"
    assert item.monthly_usd == pytest.approx(fargate(runs, vcpu=4, gb=8))
    assert item.detail == f"{runs:,.0f} runs x 10 min of 4 vCPU / 8 GB"


def test_a_task_is_priced_at_its_size_architecture_and_tagged_run_minutes():
    props = {
        "cpu": "2048",
        "memory": "4096",
        "runtimePlatform": {"cpuArchitecture": "arm64"},
        "tags": {"snowplow:run-minutes": "30"},
    }
    assert priced(job("rate(1 hour)", props))["dbt"][1:] == (
        round(fargate(730, minutes=30, vcpu=2, gb=4, arm=True), 2),
        "730 runs x 30 min of 2 vCPU / 4 GB",
    )
    x86 = {**props, "runtimePlatform": {"cpuArchitecture": "X86_64"}}
    assert priced(job("rate(1 hour)", x86))["dbt"][1] == round(fargate(730, minutes=30, vcpu=2, gb=4), 2)


def test_schedules_elsewhere_do_not_run_the_task():
    # a schedule of another component, or at the stack's top level next to a top-level task, is not its schedule
    parent, other = component("models"), component("other")
    task = res("aws:ecs/taskDefinition:TaskDefinition", "dbt", {}, parent["urn"])
    elsewhere = res("aws:scheduler/schedule:Schedule", "when", {"scheduleExpression": "rate(1 hour)"}, other["urn"])
    assert priced([stack(), parent, other, task, elsewhere])["dbt"][1:] == (
        0.0,
        "0 runs x 10 min of 0.25 vCPU / 0.5 GB",
    )
    top_task = res("aws:ecs/taskDefinition:TaskDefinition", "dbt", {})
    top_schedule = res("aws:scheduler/schedule:Schedule", "when", {"scheduleExpression": "rate(1 hour)"})
    assert priced([stack(), top_task, top_schedule])["dbt"][1] == 0.0
    # a sibling schedule whose target is another family's task definition ARN does not run it either
    target = {"ecsParameters": {"taskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/other:3"}}
    plan = job("rate(1 hour)", {"family": "t-dbt"}, {"target": target})
    assert priced(plan)["dbt"][1] == 0.0
    # the family must match whole: t-dbt is not t-dbt-nightly
    target = {"ecsParameters": {"taskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/t-dbt-nightly:1"}}
    task = res("aws:ecs/taskDefinition:TaskDefinition", "dbt", {"family": "t-dbt"})
    schedule = res("aws:scheduler/schedule:Schedule", "when", {"scheduleExpression": "rate(1 hour)", "target": target})
    assert priced([task, schedule])["dbt"][1] == 0.0
    target["ecsParameters"]["taskDefinitionArn"] = "arn:aws:ecs:us-east-1:1:task-definition/t-dbt"
    assert priced([task, schedule])["dbt"][1] == round(fargate(730), 2)


# --- What is priced at all, and how the estimate reports it ----------------------------------------------------


def test_free_usage_only_unpriced_and_helper_resources_are_told_apart():
    plan = [
        stack(),
        component("network"),
        res("aws:ec2/vpc:Vpc", "vpc"),
        res("aws:iam/role:Role", "role"),
        res("aws:lambda/function:Function", "fn"),
        res("aws:sqs/queue:Queue", "dlq"),
        res("aws:sns/topic:Topic", "alarms"),
        res("aws:sns/topic:Topic", "other-alarms"),
        res("random:index/randomPassword:RandomPassword", "password"),
        res("tls:index/privateKey:PrivateKey", "key"),
        res("command:local:Command", "run"),
        res("aws:made/up:Thing", "mystery"),
        res("aws:made/up:Thing", "mystery-2"),
        res("aws:other/thing:Thing", "odd"),
        res("aws:kms/key:Key", "not-custom", custom=False),
    ]
    cost = estimate(plan, "us-east-1")
    assert cost.items == []
    assert cost.usage_only == ["aws:lambda/function:Function", "aws:sqs/queue:Queue", "aws:sns/topic:Topic"] + [
        "aws:sns/topic:Topic"
    ]
    assert cost.unpriced == ["aws:made/up:Thing", "aws:made/up:Thing", "aws:other/thing:Thing"]
    document = cost.document()
    assert document["usageOnly"] == ["aws:lambda/function:Function", "aws:sns/topic:Topic", "aws:sqs/queue:Queue"]
    assert document["unpriced"] == ["aws:made/up:Thing", "aws:other/thing:Thing"]


def test_inputs_unknown_until_deploy_leave_the_resource_unpriced_and_say_so():
    odd = res("aws:rds/instance:Instance", "db", {"instanceClass": "db.t4g.micro", "allocatedStorage": 20})
    odd["props"]["multiAz"] = True
    odd["props"]["allocatedStorage"] = object()  # neither a number nor a string: _number gives the default
    assert priced([odd])["db"][1] == round(
        2 * (US["rdsHour"]["db.t4g.micro"] * HOURS + 20 * US["rdsStorageGbMonth"]), 2
    )
    broken = res("aws:ec2/vpcEndpoint:VpcEndpoint", "kinesis", {"vpcEndpointType": "Interface", "subnetIds": 3})
    cost = estimate([broken], "us-east-1")
    assert cost.items == [] and cost.unpriced == ["aws:ec2/vpcEndpoint:VpcEndpoint (inputs unknown until deploy)"]


def test_the_cost_document_totals_components_and_lists_priced_resources():
    app = component("app")
    plan = [
        stack(),
        app,
        res("aws:kms/key:Key", "key-a", parent=app["urn"]),
        res("aws:kms/key:Key", "key-b", parent=app["urn"]),
        res("aws:cloudwatch/dashboard:Dashboard", "board"),
        res("aws:cloudwatch/metricAlarm:MetricAlarm", "lag"),
        res("aws:autoscaling/policy:Policy", "step", {"policyType": "StepScaling"}),
        stream("raw", records=10, size=5_000, events=10, shardCount=3),
    ]
    cost = estimate(plan, "us-east-1")
    raw = 3 * US["kinesisShardHour"] * HOURS + 10 * MONTH_S / 1e6 * US["kinesisPutUnitsMillion"]
    assert cost.components() == {"raw": round(raw, 2), "board": 3.0, "app": 2.0, "lag": 0.1}
    assert list(cost.components()) == ["raw", "board", "app", "lag"]  # largest first
    total = round(raw + 3.0 + 2.0 + 0.1, 2)
    assert cost.monthly_usd == total
    per_million = round(total / (10 * MONTH_S / 1e6), 4)
    assert cost.per_million_events_usd == per_million
    document = cost.document()
    assert document == {
        "monthlyUsd": total,
        "components": cost.components(),
        "perMillionEventsUsd": per_million,
        "peakEventsPerSecond": 10.0,
        "region": "us-east-1",
        "resources": [
            {"urn": plan[2]["urn"], "monthlyUsd": 1.0, "detail": "customer-managed key"},
            {"urn": plan[3]["urn"], "monthlyUsd": 1.0, "detail": "customer-managed key"},
            {"urn": plan[4]["urn"], "monthlyUsd": 3.0, "detail": "dashboard"},
            {"urn": plan[5]["urn"], "monthlyUsd": 0.1, "detail": "standard alarm"},
            {"urn": plan[7]["urn"], "monthlyUsd": round(raw, 2), "detail": "3 shards + 26 M PUT units"},
        ],
        "unpriced": [],
        "usageOnly": [],
        "fallbackPrices": [],
    }


def test_a_zero_cost_item_is_left_out_of_the_document_and_no_peak_means_no_per_event_figure():
    cost = Estimate(
        region="eu-west-1", items=[Item("urn:a", "t", "a", "a", 0.0, "free"), Item("urn:b", "t", "b", "b", 1.234, "x")]
    )
    assert cost.per_million_events_usd is None
    assert cost.document()["resources"] == [{"urn": "urn:b", "monthlyUsd": 1.23, "detail": "x"}]
    assert cost.document()["perMillionEventsUsd"] is None
    assert cost.monthly_usd == 1.23


def test_component_is_the_top_component_under_the_stack():
    outer, inner = component("pipeline"), None
    inner = res("snowplow:pipeline:Inner", "enrich", parent=outer["urn"], custom=False)
    key = res("aws:kms/key:Key", "key", parent=inner["urn"])
    orphan = res("aws:kms/key:Key", "orphan", parent=None)
    dangling = res("aws:kms/key:Key", "dangling", parent="urn:pulumi:t::snowplow::x::gone")
    cost = priced([stack(), outer, inner, key, orphan, dangling])
    assert {name: item[0] for name, item in cost.items()} == {
        "key": "pipeline",
        "orphan": "orphan",
        "dangling": "dangling",
    }


# --- Prices and regions ----------------------------------------------------------------------------------------


TABLE = {
    "hoursPerMonth": 700,
    "fallbackRegion": "eu-west-1",
    "regions": {
        "eu-west-1": {"natHour": 0.1, "kmsKeyMonth": 2.0, "ec2Hour": {"t3a.small": 0.5}, "rdsHour": 7},
        "eu-central-1": {"natHour": 0.2, "ec2Hour": {"t3a.micro": 0.3}},
    },
}


def test_a_region_takes_its_own_prices_and_names_each_price_it_borrows_from_the_fallback_region():
    book = PriceBook(TABLE, "eu-central-1")
    assert book.hours == 700
    assert book.get("natHour") == 0.2
    assert book.get("ec2Hour", "t3a.micro") == 0.3
    assert book.fallbacks == set()
    assert book.get("kmsKeyMonth") == 2.0 and isinstance(book.get("kmsKeyMonth"), float)
    assert book.get("ec2Hour", "t3a.small") == 0.5
    assert book.get("rdsHour", "db.t4g.micro") is None  # not a table of classes
    assert book.get("ebsGp3GbMonth") is None
    assert book.fallbacks == {"kmsKeyMonth", "ec2Hour:t3a.small"}
    # the fallback region itself borrows nothing
    home = PriceBook(TABLE, "eu-west-1")
    assert home.get("kmsKeyMonth") == 2.0 and home.fallbacks == set()
    # an unknown region takes everything from the fallback region
    assert PriceBook(TABLE, "ap-south-1").get("natHour") == 0.1


def test_a_table_without_hours_or_fallback_region_uses_730_hours_and_us_east_1():
    table = {"regions": {"us-east-1": {"kmsKeyMonth": 1.5, "natHour": 0.01, "natGb": 0.0}, "eu-west-1": {}}}
    book = PriceBook(table, "eu-west-1")
    assert book.hours == 730
    assert book.get("kmsKeyMonth") == 1.5 and book.fallbacks == {"kmsKeyMonth"}
    cost = estimate([res("aws:ec2/natGateway:NatGateway", "nat")], "eu-west-1", table)
    assert cost.monthly_usd == round(0.01 * 730, 2)
    assert cost.fallback_prices == {"natHour", "natGb"}
    assert cost.document()["fallbackPrices"] == ["natGb", "natHour"]


def test_the_table_hours_price_every_hourly_resource():
    plan = [res("aws:ec2/natGateway:NatGateway", "nat"), res("aws:kms/key:Key", "key")]
    table = {**TABLE, "regions": {"eu-west-1": {**TABLE["regions"]["eu-west-1"], "natGb": 0.0}}}
    assert priced(plan, "eu-west-1", table) == {
        "nat": ("nat", 70.0, "730 h + 0 GB processed"),
        "key": ("key", 2.0, "customer-managed key"),
    }
    missing = estimate([res("aws:ec2/eip:Eip", "ip")], "eu-west-1", table)
    assert missing.unpriced == ["aws:ec2/eip:Eip (publicIpv4Hour not in the price table)"]


def test_the_region_is_the_one_most_arns_and_endpoint_names_give():
    plan = [
        res("aws:kms/alias:Alias", "a", {"targetKeyId": "arn:aws:kms:eu-west-1:123456789012:key/x"}),
        res("aws:ec2/vpcEndpoint:VpcEndpoint", "e", {"serviceName": "com.amazonaws.eu-central-1.kinesis-streams"}),
        res("aws:ec2/vpcEndpoint:VpcEndpoint", "f", {"serviceName": "com.amazonaws.eu-central-1.logs"}),
    ]
    assert region_of(plan) == "eu-central-1"
    gov = [res("aws:kms/alias:Alias", "a", {"targetKeyId": "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/x"})]
    assert region_of(gov) == "us-gov-west-1"
    assert region_of([res("aws:ec2/vpc:Vpc", "v", {"cidrBlock": "10.0.0.0/16"})]) == "us-east-1"
    assert region_of([], default="eu-north-1") == "eu-north-1"
    # a global ARN (IAM, S3) names no region
    assert region_of([res("aws:iam/role:Role", "r", {"arn": "arn:aws:iam::123456789012:role/x"})]) == "us-east-1"


# --- Reading the pack's values ---------------------------------------------------------------------------------


class Unknown(Exception):
    pass


class Proxy:
    """A read-only mapping like the pack's, whose `unknown` keys raise until deploy."""

    def __init__(self, values, unknown=()):
        self._values, self._unknown = values, set(unknown)

    def keys(self):
        return list(self._values) + sorted(self._unknown)

    def __getitem__(self, key):
        if key in self._unknown:
            raise Unknown(key)
        return self._values[key]


class ProxyList:
    def __init__(self, values, unknown=()):
        self._values, self._unknown = values, set(unknown)

    def __len__(self):
        return len(self._values)

    def __getitem__(self, index):
        if index in self._unknown:
            raise Unknown(index)
        return self._values[index]


def test_plain_copies_proxies_all_the_way_down_and_turns_unknowns_into_none():
    from collections.abc import Sequence

    Sequence.register(ProxyList)
    value = Proxy({"a": 1, "list": ProxyList([Proxy({"b": "x"}), 2, 3], unknown={1}), "s": "text"}, unknown={"later"})
    assert plain(value) == {"a": 1, "list": [{"b": "x"}, None, 3], "s": "text", "later": None}
    assert plain(("a", b"raw")) == ["a", b"raw"]
    assert plain("text") == "text" and plain(3) == 3


def test_tags_are_read_from_maps_and_from_asg_tag_lists():
    assert tag_map({"Name": "x"}) == {"Name": "x"}
    listed = [{"key": "Name", "value": "x", "propagateAtLaunch": True}, "odd", {"key": "env", "value": "dev"}]
    assert tag_map(listed) == {"Name": "x", "env": "dev"}
    assert tag_map("Name=x") == {} and tag_map(None) == {}


def test_templates_are_matched_within_their_component_first():
    # two components with an unnamed template and group each, and a top-level group found by its Name tag
    plan = [stack()]
    for name, instance_type in (("enrich", "t3a.small"), ("loader", "c6i.large")):
        parent = component(name)
        plan += [
            parent,
            res("aws:ec2/launchTemplate:LaunchTemplate", f"{name}-lt", {"instanceType": instance_type}, parent["urn"]),
            res("aws:autoscaling/group:Group", f"{name}-asg", {"minSize": 1}, parent["urn"]),
        ]
    named = {"tags": {"Name": "t-iglu"}}
    plan += [
        res("aws:ec2/launchTemplate:LaunchTemplate", "iglu-lt", {"instanceType": "t4g.micro", **named}, parent=None),
        res("aws:autoscaling/group:Group", "iglu-asg", {"minSize": 1, **named}, parent=None),
    ]
    cost = priced(plan)
    assert {name: item[2] for name, item in cost.items()} == {
        "enrich-asg": "1 x t3a.small + 0 GB gp3 each",
        "loader-asg": "1 x c6i.large + 0 GB gp3 each",
        "iglu-asg": "1 x t4g.micro + 0 GB gp3 each",
    }


def test_unpriced_sizes_name_the_missing_price():
    plan = [
        res("aws:rds/instance:Instance", "db", {}),
        res("aws:opensearch/domain:Domain", "search", {}),
        res("aws:rds/instance:Instance", "big-db", {"instanceClass": "db.x9.huge"}),
    ]
    assert estimate(plan, "us-east-1").unpriced == [
        "aws:rds/instance:Instance (rdsHour not in the price table)",
        "aws:opensearch/domain:Domain (opensearchHour not in the price table)",
        "aws:rds/instance:Instance (rdsHour:db.x9.huge not in the price table)",
    ]


def test_odd_entries_do_not_stop_the_estimate():
    # a stack entry without the custom flag, an endpoint without a service name, a gateway endpoint before others
    plan = [
        {"urn": STACK, "type": "pulumi:pulumi:Stack", "name": "snowplow-t", "parent": None, "props": {}},
        res("aws:ec2/vpcEndpoint:VpcEndpoint", "s3", {"vpcEndpointType": "Gateway"}),
        res("aws:ec2/vpcEndpoint:VpcEndpoint", "nameless", {"vpcEndpointType": "Interface"}),
        res("aws:kms/key:Key", "key"),
    ]
    cost = estimate(plan, "us-east-1")
    assert cost.unpriced == []
    assert items(cost) == {
        "nameless": ("nameless", round(US["endpointAzHour"] * HOURS, 2), "1 AZ x 730 h + 0 GB"),
        "key": ("key", 1.0, "customer-managed key"),
    }


def test_a_stream_without_a_physical_name_is_known_by_its_resource_name():
    unnamed = stream("raw", records=100, size=100 * 500)
    del unnamed["props"]["name"]
    usd = US["kinesisShardHour"] * HOURS + 100 * MONTH_S / 1e6 * US["kinesisPutUnitsMillion"]
    assert priced([unnamed]) == {"raw": ("raw", round(usd, 2), "1 shards + 263 M PUT units")}


def test_retention_beyond_a_day_is_charged_from_the_first_extra_hour():
    provisioned = stream("raw", shardCount=1, retentionPeriod=25)
    shard_hour = US["kinesisShardHour"] + US["kinesisExtendedRetentionShardHour"]
    assert priced([provisioned])["raw"][1] == round(shard_hour * HOURS, 2)
    on_demand = {"streamModeDetails": {"streamMode": "ON_DEMAND"}, "shardCount": None}
    for retention in (None, 24):
        (item,) = estimate(
            [stream("raw", records=1, size=10_000_000, retentionPeriod=retention, **on_demand)], "x"
        ).items
        gb_in, gb_out = 10_000_000 * MONTH_S / 1e9, 10_000_000 * MONTH_S / 1e9
        expected = (
            US["kinesisOnDemandStreamHour"] * HOURS
            + gb_in * US["kinesisOnDemandGbIn"]
            + gb_out * US["kinesisOnDemandGbOut"]
        )
        assert item.monthly_usd == pytest.approx(expected)


def test_region_of_inputs_that_are_not_json():
    plan = [res("aws:kms/alias:Alias", "a", {"targetKeyId": "arn:aws:kms:eu-west-1:1:key/x", "when": object()})]
    assert region_of(plan) == "eu-west-1"


def test_a_fallback_region_missing_from_the_table_gives_no_price():
    book = PriceBook({"fallbackRegion": "us-east-1", "regions": {"eu-west-1": {"natHour": 0.1}}}, "eu-west-1")
    assert book.get("natHour") == 0.1 and book.get("kmsKeyMonth") is None
