"""Cost estimate: a small plan priced against hand-computed numbers, new resource types, the price refresh
(botocore Stubber, no network) and the plan's `cost` document from `make preview`."""

import datetime
import json

import boto3
import pytest
from botocore.stub import ANY, Stubber

from offline.cost import cost_lines, plan_cost, refresh
from offline.preview import main as preview_main
from policies.snowplow_cost import estimate, load_prices, region_of

STACK = "urn:pulumi:t::snowplow::pulumi:pulumi:Stack::snowplow-t"
TAGS = {"project": "snowplow"}


def res(type_, name, props=None, parent=None, custom=True):
    return {
        "urn": f"urn:pulumi:t::snowplow::{type_}::{name}",
        "type": type_,
        "name": name,
        "parent": parent or STACK,
        "custom": custom,
        "props": props or {},
    }


def small_plan():
    """Stack -> component 'app' (an ASG of 2 x t3a.small reading the stream), a stream, a NAT and a key."""
    app = res("snowplow:pipeline:App", "app", custom=False)
    return [
        {**res("pulumi:pulumi:Stack", "snowplow-t", custom=False), "urn": STACK, "parent": None},
        app,
        res(
            "aws:ec2/launchTemplate:LaunchTemplate",
            "app-lt",
            {"instanceType": "t3a.small", "blockDeviceMappings": [{"ebs": {"volumeSize": 20}}]},
            app["urn"],
        ),
        res(
            "aws:autoscaling/group:Group",
            "app-asg",
            {
                "minSize": 2,
                "maxSize": 4,
                "tags": [
                    {"key": "snowplow:kcl-app", "value": "t-app"},
                    {"key": "snowplow:input-stream", "value": "t-raw"},
                ],
            },
            app["urn"],
        ),
        res(
            "aws:kinesis/stream:Stream",
            "raw",
            {
                "name": "t-raw",
                "shardCount": 1,
                "retentionPeriod": 24,
                "streamModeDetails": {"streamMode": "PROVISIONED"},
                "tags": {
                    "snowplow:peak-events-per-second": "100",
                    "snowplow:peak-records-per-second": "100",
                    "snowplow:peak-bytes-per-second": "100000",
                },
            },
        ),
        res("aws:ec2/natGateway:NatGateway", "nat"),
        res("aws:kms/key:Key", "key", {"tags": TAGS}),
        res("aws:ec2/vpc:Vpc", "vpc"),
        res("aws:made/up:Thing", "mystery"),
    ]


def test_small_plan_against_hand_computed_numbers():
    cost = estimate(small_plan(), "us-east-1")
    month = 730 * 3600
    instances = 2 * (0.0188 * 730 + 20 * 0.08)  # 30.648
    kinesis_gb = 100_000 * 2 * month / 1e9  # written once, read once: 525.6 GB
    nat = 0.045 * 730 + (kinesis_gb + 2 * 2.0) * 0.045  # hours + Kinesis and 2 GB per instance through NAT
    stream = 0.015 * 730 + 100 * month / 1e6 * 0.014  # 1 shard + 262.8 M PUT units
    expected = instances + nat + stream + 1.0
    assert cost.monthly_usd == pytest.approx(expected, abs=0.01)
    assert expected == pytest.approx(102.96, abs=0.01)
    assert cost.components() == {
        "nat": round(nat, 2),
        "app": round(instances, 2),
        "raw": round(stream, 2),
        "key": 1.0,
    }
    assert cost.per_million_events_usd == pytest.approx(expected / (100 * month / 1e6), abs=1e-4)
    assert cost.unpriced == ["aws:made/up:Thing"]
    assert not cost.fallback_prices


def test_interface_endpoint_takes_the_kinesis_bytes_off_the_nat():
    plan = small_plan() + [
        res(
            "aws:ec2/vpcEndpoint:VpcEndpoint",
            "kinesis",
            {
                "vpcEndpointType": "Interface",
                "serviceName": "com.amazonaws.us-east-1.kinesis-streams",
                "subnetIds": ["a", "b"],
            },
        )
    ]
    components = estimate(plan, "us-east-1").components()
    assert components["nat"] == round(0.045 * 730 + 4 * 0.045, 2)
    assert components["kinesis"] == round(2 * 0.01 * 730 + 525.6 * 0.01, 2)


def test_missing_regional_prices_fall_back_and_are_listed():
    cost = estimate(small_plan(), "eu-west-1")
    assert "kinesisShardHour" in cost.fallback_prices
    assert "natHour" not in cost.fallback_prices  # eu-west-1 has its own NAT price
    assert cost.components()["nat"] == round(0.048 * 730 + (525.6 + 4) * 0.048, 2)


