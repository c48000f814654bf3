"""The stack's CloudWatch dashboard body: one row of charts per stage of the data path, in order, each stage a
title, its dashboard-only graphs, then one chart per alarm with the alarm's threshold drawn on it.

A pure function of resolved values (dimensions are plain strings here); the component resolves the Outputs."""

from collections.abc import Sequence
from dataclasses import dataclass

from components.observability.signals import Graph, MetricRef, Signal

WIDTH, HEIGHT, COLUMNS = 8, 6, 24


@dataclass(frozen=True)
class Stage:
    """One step of the data path (collector, streams, enrich, loaders, destinations, registry)."""

    title: str
    signals: Sequence[Signal]
    graphs: Sequence[Graph] = ()


def _metric_line(ref: MetricRef | Signal, **options) -> list:
    dims = [part for key, value in sorted(ref.dimensions.items()) for part in (key, value)]
    return [ref.namespace, ref.metric_name, *dims, options]


def _signal_metrics(signal: Signal) -> list[list]:
    if signal.math is not None:
        label = signal.math.label or signal.name
        return [
            [{"expression": signal.math.expression, "label": label, "id": "signal"}],
            *(_metric_line(ref, id=ref.id, stat=ref.statistic, visible=False) for ref in signal.math.metrics),
        ]
    lines = [_metric_line(signal, stat=signal.statistic, label=signal.metric_name)]
    if signal.namespace == "AWS/AutoScaling":  # the group's CPU beside its instance count: it scales on CPU
        group = signal.dimensions["AutoScalingGroupName"]
        lines.append(
            ["AWS/EC2", "CPUUtilization", "AutoScalingGroupName", group, {"stat": "Average", "yAxis": "right"}]
        )
    return lines


def _chart(title: str, metrics: list, region: str, period: int, unit: str, threshold: float | None = None) -> dict:
    properties = {
        "title": title,
        "region": region,
        "view": "timeSeries",
        "stacked": False,
        "period": period,
        "metrics": metrics,
        "yAxis": {"left": {"label": unit, "showUnits": False}},
    }
    if threshold is not None:
        properties["annotations"] = {"horizontal": [{"label": "alarm", "value": threshold}]}
    return {"type": "metric", "width": WIDTH, "height": HEIGHT, "properties": properties}


def dashboard_body(region: str, stages: Sequence[Stage]) -> dict:
    widgets: list[dict] = []
    y = 0
    for stage in stages:
        charts = [
            _chart(
                g.title,
                [_metric_line(m, stat=m.statistic, label=m.label or m.metric_name) for m in g.metrics],
                region,
                300,
                g.unit_hint,
            )
            for g in stage.graphs
        ] + [
            _chart(s.name, _signal_metrics(s), region, s.period_seconds, s.unit_hint, s.threshold)
            for s in stage.signals
        ]
        if not charts:
            continue
        widgets.append(
            {
                "type": "text",
                "x": 0,
                "y": y,
                "width": COLUMNS,
                "height": 1,
                "properties": {"markdown": f"## {stage.title}"},
            }
        )
        y += 1
        for i, chart in enumerate(charts):
            chart["x"] = (i * WIDTH) % COLUMNS
            chart["y"] = y + (i * WIDTH) // COLUMNS * HEIGHT
        widgets.extend(charts)
        y += -(-len(charts) * WIDTH // COLUMNS) * HEIGHT
    return {"widgets": widgets}
