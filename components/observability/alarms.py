"""Signals -> CloudWatch metric alarms: merging the signals several components give for one metric, and the
alarm's metric or metric-math query."""

from collections.abc import Iterable, Sequence
from dataclasses import replace

import pulumi
import pulumi_aws as aws

from components.observability.signals import MetricRef, Signal, is_percentile

MAX_DESCRIPTION = 1024  # CloudWatch's limit on AlarmDescription


def _identity(signal: Signal) -> tuple | None:
    """What makes two signals the same alarm; None when a dimension is only known at deploy time."""
    if not all(isinstance(v, str) for v in signal.dimensions.values()) or signal.math is not None:
        return None
    return (
        signal.namespace,
        signal.metric_name,
        tuple(sorted(signal.dimensions.items())),
        signal.statistic,
        signal.comparison,
        signal.threshold,
        signal.period_seconds,
        signal.evaluation_periods,
        signal.treat_missing_data,
    )


def merge_signals(signals: Iterable[Signal]) -> list[Signal]:
    """One signal per metric and condition: the readers of one stream all expose its iterator age, and it is one
    alarm that names them all (`extra["reader"]`). Two different signals with one name are a programming error."""
    merged: dict[object, Signal] = {}
    readers: dict[object, list[str]] = {}
    names: dict[str, object] = {}
    for signal in signals:
        key = _identity(signal) or ("name", signal.name)
        if signal.name in names and names[signal.name] != key:
            raise ValueError(f"two different signals are both named {signal.name!r}; signal names are unique")
        names[signal.name] = key
        merged.setdefault(key, signal)
        reader = signal.extra.get("reader")
        if reader and reader not in readers.setdefault(key, []):
            readers[key].append(str(reader))
    result = []
    for key, signal in merged.items():
        if readers.get(key):
            signal = replace(signal, description=f"{signal.description} Readers: {', '.join(readers[key])}.")
        if len(signal.description) > MAX_DESCRIPTION:
            raise ValueError(f"signal {signal.name!r}: description longer than {MAX_DESCRIPTION} characters")
        result.append(signal)
    return result


def _query_metric(ref: MetricRef, period: int) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
    return aws.cloudwatch.MetricAlarmMetricQueryArgs(
        id=ref.id,
        return_data=False,
        metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
            namespace=ref.namespace,
            metric_name=ref.metric_name,
            dimensions=dict(ref.dimensions),
            period=period,
            stat=ref.statistic,
        ),
    )


def metric_alarm(
    resource_name: str,
    alarm_name: str,
    signal: Signal,
    actions: Sequence[pulumi.Input[str]],
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> aws.cloudwatch.MetricAlarm:
    """The alarm of one signal; it notifies `actions` on ALARM and again on OK."""
    common = dict(
        name=alarm_name,
        alarm_description=signal.description,
        comparison_operator=signal.comparison,
        threshold=signal.threshold,
        evaluation_periods=signal.evaluation_periods,
        treat_missing_data=signal.treat_missing_data,
        alarm_actions=list(actions),
        ok_actions=list(actions),
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    if signal.math is not None:
        return aws.cloudwatch.MetricAlarm(
            resource_name,
            metric_queries=[
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="signal", expression=signal.math.expression, label=signal.math.label, return_data=True
                ),
                *(_query_metric(ref, signal.period_seconds) for ref in signal.math.metrics),
            ],
            **common,
        )
    percentile = is_percentile(signal.statistic)
    return aws.cloudwatch.MetricAlarm(
        resource_name,
        namespace=signal.namespace,
        metric_name=signal.metric_name,
        dimensions=dict(signal.dimensions),
        period=signal.period_seconds,
        statistic=None if percentile else signal.statistic,
        extended_statistic=signal.statistic if percentile else None,
        **common,
    )
