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


# --- What the monitoring messages tell the user, and which alarms count --------------------------------------

ARN = f"arn:aws:kinesis:eu-west-1:111122223333:stream/{RAW}"


def messages(pack, policy, resources, config=None) -> list:
    """(urn, message) of the rule's findings, each message without the policy description printed above it."""
    return sorted((v["urn"], v["message"].split("\n", 1)[-1]) for v in findings(run(pack, resources, config), policy))


def missing(stream, readers):
    return (
        stream["urn"],
        f"Kinesis stream '{RAW}' is read by {readers} but no alarm that notifies anyone watches its "
        "GetRecords.IteratorAgeMilliseconds: a reader that falls behind loses records once they outlive the "
        f"retention. Add an aws.cloudwatch.MetricAlarm on namespace AWS/Kinesis, that metric, dimensions "
        f"{{StreamName: {RAW}}}, with alarm_actions (e.g. an SNS topic).",
    )


def test_missing_alarm_message_lists_every_reader_and_the_alarm_to_add(pack):
    stream = good_stream()
    mapping = resource("aws:lambda/eventSourceMapping:EventSourceMapping", "fn-reads-raw", {"eventSourceArn": ARN})
    loader = good_asg("loader-asg", kcl_app="loader", stream=RAW)
    assert messages(pack, AGE_RULE, [stream, reader(), mapping, loader]) == [
        missing(stream, "enrich-asg, fn-reads-raw, loader-asg")
    ]


def test_only_an_alarm_on_this_streams_iterator_age_counts(pack):
    stream = good_stream()
    expected = [missing(stream, "enrich-asg")]
    other_stream = age_alarm(stream=f"snowplow-{STACK}-enriched")
    other_metric = age_alarm(metricName="GetRecords.Bytes")
    other_namespace = age_alarm(namespace="AWS/Firehose")
    no_stream = age_alarm(dimensions={"ConsumerName": RAW})
    for alarm in (other_stream, other_metric, other_namespace, no_stream):
        assert messages(pack, AGE_RULE, [stream, reader(), alarm]) == expected, alarm["inputs"]
    disabled = age_alarm(actionsEnabled=False)
    assert messages(pack, AGE_RULE, [stream, reader(), disabled]) == expected
    # actions known only at deploy time are given the benefit of the doubt
    from tests.policy_helpers import UNKNOWN_ARRAY

    assert messages(pack, AGE_RULE, [stream, reader(), age_alarm(alarmActions=UNKNOWN_ARRAY)]) == []


def test_an_expression_query_without_a_metric_does_not_count(pack):
    stream = good_stream()
    expression_only = resource(
        ALARM,
        "raw-age-expr",
        {
            "metricQueries": [{"id": "e", "expression": "SEARCH('IteratorAge', 'Maximum', 300)", "returnData": True}],
            "threshold": 1,
            "alarmActions": [TOPIC_ARN],
        },
    )
    assert messages(pack, AGE_RULE, [stream, reader(), expression_only]) == [missing(stream, "enrich-asg")]


def test_late_threshold_message_gives_the_threshold_the_retention_and_the_limit(pack):
    stream = good_stream(retentionPeriod=48)
    late = age_alarm(threshold=30 * HOUR_MS)
    assert messages(pack, AGE_RULE, [stream, reader(), late]) == [
        (
            stream["urn"],
            f"Kinesis stream '{RAW}' has an iterator-age alarm, but its threshold (1.08e+08 ms) is above 50% of the "
            "stream's 48h retention (8.64e+07 ms): it would warn too close to losing records. Set the alarm's "
            "threshold to at most 8.64e+07.",
        )
    ]
    # exactly half the retention is early enough; one early alarm among late ones is enough
    assert messages(pack, AGE_RULE, [stream, reader(), age_alarm(threshold=24 * HOUR_MS)]) == []
    early = age_alarm("raw-age-early", threshold=HOUR_MS)
    assert messages(pack, AGE_RULE, [stream, reader(), late, early]) == []


