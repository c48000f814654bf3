"""Alarms, their topic and the dashboard in whole stacks: every alarm watches a resource of the same plan, the
thresholds follow the config, and the dashboard follows the data path."""

import html
import json
import shutil

import pytest

from offline.engine import StackFile, run_program
from stack_config import ConfigError
from tests.conftest import ROOT, of_type

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
HOUR_MS = 3_600_000
PLANS = {"prod": ROOT / "Pulumi.prod.yaml", "full": ROOT / "tests" / "stacks" / "Pulumi.full.yaml"}


@pytest.fixture(scope="module", params=sorted(PLANS))
def plan(request):
    return request.param, run_program(StackFile.read(PLANS[request.param]))


def alarms(run) -> dict[str, dict]:
    prefix = f"snowplow-{run.stack}-"
    return {r["inputs"]["name"].removeprefix(prefix): r["inputs"] for r in of_type(run, ALARM)}


def metric_dimensions(alarm: dict) -> list[dict]:
    if "metricQueries" in alarm:
        return [q["metric"]["dimensions"] for q in alarm["metricQueries"] if "metric" in q]
    return [alarm["dimensions"]]


def test_the_alarms_cover_the_data_path(plan):
    name, run = plan
    expected = {
        "raw-iterator-age",
        "enriched-iterator-age",
        "bad1-iterator-age",
        "bad1-incoming",
        "bad2-incoming",
        "collector-5xx-rate",
        "collector-p99-latency",
        "collector-unhealthy-hosts",
        "lake-freshness",
        "iglu-server-5xx-rate",
        "iglu-server-unhealthy-hosts",
        *(f"{app}-instances-in-service" for app in ("collector", "enrich", "s3-loader-enriched", "s3-loader-bad")),
        *(f"{app}-lease-throttles" for app in ("enrich", "s3-loader-enriched", "s3-loader-bad")),
        "iglu-server-instances-in-service",
        "iglu-db-free-storage",
    }
    if name == "full":
        expected |= {
            "postgres-loader-instances-in-service",
            "postgres-loader-lease-throttles",
            "events-db-free-storage",
            "redshift-transformer-iterator-age",
            "redshift-oldest-window",
            "redshift-transformer-not-running",
            "redshift-loader-not-running",
            "snowflake-loader-iterator-age",
            "snowflake-loader-in-service",
            "databricks-loader-in-service",
            "modeling-schedule-target-errors",
            "modeling-schedule-invocations-dropped",
            "modeling-run-failed",
            "modeling-no-successful-run",
        }
    assert set(alarms(run)) == expected


def test_every_alarm_watches_a_resource_of_the_plan(plan):
    _, run = plan
    inputs = lambda token, key: {r["inputs"].get(key) for r in of_type(run, token)}  # noqa: E731
    known = {
        "StreamName": inputs("aws:kinesis/stream:Stream", "name"),
        "AutoScalingGroupName": inputs("aws:autoscaling/group:Group", "name"),
        "TableName": inputs("aws:dynamodb/table:Table", "name"),
        "BucketName": inputs("aws:s3/bucket:Bucket", "bucket"),
        "FilterId": inputs("aws:s3/bucketMetric:BucketMetric", "name"),
        "DBInstanceIdentifier": inputs("aws:rds/instance:Instance", "identifier"),
        # ALB metrics name a load balancer by app/<name>/<id> and a target group by targetgroup/<name>/<id>
        "LoadBalancer": {f"app/{n}" for n in inputs("aws:lb/loadBalancer:LoadBalancer", "name")},
        "TargetGroup": {f"targetgroup/{n}" for n in inputs("aws:lb/targetGroup:TargetGroup", "name")},
        "QueueName": inputs("aws:sqs/queue:Queue", "name"),
        "ScheduleGroup": inputs("aws:scheduler/scheduleGroup:ScheduleGroup", "name"),
    }
    # Metrics the stack's own log metric filters publish have no dimensions; their namespace is the stack's.
    filters = of_type(run, "aws:cloudwatch/logMetricFilter:LogMetricFilter")
    from_logs = {
        (f["inputs"]["metricTransformation"]["namespace"], f["inputs"]["metricTransformation"]["name"]) for f in filters
    }
    for alarm_name, alarm in alarms(run).items():
        for dimensions in metric_dimensions(alarm):
            if (alarm.get("namespace"), alarm.get("metricName")) in from_logs:
                continue
            assert dimensions, alarm_name
            for key, value in dimensions.items():
                if key in ("LoadBalancer", "TargetGroup"):
                    value = value.rsplit("/", 1)[0]
                assert value in known[key], (alarm_name, key, value)


