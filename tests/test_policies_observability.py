"""Monitoring rules: a read Kinesis stream has an iterator-age alarm that notifies someone, early enough; every
metric alarm has actions."""

from tests.policy_helpers import (
    DEV_CONFIG,
    PROD_CONFIG,
    STACK,
    TAGS,
    assert_passes,
    assert_violates,
    findings,
    good_asg,
    good_iterator_age_alarm,
    good_stream,
    pack,  # noqa: F401  (session fixture)
    resource,
    run,
)

AGE_RULE = "kinesis-stream-require-iterator-age-alarm"
ACTIONS_RULE = "cloudwatch-metric-alarm-require-actions"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
RAW = f"snowplow-{STACK}-raw"  # good_stream("raw") names the stream this; its retention is 168h
HOUR_MS = 3_600_000
TOPIC_ARN = f"arn:aws:sns:eu-west-1:111122223333:snowplow-{STACK}-alarms"


def reader(stream=RAW):
    return good_asg("enrich-asg", kcl_app="enrich", stream=stream)


def age_alarm(name="raw-age", stream=RAW, threshold=0.25 * 168 * HOUR_MS, **inputs):
    return good_iterator_age_alarm(stream, name, threshold, **inputs)


def test_read_stream_without_alarm_is_flagged_on_the_stream(pack):
    stream = good_stream()
    found = assert_violates(pack, AGE_RULE, [stream, reader()], urn=stream["urn"], contains="enrich-asg")
    assert "StreamName: " + RAW in found[0]["message"]


def test_stream_with_an_early_alarm_passes_in_both_environments(pack):
    for config in (DEV_CONFIG, PROD_CONFIG):
        assert_passes(pack, AGE_RULE, [good_stream(), reader(), age_alarm()], config=config)


def test_unread_stream_needs_no_alarm(pack):
    assert_passes(pack, AGE_RULE, [good_stream()], config=PROD_CONFIG)


def test_alarm_too_close_to_retention_is_flagged(pack):
    late = age_alarm(threshold=0.9 * 168 * HOUR_MS)
    assert_violates(pack, AGE_RULE, [good_stream(), reader(), late], contains="above 50%")


def test_alarm_that_notifies_nobody_does_not_count_and_is_itself_flagged(pack):
    silent = age_alarm(alarmActions=[])
    assert_violates(pack, AGE_RULE, [good_stream(), reader(), silent], contains="no alarm that notifies")
    assert_violates(pack, ACTIONS_RULE, [silent], urn=silent["urn"], contains="notifies nobody")
    disabled = age_alarm(actionsEnabled=False)
    assert_violates(pack, ACTIONS_RULE, [disabled], urn=disabled["urn"])


def test_metric_math_alarm_on_the_stream_counts(pack):
    math = resource(
        ALARM,
        "raw-age-math",
        {
            "metricQueries": [
                {"id": "signal", "expression": "age / 1000", "returnData": True},
                {
                    "id": "age",
                    "metric": {
                        "namespace": "AWS/Kinesis",
                        "metricName": "GetRecords.IteratorAgeMilliseconds",
                        "dimensions": {"StreamName": RAW},
                        "period": 300,
                        "stat": "Maximum",
                    },
                },
            ],
            "comparisonOperator": "GreaterThanThreshold",
            "threshold": 3600,
            "evaluationPeriods": 1,
            "alarmActions": [TOPIC_ARN],
            "tags": TAGS,
        },
    )
    assert_passes(pack, AGE_RULE, [good_stream(), reader(), math], config=PROD_CONFIG)


def test_lambda_and_firehose_readers_count(pack):
    arn = f"arn:aws:kinesis:eu-west-1:111122223333:stream/{RAW}"
    mapping = resource("aws:lambda/eventSourceMapping:EventSourceMapping", "fn-reads-raw", {"eventSourceArn": arn})
    firehose = resource(
        "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream",
        "raw-to-s3",
        {"destination": "extended_s3", "kinesisSourceConfiguration": {"kinesisStreamArn": arn}, "tags": TAGS},
    )
    for consumer in (mapping, firehose):
        assert_violates(pack, AGE_RULE, [good_stream(), consumer], contains=consumer["name"])
        assert_passes(pack, AGE_RULE, [good_stream(), consumer, age_alarm()])


def test_levels_advisory_in_dev_and_mandatory_in_prod(pack):
    resources = [good_stream(), reader()]
    dev = findings(run(pack, resources, DEV_CONFIG), AGE_RULE)
    prod = findings(run(pack, resources, PROD_CONFIG), AGE_RULE)
    assert [v["enforcementLevel"] for v in dev] == ["advisory"]
    assert [v["enforcementLevel"] for v in prod] == ["mandatory"]
