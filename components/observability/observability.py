"""Alarms on what loses data, where they go, and the stack's dashboard.

An SNS topic encrypted with the stack key (CloudWatch may publish to it only for this stack's alarms, and use
the key for that through the key policy), email and HTTPS subscriptions from `snowplow:observability`, one
alarm per signal the components expose (merged where several watch one metric), and one dashboard laid out
along the data path. A component added later is covered by exposing `signals` and joining a stage.
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace

import pulumi
import pulumi_aws as aws

from components.context import StackContext
from components.observability.alarms import merge_signals, metric_alarm
from components.observability.dashboard import Stage, dashboard_body
from components.observability.signals import Graph, MetricRef, Signal
from stack_config.observability import ObservabilityConfig

ALARM_NAME_PREFIX_LIMIT = 255


def topic_policy(topic_arn: str, partition: str, region: str, account_id: str, alarm_prefix: str) -> str:
    """CloudWatch may publish for this account's alarms whose names start with the stack prefix, nothing else."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ThisStacksAlarmsPublish",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": topic_arn,
                    "Condition": {
                        "ArnLike": {
                            "aws:SourceArn": f"arn:{partition}:cloudwatch:{region}:{account_id}:alarm:{alarm_prefix}*"
                        },
                        "StringEquals": {"aws:SourceAccount": account_id},
                    },
                }
            ],
        },
        indent=2,
    )


@dataclass
class ObservabilityArgs:
    context: StackContext
    config: ObservabilityConfig
    kms_key_arn: pulumi.Input[str]
    stages: Sequence[Stage]
    """The data path in order; each stage's signals become alarms and its charts a dashboard row."""


def _resolved_dimensions(dimensions) -> pulumi.Output[dict]:
    """The dimensions with every value resolved (`Output.all()` of nothing would give a list, not a dict)."""
    if not dimensions:
        return pulumi.Output.from_input({})
    return pulumi.Output.all(**{k: pulumi.Output.from_input(v) for k, v in dimensions.items()})


def _resolved_refs(refs: Sequence[MetricRef]) -> pulumi.Output[list[MetricRef]]:
    return pulumi.Output.all(*(_resolved_dimensions(r.dimensions) for r in refs)).apply(
        lambda dims: [replace(r, dimensions=d) for r, d in zip(refs, dims, strict=True)]
    )


def _resolved_signal(signal: Signal) -> pulumi.Output[Signal]:
    dims = _resolved_dimensions(signal.dimensions)
    refs = _resolved_refs(signal.math.metrics) if signal.math is not None else pulumi.Output.from_input([])

    def build(values):
        resolved_dims, resolved_refs = values
        math = replace(signal.math, metrics=tuple(resolved_refs)) if signal.math is not None else None
        return replace(signal, dimensions=resolved_dims, math=math)

    return pulumi.Output.all(dims, refs).apply(build)


def _resolved_stage(stage: Stage, signals: Sequence[Signal]) -> pulumi.Output[Stage]:
    graphs = [_resolved_refs(g.metrics).apply(lambda refs, g=g: replace(g, metrics=tuple(refs))) for g in stage.graphs]
    return pulumi.Output.all(pulumi.Output.all(*map(_resolved_signal, signals)), pulumi.Output.all(*graphs)).apply(
        lambda v: Stage(stage.title, v[0], v[1])
    )


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


class Observability(pulumi.ComponentResource):
    topic_arn: pulumi.Output[str]
    dashboard_name: str
    alarm_names: list[str]

    def __init__(self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("snowplow:observability:Observability", name, None, opts)
        ctx, cfg = args.context, args.config
        child = pulumi.ResourceOptions(parent=self)
        topic_name = ctx.name("alarms")
        topic = aws.sns.Topic(
            f"{name}-alarms",
            name=topic_name,
            display_name=f"{ctx.prefix} alarms",
            kms_master_key_id=args.kms_key_arn,
            tags=ctx.tags_for(topic_name),
            opts=child,
        )
        alarm_prefix = ctx.name("")
        aws.sns.TopicPolicy(
            f"{name}-alarms-policy",
            arn=topic.arn,
            policy=topic.arn.apply(
                lambda arn: topic_policy(arn, ctx.partition, ctx.region, ctx.account_id, alarm_prefix)
            ),
            opts=child,
        )
        for address in cfg.alarm_emails:
            aws.sns.TopicSubscription(
                f"{name}-email-{_digest(address)}", topic=topic.arn, protocol="email", endpoint=address, opts=child
            )
        for url in cfg.alarm_https_endpoints:
            aws.sns.TopicSubscription(
                f"{name}-https-{_digest(url)}",
                topic=topic.arn,
                protocol="https",
                endpoint=url,
                endpoint_auto_confirms=False,
                opts=child,
            )

        # Merged over the whole stack (a stream read by a loader and a destination is one alarm), shown in the
        # stage that first exposes it.
        merged = merge_signals(s for stage in args.stages for s in stage.signals)
        first_stage = {}
        for index, stage in enumerate(args.stages):
            for signal in stage.signals:
                first_stage.setdefault(signal.name, index)
        staged = [
            (stage, [s for s in merged if first_stage[s.name] == index]) for index, stage in enumerate(args.stages)
        ]
        self.alarm_names = []
        for _, signals in staged:
            for signal in signals:
                alarm_name = ctx.name(signal.name)
                metric_alarm(f"{name}-{signal.name}", alarm_name, signal, [topic.arn], ctx.tags_for(alarm_name), self)
                self.alarm_names.append(alarm_name)

        self.dashboard_name = ctx.name("pipeline")
        body = pulumi.Output.all(*(_resolved_stage(stage, signals) for stage, signals in staged)).apply(
            lambda stages: json.dumps(dashboard_body(ctx.region, stages), indent=1)
        )
        aws.cloudwatch.Dashboard(
            f"{name}-dashboard", dashboard_name=self.dashboard_name, dashboard_body=body, opts=child
        )
        self.topic_arn = topic.arn
        self.register_outputs({"topicArn": topic.arn, "dashboardName": self.dashboard_name})


__all__ = ["Graph", "Observability", "ObservabilityArgs", "Stage"]