def test_alarms_notify_the_encrypted_topic_and_say_what_to_do(plan):
    _, run = plan
    (topic,) = of_type(run, TOPIC)
    key_arn = run.outputs["kms_key_arn"]
    assert topic["inputs"]["kmsMasterKeyId"] == key_arn
    topic_arn = run.outputs["alarm_topic_arn"]
    for name, alarm in alarms(run).items():
        assert alarm["alarmActions"] == [topic_arn] == alarm["okActions"], name
        assert 100 < len(alarm["alarmDescription"]) <= 1024, name
    subscriptions = of_type(run, "aws:sns/topicSubscription:TopicSubscription")
    assert len(subscriptions) == (2 if run.stack == "full" else 0)
    assert all(s["inputs"]["topic"] == topic_arn for s in subscriptions)
    (policy,) = of_type(run, "aws:sns/topicPolicy:TopicPolicy")
    (statement,) = json.loads(policy["inputs"]["policy"])["Statement"]
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"].endswith(f":alarm:snowplow-{run.stack}-*")
    (key,) = of_type(run, "aws:kms/key:Key")
    sids = {s["Sid"]: s for s in json.loads(key["inputs"]["policy"])["Statement"]}
    assert sids["CloudWatchAlarmsPublishToEncryptedTopic"]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}


def test_thresholds_follow_retention_and_sizes(plan):
    _, run = plan
    found = alarms(run)
    retention = 168  # both stacks keep records a week
    for stream in ("raw", "enriched", "bad1"):
        age = found[f"{stream}-iterator-age"]
        assert age["threshold"] == 0.25 * retention * HOUR_MS
        assert age["treatMissingData"] == "breaching"  # nobody reading is the worst case
    assert found["bad2-incoming"]["threshold"] == 0
    assert found["bad1-incoming"]["threshold"] == 100
    assert found["collector-p99-latency"]["extendedStatistic"] == "p99"
    assert found["collector-p99-latency"]["threshold"] == (0.5 if run.stack == "full" else 1.0)
    groups = {r["inputs"]["name"]: r["inputs"]["minSize"] for r in of_type(run, "aws:autoscaling/group:Group")}
    for name, alarm in found.items():
        if name.endswith("instances-in-service"):
            assert alarm["threshold"] == groups[alarm["dimensions"]["AutoScalingGroupName"]]
            assert alarm["comparisonOperator"] == "LessThanThreshold"
    fresh = found["lake-freshness"]
    assert fresh["evaluationPeriods"] * fresh["period"] == 30 * 60 and fresh["treatMissingData"] == "breaching"
    (metric,) = of_type(run, "aws:s3/bucketMetric:BucketMetric")
    assert metric["inputs"]["filter"] == {"prefix": "enriched/"}


def test_dashboard_follows_the_data_path(plan):
    name, run = plan
    (dashboard,) = of_type(run, "aws:cloudwatch/dashboard:Dashboard")
    body = json.loads(dashboard["inputs"]["dashboardBody"])
    titles = [w["properties"]["markdown"].removeprefix("## ") for w in body["widgets"] if w["type"] == "text"]
    expected = ["Collector", "Streams", "Enrich", "Lake loaders"]
    if name == "full":
        expected += ["Destination: PostgreSQL", "Destination: Redshift", "Destination: Snowflake"]
        expected += ["Destination: Databricks", "Data modeling"]
    assert titles == [*expected, "Schema registry: Iglu Server"]
    charts = [w for w in body["widgets"] if w["type"] == "metric"]
    assert {w["properties"]["title"] for w in charts} >= set(alarms(run))
    for chart in charts:  # the grid never overlaps
        assert chart["x"] + chart["width"] <= 24
    cells = [(w["x"], w["y"]) for w in body["widgets"]]
    assert len(cells) == len(set(cells))
    assert dashboard["inputs"]["dashboardName"] == run.outputs["dashboard_name"] == f"snowplow-{run.stack}-pipeline"