def test_destination_types_are_priced():
    schedule_parent = res("snowplow:pipeline:Job", "job", custom=False)
    plan = [
        res(
            "aws:redshiftserverless/workgroup:Workgroup",
            "rs",
            {"baseCapacity": 8, "tags": {"snowplow:active-hours-per-month": "100"}},
        ),
        res(
            "aws:opensearch/domain:Domain",
            "search",
            {
                "clusterConfig": {"instanceType": "t3.small.search", "instanceCount": 2},
                "ebsOptions": {"volumeSize": 10},
            },
        ),
        schedule_parent,
        res("aws:ecs/taskDefinition:TaskDefinition", "task", {"cpu": "256", "memory": "512"}, schedule_parent["urn"]),
        res(
            "aws:scheduler/schedule:Schedule", "hourly", {"scheduleExpression": "rate(1 hour)"}, schedule_parent["urn"]
        ),
        res("aws:cloudwatch/metricAlarm:MetricAlarm", "lag"),
        res("aws:cloudwatch/dashboard:Dashboard", "board"),
        res("aws:sqs/queue:Queue", "queue"),
        res("aws:glue/catalogTable:CatalogTable", "events"),
    ]
    costs = {item.name: round(item.monthly_usd, 4) for item in estimate(plan, "us-east-1").items}
    assert costs["rs"] == 8 * 100 * 0.375
    assert costs["search"] == round(2 * (0.036 * 730 + 10 * 0.122), 4)
    assert costs["task"] == round(730 * 10 / 60 * (0.25 * 0.04048 + 0.5 * 0.004445), 4)
    assert costs["lag"] == 0.10 and costs["board"] == 3.0
    cost = estimate(plan, "us-east-1")
    assert cost.usage_only == ["aws:sqs/queue:Queue"] and cost.unpriced == []


def test_region_is_read_from_arns():
    plan = [res("aws:kms/alias:Alias", "a", {"targetKeyId": "arn:aws:kms:eu-west-1:123456789012:key/x"})]
    assert region_of(plan) == "eu-west-1"
    assert region_of([res("aws:ec2/vpc:Vpc", "v")]) == "us-east-1"


def test_refresh_reads_instance_prices_from_the_price_list_api():
    client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    table = load_prices()
    table["regions"]["us-east-1"]["ec2Hour"] = {"t3a.micro": 0.0094}
    table["regions"]["us-east-1"]["rdsHour"] = {"db.t4g.micro": 0.016}

    def product(usd):
        terms = {"OnDemand": {"A": {"priceDimensions": {"B": {"unit": "Hrs", "pricePerUnit": {"USD": usd}}}}}}
        return json.dumps({"product": {}, "terms": terms})

    with Stubber(client) as stub:
        stub.add_response(
            "get_products",
            {"PriceList": [product("0.0111"), product("0.0000")], "FormatVersion": "aws_v1"},
            {"ServiceCode": "AmazonEC2", "Filters": ANY, "MaxResults": 10},
        )
        stub.add_response(
            "get_products",
            {"PriceList": [product("0.0180")], "FormatVersion": "aws_v1"},
            {"ServiceCode": "AmazonRDS", "Filters": ANY, "MaxResults": 10},
        )
        updated = refresh(table, ["eu-west-1"], client=client, today=datetime.date(2026, 11, 29))
        stub.assert_no_pending_responses()
    assert updated["regions"]["eu-west-1"]["ec2Hour"]["t3a.micro"] == 0.0111
    assert updated["regions"]["eu-west-1"]["rdsHour"] == {"db.t4g.micro": 0.018}
    assert updated["date"] == "2026-11-29"


def test_preview_prints_the_cost_and_writes_it_to_the_plan(tmp_path, capsys):
    plan = tmp_path / "plan.json"
    assert preview_main(["--stack", "dev", "--json", str(plan), "--no-policy"]) == 0
    cost = json.loads(plan.read_text())["cost"]
    assert cost["monthlyUsd"] > 0 and cost["peakEventsPerSecond"] == 100
    assert set(cost["components"]) >= {"network", "streams", "collector", "enrich"}
    assert cost["monthlyUsd"] == pytest.approx(sum(cost["components"].values()), abs=0.05)
    out = capsys.readouterr().out
    assert cost_lines(cost)[0] in out


def test_plan_cost_reads_inputs():
    plan = [
        {
            "urn": r["urn"],
            "type": r["type"],
            "name": r["name"],
            "parent": r["parent"],
            "custom": r["custom"],
            "inputs": r["props"],
        }
        for r in small_plan()
    ]
    assert plan_cost(plan, "us-east-1")["monthlyUsd"] == estimate(small_plan(), "us-east-1").monthly_usd


def test_on_demand_stream_prices_data_in_out_and_extended_retention():
    (stream,) = [r for r in small_plan() if r["name"] == "raw"]
    stream["props"] |= {"streamModeDetails": {"streamMode": "ON_DEMAND"}, "shardCount": None, "retentionPeriod": 48}
    (item,) = [i for i in estimate([stream], "us-east-1").items]
    month = 730 * 3600
    gb_in = 100 * 1024 * month / 1e9  # 1,000-byte records are billed as 1 KiB
    gb_out = 100_000 * month / 1e9  # no reader tagged: one assumed
    kept = 100_000 * 24 * 3600 / 1e9  # 24 h beyond the included day
    expected = 0.04 * 730 + gb_in * 0.08 + gb_out * 0.04 + kept * 0.10
    assert item.monthly_usd == pytest.approx(expected)


def test_a_schedule_is_matched_to_its_task_by_family_without_components():
    task = res(
        "aws:ecs/taskDefinition:TaskDefinition", "task", {"family": "snowplow-t-dbt", "cpu": "1024", "memory": "2048"}
    )
    target = {
        "ecsParameters": {"taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/snowplow-t-dbt"}
    }
    nightly = res(
        "aws:scheduler/schedule:Schedule", "nightly", {"scheduleExpression": "cron(0 2 * * ? *)", "target": target}
    )
    other = res("aws:scheduler/schedule:Schedule", "other", {"scheduleExpression": "rate(5 minutes)"})
    (item,) = estimate([task, nightly, other], "us-east-1").items
    assert item.monthly_usd == pytest.approx(730 / 24 * 10 / 60 * (1 * 0.04048 + 2 * 0.004445))
