"""What a component asks to be alarmed on: a CloudWatch metric of one of its own resources, a threshold and
what an operator should do when it fires. Components expose `signals: list[Signal]`; the observability
layer turns each into an alarm and a dashboard widget.

`statistic` may be a percentile ("p99"); `math` makes the alarm a metric-math expression over several metrics
(e.g. a 5xx rate). Builders for the common signals are in components/observability/metrics.py."""

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi


@dataclass(frozen=True)
class Signal:
    name: str  # short and unique in the stack, e.g. "snowflake-loader-iterator-age"
    namespace: str  # e.g. "AWS/Kinesis"
    metric_name: str  # e.g. "GetRecords.IteratorAgeMilliseconds"
    dimensions: Mapping[str, pulumi.Input[str]]  # e.g. {"StreamName": stream.name}
    threshold: float
    description: str  # what it means and what to do
    statistic: str = "Maximum"
    comparison: str = "GreaterThanThreshold"
    period_seconds: int = 300
    evaluation_periods: int = 1
    treat_missing_data: str = "notBreaching"
    # Read by the observability layer: {"reader": "<app>"} names a consumer on a stream-level metric, so the
    # readers of one stream share one alarm that names them all (see components/observability/alarms.py).
    extra: Mapping[str, object] = field(default_factory=dict)
    math: "MetricMath | None" = None  # set: the alarm watches `math.expression`; the fields above name its main metric
    unit_hint: str = ""  # shown on the dashboard's axis, e.g. "ms", "%", "count"


@dataclass(frozen=True)
class MetricRef:
    """One metric a metric-math expression reads, under its expression id (`id`)."""

    id: str
    namespace: str
    metric_name: str
    dimensions: Mapping[str, pulumi.Input[str]]
    statistic: str = "Sum"
    label: str = ""


@dataclass(frozen=True)
class MetricMath:
    """A CloudWatch metric-math expression over `metrics`, e.g. `100 * (e5 + t5) / requests`."""

    expression: str
    metrics: tuple[MetricRef, ...]
    label: str = ""


def is_percentile(statistic: str) -> bool:
    """`p99`, `p99.9`: an extended statistic, set as `extended_statistic` rather than `statistic`."""
    return statistic.startswith("p") and statistic[1:].replace(".", "", 1).isdigit()


@dataclass(frozen=True)
class Graph:
    """A dashboard-only chart of a component's metrics (no alarm), e.g. every stream's incoming records."""

    title: str
    metrics: tuple[MetricRef, ...]
    unit_hint: str = ""