def test_subscriptions_and_thresholds_come_from_config(preview):
    run = preview(
        {
            "snowplow:observability": {
                "alarmEmails": ["oncall@example.com"],
                "alarmHttpsEndpoints": ["https://events.example.com/hook"],
                "thresholds": {"iteratorAgeRetentionPercent": 10, "lakeFreshnessMinutes": 60},
            }
        }
    )
    subscriptions = {
        (r["inputs"]["protocol"], r["inputs"]["endpoint"])
        for r in of_type(run, "aws:sns/topicSubscription:TopicSubscription")
    }
    assert subscriptions == {("email", "oncall@example.com"), ("https", "https://events.example.com/hook")}
    by_name = {r["inputs"]["name"].removeprefix("snowplow-test-"): r["inputs"] for r in of_type(run, ALARM)}
    assert by_name["raw-iterator-age"]["threshold"] == pytest.approx(0.10 * 24 * HOUR_MS)  # dev keeps 24h
    assert by_name["lake-freshness"]["evaluationPeriods"] == 12
    assert by_name["bad1-incoming"]["threshold"] == 1000  # dev default


@pytest.mark.parametrize(
    "observability, message",
    [
        ({"alarmEmails": ["oncall.example.com"]}, "snowplow:observability.alarmEmails[0]: must be an email address"),
        (
            {"alarmHttpsEndpoints": ["http://hooks.example.com"]},
            "snowplow:observability.alarmHttpsEndpoints[0]: must be an https:// URL",
        ),
        (
            {"thresholds": {"iteratorAgeRetentionPercent": 80}},
            "snowplow:observability.thresholds.iteratorAgeRetentionPercent",
        ),
        (
            {"thresholds": {"lakeFreshnessMinutes": 12}},
            "snowplow:observability.thresholds.lakeFreshnessMinutes: must be a multiple of 5",
        ),
        (
            {
                "thresholds": {"lakeFreshnessMinutes": 15},
                "loaders": {"enriched": {"batching": {"maxDelaySeconds": 600}}},
            },
            "less than twice snowplow:loaders.enriched.batching.maxDelaySeconds",
        ),
        ({"alarmEmails": ["a@example.com", "a@example.com"]}, "lists 'a@example.com' twice"),
        ({"alarms": {}}, "snowplow:observability.alarms"),
    ],
)
def test_invalid_observability_config_names_the_key(preview, observability, message):
    with pytest.raises(ConfigError) as error:
        loaders = observability.pop("loaders", None)
        preview({"snowplow:observability": observability, **({"snowplow:loaders": loaders} if loaders else {})})
    assert message in str(error.value)


def test_diagram_draws_the_data_path_from_the_plan(plan, tmp_path):
    from offline import diagram

    name, run = plan
    arch = diagram.describe(run)
    label = {node: text.split("\n")[0] for nodes in arch.components.values() for node, text, _ in nodes}
    label["trackers"] = "trackers"
    edges = {(label[a], label[b]): text for (a, b), text in arch.edges.items()}
    p = f"snowplow-{run.stack}-"
    path = [
        ("trackers", f"{p}collector"),
        (f"{p}collector", f"{p}collector"),  # load balancer -> group
        (f"{p}collector", f"{p}raw"),
        (f"{p}collector", f"{p}bad-1"),
        (f"{p}raw", f"{p}enrich"),
        (f"{p}enrich", f"{p}enriched"),
        (f"{p}enriched", f"{p}s3-loader-enriched"),
        (f"{p}bad-1", f"{p}s3-loader-bad"),
        (f"{p}s3-loader-enriched", f"{p}lake-123456789012"),
        (f"{p}s3-loader-bad", f"{p}bad-2"),
    ]
    if name == "full":
        path += [(f"{p}enriched", f"{p}postgres-loader"), (f"{p}postgres-loader", f"{p}events-db")]
    assert set(path) <= set(edges), sorted(set(path) - set(edges))
    assert edges[(f"{p}s3-loader-enriched", f"{p}lake-123456789012")] == "enriched/"
    if shutil.which("dot"):
        (svg,) = diagram.write(diagram.to_graph(arch), tmp_path / "arch", ["svg"])
        assert f"{p}enriched" in html.unescape(svg.read_text())