def test_retention_defaults_to_a_day_and_the_share_comes_from_config(pack):
    stream = good_stream(retentionPeriod=None)
    (found,) = messages(pack, AGE_RULE, [stream, reader(), age_alarm(threshold=13 * HOUR_MS)])
    assert "above 50% of the stream's 24h retention (4.32e+07 ms)" in found[1]
    assert messages(pack, AGE_RULE, [stream, reader(), age_alarm(threshold=12 * HOUR_MS)]) == []
    config = {AGE_RULE: {"maxRetentionPercent": 25}}
    (found,) = messages(pack, AGE_RULE, [stream, reader(), age_alarm(threshold=12 * HOUR_MS)], config)
    assert "above 25% of the stream's 24h retention (2.16e+07 ms)" in found[1]


def test_a_threshold_unknown_until_deploy_is_not_judged(pack):
    from tests.policy_helpers import UNKNOWN_NUMBER

    assert messages(pack, AGE_RULE, [good_stream(), reader(), age_alarm(threshold=UNKNOWN_NUMBER)]) == []


def test_a_stream_read_here_but_owned_by_another_stack_is_not_judged(pack):
    assert messages(pack, AGE_RULE, [reader(stream="snowplow-other-raw")]) == []
    # a reader tagged with something that is not a stream name, and non-Kinesis sources, read nothing
    odd = resource(
        "aws:lambda/eventSourceMapping:EventSourceMapping",
        "fn-reads-queue",
        {"eventSourceArn": "arn:aws:sqs:eu-west-1:111122223333:queue"},
    )
    assert messages(pack, AGE_RULE, [good_stream(), odd]) == []


def test_alarm_without_actions_message(pack):
    silent = age_alarm(alarmActions=[])
    assert messages(pack, ACTIONS_RULE, [silent]) == [
        (
            silent["urn"],
            "Metric alarm 'raw-age' notifies nobody: set alarm_actions (e.g. the stack's SNS alarm topic) and leave "
            "actions_enabled true.",
        )
    ]
    assert messages(pack, ACTIONS_RULE, [age_alarm()]) == []
    assert messages(pack, ACTIONS_RULE, [age_alarm(actionsEnabled=True)]) == []


def test_values_unknown_until_deploy_neither_crash_the_rule_nor_hide_a_missing_alarm(pack):
    from tests.policy_helpers import UNKNOWN_ARRAY, UNKNOWN_NUMBER, UNKNOWN_OBJECT

    stream = good_stream()
    expected = [missing(stream, "enrich-asg")]
    # an alarm whose metric queries, or a resource whose tags, are known only at deploy time
    queries = resource(ALARM, "raw-age-later", {"metricQueries": UNKNOWN_ARRAY, "alarmActions": [TOPIC_ARN]})
    tagged_later = resource("aws:sqs/queue:Queue", "queue", {"tags": UNKNOWN_OBJECT})
    # a Lambda mapping without an event source ARN (a self-managed Kafka source) reads no stream
    kafka = resource("aws:lambda/eventSourceMapping:EventSourceMapping", "fn-reads-kafka", {"topics": ["t"]})
    assert messages(pack, AGE_RULE, [stream, reader(), queries, tagged_later, kafka]) == expected
    # a retention known only at deploy time is read as the default day
    later = good_stream(retentionPeriod=UNKNOWN_NUMBER)
    (found,) = messages(pack, AGE_RULE, [later, reader(), age_alarm(threshold=13 * HOUR_MS)])
    assert "above 50% of the stream's 24h retention" in found[1]


def test_every_read_stream_of_the_stack_is_judged(pack):
    raw, enriched = good_stream(), good_stream("enriched")
    enriched_name = f"snowplow-{STACK}-enriched"
    readers = [
        good_asg("a-asg", kcl_app="a", stream="snowplow-aaa-elsewhere"),  # another stack's stream, sorted first
        reader(),
        good_asg("loader-asg", kcl_app="loader", stream=enriched_name),
    ]
    found = messages(pack, AGE_RULE, [raw, enriched, *readers])
    assert [urn for urn, _ in found] == sorted([raw["urn"], enriched["urn"]])
    assert any(f"Kinesis stream '{enriched_name}' is read by loader-asg but" in m for _, m in found)
