"""The collector: internet-facing ALB (HTTPS when configured) in front of the Stream Collector instances."""

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi

from components.apps.app_versions import COLLECTOR_IMAGE
from components.apps.collector_config import COLLECTOR_PORT, CollectorStreams, render_collector_config
from components.apps.ec2_service import Ec2Service, Ec2ServiceArgs, Ingress, InstanceFacts, Placement
from components.apps.hocon import hocon_text
from components.apps.iam import key_for_kinesis, kinesis_producer
from components.context import StackContext
from components.observability.metrics import load_balancer_signals
from components.observability.signals import Graph, MetricRef
from components.platform.load_balancer import HealthCheck, LoadBalancerArgs, PublicLoadBalancer, Tls, allowed
from components.platform.streams import StreamInfo
from stack_config.apps import CollectorConfig, OperationsConfig
from stack_config.observability import AlarmThresholds

HEALTH_PATH = "/health"  # the collector's own liveness route (core Routes.scala); /sink-health also checks Kinesis


@dataclass
class CollectorArgs:
    context: StackContext
    config: CollectorConfig
    operations: OperationsConfig
    instance: InstanceFacts
    placement: Placement
    public_subnet_ids: pulumi.Input[Sequence[str]]
    good: StreamInfo
    bad: StreamInfo
    thresholds: AlarmThresholds = field(default_factory=AlarmThresholds)


class Collector(pulumi.ComponentResource):
    collector_url: pulumi.Output[str]
    dns_name: pulumi.Output[str]

    def __init__(self, name: str, args: CollectorArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("snowplow:pipeline:Collector", name, None, opts)
        ctx, cfg = args.context, args.config
        child = pulumi.ResourceOptions(parent=self)

        lb = PublicLoadBalancer(
            name,
            LoadBalancerArgs(
                context=ctx,
                app="collector",
                label="Collector",
                clients="Trackers and webhooks",
                config_key="collector",
                vpc_id=args.placement.vpc_id,
                public_subnet_ids=args.public_subnet_ids,
                sources=allowed(cfg.ingress_cidrs),
                port=COLLECTOR_PORT,
                health=HealthCheck(path=HEALTH_PATH),
                tls=Tls(cfg.domain, cfg.hosted_zone_id, cfg.certificate_arn),
                access_logs=cfg.access_logs,
                log_expiration_days=max(args.operations.log_retention_days, 30),
            ),
            parent=self,
        )

        files = {
            "collector.hocon": ctx.from_config(
                "collector",
                hocon_text(
                    render_collector_config(
                        cfg,
                        CollectorStreams(region=ctx.region, good=args.good.name, bad=args.bad.name),
                        telemetry=args.operations.telemetry,
                    )
                ),
            )
        }
        service = Ec2Service(
            f"{name}-service",
            Ec2ServiceArgs(
                context=ctx,
                app="collector",
                image=COLLECTOR_IMAGE,
                instance=args.instance,
                size=cfg.size,
                placement=args.placement,
                operations=args.operations,
                files=files,
                app_args=["--config", "/snowplow/config/collector.hocon"],
                statements=[
                    kinesis_producer("WriteRawAndBadStreams", [args.good.arn, args.bad.arn]),
                    *key_for_kinesis(args.placement.kms_key_arn, ctx.region, write=[args.good.arn, args.bad.arn]),
                ],
                ingress=[
                    Ingress(
                        "From the collector load balancer",
                        COLLECTOR_PORT,
                        source_security_group_id=lb.security_group_id,
                    )
                ],
                target_group_arns=[lb.target_group_arn],
                health_port=COLLECTOR_PORT,
                health_path=HEALTH_PATH,
            ),
            opts=child,
        )
        lb.forward_to(service.security_group_id)

        self.dns_name = lb.dns_name
        limits = args.thresholds
        self.signals = [
            *load_balancer_signals(
                "collector",
                "collector",
                lb.arn_suffix,
                lb.target_group_arn_suffix,
                limits.collector5xx_percent,
                limits.collector_p99_latency_seconds,
                ctx.log_group_name("collector"),
            ),
            *service.signals,
        ]
        self.graphs = [
            Graph(
                "collector requests",
                (MetricRef("requests", "AWS/ApplicationELB", "RequestCount", {"LoadBalancer": lb.arn_suffix}),),
                "requests",
            )
        ]
        self.collector_url = lb.url  # secret when built from a domain set under a --secret `collector` key
        self.register_outputs({"collectorUrl": self.collector_url, "dnsName": self.dns_name})
