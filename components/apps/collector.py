"""The collector: internet-facing ALB (HTTPS when configured) in front of the Stream Collector instances."""

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.apps.app_versions import COLLECTOR_IMAGE
from components.apps.collector_config import COLLECTOR_PORT, CollectorStreams, render_collector_config
from components.apps.ec2_service import Ec2Service, Ec2ServiceArgs, Ingress, InstanceFacts, Placement, cidr_source
from components.apps.hocon import hocon_text
from components.apps.iam import key_for_kinesis, kinesis_producer
from components.context import StackContext
from components.platform.bucket import SecureBucket, SecureBucketArgs
from components.platform.streams import StreamInfo
from stack_config.apps import CollectorConfig, OperationsConfig

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
HEALTH_PATH = "/health"  # the collector's own liveness route (core Routes.scala); /sink-health also checks Kinesis
# Accounts through which ELB writes access logs in regions that predate the log-delivery service principal.
ELB_LOG_ACCOUNTS = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-west-3": "009996457667",
    "eu-north-1": "897822967062",
    "ap-northeast-1": "582318560864",
    "ap-northeast-2": "600734575887",
    "ap-northeast-3": "383597477331",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-south-1": "718504428378",
    "sa-east-1": "507241528517",
}


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
    account_id: pulumi.Input[str]


