"""Monitoring guard rails: a Kinesis stream that something reads has an iterator-age alarm that fires well
before the stream's retention drops records, and every metric alarm notifies someone.

A stream's readers are found the ways a stack declares them: any resource tagged `snowplow:input-stream`
(the Snowplow apps' Auto Scaling groups, and any other consumer that follows the convention), Lambda event
source mappings and Firehose delivery streams whose source is the stream's ARN."""

from pulumi_policy import Severity
from snowplow_policy_util import (
    ADVISORY,
    KINESIS_STREAM,
    as_list,
    as_number,
    get,
    integer,
    is_map,
    known,
    of_type,
    resource_policy,
    stack_policy,
    tag_map,
)

METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
EVENT_SOURCE_MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
FIREHOSE = "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"
INPUT_STREAM_TAG = "snowplow:input-stream"
ITERATOR_AGE = ("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds")
HOUR_MS = 3_600_000


def _stream_name_of_arn(arn) -> str | None:
    """`arn:aws:kinesis:<region>:<account>:stream/<name>` -> name."""
    if isinstance(arn, str) and ":kinesis:" in arn and ":stream/" in arn:
        return arn.split(":stream/", 1)[1]
    return None


def _readers(resources) -> dict:
    """{stream name: [reader names]} for every reader the stack declares."""
    readers: dict = {}
    for r in resources:
        name = None
        tags = known(lambda r=r: tag_map(get(r.props, "tags")), {})
        if isinstance(tags.get(INPUT_STREAM_TAG), str):
            name = tags[INPUT_STREAM_TAG]
        elif r.resource_type == EVENT_SOURCE_MAPPING:
            name = _stream_name_of_arn(known(lambda r=r: get(r.props, "eventSourceArn"), None))
        elif r.resource_type == FIREHOSE:
            name = _stream_name_of_arn(
                known(lambda r=r: get(r.props, "kinesisSourceConfiguration", "kinesisStreamArn"), None)
            )
        if name:
            readers.setdefault(name, []).append(r.name)
    return readers


def _watched_metrics(alarm) -> list:
    """(namespace, metric, dimensions) of the alarm's metric, or of each metric in its metric queries."""
    props = alarm.props
    found = []
    if known(lambda: get(props, "metricName"), None):
        found.append(
            (
                known(lambda: get(props, "namespace"), None),
                known(lambda: get(props, "metricName"), None),
                known(lambda: get(props, "dimensions"), None),
            )
        )
    for query in known(lambda: as_list(get(props, "metricQueries")), []):
        metric = known(lambda q=query: get(q, "metric"), None)
        if is_map(metric):
            found.append(
                (
                    known(lambda m=metric: get(m, "namespace"), None),
                    known(lambda m=metric: get(m, "metricName"), None),
                    known(lambda m=metric: get(m, "dimensions"), None),
                )
            )
    return found


def _iterator_age_alarms(resources) -> dict:
    """{stream name: [alarm resources]} of alarms watching a stream's iterator age."""
    alarms: dict = {}
    for alarm in of_type(resources, METRIC_ALARM):
        for namespace, metric, dimensions in _watched_metrics(alarm):
            stream = known(lambda d=dimensions: get(d, "StreamName"), None) if is_map(dimensions) else None
            if (namespace, metric) == ITERATOR_AGE and isinstance(stream, str):
                alarms.setdefault(stream, []).append(alarm)
    return alarms


def _notifies(alarm) -> bool | None:
    """True/False when known; None when the actions are only known at deploy time."""
    enabled = known(lambda: get(alarm.props, "actionsEnabled"), None)
    actions = known(lambda: as_list(get(alarm.props, "alarmActions")), None)
    if actions is None:
        return None
    return enabled is not False and len(actions) > 0


def check_iterator_age_alarms(args, report, cfg):
    streams = {}
    for stream in of_type(args.resources, KINESIS_STREAM):
        name = known(lambda s=stream: get(s.props, "name"), None)
        if isinstance(name, str):
            streams[name] = stream
    alarms = _iterator_age_alarms(args.resources)
    percent = cfg["maxRetentionPercent"]
    for name, readers in sorted(_readers(args.resources).items()):
        stream = streams.get(name)
        if stream is None:
            continue  # read from another stack: that stack alarms on it
        found = alarms.get(name, [])
        noticed = [a for a in found if _notifies(a) is not False]
        if not noticed:
            report(
                f"Kinesis stream '{name}' is read by {', '.join(sorted(readers))} but no alarm that notifies "
                f"anyone watches its GetRecords.IteratorAgeMilliseconds: a reader that falls behind loses records "
                f"once they outlive the retention. Add an aws.cloudwatch.MetricAlarm on namespace AWS/Kinesis, "
                f"that metric, dimensions {{StreamName: {name}}}, with alarm_actions (e.g. an SNS topic).",
                stream.urn,
            )
            continue
        hours = known(lambda s=stream: as_number(get(s.props, "retentionPeriod")), None) or 24
        limit = hours * HOUR_MS * percent / 100
        thresholds = [known(lambda a=a: as_number(get(a.props, "threshold")), None) for a in noticed]
        if all(t is not None and t > limit for t in thresholds):
            report(
                f"Kinesis stream '{name}' has an iterator-age alarm, but its threshold ({min(thresholds):g} ms) is "
                f"above {percent}% of the stream's {hours:g}h retention ({limit:g} ms): it would warn too close "
                f"to losing records. Set the alarm's threshold to at most {limit:g}.",
                stream.urn,
            )


def check_alarm_actions(args, report, cfg):
    if _notifies(args) is False:
        report(
            f"Metric alarm '{args.name}' notifies nobody: set alarm_actions (e.g. the stack's SNS alarm topic) and "
            "leave actions_enabled true."
        )


POLICIES = [
    stack_policy(
        "kinesis-stream-require-iterator-age-alarm",
        f"Every Kinesis stream something reads (resources tagged {INPUT_STREAM_TAG}, Lambda event source mappings, "
        "Firehose sources) has an iterator-age alarm with actions, below a share of the stream's retention.",
        check_iterator_age_alarms,
        level=ADVISORY,
        config={
            "maxRetentionPercent": integer(
                50, "Highest allowed alarm threshold, as a percentage of the stream's retention.", minimum=1
            )
        },
        severity=Severity.MEDIUM,
    ),
    resource_policy(
        "cloudwatch-metric-alarm-require-actions",
        "Metric alarms notify someone: alarm_actions set and actions enabled.",
        [METRIC_ALARM],
        check_alarm_actions,
        level=ADVISORY,
        severity=Severity.LOW,
    ),
]
