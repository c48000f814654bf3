"""What a component asks to be alarmed on: a CloudWatch metric of one of its own resources, a threshold and
what an operator should do when it fires. Components expose `signals: list[Signal]`; the observability
layer turns each into an alarm and a dashboard widget."""

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
    extra: Mapping[str, object] = field(default_factory=dict)  # reserved for the observability layer