def log_delivery_statement(bucket_arn: str, account_id: str, region: str) -> dict:
    principals: dict = {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    if region in ELB_LOG_ACCOUNTS:
        principals["AWS"] = f"arn:aws:iam::{ELB_LOG_ACCOUNTS[region]}:root"
    return {
        "Sid": "ElbWritesAccessLogs",
        "Effect": "Allow",
        "Principal": principals,
        "Action": "s3:PutObject",
        "Resource": f"{bucket_arn}/collector/AWSLogs/{account_id}/*",
    }


class Collector(pulumi.ComponentResource):
    collector_url: pulumi.Output[str]
    dns_name: pulumi.Output[str]

    def __init__(self, name: str, args: CollectorArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("snowplow:pipeline:Collector", name, None, opts)
        ctx, cfg = args.context, args.config
        self._ctx = ctx
        child = pulumi.ResourceOptions(parent=self)
        physical = ctx.name("collector")

        alb_sg = aws.ec2.SecurityGroup(
            f"{name}-alb-sg",
            name=f"{physical}-alb",
            description="Collector load balancer: HTTP(S) from the configured allowlist",
            vpc_id=args.placement.vpc_id,
            tags=ctx.tags_for(f"{physical}-alb"),
            opts=child,
        )
        for port in (80, 443):
            for i, cidr in enumerate(cfg.ingress_cidrs):
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-alb-in-{port}-{i}",
                    security_group_id=alb_sg.id,
                    description=f"Trackers and webhooks on {port}",
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    **cidr_source(cidr),
                    tags=ctx.tags_for(f"{physical}-alb-in-{port}"),
                    opts=child,
                )

        access_logs = None
        if cfg.access_logs:
            logs_bucket_name = pulumi.Output.concat(ctx.prefix, "-alb-logs-", args.account_id)
            logs_bucket = SecureBucket(
                f"{name}-access-logs",
                SecureBucketArgs(
                    context=ctx,
                    bucket_name=logs_bucket_name,
                    kms_key_arn=None,  # ELB access logs can only be delivered to SSE-S3 buckets
                    transitions=[],
                    expiration_days=max(args.operations.log_retention_days, 30),
                    extra_statements=[
                        pulumi.Output.all(logs_bucket_name, args.account_id).apply(
                            lambda v: log_delivery_statement(f"arn:aws:s3:::{v[0]}", v[1], ctx.region)
                        )
                    ],
                    purpose="alb-access-logs",
                ),
                opts=child,
            )
            access_logs = aws.lb.LoadBalancerAccessLogsArgs(
                bucket=logs_bucket.bucket_name, prefix="collector", enabled=True
            )

        alb = aws.lb.LoadBalancer(
            f"{name}-alb",
            name=ctx.short_name("collector", 32),
            load_balancer_type="application",
            internal=False,
            security_groups=[alb_sg.id],
            subnets=args.public_subnet_ids,
            drop_invalid_header_fields=True,
            enable_deletion_protection=ctx.protect_data,
            access_logs=access_logs,
            tags=ctx.tags_for(physical),
            opts=child,
        )
        target_group = aws.lb.TargetGroup(
            f"{name}-tg",
            name=ctx.short_name("collector", 32),
            port=COLLECTOR_PORT,
            protocol="HTTP",
            target_type="instance",
            vpc_id=args.placement.vpc_id,
            deregistration_delay=30,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                path=HEALTH_PATH,
                port=str(COLLECTOR_PORT),
                protocol="HTTP",
                matcher="200",
                interval=15,
                healthy_threshold=2,
            ),
            tags=ctx.tags_for(physical),
            opts=child,
        )
        self._listeners(name, alb, target_group, args)

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
                    Ingress("From the collector load balancer", COLLECTOR_PORT, source_security_group_id=alb_sg.id)
                ],
                target_group_arns=[target_group.arn],
                health_port=COLLECTOR_PORT,
                health_path=HEALTH_PATH,
            ),
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-alb-egress",
            security_group_id=alb_sg.id,
            description="Forward to collector instances only",
            ip_protocol="tcp",
            from_port=COLLECTOR_PORT,
            to_port=COLLECTOR_PORT,
            referenced_security_group_id=service.security_group_id,
            tags=ctx.tags_for(f"{physical}-alb-egress"),
            opts=child,
        )

        self.dns_name = alb.dns_name
        if cfg.domain and cfg.tls:
            self.collector_url = pulumi.Output.from_input(ctx.from_config("collector", f"https://{cfg.domain}"))
        else:
            self.collector_url = pulumi.Output.concat("https://" if cfg.tls else "http://", alb.dns_name)
        self.register_outputs({"collectorUrl": self.collector_url, "dnsName": self.dns_name})

    def _certificate_arn(self, name: str, cfg: CollectorConfig) -> pulumi.Input[str]:
        """The configured certificate, or one issued here and validated through the hosted zone."""
        if cfg.certificate_arn:
            return cfg.certificate_arn
        ctx, child = self._ctx, pulumi.ResourceOptions(parent=self)
        certificate = aws.acm.Certificate(
            f"{name}-cert",
            domain_name=cfg.domain,
            validation_method="DNS",
            key_algorithm="EC_prime256v1",
            tags=ctx.tags_for(cfg.domain),
            opts=child,
        )
        option = certificate.domain_validation_options[0]
        record = aws.route53.Record(
            f"{name}-cert-validation",
            zone_id=cfg.hosted_zone_id,
            name=option.resource_record_name,
            type=option.resource_record_type,
            records=[option.resource_record_value],
            ttl=300,
            allow_overwrite=True,
            opts=child,
        )
        validation = aws.acm.CertificateValidation(
            f"{name}-cert-validation",
            certificate_arn=certificate.arn,
            validation_record_fqdns=[record.fqdn],
            opts=child,
        )
        return validation.certificate_arn

    def _listeners(self, name: str, alb, target_group, args: CollectorArgs) -> None:
        ctx, cfg = args.context, args.config
        child = pulumi.ResourceOptions(parent=self)
        forward = [aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=target_group.arn)]
        if not cfg.tls:
            aws.lb.Listener(
                f"{name}-http",
                load_balancer_arn=alb.arn,
                port=80,
                protocol="HTTP",
                default_actions=forward,
                tags=ctx.tags_for(ctx.name("collector-http")),
                opts=child,
            )
            return
        aws.lb.Listener(
            f"{name}-https",
            load_balancer_arn=alb.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=TLS_POLICY,
            certificate_arn=self._certificate_arn(name, cfg),
            default_actions=forward,
            tags=ctx.tags_for(ctx.name("collector-https")),
            opts=child,
        )
        aws.lb.Listener(
            f"{name}-http",
            load_balancer_arn=alb.arn,
            port=80,
            protocol="HTTP",
            default_actions=[
                aws.lb.ListenerDefaultActionArgs(
                    type="redirect",
                    redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                        protocol="HTTPS", port="443", status_code="HTTP_301"
                    ),
                )
            ],
            tags=ctx.tags_for(ctx.name("collector-http")),
            opts=child,
        )
        if cfg.hosted_zone_id:
            aws.route53.Record(
                f"{name}-alias",
                zone_id=cfg.hosted_zone_id,
                name=cfg.domain,
                type="A",
                aliases=[
                    aws.route53.RecordAliasArgs(name=alb.dns_name, zone_id=alb.zone_id, evaluate_target_health=True)
                ],
                opts=child,
            )
